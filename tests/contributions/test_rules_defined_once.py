"""Rules defined once and read everywhere: an invoice's balance due (Python and SQL, in every report that sums
it), the arrears threshold (the rows, the SQL flag and the page) and the write-off share (the cap, the refusal
and the page)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.contributions.models import Invoice, PaymentMethod
from app.contributions.services import arrears, payments
from app.contributions.services.ageing import ageing_report
from app.contributions.services.arrears import arrears_report, flagged_member_ids
from app.contributions.services.invoicing import issue_credit_note
from app.contributions.services.members import outstanding_by_member
from app.contributions.services.payments import WriteOffTooLarge, record_payment, write_off
from app.extensions import db
from app.hubs.uses import issued_documents

D = Decimal


@pytest.fixture
def actor(make_user):
    return make_user("operations")


@pytest.fixture
def settled_in_parts(make_member, make_issued_invoice, make_draft_invoice, actor):
    """One member's FY2027 invoices: 1,000.00 paid 300.00, credited 200.00 and written off 40.00 (460.00 still
    owed); 100.00 paid in full; and a draft of 750.00 (owed in full, but not yet asked for)."""
    member = make_member(name="Partland", fiscal_year=2027)
    partial = make_issued_invoice(member=member, amount="1000.00", fiscal_year=2027)
    paid = make_issued_invoice(member=member, amount="100.00", fiscal_year=2027)
    draft = make_draft_invoice(member=member, amount="750.00", fiscal_year=2027)
    record_payment(
        member, D("400.00"), "EUR", date(2027, 2, 1), PaymentMethod.WIRE, actor,
        allocations=[(partial, D("300.00"), None), (paid, D("100.00"), None)],
    )  # fmt: skip
    issue_credit_note(partial, D("200.00"), "Reduced by the committee", actor, issued_on=date(2027, 3, 1))
    write_off(partial, D("40.00"), "Bank charges deducted", actor, written_off_on=date(2027, 3, 2))
    db.session.flush()
    return member, partial, paid, draft


def sql_balance(invoice: Invoice) -> Decimal:
    return db.session.scalar(sa.select(Invoice.balance_due).where(Invoice.id == invoice.id))


def test_the_python_and_sql_balances_agree_on_every_kind_of_settlement(settled_in_parts):
    _member, partial, paid, draft = settled_in_parts

    assert partial.balance_due == D("460.00") == sql_balance(partial)
    assert paid.balance_due == D("0.00") == sql_balance(paid)
    assert draft.balance_due == D("750.00") == sql_balance(draft)
    owing = db.session.scalars(sa.select(Invoice.id).where(Invoice.balance_due > 0).order_by(Invoice.id))
    assert list(owing) == [partial.id, draft.id]


def test_every_report_sums_the_same_balance(settled_in_parts):
    member, partial, _paid, _draft = settled_in_parts

    assert outstanding_by_member([member.id]) == {member.id: {"EUR": D("460.00")}}
    (row,) = arrears_report(2027, 2027).rows
    assert row.outstanding == {"EUR": D("460.00")}
    assert issued_documents(partial.hub).outstanding == {"EUR": D("460.00")}
    assert ageing_report(date(2027, 12, 31)).totals[0].total == D("460.00")


# --- The arrears threshold ---------------------------------------------------------------------------------


@pytest.fixture
def late_payers(make_member, make_issued_invoice):
    """Twoyear owes FY2025 and FY2026; Threeyear owes FY2024 to FY2026; Gappy owes FY2024 and FY2026."""

    def owes(name, years):
        member = make_member(name=name, fiscal_year=2026)
        for year in years:
            make_issued_invoice(
                member=member, fiscal_year=year, amount="1000.00", issued_on=date(year, 1, 15)
            )
        return member

    return {
        "two": owes("Twoyear", (2025, 2026)),
        "three": owes("Threeyear", (2024, 2025, 2026)),
        "gappy": owes("Gappy", (2024, 2026)),
    }


def flagged_both_ways(first_year=2024, last_year=2026) -> tuple[set[str], set[str]]:
    rows = {row.member.name for row in arrears_report(first_year, last_year).rows if row.flagged}
    ids = set(flagged_member_ids(first_year, last_year))
    sql = {row.member.name for row in arrears_report(first_year, last_year).rows if row.member.id in ids}
    return rows, sql


def test_the_rows_and_the_sql_flag_follow_the_one_threshold(late_payers, monkeypatch):
    assert arrears.ARREARS_THRESHOLD_YEARS == 2
    assert flagged_both_ways() == ({"Twoyear", "Threeyear"}, {"Twoyear", "Threeyear"})

    monkeypatch.setattr(arrears, "ARREARS_THRESHOLD_YEARS", 3)
    assert flagged_both_ways() == ({"Threeyear"}, {"Threeyear"})


def test_the_arrears_page_quotes_the_threshold(late_payers, login_as):
    page = login_as("board").get("/contributions/reports/arrears?first_year=2024&last_year=2026").text

    assert arrears.ARREARS_RULE == "two or more consecutive unpaid years"
    assert f"Only members with {arrears.ARREARS_RULE}" in page
    assert f"members with {arrears.ARREARS_RULE} are flagged" in page


# --- The write-off share -----------------------------------------------------------------------------------


def test_the_write_off_cap_its_refusal_and_its_page_read_the_one_share(make_issued_invoice, actor, login_as):
    invoice = make_issued_invoice(amount="1000.00")

    assert D("0.05") == payments.WRITE_OFF_SHARE and payments.WRITE_OFF_SHARE_TEXT == "5%"
    assert payments.write_off_cap(invoice) == D("50.00") == payments.write_off_limit(invoice)
    with pytest.raises(
        WriteOffTooLarge, match=f"at most {payments.WRITE_OFF_SHARE_TEXT} of the invoice total"
    ):
        write_off(invoice, D("50.01"), "Too much", actor)
    page = login_as("operations").get(f"/contributions/invoices/{invoice.id}/write-off").text
    assert f"at most {payments.WRITE_OFF_SHARE_TEXT} of the total" in page
