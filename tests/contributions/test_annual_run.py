"""The annual run: issuing all, running twice, resuming, each hub in its currency, its pages, the CLI (the
preview is tested in test_annual_run_preview.py).

The run commits each member's invoice on its own, so these tests commit their setup first (in the test
transaction, which is still rolled back at the end).
"""

from __future__ import annotations

import re
import subprocess
import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.common.languages import Language
from app.contributions.models import (
    AnnualRun,
    AnnualRunStatus,
    IncomeGroup,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    IssuedDocumentIsFrozen,
    MemberContact,
    PolicyExchangeRate,
)
from app.contributions.services import annual_run, annual_run_preview, invoicing
from app.contributions.services.annual_run_preview import RowStatus
from app.extensions import db


def annual_invoices(fiscal_year=2027):
    return list(
        db.session.scalars(
            sa.select(Invoice)
            .where(Invoice.kind == InvoiceKind.ANNUAL_CONTRIBUTION, Invoice.fiscal_year == fiscal_year)
            .order_by(Invoice.number)
        )
    )


def issue_all(operator, fiscal_year=2027, batch_size=3):
    run, _ = annual_run.start_run(fiscal_year, operator)
    db.session.commit()
    return run.id, annual_run.run_to_completion(run.id, operator, batch_size)


def numbers_by_prefix(invoices):
    by_prefix = {}
    for invoice in invoices:
        by_prefix.setdefault(invoice.number.split("-")[0], []).append(invoice.number)
    return {prefix: sorted(numbers) for prefix, numbers in by_prefix.items()}


def visible_text(html: str) -> str:
    """What a reader sees: the page without its tags, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def gap_free(prefix, count, fiscal_year=2027):
    return [f"{prefix}-{fiscal_year}-{n:04d}" for n in range(1, count + 1)]


# --- Issuing -----------------------------------------------------------------------------------------------


def test_issuing_all_gives_each_member_one_invoice_numbered_per_hub(membership, make_user):
    operator = make_user("operations")
    run_id, _ = issue_all(operator)

    invoices = annual_invoices()
    assert len(invoices) == 5
    assert numbers_by_prefix(invoices) == {"BE": gap_free("BE", 3), "HQ": gap_free("HQ", 2)}
    assert all(invoice.status == InvoiceStatus.ISSUED and invoice.pdf_sha256 for invoice in invoices)
    by_member = {invoice.member.name: invoice for invoice in invoices}
    # Each hub invoices in its own currency; HQ converts the EUR policy at the year's budget rate.
    assert {invoice.hub.invoice_prefix: invoice.currency for invoice in invoices} == {
        "BE": "EUR",
        "HQ": "USD",
    }
    assert (
        by_member["Highland"].total,
        by_member["Highland"].assessed_amount,
        by_member["Highland"].assessed_currency,
        by_member["Highland"].exchange_rate,
    ) == (Decimal("54000.00"), Decimal("50000.00"), "EUR", Decimal("1.08"))
    assert (
        by_member["Midvale"].lines[0].description == "Annual contribution FY2027 (lower-middle income group)"
    )
    assert by_member["Porto Alegre"].lines[0].description == "Annual contribution FY2027 (local government)"
    assert (
        by_member["Reducia"].lines[0].description == "Annual contribution FY2027 (amount agreed: SC-2026-04)"
    )
    assert by_member["Reducia"].total == Decimal("20000.00")
    assert by_member["Lowerton"].language == Language.FR
    assert by_member["Highland"].hub.invoice_prefix == "HQ"
    assert all(
        invoice.annual_run_id == run_id and invoice.issued_by_id == operator.id for invoice in invoices
    )

    run = db.session.get(AnnualRun, run_id)
    assert (run.status, run.planned_count, run.issued_count) == (AnnualRunStatus.FINISHED, 5, 5)
    assert {entry["member"] for entry in run.problems} == {"Nogroup", "Nocontact", "Noemail"}
    assert run.finished_at is not None and run.heartbeat_at is not None and run.started_by_id == operator.id


def test_the_line_is_in_the_members_language(membership, make_user):
    issue_all(make_user("operations"))
    lowerton = next(invoice for invoice in annual_invoices() if invoice.member.name == "Lowerton")
    assert lowerton.lines[0].description == (
        "Contribution annuelle, exercice 2027 (pays à revenu intermédiaire, tranche inférieure)"
    )


def test_running_twice_issues_nothing_twice(membership, make_user):
    operator = make_user("operations")
    issue_all(operator)
    numbers = [invoice.number for invoice in annual_invoices()]

    with pytest.raises(annual_run.NothingToIssue):
        annual_run.start_run(2027, operator)
    db.session.rollback()
    preview = annual_run_preview.build_preview(2027)
    assert [invoice.number for invoice in annual_invoices()] == numbers
    assert preview.summary() == "FY2027: 0 to invoice, 3 problems, 1 waived, 5 already invoiced"
    midvale = next(row for row in preview.rows if row.member.name == "Midvale")
    assert midvale.status == RowStatus.ALREADY_INVOICED and midvale.invoice.number == "HQ-2027-0002"


def test_a_fixed_problem_is_invoiced_by_the_next_run_and_nobody_else_again(membership, make_user):
    operator = make_user("operations")
    issue_all(operator)
    membership["no_contact"].contacts.append(
        MemberContact(name="Found", email="found@gov.example", is_primary=True)
    )
    db.session.commit()

    run_id, _ = issue_all(operator)

    assert db.session.get(AnnualRun, run_id).issued_count == 1
    assert numbers_by_prefix(annual_invoices())["BE"] == gap_free("BE", 4)


def test_only_one_run_per_year_runs_and_issue_all_again_resumes_it(membership, make_user):
    operator = make_user("operations")
    first, resumed_first = annual_run.start_run(2027, operator)
    db.session.commit()
    second, resumed_second = annual_run.start_run(2027, make_user("operations"))

    assert second.id == first.id and (resumed_first, resumed_second) == (False, True)


def test_an_interrupted_run_resumes_and_ends_with_one_invoice_each_and_no_gaps(
    membership, make_user, make_member, monkeypatch
):
    for number in range(6):
        make_member(name=f"Extra {number}", income_group=IncomeGroup.LOW)
    db.session.commit()
    operator = make_user("operations")
    run, _ = annual_run.start_run(2027, operator)
    db.session.commit()
    run_id = run.id

    # Two steps go through, then the process dies while rendering a PDF, after the number was allocated.
    annual_run.run_to_completion(run_id, operator, batch_size=2, max_steps=2)
    real_issue = invoicing.issue_invoice

    def dies_half_way(invoice, actor, issued_on=None):
        real_issue(invoice, actor, issued_on)
        raise RuntimeError("worker killed")

    monkeypatch.setattr(annual_run, "issue_invoice", dies_half_way)
    (stopped,) = annual_run.run_to_completion(run_id, operator, batch_size=2, max_steps=1)
    assert stopped.error and "worker killed" in stopped.error
    assert len(annual_invoices()) == 4
    assert db.session.get(AnnualRun, run_id).status == AnnualRunStatus.FAILED

    # Started again with a new call: the same run carries on.
    monkeypatch.setattr(annual_run, "issue_invoice", real_issue)
    resumed, was_open = annual_run.start_run(2027, operator)
    db.session.commit()
    assert (resumed.id, was_open) == (run_id, True)
    annual_run.run_to_completion(run_id, operator, batch_size=2)

    invoices = annual_invoices()
    assert len(invoices) == 11
    assert len({invoice.member_id for invoice in invoices}) == 11
    assert numbers_by_prefix(invoices) == {"BE": gap_free("BE", 9), "HQ": gap_free("HQ", 2)}
    run = db.session.get(AnnualRun, run_id)
    assert (run.status, run.issued_count, run.planned_count) == (AnnualRunStatus.FINISHED, 11, 11)


def test_a_run_stopped_before_its_pdfs_were_stored_renders_them_on_resume_and_sends_nothing_meanwhile(
    membership, make_user, monkeypatch
):
    from app.common import pdf
    from app.contributions.services.sending import NothingToSend, queue_invoice

    operator = make_user("operations")
    run, _ = annual_run.start_run(2027, operator)
    db.session.commit()
    run_id = run.id

    # Invoices are issued and committed, then the PDF renderer dies before any PDF is stored.
    def renderer_dies(html):
        raise RuntimeError("PDF worker killed")

    monkeypatch.setattr(pdf, "render_pdf", renderer_dies)
    (stopped,) = annual_run.run_to_completion(run_id, operator, batch_size=10, max_steps=1)
    assert "Stopped while storing the invoices' PDFs" in stopped.error
    assert "PDF worker killed" in stopped.error
    issued = annual_invoices()
    assert issued and all(invoice.pdf_sha256 is None for invoice in issued)
    assert db.session.get(AnnualRun, run_id).status == AnnualRunStatus.FAILED
    with pytest.raises(NothingToSend):
        queue_invoice(issued[0], operator)  # an invoice without its stored PDF is never sent

    monkeypatch.undo()
    resumed, was_open = annual_run.start_run(2027, operator)
    db.session.commit()
    assert (resumed.id, was_open) == (run_id, True)
    annual_run.run_to_completion(run_id, operator, batch_size=10)

    invoices = annual_invoices()
    assert len(invoices) == 5 and len({invoice.member_id for invoice in invoices}) == 5
    assert numbers_by_prefix(invoices) == {"BE": gap_free("BE", 3), "HQ": gap_free("HQ", 2)}
    assert all(invoice.pdf_bytes.startswith(b"%PDF") for invoice in invoices)
    run = db.session.get(AnnualRun, run_id)
    assert (run.status, run.issued_count) == (AnnualRunStatus.FINISHED, 5)


def test_the_run_is_not_finished_while_an_issued_invoice_lacks_its_pdf(membership, make_user, monkeypatch):
    from app.contributions.services import invoice_pdfs

    operator = make_user("operations")
    run, _ = annual_run.start_run(2027, operator)
    db.session.commit()
    # The renders of this step are lost (a killed worker whose results never came back).
    monkeypatch.setattr(invoice_pdfs.PdfQueue, "finish", invoice_pdfs.PdfQueue.abandon)
    monkeypatch.setattr(invoice_pdfs.PdfQueue, "store_finished", lambda self, at_least=1: 0)
    (step,) = annual_run.run_to_completion(run.id, operator, batch_size=10, max_steps=1)
    assert step.remaining == 0 and not step.finished
    assert db.session.get(AnnualRun, run.id).status == AnnualRunStatus.RUNNING

    monkeypatch.undo()
    results = annual_run.run_to_completion(run.id, operator, batch_size=10)
    assert results[-1].finished and results[-1].issued == []
    assert all(invoice.pdf_bytes.startswith(b"%PDF") for invoice in annual_invoices())


def test_pdf_worker_processes_render_the_runs_pdfs(membership, make_user):
    from app.common.pdf import pdf_workers

    operator = make_user("operations")
    run, _ = annual_run.start_run(2027, operator)
    db.session.commit()
    with pdf_workers(2) as renderer:
        results = annual_run.run_to_completion(run.id, operator, batch_size=2, renderer=renderer)

    assert results[-1].finished
    invoices = annual_invoices()
    assert numbers_by_prefix(invoices) == {"BE": gap_free("BE", 3), "HQ": gap_free("HQ", 2)}
    for invoice in invoices:
        text = visible_text(pdf_text(invoice.pdf_bytes))
        assert invoice.number in text and invoice.member.name in text


def test_a_member_invoiced_by_a_concurrent_step_is_counted_as_already_invoiced(
    membership, make_user, monkeypatch
):
    operator = make_user("operations")
    run, _ = annual_run.start_run(2027, operator)
    db.session.commit()
    run_id = run.id
    real_issue_for_member = annual_run._issue_for_member

    def another_step_gets_there_first(run_id, fiscal_year, member_id, actor, *batch):
        if member_id == membership["high"].id:
            other = invoicing.create_draft_invoice(
                db.session.get(type(membership["high"]), member_id),
                2027,
                [("Annual contribution", Decimal("54000.00"))],
                operator,
                kind=InvoiceKind.ANNUAL_CONTRIBUTION,
                currency="USD",
            )
            invoicing.issue_invoice(other, operator)
            db.session.commit()
        return real_issue_for_member(run_id, fiscal_year, member_id, actor, *batch)

    # Both application checks look the other way, so that only the unique index can notice.
    monkeypatch.setattr(annual_run, "_issue_for_member", another_step_gets_there_first)
    monkeypatch.setattr(annual_run, "annual_invoices", lambda *args, **kwargs: {})
    monkeypatch.setattr(invoicing, "_refuse_duplicate_annual", lambda *args, **kwargs: None)

    results = annual_run.run_to_completion(run_id, operator, batch_size=10)

    assert sum(result.already_invoiced for result in results) == 1
    invoices = annual_invoices()
    assert len(invoices) == 5 and len({invoice.member_id for invoice in invoices}) == 5
    assert numbers_by_prefix(invoices) == {"BE": gap_free("BE", 3), "HQ": gap_free("HQ", 2)}
    assert db.session.get(AnnualRun, run_id).issued_count == 4


def test_a_business_refusal_sets_the_member_aside_and_the_run_goes_on(membership, make_user, monkeypatch):
    operator = make_user("operations")
    real_issue = invoicing.issue_invoice

    def refuses_midvale(invoice, actor, issued_on=None):
        if invoice.member.name == "Midvale":
            raise invoicing.InvoiceAlreadyIssued("Refused for the test.")
        return real_issue(invoice, actor, issued_on)

    monkeypatch.setattr(annual_run, "issue_invoice", refuses_midvale)
    run_id, _ = issue_all(operator)

    run = db.session.get(AnnualRun, run_id)
    assert run.status == AnnualRunStatus.FINISHED and run.issued_count == 4
    assert {
        "member_id": membership["lower_2"].id,
        "member": "Midvale",
        "problem": "Could not be issued: Refused for the test.",
    } in run.problems
    assert numbers_by_prefix(annual_invoices()) == {"BE": gap_free("BE", 3), "HQ": gap_free("HQ", 1)}


# --- Each hub in its own currency -------------------------------------------------------------------------


def test_a_brussels_member_is_invoiced_in_euros_at_the_policy_rate_and_the_rate_is_kept(
    dollar_policy, make_user
):
    policy, members = dollar_policy
    policy.exchange_rates.append(PolicyExchangeRate(currency="EUR", rate=Decimal("0.92")))
    db.session.commit()

    issue_all(make_user("operations"))

    by_member = {invoice.member.name: invoice for invoice in annual_invoices()}
    brussels = by_member["Bruxellia"]
    assert (brussels.number, brussels.currency, brussels.total) == ("BE-2027-0001", "EUR", Decimal("9200.00"))
    assert brussels.lines[0].amount == Decimal("9200.00")
    assert (brussels.assessed_amount, brussels.assessed_currency, brussels.exchange_rate) == (
        Decimal("10000.00"),
        "USD",
        Decimal("0.92"),
    )
    # The headquarters member is billed in the policy's own currency: no conversion, no rate.
    washington = by_member["Columbia"]
    assert (washington.currency, washington.total, washington.exchange_rate) == (
        "USD",
        Decimal("10000.00"),
        None,
    )
    assert (washington.assessed_amount, washington.assessed_currency) == (Decimal("10000.00"), "USD")


def test_without_the_years_rate_the_hubs_members_are_problems_and_nothing_is_issued_for_them(
    dollar_policy, make_user, login_as
):
    db.session.commit()
    preview = annual_run_preview.build_preview(2027)

    rows = {row.member.name: row for row in preview.rows}
    assert rows["Bruxellia"].status == RowStatus.PROBLEM
    assert rows["Bruxellia"].problems == ("No FY2027 rate from USD to EUR in the contribution policy.",)
    assert rows["Bruxellia"].amount is None  # never a silent 1:1
    assert rows["Columbia"].status == RowStatus.TO_INVOICE
    assert [hub.hub for hub in preview.rate_missing] == ["Brussels hub"]

    page = visible_text(login_as("board").get("/contributions/runs/2027/preview").text)
    assert "No FY2027 rate from USD to EUR." in page and "its members are listed as problems" in page
    assert "No FY2027 rate from USD to EUR in the contribution policy." in page

    issue_all(make_user("operations"))
    assert [(invoice.member.name, invoice.currency) for invoice in annual_invoices()] == [("Columbia", "USD")]


def test_an_issued_invoices_assessment_and_rate_cannot_change(dollar_policy, make_user):
    policy, _members = dollar_policy
    policy.exchange_rates.append(PolicyExchangeRate(currency="EUR", rate=Decimal("0.92")))
    db.session.commit()
    issue_all(make_user("operations"))
    brussels = next(invoice for invoice in annual_invoices() if invoice.currency == "EUR")

    for column, value in [
        ("exchange_rate", Decimal("0.95")),
        ("assessed_amount", Decimal("9000.00")),
        ("assessed_currency", "EUR"),
    ]:
        setattr(brussels, column, value)
        with pytest.raises(IssuedDocumentIsFrozen, match=f"{column} cannot change"):
            db.session.flush()
        db.session.rollback()
    assert db.session.get(Invoice, brussels.id).exchange_rate == Decimal("0.92")


# --- Pages -------------------------------------------------------------------------------------------------


def test_issue_all_starts_the_run_and_steps_issue_it_until_done(membership, login_as):
    client = login_as("operations")
    response = client.post("/contributions/runs/2027/start")
    run = db.session.scalars(sa.select(AnnualRun)).one()
    assert response.headers["Location"] == f"/contributions/runs/{run.id}"

    page = client.get(f"/contributions/runs/{run.id}").text
    assert "0 of 5 issued" in visible_text(page) and 'id="run-step-form"' in page and "annual_run.js" in page

    progress = {}
    for _ in range(3):
        progress = client.post(
            f"/contributions/runs/{run.id}/step", headers={"Accept": "application/json"}
        ).get_json()
        if progress["finished"]:
            break
    assert progress["finished"] and progress["issued"] == 5 and progress["planned"] == 5
    assert progress["problems"] == 3
    page = visible_text(client.get(f"/contributions/runs/{run.id}").text)
    assert "5 invoices issued" in page and "BE-2027-0001" in page and "Continue issuing" not in page


def test_without_javascript_each_press_does_one_step(membership, login_as, monkeypatch):
    monkeypatch.setattr(annual_run, "DEFAULT_BATCH_SIZE", 2)
    client = login_as("operations")
    client.post("/contributions/runs/2027/start")
    run = db.session.scalars(sa.select(AnnualRun)).one()

    response = client.post(f"/contributions/runs/{run.id}/step", follow_redirects=True)
    assert "Issued 2 more; 3 still to issue." in response.text
    assert len(annual_invoices()) == 2


def test_a_second_issue_all_resumes_the_running_run(membership, login_as):
    client = login_as("operations")
    client.post("/contributions/runs/2027/start")
    response = client.post("/contributions/runs/2027/start", follow_redirects=True)
    assert "carries on where it stopped" in response.text
    assert db.session.scalar(sa.select(sa.func.count(AnnualRun.id))) == 1


def test_the_runs_list_shows_who_started_each_run(membership, login_as):
    client = login_as("operations", full_name="Oscar Operations")
    client.post("/contributions/runs/2027/start")
    page = client.get("/contributions/runs/").text
    assert "FY2027" in page and "Oscar Operations" in page and "Running" in page
    assert client.get("/contributions/runs/?fiscal_year=2027").headers["Location"] == (
        "/contributions/runs/2027/preview"
    )


def test_the_board_reads_previews_and_runs_but_cannot_start_or_step(membership, login_as, make_user):
    run, _ = annual_run.start_run(2027, make_user("operations"))
    db.session.commit()
    board = login_as("board")

    assert board.get("/contributions/runs/").status_code == 200
    preview = board.get("/contributions/runs/2027/preview")
    assert preview.status_code == 200 and "Issue all" not in preview.text
    shown = board.get(f"/contributions/runs/{run.id}")
    assert shown.status_code == 200 and "Continue issuing" not in shown.text
    assert board.post("/contributions/runs/2027/start").status_code == 403
    assert board.post(f"/contributions/runs/{run.id}/step").status_code == 403
    assert annual_invoices() == []


# --- Command line ------------------------------------------------------------------------------------------


def test_the_dry_run_issues_nothing_and_prints_the_summary(membership, app):
    result = app.test_cli_runner().invoke(args=["contributions", "issue-annual", "--fy", "2027", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == (
        "FY2027: 5 to invoice, 3 problems, 1 waived, 0 already invoiced; dry run, issued 0"
    )
    assert "problem: Nogroup: No income group is recorded for FY2027." in result.output
    assert "waived: Waivonia: Waiver: Earthquake (SC-2026-05)" in result.output
    assert annual_invoices() == [] and db.session.scalar(sa.select(sa.func.count(AnnualRun.id))) == 0


def test_the_command_issues_all_and_ends_with_the_count(membership, app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["contributions", "issue-annual", "--fy", "2027"])

    assert result.exit_code == 0, result.output
    last_line = result.output.strip().splitlines()[-1]
    assert last_line == "FY2027: 5 to invoice, 3 problems, 1 waived, 0 already invoiced; issued 5"
    assert re.search(r"issued (\d+)$", last_line).group(1) == str(len(annual_invoices()))
    run = db.session.scalars(sa.select(AnnualRun)).one()
    assert run.started_by_id is None and run.status == AnnualRunStatus.FINISHED

    again = runner.invoke(args=["contributions", "issue-annual", "--fy", "2027"])
    assert again.output.strip().splitlines()[-1] == (
        "FY2027: 0 to invoice, 3 problems, 1 waived, 5 already invoiced; issued 0"
    )
    assert len(annual_invoices()) == 5


def test_the_command_refuses_a_year_without_policy(hub, make_member, app):
    make_member()
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["contributions", "issue-annual", "--fy", "2031"])
    assert result.exit_code != 0 and "no contribution policy for FY2031" in result.output


def test_the_demo_run_issues_the_current_year_once(membership, monkeypatch):
    from app.contributions.demo import runs as demo_runs

    monkeypatch.setattr(demo_runs, "current_fiscal_year", lambda: 2027)
    assert demo_runs.seed_current_run() == 5
    assert demo_runs.seed_current_run() == 0
    assert len(annual_invoices()) == 5


# --- Concurrency (PostgreSQL) ------------------------------------------------------------------------------


def _postgresql_only():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter; SQLite serialises writers anyway")


def _in_threads(app, count: int, work) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run(index: int):
        try:
            with app.app_context():
                barrier.wait()
                work(index)
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    workers = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return errors


@pytest.mark.real_commits
def test_two_people_pressing_issue_all_at_once_share_one_run(app, hub, make_member, make_policy, make_user):
    _postgresql_only()
    make_policy(2027)
    make_member()
    user_id = make_user("operations").id
    db.session.commit()
    db.session.remove()
    run_ids = []

    def press_issue_all(index):
        from app.auth.models import User

        run, _ = annual_run.start_run(2027, db.session.get(User, user_id))
        db.session.commit()
        run_ids.append(run.id)

    assert _in_threads(app, 4, press_issue_all) == []
    assert len(set(run_ids)) == 1
    assert db.session.scalar(sa.select(sa.func.count(AnnualRun.id))) == 1


@pytest.mark.real_commits
def test_concurrent_steps_issue_each_member_once_without_gaps(app, hub, make_member, make_policy, make_user):
    _postgresql_only()
    make_policy(2027)
    for number in range(24):
        make_member(name=f"Concurrent {number:02d}")
    user = make_user("operations")
    run, _ = annual_run.start_run(2027, user)
    run_id, user_id = run.id, user.id
    db.session.commit()
    db.session.remove()

    def keep_stepping(index):
        from app.auth.models import User

        annual_run.run_to_completion(run_id, db.session.get(User, user_id), batch_size=3)

    assert _in_threads(app, 4, keep_stepping) == []
    invoices = annual_invoices()
    assert len(invoices) == 24 and len({invoice.member_id for invoice in invoices}) == 24
    assert [invoice.number for invoice in invoices] == gap_free("BE", 24)
    run = db.session.get(AnnualRun, run_id)
    assert (run.status, run.issued_count) == (AnnualRunStatus.FINISHED, 24)
