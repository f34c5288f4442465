"""Invoice totals kept up to date in the transaction that changes an invoice, for reports and dashboards.

Every report used to add up every invoice (or every allocation, credit note and write-off) on each request.
Two small summary tables are kept instead, in whole cents so that sums stay exact on SQLite too:

- `invoice_year_totals`, one row per member, fiscal year and currency: what the issued invoices ask for, what
  was paid, credited and written off, what is still owed. The arrears matrix, its totals and flags, and the
  board's collection figures read these rows.
- `open_invoice_totals`, one row per hub, currency and due date: how many issued invoices still owe something
  and how much. The ageing (bucketed in SQL by today's date over a few rows per due date), the home dashboard
  and the contributions overview read these.
- `member_balances`, one row per member and currency: what its issued invoices (less their credit notes and
  write-offs) and its payments (less their refunds) leave owed, and how many invoices and payments there are.
  A statement's balance brought forward is this less what its listed period and anything later moved, instead
  of a sum over the member's whole history.
- `member_unpaid_years`, one row per member and unpaid fiscal year (something of it still outstanding, in any
  currency), with the run of consecutive unpaid years it ends: the arrears flags and the board's ranking of
  the members in arrears read these by index instead of comparing every member's years on each request.

They are written in one place only: an `after_flush` listener sees every insert, change and delete of an
invoice (its settled amounts and status move only through `Invoice.refresh_balance()`, issuing through
`issue_invoice`) and of a payment (its refunds only through `record_refund`, which adds to `refunded_amount`),
and adds the difference between the record's share before and after, as atomic increments (`UPDATE ... SET
x = x + d`, safe when two transactions change records of the same row at once). An invoice's share follows
from the balance rule itself, `Invoice.owed`; `recompute_totals` and `recompute_member_balances` derive the
same rows from the records (allocations, credit notes, write-offs, refunds) for the test that proves them
equal and for backfilling (the migrations, the bench seed).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..common.kept_totals import add_to_rows, lock_for_replacing, replace_rows
from ..extensions import db
from .models import CreditNote, Invoice, InvoiceStatus, Member, Payment, PaymentAllocation, Refund, WriteOff

CENTS = 100
_CENT = Decimal("0.01")


def cents(amount: Decimal | None) -> int:
    """A money amount (two decimals, as every MONEY column) in whole cents."""
    return int(Decimal(amount or 0).quantize(_CENT) * CENTS)


def from_cents(value) -> Decimal:
    """Whole cents as a money amount with two decimals (12345 -> 123.45, 0 -> 0.00): the decimal point moved
    two places, exact, half the cost of dividing and rounding (reports read thousands of them)."""
    return Decimal(int(value or 0)).scaleb(-2)


class InvoiceYearTotal(db.Model):
    """A member's issued invoices of one fiscal year in one currency, in cents."""

    __tablename__ = "invoice_year_totals"

    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    invoice_count: Mapped[int] = mapped_column(default=0)
    invoiced_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    paid_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    credited_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    written_off_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    outstanding_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)

    __table_args__ = (sa.Index("ix_invoice_year_totals_year", "fiscal_year", "currency"),)


#: A member's year is unpaid when, in some currency, what its issued invoices ask for is still partly
#: outstanding (the SQL twin of `YearCell.unpaid`, app/contributions/services/arrears.py).
UNPAID_YEAR = InvoiceYearTotal.outstanding_cents > 0


class MemberUnpaidYear(db.Model):
    """A fiscal year some of whose invoices of a member is still outstanding, and how many consecutive
    unpaid years end with it (this one included): kept from `invoice_year_totals`."""

    __tablename__ = "member_unpaid_years"

    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(primary_key=True)
    #: 1 when the year before is not unpaid, 2 when it is but not the one before it, and so on.
    unpaid_run: Mapped[int]

    __table_args__ = (sa.Index("ix_member_unpaid_years_year_run", "fiscal_year", "unpaid_run", "member_id"),)


class OpenInvoiceTotal(db.Model):
    """Issued invoices of a hub in one currency due on one day that still owe something, in cents."""

    __tablename__ = "open_invoice_totals"

    hub_id: Mapped[int] = mapped_column(sa.ForeignKey("hubs.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    due_on: Mapped[date] = mapped_column(primary_key=True)
    open_count: Mapped[int] = mapped_column(default=0)
    outstanding_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class MemberBalance(db.Model):
    """What a member's records leave owed in one currency, in cents (money applied across currencies aside:
    the statement reads those few allocations apart): its issued invoices' totals less their credit notes and
    write-offs, less its payments net of refunds. Positive: owed; negative: credit on account. With it, the
    number of its issued invoices and of its payments in that currency."""

    __tablename__ = "member_balances"

    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    balance_cents: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    #: Issued invoices and payments (credit notes, write-offs and refunds come after one of them).
    record_count: Mapped[int] = mapped_column(default=0)


YEAR_KEY = ("member_id", "fiscal_year", "currency")
OPEN_KEY = ("hub_id", "currency", "due_on")
YEAR_AMOUNTS = ("invoice_count", "invoiced_cents", "paid_cents", "credited_cents", "written_off_cents",
                "outstanding_cents")  # fmt: skip
OPEN_AMOUNTS = ("open_count", "outstanding_cents")
BALANCE_KEY = ("member_id", "currency")
BALANCE_AMOUNTS = ("balance_cents", "record_count")

#: The invoice attributes an invoice's share depends on. Their old value is loaded when they are set
#: (active history), so that the share before a change is always known.
TRACKED = ("status", "member_id", "hub_id", "fiscal_year", "currency", "due_on", "total", "amount_paid",
           "amount_credited", "amount_written_off")  # fmt: skip
#: Likewise for a payment's share of the member balances.
PAYMENT_TRACKED = ("member_id", "currency", "amount", "refunded_amount")


def _shares(values: dict):
    """An invoice's share of each table: ((year key, year amounts), (open key, open amounts) or None), or
    None for a draft (drafts count nowhere)."""
    status = values["status"]
    if status is None or InvoiceStatus(status) == InvoiceStatus.DRAFT:
        return None
    total, paid, credited, written_off = (
        values[key] or Decimal(0) for key in ("total", "amount_paid", "amount_credited", "amount_written_off")
    )
    owed = cents(Invoice.owed(total, paid, credited, written_off))
    year = (
        (values["member_id"], values["fiscal_year"], values["currency"]),
        (1, cents(total), cents(paid), cents(credited), cents(written_off), owed),
    )
    still_open = None
    if owed > 0 and values["due_on"] is not None:
        still_open = ((values["hub_id"], values["currency"], values["due_on"]), (1, owed))
    return year, still_open


def _invoice_balance(values: dict):
    """An issued invoice's share of the member balances: (key, (total less credited and written off, 1))."""
    status = values["status"]
    if status is None or InvoiceStatus(status) == InvoiceStatus.DRAFT:
        return None
    owed = cents(values["total"]) - cents(values["amount_credited"]) - cents(values["amount_written_off"])
    return (values["member_id"], values["currency"]), (owed, 1)


def _payment_balance(values: dict):
    """A payment's share of the member balances: (key, (what it paid net of refunds, negative; 1))."""
    if values["amount"] is None:
        return None
    return (values["member_id"], values["currency"]), (
        cents(values["refunded_amount"]) - cents(values["amount"]),
        1,
    )


def _values_after(state, tracked=TRACKED) -> dict:
    return {key: state.attrs[key].value for key in tracked}


def _values_before(state, tracked=TRACKED) -> dict:
    values = {}
    for key in tracked:
        history = state.attrs[key].history
        if history.deleted:
            values[key] = history.deleted[0]
        elif history.added:
            values[key] = None  # was None before (active history loads any other old value)
        else:
            values[key] = state.attrs[key].value
    return values


def _add_balance(deltas, share, sign: int) -> None:
    if share is None:
        return
    key, amounts = share
    row = deltas["balance"].setdefault(key, [0] * len(amounts))
    for index, amount in enumerate(amounts):
        row[index] += sign * amount


def _add(deltas, shares, sign: int) -> None:
    if shares is None:
        return
    year, still_open = shares
    for table, share in (("year", year), ("open", still_open)):
        if share is None:
            continue
        key, amounts = share
        row = deltas[table].setdefault(key, [0] * len(amounts))
        for index, amount in enumerate(amounts):
            row[index] += sign * amount


@event.listens_for(Session, "after_flush")
def _keep_invoice_totals(session, flush_context) -> None:
    deltas: dict[str, dict] = {"year": {}, "open": {}, "balance": {}}
    for obj in session.new:
        if isinstance(obj, Invoice):
            values = _values_after(sa.inspect(obj))
            _add(deltas, _shares(values), +1)
            _add_balance(deltas, _invoice_balance(values), +1)
        elif isinstance(obj, Payment):
            _add_balance(deltas, _payment_balance(_values_after(sa.inspect(obj), PAYMENT_TRACKED)), +1)
    for obj in session.dirty:
        if isinstance(obj, Invoice):
            state = sa.inspect(obj)
            if any(state.attrs[key].history.has_changes() for key in TRACKED):
                before, after = _values_before(state), _values_after(state)
                _add(deltas, _shares(before), -1)
                _add(deltas, _shares(after), +1)
                _add_balance(deltas, _invoice_balance(before), -1)
                _add_balance(deltas, _invoice_balance(after), +1)
        elif isinstance(obj, Payment):
            state = sa.inspect(obj)
            if any(state.attrs[key].history.has_changes() for key in PAYMENT_TRACKED):
                _add_balance(deltas, _payment_balance(_values_before(state, PAYMENT_TRACKED)), -1)
                _add_balance(deltas, _payment_balance(_values_after(state, PAYMENT_TRACKED)), +1)
    for obj in session.deleted:
        if isinstance(obj, Invoice):
            values = _values_before(sa.inspect(obj))
            _add(deltas, _shares(values), -1)
            _add_balance(deltas, _invoice_balance(values), -1)
        elif isinstance(obj, Payment):
            _add_balance(deltas, _payment_balance(_values_before(sa.inspect(obj), PAYMENT_TRACKED)), -1)
    if deltas["year"] or deltas["open"] or deltas["balance"]:
        connection = session.connection()
        members = sorted({key[0] for key in deltas["year"]})
        _lock_members(connection, members)
        add_to_rows(connection, InvoiceYearTotal, YEAR_KEY, YEAR_AMOUNTS, deltas["year"])
        add_to_rows(connection, OpenInvoiceTotal, OPEN_KEY, OPEN_AMOUNTS, deltas["open"])
        add_to_rows(connection, MemberBalance, BALANCE_KEY, BALANCE_AMOUNTS, deltas["balance"])
        _keep_unpaid_years(connection, members)


def _lock_members(connection: sa.Connection, member_ids: list[int]) -> None:
    """On PostgreSQL, lock these members' rows (in id order) until the transaction ends, so that two
    transactions changing invoices of one member rebuild its unpaid years one after the other, the second
    reading the first's year totals. NO KEY UPDATE: invoices referencing the member may still be inserted."""
    if member_ids and connection.dialect.name == "postgresql":
        connection.execute(
            sa.select(Member.id)
            .where(Member.id.in_(member_ids))
            .order_by(Member.id)
            .with_for_update(key_share=True)
        )


def unpaid_runs(unpaid: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """(member, unpaid fiscal year) -> the run of consecutive unpaid years it ends, this one included."""
    runs: dict[tuple[int, int], int] = {}
    for member_id, year in sorted(unpaid):
        runs[(member_id, year)] = runs.get((member_id, year - 1), 0) + 1
    return runs


def _keep_unpaid_years(connection: sa.Connection, member_ids: list[int]) -> None:
    """Rebuild these members' unpaid years from their year totals (a few rows per member)."""
    if not member_ids:
        return
    kept = InvoiceYearTotal
    unpaid = {
        (member_id, year)
        for member_id, year in connection.execute(
            sa.select(kept.member_id, kept.fiscal_year).where(kept.member_id.in_(member_ids), UNPAID_YEAR)
        )
    }
    connection.execute(sa.delete(MemberUnpaidYear).where(MemberUnpaidYear.member_id.in_(member_ids)))
    rows = unpaid_runs(unpaid)
    if rows:
        connection.execute(
            sa.insert(MemberUnpaidYear),
            [
                {"member_id": member_id, "fiscal_year": year, "unpaid_run": run}
                for (member_id, year), run in sorted(rows.items())
            ],
        )


def _load_old_values_when_set(target, value, oldvalue, initiator) -> None:
    """Nothing to do: listening with active_history makes SQLAlchemy load the old value before a set."""


for _key in TRACKED:
    event.listen(getattr(Invoice, _key), "set", _load_old_values_when_set, active_history=True)
for _key in PAYMENT_TRACKED:
    event.listen(getattr(Payment, _key), "set", _load_old_values_when_set, active_history=True)


# --- From the records ------------------------------------------------------------------------------------


def _settled_subqueries():
    """Per invoice: what its allocations, credit notes and write-offs add up to (the records themselves)."""
    paid = (
        sa.select(PaymentAllocation.invoice_id, sa.func.sum(PaymentAllocation.amount).label("amount"))
        .group_by(PaymentAllocation.invoice_id)
        .subquery("paid")
    )
    credited = (
        sa.select(CreditNote.invoice_id, sa.func.sum(CreditNote.amount).label("amount"))
        .group_by(CreditNote.invoice_id)
        .subquery("credited")
    )
    written_off = (
        sa.select(WriteOff.invoice_id, sa.func.sum(WriteOff.amount).label("amount"))
        .group_by(WriteOff.invoice_id)
        .subquery("written_off")
    )
    return paid, credited, written_off


def recompute_totals(connection: sa.Connection) -> tuple[dict, dict]:
    """Both tables' rows as the records make them: {key: amounts} for the year totals and the open totals,
    from every issued invoice's total and its allocations, credit notes and write-offs (never from the
    invoice's own settled columns)."""
    paid, credited, written_off = _settled_subqueries()
    rows = connection.execute(
        sa.select(
            Invoice.status,
            Invoice.member_id,
            Invoice.hub_id,
            Invoice.fiscal_year,
            Invoice.currency,
            Invoice.due_on,
            Invoice.total,
            sa.func.coalesce(paid.c.amount, 0).label("amount_paid"),
            sa.func.coalesce(credited.c.amount, 0).label("amount_credited"),
            sa.func.coalesce(written_off.c.amount, 0).label("amount_written_off"),
        )
        .outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .outerjoin(credited, credited.c.invoice_id == Invoice.id)
        .outerjoin(written_off, written_off.c.invoice_id == Invoice.id)
        .where(Invoice.status != InvoiceStatus.DRAFT)
    )
    deltas: dict[str, dict] = {"year": {}, "open": {}}
    for row in rows:
        values = {key: getattr(row, key) for key in TRACKED}
        for key in ("total", "amount_paid", "amount_credited", "amount_written_off"):
            values[key] = Decimal(str(values[key])).quantize(_CENT)
        _add(deltas, _shares(values), +1)
    clean = {
        table: {key: tuple(amounts) for key, amounts in rows.items() if any(amounts)}
        for table, rows in deltas.items()
    }
    return clean["year"], clean["open"]


def kept_totals(connection: sa.Connection) -> tuple[dict, dict]:
    """Both tables' rows as kept, in the shape of `recompute_totals` (rows of nothing left out)."""
    year = {
        (row.member_id, row.fiscal_year, row.currency): tuple(getattr(row, name) for name in YEAR_AMOUNTS)
        for row in connection.execute(sa.select(InvoiceYearTotal))
    }
    still_open = {
        (row.hub_id, row.currency, row.due_on): tuple(getattr(row, name) for name in OPEN_AMOUNTS)
        for row in connection.execute(sa.select(OpenInvoiceTotal))
    }
    return (
        {key: amounts for key, amounts in year.items() if any(amounts)},
        {key: amounts for key, amounts in still_open.items() if any(amounts)},
    )


def recompute_member_balances(connection: sa.Connection) -> dict:
    """The member balances as the records make them, {(member_id, currency): (balance_cents, record_count)}:
    every issued invoice's total less its credit notes and write-offs, every payment less its refunds (never
    from the invoices' and payments' own settled columns)."""
    _paid, credited, written_off = _settled_subqueries()
    refunded = (
        sa.select(Refund.payment_id, sa.func.sum(Refund.amount).label("amount"))
        .group_by(Refund.payment_id)
        .subquery("refunded")
    )
    invoices = connection.execute(
        sa.select(
            Invoice.member_id,
            Invoice.currency,
            Invoice.total,
            sa.func.coalesce(credited.c.amount, 0),
            sa.func.coalesce(written_off.c.amount, 0),
        )
        .outerjoin(credited, credited.c.invoice_id == Invoice.id)
        .outerjoin(written_off, written_off.c.invoice_id == Invoice.id)
        .where(Invoice.status != InvoiceStatus.DRAFT)
    )
    balances: dict[tuple, list[int]] = {}
    for member_id, currency, total, credit_notes, write_offs in invoices:
        row = balances.setdefault((member_id, currency), [0, 0])
        row[0] += (
            cents(Decimal(str(total))) - cents(Decimal(str(credit_notes))) - cents(Decimal(str(write_offs)))
        )
        row[1] += 1
    payments = connection.execute(
        sa.select(
            Payment.member_id, Payment.currency, Payment.amount, sa.func.coalesce(refunded.c.amount, 0)
        ).outerjoin(refunded, refunded.c.payment_id == Payment.id)
    )
    for member_id, currency, amount, refunds in payments:
        row = balances.setdefault((member_id, currency), [0, 0])
        row[0] += cents(Decimal(str(refunds))) - cents(Decimal(str(amount)))
        row[1] += 1
    return {key: tuple(amounts) for key, amounts in balances.items() if any(amounts)}


def kept_member_balances(connection: sa.Connection) -> dict:
    """The member balances as kept, in the shape of `recompute_member_balances`."""
    return {
        (row.member_id, row.currency): (row.balance_cents, row.record_count)
        for row in connection.execute(sa.select(MemberBalance))
        if row.balance_cents or row.record_count
    }


def recompute_unpaid_years(year_rows: dict) -> dict[tuple[int, int], int]:
    """The unpaid years' rows, {(member, year): run}, as the year totals `year_rows` (in the shape of
    `recompute_totals`, from the records) make them."""
    outstanding = YEAR_AMOUNTS.index("outstanding_cents")
    return unpaid_runs({(key[0], key[1]) for key, amounts in year_rows.items() if amounts[outstanding] > 0})


def kept_unpaid_years(connection: sa.Connection) -> dict[tuple[int, int], int]:
    """The unpaid years' rows as kept, in the shape of `recompute_unpaid_years`."""
    return {
        (row.member_id, row.fiscal_year): row.unpaid_run
        for row in connection.execute(sa.select(MemberUnpaidYear))
    }


def rebuild_totals(connection: sa.Connection) -> None:
    """Replace the four tables with `recompute_totals`, `recompute_unpaid_years` and
    `recompute_member_balances` (after bulk inserts that bypass the session: the bench seed; the migrations
    backfill with the same rules)."""
    lock_for_replacing(connection, InvoiceYearTotal, OpenInvoiceTotal, MemberUnpaidYear, MemberBalance)
    year, still_open = recompute_totals(connection)
    replace_rows(connection, InvoiceYearTotal, YEAR_KEY, YEAR_AMOUNTS, year)
    replace_rows(connection, OpenInvoiceTotal, OPEN_KEY, OPEN_AMOUNTS, still_open)
    replace_rows(
        connection,
        MemberUnpaidYear,
        ("member_id", "fiscal_year"),
        ("unpaid_run",),
        {key: (run,) for key, run in recompute_unpaid_years(year).items()},
    )
    replace_rows(
        connection, MemberBalance, BALANCE_KEY, BALANCE_AMOUNTS, recompute_member_balances(connection)
    )


def member_balances(member_id: int) -> dict[str, tuple[Decimal, int]]:
    """One member's kept balances, {currency: (balance, invoices and payments)}: one indexed read."""
    return {
        currency: (from_cents(balance), count)
        for currency, balance, count in db.session.execute(
            sa.select(MemberBalance.currency, MemberBalance.balance_cents, MemberBalance.record_count).where(
                MemberBalance.member_id == member_id
            )
        )
    }


# --- Reading the open invoices -----------------------------------------------------------------------------

#: Issued invoices that may still owe something: the statuses `InvoiceStatus.is_open` names, as a literal SQL
#: condition so that both databases match it with the partial index below.
OPEN_STATUS_VALUES = tuple(status.value for status in InvoiceStatus if status.is_open)
OPEN_INVOICE = sa.text("invoices.status IN (" + ", ".join(f"'{value}'" for value in OPEN_STATUS_VALUES) + ")")

#: The open invoices in due-date order, for the ageing's list of invoices (a page reads only its rows).
OPEN_BY_DUE_ON = sa.Index(
    "ix_invoices_open_by_due_on",
    Invoice.due_on,
    Invoice.number,
    sqlite_where=OPEN_INVOICE,
    postgresql_where=OPEN_INVOICE,
)
#: The invoice list's overdue filter (open, due before a day) in the list's order: a page's ids are read
#: from the newest open invoices backwards, instead of sorting every overdue invoice on each request.
OPEN_IN_LIST_ORDER = sa.Index(
    "ix_invoices_open_list_order",
    Invoice.issued_on,
    Invoice.id,
    Invoice.due_on,
    Invoice.status,
    sqlite_where=OPEN_INVOICE,
    postgresql_where=OPEN_INVOICE,
)
#: The latest day a settlement was recorded for: `latest_record_day` reads them as index lookups.
sa.Index("ix_credit_notes_issued_on", CreditNote.issued_on)
sa.Index("ix_write_offs_written_off_on", WriteOff.written_off_on)
#: A member's invoices and payments by date, read backwards by the statement to find where its period starts.
sa.Index("ix_invoices_member_issued_on", Invoice.member_id, Invoice.issued_on)
sa.Index("ix_payments_member_received_on", Payment.member_id, Payment.received_on)
#: The latest refund, for a statement's `_latest_record_day`.
sa.Index("ix_refunds_refunded_on", Refund.refunded_on)
#: The allocations across currencies (only they carry a rate), few among many: the statement reads a
#: member's through this small index instead of every allocation of its payments.
CONVERTED = sa.text("payment_allocations.exchange_rate IS NOT NULL")
sa.Index(
    "ix_payment_allocations_converted",
    PaymentAllocation.payment_id,
    sqlite_where=CONVERTED,
    postgresql_where=CONVERTED,
)
