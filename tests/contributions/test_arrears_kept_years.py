"""The arrears flags and the board's members in arrears, read from the kept unpaid years, say what the
rules say: on a built data set of many members with every pattern of paid and unpaid years, after each kind
of change, they equal the flags the report's rows compute (`ArrearsRow.flagged`, the one Python rule), the
former self-join over the year totals, and the board's ranking made from the full report."""

from __future__ import annotations

import itertools
import random
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.contributions.models import PaymentMethod
from app.contributions.services import arrears as service
from app.contributions.services.invoicing import issue_credit_note
from app.contributions.services.payments import record_payment, write_off, write_off_limit
from app.contributions.totals import (
    InvoiceYearTotal,
    kept_unpaid_years,
    recompute_totals,
    recompute_unpaid_years,
)
from app.extensions import db

D = Decimal
YEARS = range(2022, 2029)
#: Ranges from one year (nothing can be flagged) to all of them, starting early, late and in between.
RANGES = [(2022, 2028), (2023, 2026), (2024, 2025), (2025, 2025), (2022, 2024), (2026, 2028)]


def flagged_by_the_former_self_join(first_year: int, last_year: int, hub_id=None) -> list[int]:
    """The query the flags were read with before the unpaid years were kept (kept here as the reference)."""
    kept = InvoiceYearTotal
    unpaid = (
        sa.select(kept.member_id, kept.fiscal_year)
        .where(kept.fiscal_year.between(first_year, last_year), kept.outstanding_cents > 0)
        .distinct()
        .cte("unpaid_years")
    )
    query = sa.select(unpaid.c.member_id).distinct()
    for offset in range(1, service.ARREARS_THRESHOLD_YEARS):
        later = unpaid.alias(f"unpaid_year_plus_{offset}")
        query = query.join(
            later,
            sa.and_(
                later.c.member_id == unpaid.c.member_id, later.c.fiscal_year == unpaid.c.fiscal_year + offset
            ),
        )
    if hub_id:
        query = query.join(service.Member, service.Member.id == unpaid.c.member_id).where(
            service.Member.hub_id == hub_id
        )
    return sorted(db.session.scalars(query))


def assert_flags_follow_the_rules(hubs, listed: int = 4) -> None:
    db.session.flush()
    connection = db.session.connection()
    assert kept_unpaid_years(connection) == recompute_unpaid_years(recompute_totals(connection)[0])
    for first_year, last_year in RANGES:
        report = service.arrears_report(first_year, last_year)
        by_rows = sorted(row.member.id for row in report.rows if row.flagged)
        assert sorted(service.flagged_member_ids(first_year, last_year)) == by_rows
        assert flagged_by_the_former_self_join(first_year, last_year) == by_rows
        for hub in hubs:
            assert sorted(service.flagged_member_ids(first_year, last_year, hub.id)) == sorted(
                row.member.id for row in report.rows if row.flagged and row.member.hub_id == hub.id
            )
        # The board: the longest runs first, then by name; their cells as the full report's.
        flagged_rows = [row for row in report.rows if row.flagged]
        expected = sorted(
            flagged_rows, key=lambda row: (-row.consecutive_unpaid, row.member.name, row.member.id)
        )
        board = service.flagged_arrears(first_year, last_year, listed=listed)
        assert board.flagged_count == len(flagged_rows)
        assert [row.member.id for row in board.rows] == [row.member.id for row in expected[:listed]]
        for shown, full in zip(board.rows, expected, strict=False):
            assert shown.consecutive_unpaid == full.consecutive_unpaid
            assert shown.outstanding == full.outstanding
            assert [cell.unpaid for cell in shown.cells] == [cell.unpaid for cell in full.cells]


@pytest.fixture
def many_members(hub, make_hub, make_member, make_issued_invoice, make_user):
    """Members whose years 2022-2028 are each unpaid, paid or not invoiced, in many patterns, in two hubs
    and two currencies (a year owed in one currency only counts as unpaid)."""
    actor = make_user("operations")
    dollars = make_hub(name="Washington", base_currency="USD", invoice_prefix="US", country_code="US")
    euros = hub
    rng = random.Random(2026)
    invoices = {}
    patterns = list(itertools.product("upn", repeat=4))
    rng.shuffle(patterns)
    for number, pattern in enumerate(patterns[:40]):
        hub = dollars if number % 3 else euros
        # Names that sort alike in every collation; some runs tie, so the name decides.
        member = make_member(name=f"Member {number:03d}", hub=hub, fiscal_year=2026)
        start = 2022 + number % 4
        for year, state in zip(range(start, start + 4), pattern, strict=True):
            if state == "n":
                continue
            currency = "EUR" if number % 7 == 0 and year % 2 else hub.base_currency
            amount = f"{rng.randrange(200, 900)}.00"
            invoice = make_issued_invoice(
                member=member, fiscal_year=year, currency=currency, amount=amount, issued_on=date(year, 1, 15)
            )
            invoices[(member.id, year)] = invoice
            if state == "p":
                record_payment(member, invoice.total, currency, date(year, 3, 1), PaymentMethod.WIRE, actor,
                               allocations=[(invoice, invoice.total, None)])  # fmt: skip
    db.session.flush()
    return (dollars, euros), invoices, actor, rng


def test_the_flags_and_the_board_follow_every_kind_of_change(many_members, make_member, make_issued_invoice):
    hubs, invoices, actor, rng = many_members
    assert_flags_follow_the_rules(hubs)
    flagged = len(service.flagged_member_ids(2023, 2026))
    assert 4 < flagged < 40, flagged  # the data set has both kinds, and more than the board lists
    keys = sorted(invoices)
    for step in range(18):
        member_id, year = rng.choice(keys)
        invoice = invoices[(member_id, year)]
        balance = invoice.balance_due
        action = ["pay", "part", "credit", "write_off", "hub", "new"][step % 6]
        on = date(2028, 6, 1)
        if action == "pay" and balance > 0:
            record_payment(invoice.member, balance, invoice.currency, on, PaymentMethod.WIRE, actor,
                           allocations=[(invoice, balance, None)])  # fmt: skip
        elif action == "part" and balance > D("10.00"):
            part = (balance / 2).quantize(D("0.01"))
            record_payment(invoice.member, part, invoice.currency, on, PaymentMethod.CHEQUE, actor,
                           allocations=[(invoice, part, None)])  # fmt: skip
        elif action == "credit" and balance > D("2.00"):
            issue_credit_note(invoice, balance, "Cancelled by the Steering Committee", actor, issued_on=on)
        elif action == "write_off" and balance > 0:
            # Pay all but a remainder small enough to write off, then write it off.
            rest = min(balance, write_off_limit(invoice))
            if balance > rest:
                paid = balance - rest
                record_payment(invoice.member, paid, invoice.currency, on, PaymentMethod.WIRE, actor,
                               allocations=[(invoice, paid, None)])  # fmt: skip
            write_off(invoice, rest, "Bank charges", actor, written_off_on=on)
        elif action == "hub":
            invoice.member.hub = hubs[0] if invoice.member.hub_id == hubs[1].id else hubs[1]
        elif action == "new":  # a new member, late two years running
            member = make_member(name=f"Member new {step:02d}", hub=hubs[step % 2], fiscal_year=2026)
            for late in (2026, 2027):
                invoices[(member.id, late)] = make_issued_invoice(
                    member=member, fiscal_year=late, amount="300.00", issued_on=date(late, 1, 15)
                )
        assert_flags_follow_the_rules(hubs)
        if step % 8 == 0:
            db.session.commit()
