"""Statement of account: every movement per currency, in date order, with the running balance."""

from __future__ import annotations

import subprocess
from datetime import date
from decimal import Decimal

import pytest

from app.common.languages import Language
from app.contributions.models import CreditNote, PaymentMethod
from app.contributions.services.payments import allocate_payment, record_payment, write_off
from app.contributions.services.statements import build_statement
from app.extensions import db

D = Decimal


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


@pytest.fixture
def actor(make_user):
    return make_user("operations")


def credit_note(invoice, amount: str, on: date) -> CreditNote:
    note = CreditNote(
        number=f"{invoice.number}-CN",
        invoice=invoice,
        hub_id=invoice.hub_id,
        currency=invoice.currency,
        amount=D(amount),
        reason="Agreed reduction",
        language=invoice.language,
        issued_on=on,
    )
    db.session.add(note)
    db.session.flush()
    invoice.refresh_balance()
    db.session.flush()
    return note


@pytest.fixture
def account(make_member, make_issued_invoice, actor):
    """Two EUR invoices, a partial payment, a credit note, a write-off, and a USD payment with credit left."""
    member = make_member(name="Republic of Testland")
    first = make_issued_invoice(
        member=member, amount="1000.00", issued_on=date(2026, 1, 10), fiscal_year=2026
    )
    second = make_issued_invoice(
        member=member, amount="2000.00", issued_on=date(2027, 1, 10), fiscal_year=2027
    )
    record_payment(
        member,
        D("980.00"),
        "EUR",
        date(2026, 3, 1),
        PaymentMethod.WIRE,
        actor,
        reference="SWIFT-1",
        allocations=[(first, D("980.00"), None)],
    )
    write_off(first, D("20.00"), "Bank charges", actor, written_off_on=date(2026, 3, 2))
    credit_note(second, "500.00", date(2027, 2, 1))
    usd = record_payment(member, D("1200.00"), "USD", date(2027, 3, 1), PaymentMethod.WIRE, actor)
    allocate_payment(usd, second, D("920.00"), actor, exchange_rate=D("0.92"))
    return member, first, second, usd


def test_the_statement_lists_everything_per_currency_with_a_running_balance(account):
    member, first, second, usd = account

    statement = build_statement(member, as_of=date(2030, 1, 1))

    eur, usd_account = statement.accounts
    assert eur.currency == "EUR" and usd_account.currency == "USD"
    assert [(line.kind, line.debit, line.credit, line.balance) for line in eur.lines] == [
        ("invoice", D("1000.00"), D("0.00"), D("1000.00")),
        ("payment", D("0.00"), D("980.00"), D("20.00")),
        ("write_off", D("0.00"), D("20.00"), D("0.00")),
        ("invoice", D("2000.00"), D("0.00"), D("2000.00")),
        ("credit_note", D("0.00"), D("500.00"), D("1500.00")),
        ("conversion_in", D("0.00"), D("920.00"), D("580.00")),
    ]
    assert eur.balance == second.balance_due == D("580.00")
    # USD: 1200 received, 1000 converted to EUR at 0.92: 200 stays as credit on account (a negative balance).
    assert [(line.kind, line.debit, line.credit) for line in usd_account.lines] == [
        ("payment", D("0.00"), D("1200.00")),
        ("conversion_out", D("1000.00"), D("0.00")),
    ]
    assert usd_account.balance == D("-200.00")
    assert "at 0.92" in usd_account.lines[1].description


def test_a_statement_as_of_a_past_date_leaves_out_what_came_later(account):
    member, first, *_ = account

    statement = build_statement(member, as_of=date(2026, 3, 1))

    (eur,) = statement.accounts
    assert [line.kind for line in eur.lines] == ["invoice", "payment"]
    assert eur.balance == D("20.00")


def test_the_statement_page_shows_balances_and_links(login_as, account):
    member, first, second, usd = account
    client = login_as("board")

    response = client.get(f"/contributions/members/{member.id}/statement?as_of=2030-01-01")

    assert response.status_code == 200
    assert "Account in EUR" in response.text and "Account in USD" in response.text
    assert "owes €580.00" in response.text
    assert "credit $200.00" in response.text
    assert first.number in response.text
    assert "Send by e-mail" not in response.text  # the board reads only


def test_a_statement_named_after_a_non_ascii_member_downloads_under_its_real_name(login_as, make_member):
    member = make_member(name="Côte d’Ivoire")

    response = login_as("operations").get(f"/contributions/members/{member.id}/statement.pdf?download=1")

    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="statement-cote-d-ivoire-')
    assert "filename*=UTF-8''statement-c%C3%B4te-d-ivoire-" in disposition


def test_an_empty_account_says_so(login_as, make_member):
    member = make_member()
    response = login_as("operations").get(f"/contributions/members/{member.id}/statement")
    assert "There is nothing on this account" in response.text


def test_the_statement_pdf_is_in_the_members_language(login_as, account):
    member = account[0]
    member.language = Language.FR
    db.session.flush()
    client = login_as("operations")

    response = client.get(f"/contributions/members/{member.id}/statement.pdf?as_of=2030-01-01")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert "Relevé de compte" in text
    assert "580,00" in text
    assert member.name in text
