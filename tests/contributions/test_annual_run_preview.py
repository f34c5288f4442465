"""The annual run's preview: each member's amount or why it has none, totals per group and hub, its page and
CSV, conversions from the policy's currency, and its cost in queries.

The scenarios (`membership`, `dollar_policy`, `converted`) are in tests/contributions/conftest.py, shared with
the run's own tests (test_annual_run.py).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import sqlalchemy as sa

from app.contributions.models import (
    AnnualRun,
    Invoice,
    MemberContact,
)
from app.contributions.services import annual_run, annual_run_preview
from app.contributions.services.annual_run_preview import RowStatus
from app.extensions import db
from app.hubs.models import HubStatus
from tests.helpers import visible_text


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
    operator = make_user("operations")
    run, _ = annual_run.start_run(2027, operator)
    db.session.commit()
    annual_run.run_to_completion(run.id, operator)
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
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 0


def test_long_lists_of_problems_and_adjustments_come_a_page_at_a_time(membership, login_as, app, monkeypatch):
    monkeypatch.setitem(app.config, "ITEMS_PER_PAGE", 2)
    client = login_as("operations")
    problems = [row.member.name for row in annual_run_preview.build_preview(2027).problems]
    assert len(problems) == 3

    first = client.get("/contributions/runs/2027/preview").get_data(as_text=True)
    second = client.get("/contributions/runs/2027/preview?problems_page=2").get_data(as_text=True)

    def listed(page):
        section = page.split('id="problems"')[1].split("</section>")[0]
        return [name for name in problems if f">{name}<" in section]

    assert listed(first) == problems[:2] and listed(second) == problems[2:]
    assert 'Problems to fix first <small class="muted">(3)</small>' in first
    assert "problems_page=2#problems" in first
