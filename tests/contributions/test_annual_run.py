"""The annual run: preview, problems, waivers, issuing all, running twice, resuming, the CLI.

The run commits each member's invoice on its own, so these tests commit their setup first (in the test
transaction, which is still rolled back at the end).
"""

from __future__ import annotations

import csv
import io
import re
import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.contributions.models import (
    AdjustmentKind,
    AnnualRun,
    AnnualRunStatus,
    IncomeGroup,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    IssuedDocumentIsFrozen,
    Language,
    MemberContact,
    MemberStatus,
    PolicyExchangeRate,
)
from app.contributions.services import annual_run, annual_run_preview, invoicing
from app.contributions.services.annual_run_preview import RowStatus
from app.extensions import db
from app.hubs.models import HubKind, HubStatus


@pytest.fixture
def headquarters(make_hub):
    return make_hub(
        name="Washington DC headquarters",
        kind=HubKind.HEADQUARTERS,
        base_currency="USD",
        invoice_prefix="HQ",
        country_code="US",
    )


@pytest.fixture
def membership(hub, headquarters, make_member, make_policy, make_adjustment):
    """A FY2027 policy in EUR (with its budget rate into USD, 1 EUR = 1.08 USD), and members in both hubs:
    groups, a local member, an adjustment, a waiver and three problems."""
    policy = make_policy(
        2027, currency="EUR", high="50000.00", lower_middle="10000.00", low="5000.00", local="2500.00"
    )
    policy.exchange_rates.append(PolicyExchangeRate(currency="USD", rate=Decimal("1.08")))
    members = {
        "high": make_member(name="Highland", income_group=IncomeGroup.HIGH, hub=headquarters),
        "lower_1": make_member(name="Lowerton", income_group=IncomeGroup.LOWER_MIDDLE, language=Language.FR),
        "lower_2": make_member(name="Midvale", income_group=IncomeGroup.LOWER_MIDDLE, hub=headquarters),
        "local": make_member(name="Porto Alegre", kind="local"),
        "reduced": make_member(name="Reducia", income_group=IncomeGroup.HIGH),
        "waived": make_member(name="Waivonia", income_group=IncomeGroup.LOW),
        "no_group": make_member(name="Nogroup", income_group=None),
        "no_contact": make_member(name="Nocontact", with_contact=False),
        "no_email": make_member(name="Noemail", with_contact=False),
        "inactive": make_member(name="Sleepyland", status=MemberStatus.INACTIVE),
    }
    members["no_email"].contacts.append(MemberContact(name="Phone only", email="", is_primary=True))
    make_adjustment(member=members["reduced"], amount="20000.00", approval_reference="SC-2026-04")
    make_adjustment(member=members["waived"], kind=AdjustmentKind.WAIVER, approval_reference="SC-2026-05")
    db.session.commit()
    return members


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


def gap_free(prefix, count, fiscal_year=2027):
    return [f"{prefix}-{fiscal_year}-{n:04d}" for n in range(1, count + 1)]


# --- Preview -----------------------------------------------------------------------------------------------


def test_the_preview_gives_each_member_its_groups_amount_or_its_adjustment(membership):
    preview = annual_run_preview.build_preview(2027)
    rows = {row.member.name: row for row in preview.rows}

    assert {
        name: (row.status, row.amount) for name, row in rows.items() if row.status == RowStatus.TO_INVOICE
    } == {
        "Highland": (RowStatus.TO_INVOICE, Decimal("54000.00")),  # 50,000 EUR at 1.08, billed by HQ in USD
        "Lowerton": (RowStatus.TO_INVOICE, Decimal("10000.00")),
        "Midvale": (RowStatus.TO_INVOICE, Decimal("10800.00")),
        "Porto Alegre": (RowStatus.TO_INVOICE, Decimal("2500.00")),
        "Reducia": (RowStatus.TO_INVOICE, Decimal("20000.00")),
    }
    assert (rows["Highland"].currency, rows["Highland"].billing.assessed_amount) == (
        "USD",
        Decimal("50000.00"),
    )
    assert (rows["Lowerton"].currency, rows["Lowerton"].billing.exchange_rate) == ("EUR", None)
    assert rows["Reducia"].policy_amount == Decimal("50000.00")
    assert rows["Reducia"].adjustment.approval_reference == "SC-2026-04"
    assert "Sleepyland" not in rows and preview.not_in_run_count == 1
    assert preview.summary() == "FY2027: 5 to invoice, 3 problems, 1 waived, 0 already invoiced"


def test_totals_are_per_income_group_and_per_hub_in_the_currency_each_hub_invoices_in(membership):
    preview = annual_run_preview.build_preview(2027)

    by_group = {total.label: (total.to_invoice_count, total.to_invoice) for total in preview.totals_by_group}
    assert by_group["High income"] == (2, {"EUR": Decimal("20000.00"), "USD": Decimal("54000.00")})
    assert by_group["Lower-middle income"] == (2, {"EUR": Decimal("10000.00"), "USD": Decimal("10800.00")})
    assert by_group["Local government"] == (1, {"EUR": Decimal("2500.00")})
    by_hub = {total.label: (total.to_invoice_count, total.to_invoice) for total in preview.totals_by_hub}
    assert by_hub["Washington DC headquarters"] == (2, {"USD": Decimal("64800.00")})
    assert by_hub["Brussels hub"] == (3, {"EUR": Decimal("32500.00")})
    assert preview.total_to_invoice == {"EUR": Decimal("32500.00"), "USD": Decimal("64800.00")}


def test_problems_are_listed_with_the_reason_not_skipped_silently(membership):
    problems = {row.member.name: row.problems for row in annual_run_preview.build_preview(2027).problems}

    assert problems == {
        "Nogroup": ("No income group is recorded for FY2027.",),
        "Nocontact": ("No primary billing contact with an e-mail address.",),
        "Noemail": ("No primary billing contact with an e-mail address.",),
    }


def test_a_member_of_a_closed_hub_is_a_problem(membership, make_member, make_hub):
    closed = make_hub(name="Old office", status=HubStatus.CLOSED, invoice_prefix="OLD")
    make_member(name="Stranded", hub=closed)
    problems = {row.member.name: row.problems for row in annual_run_preview.build_preview(2027).problems}
    assert problems["Stranded"] == ("Its issuing hub, Old office, is closed.",)


def test_a_waived_member_is_listed_as_waived_with_its_reason(membership):
    (waived,) = annual_run_preview.build_preview(2027).waived
    assert waived.member.name == "Waivonia"
    assert waived.waived_because == "Waiver: Earthquake (SC-2026-05)"


def test_the_preview_page_shows_problems_first_adjustments_and_totals(membership, login_as):
    page = login_as("operations").get("/contributions/runs/2027/preview").get_data(as_text=True)

    assert page.index("Problems to fix first") < page.index("Adjustments") < page.index("By income group")
    assert "No income group is recorded for FY2027." in page
    assert f'href="/contributions/members/{membership["no_group"].id}"' in page
    assert "Currency crisis" in page and "SC-2026-04" in page
    assert "Earthquake" in page and "SC-2026-05" in page
    assert "€32,500.00" in page and "$64,800.00" in page  # never added across currencies
    text = visible_text(page)
    assert "Washington DC headquarters in USD at the FY2027 budget rate, 1 EUR = 1.0800 USD" in text
    assert "$54,000.00 €50,000.00 at 1 EUR = 1.0800 USD" in text  # Highland: converted, beside the policy
    assert "Issue all" in page


def test_the_preview_exports_to_csv(membership, login_as):
    response = login_as("board").get("/contributions/runs/2027/preview?format=csv")

    assert response.mimetype == "text/csv"
    rows = {row["Member"]: row for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)))}
    assert rows["Reducia"]["Amount"] == "20000.00" and rows["Reducia"]["Approval reference"] == "SC-2026-04"
    assert rows["Waivonia"]["What the run does"] == "Waived"
    assert rows["Nocontact"]["Notes"] == "No primary billing contact with an e-mail address."
    assert len(rows) == 9


def test_without_a_policy_the_preview_says_so_and_nothing_can_start(hub, make_member, login_as):
    make_member()
    client = login_as("operations")
    assert "There is no contribution policy for FY2031" in client.get("/contributions/runs/2031/preview").text
    response = client.post("/contributions/runs/2031/start", follow_redirects=True)
    assert "There is no contribution policy for FY2031" in response.text
    assert db.session.scalar(sa.select(sa.func.count(AnnualRun.id))) == 0


def test_the_preview_reads_members_in_a_constant_number_of_queries(membership, make_member, app):
    def queries_for_preview():
        statements = []

        def count(*args):
            statements.append(1)

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            annual_run_preview.build_preview(2027)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    queries_for_preview()  # the first call also reloads what the fixture's commit expired
    before = queries_for_preview()
    for _ in range(5):
        make_member()
    db.session.flush()
    assert queries_for_preview() == before


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


def test_a_member_invoiced_by_a_concurrent_step_is_counted_as_already_invoiced(
    membership, make_user, monkeypatch
):
    operator = make_user("operations")
    run, _ = annual_run.start_run(2027, operator)
    db.session.commit()
    run_id = run.id
    real_issue_for_member = annual_run._issue_for_member

    def another_step_gets_there_first(run_id, fiscal_year, member_id, actor):
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
        return real_issue_for_member(run_id, fiscal_year, member_id, actor)

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


@pytest.fixture
def dollar_policy(hub, headquarters, make_member, make_policy):
    """FY2027 in USD, as DESIGN.md sets it: a Brussels member (EUR hub) and a headquarters member (USD)."""
    policy = make_policy(2027, currency="USD", lower_middle="10000.00")
    members = {
        "brussels": make_member(
            name="Bruxellia", income_group=IncomeGroup.LOWER_MIDDLE, language=Language.FR
        ),
        "washington": make_member(name="Columbia", income_group=IncomeGroup.LOWER_MIDDLE, hub=headquarters),
    }
    return policy, members


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


# --- The preview at scale, and its conversions in the CSV and the dry run ----------------------------------


def test_the_preview_page_runs_as_many_queries_for_many_members_as_for_few(membership, make_member, login_as):
    client = login_as("board")

    def queries(url: str) -> int:
        statements = []

        def seen(*args):
            statements.append(1)

        sa.event.listen(db.engine, "before_cursor_execute", seen)
        try:
            assert client.get(url).status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", seen)
        return len(statements)

    url = "/contributions/runs/2027/preview"
    few = queries(url)
    for number in range(60):  # more than a page, with and without a billing e-mail
        make_member(name=f"Newland {number:02d}", with_contact=number % 3 != 0)
    db.session.commit()

    assert queries(url) == few
    assert queries(url + "?page=2") == few
    assert queries(url + "?format=csv") < few


def test_a_billing_email_takes_a_primary_contact_with_an_address(membership, make_member):
    blank = make_member(name="Blankmail", with_contact=False)
    blank.contacts.append(MemberContact(name="Spaces", email="   ", is_primary=True))
    secondary = make_member(name="Secondonly", with_contact=False)
    secondary.contacts.append(MemberContact(name="Deputy", email="deputy@gov.example", is_primary=False))
    db.session.commit()

    rows = {row.member.name: row for row in annual_run_preview.build_preview(2027).rows}

    for name in ("Blankmail", "Secondonly", "Nocontact", "Noemail"):
        assert rows[name].problems == ("No primary billing contact with an e-mail address.",), name
    assert rows["Highland"].status == RowStatus.TO_INVOICE


@pytest.fixture
def converted(dollar_policy):
    """FY2027 in USD with a budget rate into EUR: Bruxellia (Brussels) is converted, Columbia is not."""
    policy, members = dollar_policy
    policy.exchange_rates.append(PolicyExchangeRate(currency="EUR", rate=Decimal("0.92")))
    db.session.commit()
    return policy, members


def test_the_preview_csv_shows_the_policy_amount_its_currency_and_the_rate(converted, login_as, make_user):
    client = login_as("board")

    def rows():
        response = client.get("/contributions/runs/2027/preview?format=csv")
        return {row["Member"]: row for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)))}

    before = rows()
    assert {key: before["Bruxellia"][key] for key in ("Amount", "Currency", "Assessed in policy currency",
                                                       "Policy currency", "Exchange rate")} == {
        "Amount": "9200.00",
        "Currency": "EUR",
        "Assessed in policy currency": "10000.00",
        "Policy currency": "USD",
        "Exchange rate": "0.92",
    }  # fmt: skip
    assert (before["Columbia"]["Amount"], before["Columbia"]["Policy currency"]) == ("10000.00", "USD")
    assert before["Columbia"]["Exchange rate"] == ""

    # Once issued, the row shows the rate the invoice keeps, even after the budget rate is revised.
    issue_all(make_user("operations"))
    policy, _members = converted
    policy.exchange_rates[0].rate = Decimal("0.95")
    db.session.commit()
    after = rows()
    assert after["Bruxellia"]["What the run does"] == "Already invoiced"
    assert (after["Bruxellia"]["Amount"], after["Bruxellia"]["Exchange rate"]) == ("9200.00", "0.92")


def test_the_dry_run_shows_each_conversion_and_each_hubs_rate(converted, app):
    result = app.test_cli_runner().invoke(args=["contributions", "issue-annual", "--fy", "2027", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert (
        "converted: Bruxellia: €9,200.00, assessed at $10,000.00, converted at 1 USD = 0.9200 EUR "
        "(FY2027 budget rate)"
    ) in result.output
    assert "converted: Columbia" not in result.output
    assert (
        "to invoice from Brussels hub: 1 invoices, €9,200.00 at the FY2027 budget rate, 1 USD = 0.9200 EUR"
    ) in result.output
    assert "to invoice from Washington DC headquarters: 1 invoices, $10,000.00\n" in result.output
    assert annual_invoices() == []
