"""Importing a parsed bank statement: find the hub whose account it is, refuse what does not fit, store each
entry once, and match what can be matched without a person.

The file is read by services/bank_statements.py (camt, MT940) or through the CSV import preview; whatever the
format, `store_statement` applies the same rules. Nothing is stored when the file is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import sqlalchemy as sa

from ...common.errors import DomainError
from ...common.money import format_money
from ...extensions import db
from ...hubs.models import Hub
from ..models import ZERO, BankEntry, BankStatement, EntryStatus, StatementFormat
from .bank_matching import OpenInvoices, match_automatically
from .bank_statements import ParsedStatement, StatementRefused, compact_account, parse_statement_file

#: Account numbers shorter than this are not matched against the end of an IBAN.
_MIN_ACCOUNT_DIGITS = 6


class StatementAlreadyImported(DomainError):
    """The same file was imported before; nothing was added."""


class NothingNewInStatement(DomainError):
    """Every entry of the file was imported before (an overlapping statement); nothing was added."""


@dataclass
class ImportResult:
    statement: BankStatement
    new_entries: list[BankEntry] = field(default_factory=list)
    duplicates: int = 0
    applied: int = 0
    payouts: int = 0
    queued: int = 0

    def summary(self) -> str:
        """One sentence for the person who imported the file."""
        parts = [f"{len(self.new_entries)} new entr{'y' if len(self.new_entries) == 1 else 'ies'}"]
        if self.duplicates:
            parts.append(f"{self.duplicates} already imported, skipped")
        if self.applied:
            parts.append(f"{self.applied} matched and applied automatically")
        if self.payouts:
            parts.append(f"{self.payouts} Stripe payout{'s' if self.payouts != 1 else ''} reconciled")
        parts.append(f"{self.queued} waiting for review" if self.queued else "nothing waiting for review")
        return f"Statement #{self.statement.id} imported: " + "; ".join(parts) + "."


def hub_for_account(account: str) -> Hub | None:
    """The hub whose bank account this is: by IBAN, by account number, or an account number inside an IBAN."""
    wanted = compact_account(account)
    if not wanted:
        return None
    for hub in db.session.scalars(sa.select(Hub).order_by(Hub.id)):
        iban, number = compact_account(hub.iban), compact_account(hub.account_number)
        if wanted in (iban, number):
            return hub
        digits = wanted.lstrip("0")
        if len(digits) >= _MIN_ACCOUNT_DIGITS and iban and iban.endswith(digits):
            return hub
    return None


def import_statement_file(data: bytes, filename: str, actor) -> ImportResult:
    """Read a camt or MT940 file and store it (see `store_statement`)."""
    parsed = parse_statement_file(data, filename)
    return store_statement(parsed, data, filename, actor)


def store_statement(
    parsed: ParsedStatement, data: bytes | None, filename: str, actor, *, file_sha256: str | None = None
) -> ImportResult:
    """Store a parsed statement's new entries and match them; raise StatementRefused (nothing stored) for an
    unknown account or a wrong currency, StatementAlreadyImported or NothingNewInStatement when it adds
    nothing."""
    hub = hub_for_account(parsed.account)
    if hub is None:
        raise StatementRefused(
            f"The file is for account {parsed.account}, which is not the bank account of any hub. "
            "Check the file, or the hub's bank details."
        )
    if parsed.currency != hub.base_currency:
        raise StatementRefused(
            f"The statement is in {parsed.currency}, but {hub.name}'s account is in {hub.base_currency}."
        )
    for entry in parsed.entries:
        if entry.currency != parsed.currency:
            raise StatementRefused(
                f"Entry {entry.position} is in {entry.currency} on a {parsed.currency} account; "
                "the file is not consistent."
            )
    file_sha256 = file_sha256 or hashlib.sha256(data or b"").hexdigest()
    earlier = db.session.scalar(
        sa.select(BankStatement).where(
            BankStatement.hub_id == hub.id, BankStatement.file_sha256 == file_sha256
        )
    )
    if earlier is not None:
        raise StatementAlreadyImported(
            f"This file was already imported on {earlier.imported_at:%d %b %Y} as statement #{earlier.id}; "
            "nothing was added."
        )
    keyed = _keyed_entries(parsed)
    known = set(
        db.session.scalars(
            sa.select(BankEntry.dedupe_key).where(
                BankEntry.hub_id == hub.id, BankEntry.dedupe_key.in_([key for key, _ in keyed])
            )
        )
    )
    fresh = [(key, entry) for key, entry in keyed if key not in known]
    if not fresh:
        raise NothingNewInStatement(
            f"All {len(keyed)} entries of this file were imported before; nothing was added."
            if keyed
            else "The file holds no booked entry; nothing was added."
        )
    statement = BankStatement(
        hub_id=hub.id,
        format=StatementFormat(parsed.format),
        account=parsed.account[:34],
        currency=parsed.currency,
        bank_identifier=parsed.bank_identifier[:100],
        from_date=parsed.from_date,
        to_date=parsed.to_date,
        opening_balance=parsed.opening_balance,
        closing_balance=parsed.closing_balance,
        filename=(filename or "")[:255],
        file_sha256=file_sha256,
        entry_count=len(keyed),
        duplicate_count=len(keyed) - len(fresh),
        imported_by_id=getattr(actor, "id", None),
    )
    db.session.add(statement)
    result = ImportResult(statement=statement, duplicates=len(keyed) - len(fresh))
    for key, parsed_entry in fresh:
        entry = BankEntry(
            hub_id=hub.id,
            statement=statement,
            dedupe_key=key,
            booked_on=parsed_entry.booked_on,
            value_on=parsed_entry.value_on,
            is_credit=parsed_entry.is_credit,
            amount=parsed_entry.amount,
            currency=parsed_entry.currency,
            bank_reference=parsed_entry.bank_reference,
            end_to_end_id=parsed_entry.end_to_end_id,
            counterparty_name=parsed_entry.counterparty_name,
            counterparty_account=parsed_entry.counterparty_account,
            structured_reference=parsed_entry.structured_reference,
            remittance_text=parsed_entry.remittance_text,
            status=EntryStatus.NEEDS_REVIEW if parsed_entry.is_credit else EntryStatus.DEBIT,
        )
        db.session.add(entry)
        result.new_entries.append(entry)
    db.session.flush()
    open_invoices = OpenInvoices()
    for entry in result.new_entries:
        if match_automatically(entry, actor, open_invoices):
            if entry.status == EntryStatus.STRIPE_PAYOUT:
                result.payouts += 1
            else:
                result.applied += 1
        elif entry.status == EntryStatus.NEEDS_REVIEW:
            result.queued += 1
    return result


def _keyed_entries(parsed: ParsedStatement):
    """(dedupe key, entry) for each non-zero entry; identical movements in one file get #2, #3 ..."""
    seen: dict[str, int] = {}
    keyed = []
    for entry in parsed.entries:
        if entry.amount <= ZERO:
            continue
        key = entry.dedupe_key(parsed.account)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            key = f"{key}#{seen[key]}"
        keyed.append((key[:120], entry))
    return keyed


def balance_check(statement: BankStatement) -> str | None:
    """A warning when the statement's opening balance plus its movements is not its closing balance."""
    if statement.opening_balance is None or statement.closing_balance is None:
        return None
    movement = sum((entry.amount if entry.is_credit else -entry.amount for entry in statement.entries), ZERO)
    if statement.duplicate_count:
        return None  # entries already imported belong to an earlier statement
    if statement.opening_balance + movement != statement.closing_balance:
        return (
            f"Opening balance {format_money(statement.opening_balance, statement.currency)} plus the entries "
            "does not give the closing balance "
            f"{format_money(statement.closing_balance, statement.currency)}."
        )
    return None
