"""The arrears matrix, its flags and totals, with its exports."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from app.contributions.models import (
    AdjustmentKind,
    IncomeGroup,
    InvoiceKind,
    MemberIncomeGroup,
    PaymentMethod,
    PolicyExchangeRate,
)
from app.contributions.services import arrears as arrears_service
from app.contributions.services.arrears import arrears_report, arrears_totals, flagged_member_ids
from app.contributions.services.assessments import assess_member, billing_amount, policy_for
from app.contributions.services.invoicing import create_draft_invoice, issue_invoice
from app.contributions.services.payments import record_payment
from app.extensions import db
from tests.helpers import count_queries, visible_text

D = Decimal


@pytest.fixture
def actor(make_user):
    return make_user("operations")


@pytest.fixture
def arrears(make_member, make_issued_invoice, make_policy, make_adjustment, actor):
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
    make_adjustment(member=waived, fiscal_year=2026, kind=AdjustmentKind.WAIVER, reason="Natural disaster")
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


# --- At scale: pagination, SQL totals and flags, streamed exports -------------------------------------------


def late_member(make_member, make_issued_invoice, name: str, years=(2025, 2026), **overrides):
    member = make_member(name=name, fiscal_year=2026, **overrides)
    for year in years:
        make_issued_invoice(member=member, fiscal_year=year, amount="1000.00", issued_on=date(year, 1, 15))
    return member


def test_the_arrears_page_runs_as_many_queries_for_many_members_as_for_few(
    login_as, make_member, make_issued_invoice, make_policy, small_pages
):
    make_policy(fiscal_year=2026, currency="EUR")
    client = login_as("board")
    url = "/contributions/reports/arrears?first_year=2025&last_year=2028"
    late_member(make_member, make_issued_invoice, "Alpha")
    few = count_queries(client, url)

    for number in range(12):
        late_member(make_member, make_issued_invoice, f"Beta {number:02d}", years=(2025, 2026, 2027))
    assert count_queries(client, url) == few
    assert count_queries(client, url + "&page=4") == few
    assert count_queries(client, url + "&flagged=y&page=3") == few


def test_only_flagged_members_fill_every_page_and_the_pager_counts_them(
    login_as, make_member, make_issued_invoice, small_pages
):
    # Names interleave flagged and unflagged members, so that filtering a page after reading it would show
    # half-empty pages.
    flagged = [late_member(make_member, make_issued_invoice, f"Country {letter}1") for letter in "ABCDE"]
    for letter in "ABCD":
        late_member(make_member, make_issued_invoice, f"Country {letter}2", years=(2025, 2027))
    client = login_as("board")
    url = "/contributions/reports/arrears?first_year=2025&last_year=2028&flagged=y"

    pages = [visible_text(client.get(f"{url}&page={number}").text) for number in (1, 2, 3)]

    listed = [re.findall(r"Country [A-E][12]", page) for page in pages]
    assert listed == [["Country A1", "Country B1"], ["Country C1", "Country D1"], ["Country E1"]]
    assert "1–2 of 5 members" in pages[0] and "5–5 of 5 members" in pages[2]
    assert "5 members have two or more consecutive unpaid years in FY2025–FY2028." in pages[0]
    # Page 2 keeps the filters in its links.
    assert (
        'href="/contributions/reports/arrears?first_year=2025&amp;last_year=2028&amp;flagged=y&amp;page=3"'
        in (client.get(f"{url}&page=2").text)
    )
    everyone = visible_text(client.get("/contributions/reports/arrears?first_year=2025&last_year=2028").text)
    assert "5 of 9 members are flagged" in everyone
    assert [row.member.name for row in arrears_report(2025, 2028, only_flagged=True).rows] == [
        member.name for member in flagged
    ]


def test_the_sql_flag_agrees_with_the_rows(arrears):

    late, patchy, waived = arrears
    report = arrears_report(2025, 2028)

    assert (
        flagged_member_ids(2025, 2028) == [row.member.id for row in report.rows if row.flagged] == [late.id]
    )
    assert flagged_member_ids(2026, 2027) == []  # within the range only: 2026 alone is unpaid there


def test_the_totals_from_sql_equal_the_sums_of_every_row(
    euro_member_under_a_dollar_policy, make_hub, make_member, make_issued_invoice, make_adjustment
):
    """Conversions at the invoice's rate and at the budget rate, a missing rate, a waiver, an adjustment,
    a local member, members alike (counted together in SQL), two currencies."""

    washington = make_hub(name="Washington", base_currency="USD", invoice_prefix="US")
    dollaria = make_member(name="Dollaria", hub=washington, fiscal_year=2027)
    make_issued_invoice(member=dollaria, fiscal_year=2027, amount="700.00", issued_on=date(2027, 1, 15))
    for name in ("Alikeland", "Samestan"):
        make_member(name=name, hub=washington, fiscal_year=2027)
    make_member(name="Cityville", kind="local")
    for name, kind, amount in (
        ("Waivonia", AdjustmentKind.WAIVER, None),
        ("Reducia", AdjustmentKind.AMOUNT, "4000.00"),
    ):
        make_adjustment(member=make_member(name=name, fiscal_year=2027), kind=kind, amount=amount)
    db.session.flush()
    report = arrears_report(2025, 2028)

    totals = arrears_totals(2025, 2028)

    assert totals.assessed == report.assessed_totals()
    assert totals.outstanding == {
        year: {c: a for c, a in v.items() if a} for year, v in report.totals().items()
    }
    # Euroland 9,000 + Reducia 4,000 x 0.90 + Cityville 2,500 x 0.90; three Washington members at $10,000.
    assert totals.assessed[2027] == {"EUR": D("14850.00"), "USD": D("30000.00")}
    assert totals.outstanding[2027] == {"USD": D("700.00")}


def test_the_arrears_csv_streams_the_pages_figures_whatever_the_batch_size(login_as, arrears, monkeypatch):
    """The export merges five streamed queries; its records are those the page's rows give."""
    from app.common import exports
    from app.common.exports import csv_rows

    client = login_as("board")
    url = "/contributions/reports/arrears?first_year=2025&last_year=2028&format=csv"
    whole = client.get(url).text
    monkeypatch.setattr(exports, "STREAM_BATCH_ROWS", 1)

    assert client.get(url).text == whole
    page_rows = arrears_service.arrears_report(2025, 2028).rows
    assert whole == "".join(csv_rows(arrears_service.arrears_csv_rows(arrears_service._records(page_rows))))
    rows = list(csv.DictReader(io.StringIO(whole)))
    assert {row["Member"] for row in rows} == {"Late Republic", "Patchy Republic", "Waived Republic"}
    flagged_only = list(csv.DictReader(io.StringIO(client.get(url + "&flagged=y").text)))
    assert {row["Member"] for row in flagged_only} == {"Late Republic"}


def test_the_arrears_xlsx_reads_back_with_the_right_numbers_and_formats(
    login_as, euro_member_under_a_dollar_policy
):
    response = login_as("board").get(
        "/contributions/reports/arrears?first_year=2026&last_year=2028&format=xlsx"
    )

    assert response.status_code == 200 and response.content_length == len(response.data)
    assert 'filename="arrears-FY2026-FY2028.xlsx"' in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet.title == "Arrears FY2026-FY2028"
    assert (sheet.freeze_panes, sheet.auto_filter.ref) == ("B2", "A1:S4")
    header = [cell.value for cell in sheet[1]]
    rows = {
        row[3].value: {name: cell for name, cell in zip(header, row, strict=True)}
        for row in sheet.iter_rows(min_row=2)
    }
    fy2026, fy2027, fy2028 = rows[2026], rows[2027], rows[2028]
    assert (fy2026["Assessed"].value, fy2026["Assessed currency"].value) == (9200, "EUR")
    assert (fy2026["Assessed in policy currency"].value, fy2026["Policy currency"].value) == (10000, "USD")
    assert fy2026["Exchange rate"].value == pytest.approx(0.92)  # read back as the float a spreadsheet keeps
    assert (fy2026["Invoiced"].value, fy2026["Outstanding"].value, fy2026["Unpaid year"].value) == (
        9200,
        9200,
        "yes",
    )
    assert (fy2027["Assessed"].value, fy2027["Exchange rate"].value, fy2027["Invoice currency"].value) == (
        9000,
        0.9,
        None,
    )
    assert fy2028["Assessed"].value is None and fy2028["Assessed in policy currency"].value == 10000
    assert fy2026["Assessed"].number_format == "#,##0.00"
    assert fy2026["Exchange rate"].number_format == "0.0000####"
    assert fy2026["Fiscal year"].number_format == "0"
    assert sheet["A1"].font.bold and sheet["A2"].value == "Euroland"


def test_bad_report_filters_fall_back_instead_of_failing(login_as, arrears):
    client = login_as("board")

    arrears_page = client.get("/contributions/reports/arrears?hub=abc&first_year=zz&page=x&flagged=maybe")
    ageing_page = client.get("/contributions/reports/ageing?hub=abc&bucket=nonsense&as_of=soon&page=-3")

    assert arrears_page.status_code == 200 and "Late Republic" in arrears_page.text
    assert ageing_page.status_code == 200 and "Overdue invoices" in ageing_page.text


def test_the_board_lists_the_longest_runs_first_with_the_figures_of_the_full_report(
    make_member, make_issued_invoice
):
    for letter in "ABC":
        late_member(make_member, make_issued_invoice, f"Country {letter}", years=(2025, 2026))
    late_member(make_member, make_issued_invoice, "Country Z", years=(2025, 2026, 2027))
    late_member(make_member, make_issued_invoice, "Country Y", years=(2025, 2027))  # never two in a row

    board = arrears_service.flagged_arrears(2025, 2028, listed=3)

    assert board.flagged_count == 4
    assert [row.member.name for row in board.rows] == ["Country Z", "Country A", "Country B"]
    full = {row.member.name: row for row in arrears_report(2025, 2028, only_flagged=True).rows}
    for row in board.rows:
        assert row.consecutive_unpaid == full[row.member.name].consecutive_unpaid
        assert row.outstanding == full[row.member.name].outstanding
        assert [c.unpaid for c in row.cells] == [c.unpaid for c in full[row.member.name].cells]


def test_the_arrears_page_reads_annual_invoices_through_their_partial_index(login_as, arrears):
    """Each member's annual invoice of a year is found in the small partial unique index, never by reading
    every invoice of the years (bound parameters would hide the index's condition from SQLite)."""
    if db.session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's planner is the one that cannot match a partial index to bound parameters")
    client = login_as("board")
    seen = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "invoices.assessed_amount" in statement and not statement.lstrip().startswith("EXPLAIN"):
            seen.append((statement, parameters))

    engine = db.session.get_bind().engine
    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        assert client.get("/contributions/reports/arrears?first_year=2025&last_year=2028").status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)
    assert len(seen) == 2  # the page's rows and its assessed totals
    for statement, parameters in seen:
        plan = " ".join(
            str(row[-1])
            for row in db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        )
        assert "uq_invoices_annual_member_year" in plan, plan
