"""Statement of account: every movement per currency, in date order, with the running balance."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.common.languages import Language
from app.contributions.models import CreditNote, Payment, PaymentMethod
from app.contributions.services.payments import allocate_payment, record_payment, write_off, write_off_limit
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


@pytest.fixture
def long_history(make_member, make_hub, make_issued_invoice, actor):
    """Five years of one member in EUR and USD: invoices, partial and over payments, credit notes, write-offs,
    refunds, payments across currencies (as received and later from credit on account), several records on
    some days, and records dated after the statements' days."""
    from random import Random

    from app.contributions.services.invoicing import issue_credit_note
    from app.contributions.services.payments import record_refund

    rng = Random(2026)
    member = make_member(name="Republic of Long Memory")
    invoices = []
    day = date(2023, 1, 3)
    while day < date(2027, 1, 1):
        currency = rng.choice(["EUR", "EUR", "USD"])
        amount = f"{rng.randrange(200, 5000)}.{rng.randrange(100):02d}"
        invoice = make_issued_invoice(
            member=member, amount=amount, currency=currency, issued_on=day, fiscal_year=day.year
        )
        invoices.append(invoice)
        for _ in range(rng.randrange(1, 4)):
            day += timedelta(days=rng.choice([0, 0, 3, 11, 29]))
            target = rng.choice(invoices)
            owed = target.balance_due
            action = rng.choice(["part", "rest", "over", "across", "credit", "write_off", "refund"])
            if not target.status.is_open or owed <= D("2.00"):
                action = rng.choice(["over", "refund"])
            if action in ("part", "rest"):
                part = (
                    owed if action == "rest" else (owed * D(rng.randrange(10, 90)) / 100).quantize(D("0.01"))
                )
                record_payment(member, part, target.currency, day, PaymentMethod.WIRE, actor,
                               allocations=[(target, part, None)])  # fmt: skip
            elif action == "over":
                record_payment(
                    member, D("300.00"), rng.choice(["EUR", "USD"]), day, PaymentMethod.WIRE, actor
                )
            elif action == "across":
                other = "USD" if target.currency == "EUR" else "EUR"
                rate = D("0.92") if other == "USD" else D("1.08")
                part = (owed / 3).quantize(D("0.01"))
                record_payment(member, (part / rate).quantize(D("0.01")) + D("5.00"), other, day,
                               PaymentMethod.WIRE, actor, allocations=[(target, part, rate)])  # fmt: skip
            elif action == "credit":
                issue_credit_note(target, (owed / 4).quantize(D("0.01")), "Agreed", actor, issued_on=day)
            elif action == "write_off":
                write_off(
                    target,
                    min(D("15.00"), write_off_limit(target)),
                    "Bank charges",
                    actor,
                    written_off_on=day,
                )
            else:
                payments = db.session.scalars(db.select(Payment).where(Payment.member_id == member.id)).all()
                refundable = [p for p in payments[-5:] if p.unallocated_amount > D("10.00")]
                if refundable:
                    record_refund(rng.choice(refundable), D("10.00"), day, actor, reason="Paid twice")
            # Credit on account applied later, across currencies or not (dated by the day it is applied).
            if rng.random() < 0.2:
                apply_credit_on_account(member, invoices, rng, actor)
        day += timedelta(days=rng.choice([1, 6, 17, 40]))
    db.session.flush()
    return member


def apply_credit_on_account(member, invoices, rng, actor):
    """Credit on account applied to an open invoice, across currencies or not (dated by the day applied)."""
    open_ones = [i for i in invoices if i.status.is_open and i.balance_due > D("1.00")]
    credit = [
        p for p in db.session.scalars(db.select(Payment).where(Payment.member_id == member.id))
        if p.unallocated_amount > D("20.00")
    ]  # fmt: skip
    if open_ones and credit:
        payment, invoice = credit[0], rng.choice(open_ones)
        rate = None if payment.currency == invoice.currency else D("1.10")
        available = payment.unallocated_amount * (rate or 1)
        allocate_payment(payment, invoice, min(D("20.00"), invoice.balance_due, available), actor,
                         exchange_rate=rate)  # fmt: skip


def test_the_balance_brought_forward_from_the_kept_balances_equals_the_sum_of_the_records(
    long_history, monkeypatch
):
    """The statement as the members' kept balances make it (app/contributions/totals.py) lists the same lines,
    opening balances included, as when the balance brought forward is added up from the member's whole
    history, for statements ending on many days and listing few or many records."""
    from app.contributions.services import statements

    member = long_history
    new = statements._opening_balances

    def from_records(member_id, kept, as_of, until, listed):
        return statements.balances_until_from_records(member_id, until)

    days = sorted(
        {
            line.on
            for account in build_statement(member, as_of=date(2030, 1, 1)).accounts
            for line in account.lines
        }
    )
    assert len(days) > 40 and {"EUR", "USD"} <= {a.currency for a in build_statement(member).accounts}
    compared = brought_forward = 0
    for as_of in [*days[::8], days[-1], date(2030, 1, 1), date(2021, 12, 31)]:
        for as_of_day in (as_of, as_of - timedelta(days=1)):
            for records in (1, 4, 25):
                monkeypatch.setattr(statements, "_opening_balances", new)
                kept = build_statement(member, as_of=as_of_day, records=records)
                monkeypatch.setattr(statements, "_opening_balances", from_records)
                summed = build_statement(member, as_of=as_of_day, records=records)
                assert kept == summed, (as_of_day, records)
                compared += 1
                brought_forward += kept.brought_forward_until is not None
    assert compared > 60 and brought_forward > 40
    conversions = [
        line for a in build_statement(member, as_of=date(2030, 1, 1)).accounts for line in a.lines
        if line.kind == "conversion_in"
    ]  # fmt: skip
    kinds = {line.kind for a in build_statement(member, as_of=date(2030, 1, 1)).accounts for line in a.lines}
    assert conversions and {"credit_note", "write_off", "refund", "payment", "invoice"} <= kinds
