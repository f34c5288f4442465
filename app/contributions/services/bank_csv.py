"""Bank statements exported as CSV, through the common import preview (app/common/imports.py).

A bank's CSV export has no standard layout: the columns are found by their headers (in English, French,
Spanish, Dutch or German, as banks write them), and a person can change the mapping on the preview. Amounts
come signed in one column or as separate credit and debit columns; dates day first, month first or year
first. A file with one bad row imports no row and lists every bad row. What the preview showed is signed and
read back on confirmation, then stored by services/bank_import.py like any other statement.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from ...common.imports import (
    Column,
    Header,
    PreviewSigner,
    RowProblem,
    Table,
    find_header,
    header_from_mapping,
    read_table,
)
from ...common.money import currency_exponent, is_currency
from .bank_statements import MAX_AMOUNT, ParsedEntry, ParsedStatement, compact_account
from .payment_references import compact_reference

MAX_CSV_BYTES = 2 * 1024 * 1024
SIGNER = PreviewSigner("tributary.bank-csv-import")

COLUMNS = [
    Column("booked_on", "Date", names={"booking date", "date", "transaction date", "date operation",
           "date comptable", "fecha", "fecha operacion", "datum", "buchungstag", "boekdatum"},
           words=("date", "fecha", "datum"), missing_message="No date column: name one column “Date”."),
    Column("amount", "Amount", names={"amount", "montant", "importe", "betrag", "bedrag"},
           words=("amount", "montant", "importe", "betrag", "bedrag"), required=False),
    Column("credit", "Credit", names={"credit", "credits", "money in", "paid in", "haber", "crédit"},
           words=("credit", "haber"), required=False),
    Column("debit", "Debit", names={"debit", "debits", "money out", "paid out", "debe", "débit"},
           words=("debit", "debe"), required=False),
    Column("currency", "Currency", names={"currency", "devise", "moneda", "währung", "valuta", "ccy"},
           required=False),
    Column("counterparty_name", "Counterparty", names={"counterparty", "counterparty name", "payer", "name",
           "ordering party", "contrepartie", "nom contrepartie", "beneficiario", "ordenante", "naam",
           "auftraggeber", "payee"}, words=("counterparty", "payer", "contrepartie", "ordenante"),
           required=False),
    Column("counterparty_account", "Counterparty account", names={"counterparty account", "iban",
           "account", "compte contrepartie", "cuenta", "tegenrekening", "iban auftraggeber"},
           words=("iban",), required=False),
    Column("remittance_text", "Description", names={"description", "communication", "remittance",
           "remittance information", "message", "concepto", "omschrijving", "verwendungszweck", "libelle",
           "libellé", "memo"}, words=("description", "communication", "concepto"),
           required=False),
    Column("bank_reference", "Bank reference", names={"bank reference", "transaction id", "reference number",
           "reference", "référence", "referencia", "transaction reference"}, words=("reference",),
           required=False),
]  # fmt: skip
COLUMN_KEYS = [column.key for column in COLUMNS]


class DateOrder:
    DAY_FIRST = "day_first"
    MONTH_FIRST = "month_first"
    YEAR_FIRST = "year_first"
    LABELS = {DAY_FIRST: "Day first (31/12/2027)", MONTH_FIRST: "Month first (12/31/2027)",
              YEAR_FIRST: "Year first (2027-12-31)"}  # fmt: skip


def default_date_order(hub) -> str:
    """How the hub's bank writes dates: month first in the United States, day first elsewhere."""
    return DateOrder.MONTH_FIRST if (hub.country_code or "").upper() == "US" else DateOrder.DAY_FIRST


@dataclass
class CsvPreview:
    """What the preview page shows: the header row found, the mapping, the entries read, or the problems."""

    filename: str
    header: Header
    mapping: dict[str, int | None]
    date_order: str
    entries: list[ParsedEntry] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    token: str | None = None


def _parse_date(text: str, order: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?", text)
    parts = re.fullmatch(r"(\d{1,4})[./\-](\d{1,2})[./\-](\d{1,4})", text)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if parts is None:
            return None
        first, second, third = (int(part) for part in parts.groups())
        if order == DateOrder.YEAR_FIRST or len(parts[1]) == 4:
            return date(first, second, third)
        year = third + 2000 if third < 100 else third
        if order == DateOrder.MONTH_FIRST:
            return date(year, first, second)
        return date(year, second, first)
    except ValueError:
        return None


def parse_amount(text: str) -> Decimal | None:
    """A bank's amount: `1,234.56`, `1.234,56`, `-500`, `500,00 EUR`, `(25.00)`; None when it is not one."""
    text = re.sub(r"[\s\u00a0\u202f'€$£]", "", text or "")
    text = re.sub(r"^[A-Za-z]{3}(?=[-+(\d])|(?<=[\d)])[A-Za-z]{3}$", "", text)
    negative = text.startswith("(") and text.endswith(")")
    text = text.strip("()")
    if text.endswith("-"):
        negative, text = True, text[:-1]
    sign, text = (text[0], text[1:]) if text and text[0] in "+-" else ("", text)
    # The decimal separator is the last "," or "." when one or two digits follow it; the others group by 3.
    match = re.fullmatch(r"(\d{1,3}(?:[.,]\d{3})+|\d+)(?:[.,](\d{1,2}))?", text)
    if match is None:
        return None
    whole, fraction = re.sub(r"[.,]", "", match[1]), match[2] or "0"
    amount = Decimal(f"{whole}.{fraction}")
    if sign == "-":
        negative = not negative
    return -amount if negative else amount


def read_statement_csv(
    hub,
    filename: str,
    content: bytes,
    *,
    mapping: dict[str, int | None] | None = None,
    header_row: int | None = None,
    date_order: str | None = None,
) -> CsvPreview:
    """Read a bank CSV for this hub: the header found (or the person's mapping), every entry and every
    problem."""
    table = read_table(filename, content, max_bytes=MAX_CSV_BYTES, legacy_encoding="cp1252")
    date_order = date_order or default_date_order(hub)
    if mapping is not None and header_row is not None:
        header = header_from_mapping(table, header_row, mapping)
    else:
        header = find_header(
            table,
            COLUMNS,
            accept=lambda found: (
                found["booked_on"] is not None
                and (found["amount"] is not None or found["credit"] is not None)
            ),
        )
    preview = CsvPreview(filename, header, dict(header.positions), date_order)
    preview.problems = header.missing(COLUMNS)
    if not (header.has("amount") or header.has("credit") or header.has("debit")):
        preview.problems.append(
            RowProblem(header.row, "No amount column: name one column “Amount”, or “Credit” and “Debit”.")
        )
    if preview.problems:
        return preview
    preview.entries, preview.problems = _entries(hub, table, header, date_order)
    if not preview.problems and not preview.entries:
        preview.problems.append(RowProblem(None, "The file has no entry under its header row."))
    return preview


def _entries(hub, table: Table, header: Header, date_order: str):
    entries: list[ParsedEntry] = []
    problems: list[RowProblem] = []
    exponent = currency_exponent(hub.base_currency)
    for record in header.records(table):
        row_problems: list[str] = []
        booked_on = _parse_date(record["booked_on"], date_order)
        if booked_on is None:
            row_problems.append(
                f"“{record['booked_on']}” is not a date ({DateOrder.LABELS[date_order].lower()})."
            )
        signed = _signed_amount(record, header, row_problems)
        currency = (record["currency"] if header.has("currency") else "").strip().upper() or hub.base_currency
        if not is_currency(currency):
            row_problems.append(f"“{currency}” is not a currency code.")
        elif currency != hub.base_currency:
            row_problems.append(
                f"The entry is in {currency}; {hub.name}'s account is in {hub.base_currency}."
            )
        if signed is not None and signed != signed.quantize(Decimal(1).scaleb(-exponent)):
            row_problems.append(f"{hub.base_currency} amounts have at most {exponent} decimal places.")
        if row_problems:
            problems.extend(RowProblem(record.number, message) for message in row_problems)
            continue
        if signed == 0:
            continue
        text = " ".join(record["remittance_text"].split()) if header.has("remittance_text") else ""
        entries.append(
            ParsedEntry(
                booked_on=booked_on,
                value_on=None,
                is_credit=signed > 0,
                amount=abs(signed),
                currency=currency,
                bank_reference=(record["bank_reference"].strip() if header.has("bank_reference") else "")[
                    :100
                ],
                counterparty_name=(
                    record["counterparty_name"].strip() if header.has("counterparty_name") else ""
                )[:200],
                counterparty_account=compact_account(
                    record["counterparty_account"] if header.has("counterparty_account") else ""
                )[:50],
                structured_reference=compact_reference(text),
                remittance_text=text,
                position=record.number,
            )
        )
    return entries, problems


def _signed_amount(record, header: Header, problems: list[str]) -> Decimal | None:
    cells = []
    if header.has("amount") and record["amount"].strip():
        cells.append(("amount", record["amount"], 1))
    if header.has("credit") and record["credit"].strip():
        cells.append(("credit", record["credit"], 1))
    if header.has("debit") and record["debit"].strip():
        cells.append(("debit", record["debit"], -1))
    if not cells:
        problems.append("The row has no amount.")
        return None
    total = Decimal("0")
    for _, text, sign in cells:
        amount = parse_amount(text)
        if amount is None:
            problems.append(f"“{text}” is not an amount.")
            return None
        total += sign * abs(amount) if sign < 0 else amount
    if abs(total) > MAX_AMOUNT:
        problems.append("The amount is too large.")
        return None
    return total


def sign_preview(hub, preview: CsvPreview, content: bytes) -> str:
    """The signed data the confirmation carries: the hub, the file's hash and every entry as read."""
    return SIGNER.sign(
        {
            "hub_id": hub.id,
            "filename": preview.filename[:255],
            "sha256": hashlib.sha256(content).hexdigest(),
            "entries": [
                [
                    entry.booked_on.isoformat(),
                    "C" if entry.is_credit else "D",
                    str(entry.amount),
                    entry.currency,
                    entry.bank_reference,
                    entry.counterparty_name,
                    entry.counterparty_account,
                    entry.structured_reference,
                    entry.remittance_text,
                    entry.position,
                ]
                for entry in preview.entries
            ],
        }
    )


@dataclass
class SignedStatement:
    hub_id: int
    filename: str
    sha256: str
    statement: ParsedStatement


def read_signed_preview(token: str | None, hub_lookup) -> SignedStatement:
    """The statement a confirmed preview showed, rebuilt from its signed data (PreviewTokenInvalid if not)."""
    data = SIGNER.read(token)
    try:
        hub = hub_lookup(int(data["hub_id"]))
        entries = [
            ParsedEntry(
                booked_on=date.fromisoformat(booked),
                value_on=None,
                is_credit=direction == "C",
                amount=Decimal(amount),
                currency=currency,
                bank_reference=reference,
                counterparty_name=name,
                counterparty_account=account,
                structured_reference=structured,
                remittance_text=text,
                position=int(position),
            )
            for booked, direction, amount, currency, reference, name, account, structured, text, position in (
                data["entries"]
            )
        ]
        sha256, filename = str(data["sha256"]), str(data["filename"])
    except (KeyError, TypeError, ValueError, InvalidOperation):
        raise SIGNER.refused() from None
    if hub is None:
        raise SIGNER.refused()
    dates = [entry.booked_on for entry in entries]
    statement = ParsedStatement(
        format="csv",
        account=hub.iban or hub.account_number,
        currency=hub.base_currency,
        bank_identifier=filename[:100],
        from_date=min(dates) if dates else None,
        to_date=max(dates) if dates else None,
        entries=entries,
    )
    return SignedStatement(hub.id, filename, sha256, statement)
