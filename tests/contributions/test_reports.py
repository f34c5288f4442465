"""Ageing of open invoices and the arrears matrix, with their exports."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from app.contributions.models import AdjustmentKind, ContributionAdjustment, PaymentMethod
from app.contributions.services.payments import record_payment
from app.contributions.services.reports import ageing_report, arrears_report
from app.extensions import db

D = Decimal
AS_OF = date(2027, 6, 1)


@pytest.fixture
def actor(make_user):
    return make_user("operations")


def invoice_due(make_issued_invoice, days_past_due: int, **overrides):
    """An invoice whose due date is `days_past_due` days before AS_OF, for 100 + days (to tell them apart)."""
    issued_on = AS_OF - timedelta(days=120)
    return make_issued_invoice(
        issued_on=issued_on,
        due_in_days=120 - days_past_due,
        amount=overrides.pop("amount", f"{100 + days_past_due}.00"),
        **overrides,
    )


def test_ageing_buckets_at_their_boundaries(make_member, make_issued_invoice):
    member = make_member()
    for days in (0, 1, 30, 31, 60, 61, 90, 91):
        invoice_due(make_issued_invoice, days, member=member)

    report = ageing_report(AS_OF)

    (row,) = report.rows
    assert row.currency == "EUR"
    assert row.invoice_count == 8
    assert row.buckets == {
        "current": D("100.00"),  # due today: not yet late
        "days_1_30": D("101.00") + D("130.00"),
        "days_31_60": D("131.00") + D("160.00"),
        "days_61_90": D("161.00") + D("190.00"),
        "over_90": D("191.00"),
    }
    assert report.totals[0].total == sum(row.buckets.values())


def test_ageing_counts_what_was_owed_on_the_date(make_member, make_issued_invoice, actor):
    member = make_member()
    invoice = invoice_due(make_issued_invoice, 45, member=member, amount="1000.00")
    record_payment(
        member, D("400.00"), "EUR", AS_OF - timedelta(days=1), PaymentMethod.WIRE, actor,
        allocations=[(invoice, D("400.00"), None)],
    )  # fmt: skip
    record_payment(
        member, D("600.00"), "EUR", AS_OF + timedelta(days=5), PaymentMethod.WIRE, actor,
        allocations=[(invoice, D("600.00"), None)],
    )  # fmt: skip

    assert ageing_report(AS_OF).rows[0].buckets["days_31_60"] == D("600.00")
    assert ageing_report(AS_OF + timedelta(days=5)).rows == []


def test_ageing_keeps_hubs_and_currencies_apart(make_hub, make_member, make_issued_invoice):
    washington = make_hub(name="Washington", base_currency="USD", invoice_prefix="US")
    invoice_due(make_issued_invoice, 10, member=make_member())
    invoice_due(make_issued_invoice, 10, member=make_member(hub=washington), amount="50.00")

    report = ageing_report(AS_OF)

    assert sorted((row.hub_name, row.currency) for row in report.rows) == [
        ("Brussels hub", "EUR"),
        ("Washington", "USD"),
    ]
    assert [(total.currency, total.total) for total in report.totals] == [
        ("EUR", D("110.00")),
        ("USD", D("50.00")),
    ]
    assert [row.hub_name for row in ageing_report(AS_OF, hub_id=washington.id).rows] == ["Washington"]


def test_ageing_page_and_csv(login_as, make_member, make_issued_invoice):
    invoice = invoice_due(make_issued_invoice, 95, member=make_member(name="Late Republic"))
    client = login_as("board")

    page = client.get(f"/contributions/reports/ageing?as_of={AS_OF.isoformat()}")
    assert page.status_code == 200
    assert "Over 90 days" in page.text
    assert invoice.number in page.text and "Late Republic" in page.text

    export = client.get(f"/contributions/reports/ageing?as_of={AS_OF.isoformat()}&format=csv")
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[1] == ["Hub", "Currency", "Invoices", "Current (not yet due)", "1-30 days", "31-60 days",
                       "61-90 days", "Over 90 days", "Total"]  # fmt: skip
    assert rows[2][:3] == ["Brussels hub", "EUR", "1"]
    assert rows[2][7] == "195.00"


# --- Arrears -----------------------------------------------------------------------------------------------


@pytest.fixture
def arrears(make_member, make_issued_invoice, make_policy, actor):
    """Late: FY2025 and FY2026 unpaid (flagged). Patchy: 2025 unpaid, 2026 paid, 2027 unpaid (not flagged)."""
    make_policy(fiscal_year=2026, currency="EUR")
    late = make_member(name="Late Republic", fiscal_year=2026)
    patchy = make_member(name="Patchy Republic", fiscal_year=2026)
    for year in (2025, 2026):
        make_issued_invoice(member=late, fiscal_year=year, amount="1000.00", issued_on=date(year, 1, 15))
    for year in (2025, 2026, 2027):
        invoice = make_issued_invoice(
            member=patchy, fiscal_year=year, amount="500.00", issued_on=date(year, 1, 15)
        )
        if year == 2026:
            record_payment(
                patchy, D("500.00"), "EUR", date(2026, 2, 1), PaymentMethod.WIRE, actor,
                allocations=[(invoice, D("500.00"), None)],
            )  # fmt: skip
    waived = make_member(name="Waived Republic", fiscal_year=2026)
    db.session.add(
        ContributionAdjustment(
            member=waived,
            fiscal_year=2026,
            kind=AdjustmentKind.WAIVER,
            reason="Natural disaster",
            approval_reference="SC-2026-01",
        )
    )
    db.session.flush()
    return late, patchy, waived


def test_two_consecutive_unpaid_years_are_flagged(arrears):
    late, patchy, waived = arrears

    report = arrears_report(2025, 2028)

    rows = {row.member.name: row for row in report.rows}
    assert rows["Late Republic"].flagged
    assert rows["Late Republic"].consecutive_unpaid == 2
    assert rows["Late Republic"].outstanding == {"EUR": D("2000.00")}
    assert not rows["Patchy Republic"].flagged
    fy2026 = rows["Patchy Republic"].cells[1]
    assert (fy2026.invoiced, fy2026.paid, fy2026.outstanding) == (
        {"EUR": D("500.00")},
        {"EUR": D("500.00")},
        {"EUR": D("0.00")},
    )
    assert fy2026.assessed == D("10000.00") and fy2026.assessed_currency == "EUR"
    assert rows["Waived Republic"].cells[1].waived
    assert [row.member.name for row in arrears_report(2025, 2028, only_flagged=True).rows] == [
        "Late Republic"
    ]


def test_arrears_page_filters_and_exports(login_as, arrears):
    client = login_as("board")

    page = client.get("/contributions/reports/arrears?first_year=2025&last_year=2028&flagged=y")
    assert page.status_code == 200
    assert "Late Republic" in page.text and "Patchy Republic" not in page.text
    assert "2 consecutive unpaid years" in page.text

    export = client.get("/contributions/reports/arrears?first_year=2025&last_year=2028&format=csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    late_2026 = next(r for r in rows if r["Member"] == "Late Republic" and r["Fiscal year"] == "2026")
    assert (late_2026["Outstanding"], late_2026["Flagged"], late_2026["Invoice currency"]) == (
        "1000.00",
        "yes",
        "EUR",
    )


def test_arrears_xlsx_is_a_proper_sheet(login_as, arrears):
    client = login_as("board")

    response = client.get("/contributions/reports/arrears?first_year=2025&last_year=2028&format=xlsx")

    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.data)).active
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["Member", "Country", "Hub", "Fiscal year"]
    assert sheet.freeze_panes == "B2"
    assert sheet["A1"].font.bold
    outstanding = header.index("Outstanding") + 1
    late_rows = [row for row in sheet.iter_rows(min_row=2) if row[0].value == "Late Republic"]
    assert sum(row[outstanding - 1].value or 0 for row in late_rows) == 2000
    assert late_rows[0][outstanding - 1].number_format == "#,##0.00"


def test_the_arrears_page_runs_a_constant_number_of_queries(
    login_as, make_member, make_issued_invoice, arrears
):
    client = login_as("board")
    url = "/contributions/reports/arrears?first_year=2025&last_year=2028"

    def queries() -> int:
        statements = []

        def count(*args, **kwargs):
            statements.append(1)

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    before = queries()
    for _ in range(5):
        member = make_member(fiscal_year=2026)
        make_issued_invoice(member=member, fiscal_year=2026, issued_on=date(2026, 1, 15))
    assert queries() == before


# --- Arrears across currencies -----------------------------------------------------------------------------


@pytest.fixture
def euro_member_under_a_dollar_policy(make_member, make_policy, actor):
    """A Brussels member (EUR) under USD policies: FY2026 invoiced at 0.92, FY2027 not invoiced yet (budget
    rate 0.90), FY2028 without a rate."""
    from app.contributions.models import IncomeGroup, InvoiceKind, MemberIncomeGroup, PolicyExchangeRate
    from app.contributions.services.assessments import assess_member, billing_amount
    from app.contributions.services.invoicing import create_draft_invoice, issue_invoice

    member = make_member(name="Euroland", fiscal_year=2026)
    for year, rate in ((2026, "0.92"), (2027, "0.90"), (2028, None)):
        policy = make_policy(fiscal_year=year, currency="USD", lower_middle="10000.00")
        if rate:
            policy.exchange_rates.append(PolicyExchangeRate(currency="EUR", rate=D(rate)))
        if year != 2026:
            member.income_groups.append(
                MemberIncomeGroup(fiscal_year=year, income_group=IncomeGroup.LOWER_MIDDLE)
            )
    db.session.flush()
    billing = billing_amount(assess_member(member, 2026))
    invoice = create_draft_invoice(
        member, 2026, [("Annual contribution", billing.amount)], actor,
        kind=InvoiceKind.ANNUAL_CONTRIBUTION, conversion=billing,
    )  # fmt: skip
    issue_invoice(invoice, actor, issued_on=date(2026, 1, 15))
    return member


def test_arrears_compare_assessed_and_invoiced_in_the_same_currency(euro_member_under_a_dollar_policy):
    from app.contributions.services.assessments import policy_for

    # The FY2026 budget rate is revised after the invoice went out: the invoice keeps its own rate.
    policy_for(2026).exchange_rates[0].rate = D("0.95")
    db.session.flush()

    (row,) = arrears_report(2026, 2028).rows
    fy2026, fy2027, fy2028 = row.cells

    assert (fy2026.assessed, fy2026.assessed_currency, fy2026.invoiced) == (
        D("9200.00"),
        "EUR",
        {"EUR": D("9200.00")},
    )
    assert (fy2026.policy_assessed, fy2026.policy_currency, fy2026.exchange_rate, fy2026.rate_source) == (
        D("10000.00"),
        "USD",
        D("0.92"),
        "invoice",
    )
    assert (fy2027.assessed, fy2027.assessed_currency, fy2027.exchange_rate, fy2027.rate_source) == (
        D("9000.00"),
        "EUR",
        D("0.90"),
        "policy",
    )
    assert fy2028.assessed is None and fy2028.policy_assessed == D("10000.00")
    assert fy2028.assessed_problem == "No FY2028 rate from USD to EUR in the contribution policy."


def test_the_arrears_page_shows_assessed_in_the_billing_currency_with_sums_per_currency(
    login_as, euro_member_under_a_dollar_policy, make_hub, make_member, make_issued_invoice
):
    washington = make_hub(name="Washington", base_currency="USD", invoice_prefix="US")
    make_member(name="Dollaria", hub=washington, fiscal_year=2027)
    client = login_as("board")

    page = client.get("/contributions/reports/arrears?first_year=2026&last_year=2028").text
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())

    assert "assessed €9,200.00 = $10,000.00 × 0.9200 invoiced €9,200.00" in text
    assert "not invoiced assessed €9,000.00 = $10,000.00 × 0.9000" in text
    assert 'title="1 USD = 0.9200 EUR, the rate the invoice was issued with"' in page
    assert 'title="1 USD = 0.9000 EUR, the FY2027 budget rate"' in page
    assert "assessed $10,000.00 no EUR rate" in text
    # FY2027's assessed total: euros for Euroland, dollars for Dollaria, never added together.
    assert "Assessed €9,200.00 €9,000.00 $10,000.00" in text

    export = client.get("/contributions/reports/arrears?first_year=2026&last_year=2028&format=csv")
    rows = {
        r["Fiscal year"]: r for r in csv.DictReader(io.StringIO(export.text)) if r["Member"] == "Euroland"
    }
    assert (rows["2027"]["Assessed"], rows["2027"]["Assessed currency"]) == ("9000.00", "EUR")
    assert (rows["2027"]["Assessed in policy currency"], rows["2027"]["Policy currency"]) == (
        "10000.00",
        "USD",
    )
    assert rows["2027"]["Exchange rate"] == "0.9"
