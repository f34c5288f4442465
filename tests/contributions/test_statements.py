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


def _listed(account):
    return [
        (line.on, line.kind, line.reference, line.debit, line.credit, line.balance) for line in account.lines
    ]


@pytest.mark.parametrize("records", [1, 2, 3, 4, 5])
def test_a_long_history_opens_with_the_balance_brought_forward_and_lists_only_the_latest(account, records):
    member = account[0]
    whole = build_statement(member, as_of=date(2030, 1, 1))

    latest = build_statement(member, as_of=date(2030, 1, 1), records=records)

    # Six records: two invoices, a payment, a write-off, a credit note, a payment in USD (and its conversion).
    until = latest.brought_forward_until
    assert until is not None
    assert [a.currency for a in latest.accounts] == [a.currency for a in whole.accounts]
    for short, full in zip(latest.accounts, whole.accounts, strict=True):
        assert short.balance == full.balance
        carried = [line for line in full.lines if line.on <= until]
        listed = short.lines
        if carried:  # an account with records up to that day opens with the balance they leave
            opening, *listed = short.lines
            assert (opening.kind, opening.on, opening.balance) == ("opening", until, carried[-1].balance)
        assert all(line.kind != "opening" and line.on > until for line in listed)
        assert _listed(full)[len(full.lines) - len(listed) :] == [
            (line.on, line.kind, line.reference, line.debit, line.credit, line.balance) for line in listed
        ]


def test_the_latest_day_is_listed_whole_however_many_records_it_has(make_member, make_issued_invoice):
    member = make_member(name="Republic of Busy Days")
    earlier = make_issued_invoice(member=member, amount="10.00", issued_on=date(2026, 1, 5), fiscal_year=2026)
    busy_day = [
        make_issued_invoice(member=member, amount="20.00", issued_on=date(2026, 2, 1), fiscal_year=2026)
        for _ in range(3)
    ]

    statement = build_statement(member, as_of=date(2030, 1, 1), records=2)

    assert statement.brought_forward_until == earlier.issued_on
    (eur,) = statement.accounts
    assert [line.kind for line in eur.lines] == ["opening", "invoice", "invoice", "invoice"]
    assert [line.reference for line in eur.lines[1:]] == [invoice.number for invoice in busy_day]
    assert eur.balance == D("70.00")


def test_a_short_history_is_listed_whole(account):
    statement = build_statement(account[0], as_of=date(2030, 1, 1), records=7)
    assert statement.brought_forward_until is None
    assert all(line.kind != "opening" for a in statement.accounts for line in a.lines)


def test_the_pdf_of_a_long_history_carries_the_balance_forward(login_as, account, monkeypatch):
    from app.contributions.services import statements
    from app.contributions.views import statements as views

    monkeypatch.setattr(statements, "STATEMENT_RECORDS", 3)
    monkeypatch.setattr(views, "STATEMENT_PAGE_RECORDS", 3)
    member = account[0]
    client = login_as("operations")

    pdf = client.get(f"/contributions/members/{member.id}/statement.pdf?as_of=2030-01-01").data
    text = " ".join(pdf_text(pdf).split())
    page = client.get(f"/contributions/members/{member.id}/statement?as_of=2030-01-01").get_data(as_text=True)

    assert "Balance brought forward" in text and "Balance brought forward" in page
    assert "earlier ones are in the balance brought forward" in text
    # The first EUR invoice was settled by its write-off on 2 March 2026: the EUR account opens at nothing
    # owed, then lists the second invoice, its credit note and the USD payment applied to it.
    assert "Mar 2, 2026" in text and "Jan 10, 2026" not in text
    assert account[2].number in text and account[1].number not in text
    assert "€580.00" in text  # the closing EUR balance, as on the whole statement


def test_the_page_lists_fewer_records_than_the_pdf_and_links_to_the_earlier_ones(
    login_as, account, monkeypatch
):
    from app.contributions.services import statements
    from app.contributions.views import statements as views

    monkeypatch.setattr(views, "STATEMENT_PAGE_RECORDS", 2)
    member, first, second, _usd = account
    client = login_as("operations")
    url = f"/contributions/members/{member.id}/statement"

    page = client.get(url + "?as_of=2030-01-01").get_data(as_text=True)
    pdf = " ".join(pdf_text(client.get(url + ".pdf?as_of=2030-01-01").data).split())

    # The page lists the latest two records (the credit note, the USD payment and its conversion) and opens
    # each account with what the earlier ones leave; the PDF lists all six.
    assert "Balance brought forward" in page and "Balance brought forward" not in pdf
    assert first.number not in page and first.number in pdf
    until = build_statement(member, as_of=date(2030, 1, 1), records=2).brought_forward_until
    assert until == date(2027, 1, 10)
    assert f"{url}?as_of=2027-01-10" in page
    # Either way the closing balances are the same.
    assert "owes €580.00" in page and "€580.00" in pdf
    assert "credit $200.00" in page
    # The statement as of the day the page's records start lists the earlier ones in turn.
    earlier = client.get(url + "?as_of=2027-01-10").get_data(as_text=True)
    assert first.number in earlier and second.number in earlier
    assert statements.STATEMENT_RECORDS > views.STATEMENT_PAGE_RECORDS


def test_todays_statement_lists_open_invoices_a_page_at_a_time_and_the_pdf_lists_them_all(
    login_as, make_member, make_issued_invoice, monkeypatch
):
    from app.contributions.views import statements as views

    monkeypatch.setattr(views, "OPEN_INVOICES_PER_PAGE", 2)
    member = make_member(name="Republic of Many Invoices")
    invoices = [
        make_issued_invoice(member=member, amount="100.00", issued_on=date(2026, 1, day), fiscal_year=2026)
        for day in (10, 11, 12)
    ]
    client = login_as("board")
    url = f"/contributions/members/{member.id}/statement"

    first, second = (client.get(url + query).get_data(as_text=True) for query in ("", "?open_page=2"))

    open_part = [page.split('id="open-invoices"')[1] for page in (first, second)]
    assert [number for number in (i.number for i in invoices) if number in open_part[0]] == [
        invoices[0].number,
        invoices[1].number,
    ]
    assert [number for number in (i.number for i in invoices) if number in open_part[1]] == [
        invoices[2].number
    ]
    assert "1–2 of 3 open invoices" in first and "open_page=2#open-invoices" in first
    # The accounts are the same on every page of open invoices.
    assert first.split('id="open-invoices"')[0].count("Invoice, fiscal year 2026") == 3
    assert build_statement(member).open_invoices == invoices
    pdf = " ".join(pdf_text(client.get(url + ".pdf").data).split())
    listed_in_pdf = pdf.lower().split("open invoices", 1)[1].upper()
    assert all(invoice.number.upper() in listed_in_pdf for invoice in invoices)
