"""Reading bank files into plain data: ISO 20022 camt.053 / camt.054 XML and SWIFT MT940.

Nothing here touches the database: `parse_statement_file` returns a `ParsedStatement` (or raises
`StatementRefused` with a reason a person can act on), and services/bank_import.py decides what to store.

- camt: any version of camt.053.001.xx and camt.054.001.xx, read with the standard library's parser through
  defusedxml (no DTD, no entities, nothing fetched). Only booked entries are kept.
- MT940: the `mt-940` package; the structured `:86:` field of German banks (`?20`...) and the SWIFT-style
  `/REMI/.../NAME/...` layout of Belgian and Dutch banks are both read.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

import defusedxml
import defusedxml.ElementTree as SafeElementTree
import mt940

from ...common.errors import DomainError
from ...common.money import currency_exponent, is_currency
from .payment_references import compact_reference

#: The largest amount a statement line may carry (the MONEY column's range).
MAX_AMOUNT = Decimal("999999999999.99")
_CAMT_NAMESPACE = re.compile(
    r"^urn:iso:std:iso:20022:tech:xsd:camt\.(?P<message>053|054)\.001\.(?P<version>\d{2})$"
)
#: References banks write when they have none.
_NO_REFERENCE = {"", "NONREF", "NOTPROVIDED", "NONE", "N/A"}


class StatementRefused(DomainError):
    """A bank file that cannot be imported; the message says why, and nothing was imported."""


@dataclass
class ParsedEntry:
    booked_on: date
    value_on: date | None
    is_credit: bool
    #: Always positive; `is_credit` says the direction.
    amount: Decimal
    currency: str
    bank_reference: str = ""
    end_to_end_id: str = ""
    counterparty_name: str = ""
    counterparty_account: str = ""
    structured_reference: str = ""
    remittance_text: str = ""
    #: Where in the file the entry is, for messages ("entry 3").
    position: int = 0

    def dedupe_key(self, account: str) -> str:
        """The bank's own reference when it gives one; otherwise a hash of what identifies the movement."""
        if self.bank_reference:
            return f"ref:{self.bank_reference}"[:120]
        identity = "|".join(
            [
                compact_account(account),
                self.booked_on.isoformat(),
                "C" if self.is_credit else "D",
                f"{self.amount:.2f}",
                self.currency,
                compact_account(self.counterparty_account),
                " ".join((self.remittance_text or "").split()).upper(),
                self.end_to_end_id,
            ]
        )
        return "sha256:" + hashlib.sha256(identity.encode()).hexdigest()


@dataclass
class ParsedStatement:
    format: str  # a StatementFormat value
    account: str
    currency: str
    bank_identifier: str = ""
    from_date: date | None = None
    to_date: date | None = None
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    entries: list[ParsedEntry] = field(default_factory=list)


def compact_account(account: str | None) -> str:
    """An IBAN or account number without spaces and dashes, upper case."""
    return re.sub(r"[\s\-]", "", account or "").upper()


def parse_statement_file(data: bytes, filename: str = "") -> ParsedStatement:
    """Read a camt or MT940 file (recognised by its content); raise StatementRefused with the reason."""
    if not data or not data.strip():
        raise StatementRefused("The file is empty.")
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:200]
    if head.startswith(b"<"):
        return parse_camt(data)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:200]:
        raise StatementRefused(
            "The file is in UTF-16, not in UTF-8 or Latin-1: export it again as a camt XML or MT940 text "
            "file."
        )
    if b":20:" in data[:2000] or head.startswith((b"{1:", b":")):
        return parse_mt940(data)
    raise StatementRefused(
        "This is neither a camt.053/camt.054 XML file nor an MT940 file. For a CSV export, use the CSV "
        "import."
    )


# --- camt --------------------------------------------------------------------------------------------------


def parse_camt(data: bytes) -> ParsedStatement:
    """Read an ISO 20022 camt.053 statement or camt.054 notification (any 001.xx version)."""
    try:
        root = SafeElementTree.fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException:
        raise StatementRefused(
            "The XML file declares a DTD or entities, which bank statements never need; it was not read."
        ) from None
    except ElementTree.ParseError as error:
        raise StatementRefused(f"The XML file is malformed ({_xml_problem(error)}).") from None
    except (UnicodeDecodeError, LookupError, ValueError) as error:
        raise StatementRefused(f"The XML file could not be decoded ({error}).") from None
    namespace, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    match = _CAMT_NAMESPACE.match(namespace)
    if local != "Document" or match is None:
        raise StatementRefused(
            "This XML file is not a camt.053 statement or camt.054 notification "
            f"(its namespace is {namespace or 'missing'})."
        )
    message = match["message"]
    reader = _Camt(namespace)
    if message == "053":
        blocks = reader.all(root, "BkToCstmrStmt/Stmt")
        kind = "camt.053"
    else:
        blocks = reader.all(root, "BkToCstmrDbtCdtNtfctn/Ntfctn")
        kind = "camt.054"
    if not blocks:
        raise StatementRefused(f"The {kind} file holds no statement.")
    statement: ParsedStatement | None = None
    position = 0
    for block in blocks:
        account = reader.text(block, "Acct/Id/IBAN", "Acct/Id/Othr/Id")
        if not account:
            raise StatementRefused("The statement does not say which account it is for (Acct/Id).")
        currency = reader.text(block, "Acct/Ccy")
        if statement is None:
            statement = ParsedStatement(format=kind, account=account, currency=currency)
        elif compact_account(account) != compact_account(statement.account):
            raise StatementRefused(
                "The file holds statements of several accounts; export and import one account at a time."
            )
        identifier = reader.text(block, "Id")
        if identifier:
            statement.bank_identifier = ", ".join(filter(None, [statement.bank_identifier, identifier]))[:100]
        _camt_period(reader, block, statement)
        _camt_balances(reader, block, statement)
        for entry_element in reader.all(block, "Ntry"):
            position += 1
            entry = _camt_entry(reader, entry_element, position)
            if entry is not None:
                statement.entries.append(entry)
    assert statement is not None
    if not statement.currency:
        currencies = {entry.currency for entry in statement.entries}
        statement.currency = currencies.pop() if len(currencies) == 1 else ""
    if not is_currency(statement.currency):
        raise StatementRefused("The statement does not say the account's currency (Acct/Ccy).")
    return statement


class _Camt:
    """Namespaced look-ups: paths are written without the namespace ("Acct/Id/IBAN")."""

    def __init__(self, namespace: str):
        self.prefix = f"{{{namespace}}}" if namespace else ""

    def path(self, path: str) -> str:
        return "/".join(self.prefix + part for part in path.split("/"))

    def all(self, element, path: str) -> list:
        return element.findall(self.path(path))

    def first(self, element, *paths: str):
        for path in paths:
            found = element.find(self.path(path))
            if found is not None:
                return found
        return None

    def text(self, element, *paths: str) -> str:
        for path in paths:
            found = element.find(self.path(path))
            if found is not None and (found.text or "").strip():
                return " ".join(found.text.split())
        return ""

    def texts(self, element, path: str) -> list[str]:
        return [
            " ".join(found.text.split()) for found in self.all(element, path) if (found.text or "").strip()
        ]


def _camt_date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise StatementRefused(f"{what}: {text!r} is not a date.") from None


def _camt_period(reader: _Camt, block, statement: ParsedStatement) -> None:
    start = reader.text(block, "FrToDt/FrDtTm", "FrToDt/FrDt")
    end = reader.text(block, "FrToDt/ToDtTm", "FrToDt/ToDt")
    if start:
        day = _camt_date(start, "The statement's start date")
        statement.from_date = min(filter(None, [statement.from_date, day]))
    if end:
        day = _camt_date(end, "The statement's end date")
        statement.to_date = max(filter(None, [statement.to_date, day]))


def _camt_balances(reader: _Camt, block, statement: ParsedStatement) -> None:
    for balance in reader.all(block, "Bal"):
        code = reader.text(balance, "Tp/CdOrPrtry/Cd")
        amount_element = reader.first(balance, "Amt")
        if amount_element is None:
            continue
        amount = _amount(amount_element.text, amount_element.get("Ccy", ""), "A balance")
        if reader.text(balance, "CdtDbtInd") == "DBIT":
            amount = -amount
        if code in ("OPBD", "PRCD") and statement.opening_balance is None:
            statement.opening_balance = amount
        elif code == "CLBD":
            statement.closing_balance = amount


def _camt_entry(reader: _Camt, element, position: int) -> ParsedEntry | None:
    status = reader.text(element, "Sts/Cd", "Sts")
    if status and status != "BOOK":
        return None  # pending or information only: the booked entry will come in a later statement
    amount_element = reader.first(element, "Amt")
    if amount_element is None:
        raise StatementRefused(f"Entry {position} has no amount.")
    currency = amount_element.get("Ccy", "")
    amount = _amount(amount_element.text, currency, f"Entry {position}")
    indicator = reader.text(element, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise StatementRefused(f"Entry {position} does not say whether it is a credit or a debit.")
    is_credit = indicator == "CRDT"
    if reader.text(element, "RvslInd").lower() == "true":
        is_credit = not is_credit  # a reversal moves money the other way
    booked = reader.text(element, "BookgDt/Dt", "BookgDt/DtTm")
    if not booked:
        raise StatementRefused(f"Entry {position} has no booking date.")
    value = reader.text(element, "ValDt/Dt", "ValDt/DtTm")
    details = reader.first(element, "NtryDtls/TxDtls")
    party = "Dbtr" if is_credit else "Cdtr"
    texts: list[str] = []
    structured = ""
    end_to_end = ""
    name = account = ""
    reference = reader.text(element, "AcctSvcrRef")
    if details is not None:
        reference = reference or reader.text(details, "Refs/AcctSvcrRef")
        end_to_end = reader.text(details, "Refs/EndToEndId")
        # camt.053.001.02 names the party directly; .08 and later wrap it in Pty.
        name = reader.text(details, f"RltdPties/{party}/Nm", f"RltdPties/{party}/Pty/Nm")
        account = reader.text(
            details,
            f"RltdPties/{party}Acct/Id/IBAN",
            f"RltdPties/{party}Acct/Id/Othr/Id",
        )
        texts += reader.texts(details, "RmtInf/Ustrd")
        structured = compact_reference(reader.text(details, "RmtInf/Strd/CdtrRefInf/Ref"))
        texts += reader.texts(details, "AddtlTxInf")
    texts += reader.texts(element, "AddtlNtryInf")
    reference = reference or reader.text(element, "NtryRef")
    return ParsedEntry(
        booked_on=_camt_date(booked, f"Entry {position}'s booking date"),
        value_on=_camt_date(value, f"Entry {position}'s value date") if value else None,
        is_credit=is_credit,
        amount=amount,
        currency=currency,
        bank_reference="" if reference.upper() in _NO_REFERENCE else reference[:100],
        end_to_end_id="" if end_to_end.upper() in _NO_REFERENCE else end_to_end[:100],
        counterparty_name=name[:200],
        counterparty_account=compact_account(account)[:50],
        structured_reference=structured,
        remittance_text=" ".join(dict.fromkeys(texts)),
        position=position,
    )


def _xml_problem(error: ElementTree.ParseError) -> str:
    line, column = getattr(error, "position", (None, None))
    reason = str(error).split(":")[0]
    return f"{reason} at line {line}, column {column}" if line else reason


def _amount(text: str | None, currency: str, what: str) -> Decimal:
    if not is_currency(currency):
        raise StatementRefused(f"{what} has no valid currency ({currency or 'none given'}).")
    try:
        amount = Decimal((text or "").strip())
    except InvalidOperation:
        raise StatementRefused(f"{what}: {text!r} is not an amount.") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise StatementRefused(f"{what}: {text!r} is not an amount a statement can carry.")
    exponent = currency_exponent(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-exponent)):
        raise StatementRefused(f"{what}: {currency} amounts have at most {exponent} decimal places.")
    return amount.quantize(Decimal(1).scaleb(-exponent))


# --- MT940 -------------------------------------------------------------------------------------------------

_MT940_OPTIONS = mt940.Options(
    applicant_iban=True, merge_keeps_values=True, reversal_sign=True, unbounded_details=True, strip_bom=True
)
_MT940_PROCESSORS = {"post_transaction_details": [mt940.processors.transaction_details_post_processor]}
#: SWIFT-style sub-fields of :86: used by Belgian and Dutch banks: /REMI/text/NAME/name/IBAN/...
_SLASH_CODES = re.compile(r"/(REMI|EREF|NAME|IBAN|BIC|ORDP|CNTP|ADDR|CSID|MARF|USTD|STRD|PURP|RTRN)/")


def _decode_mt940(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    # Latin-1 maps every byte; control characters other than line breaks mean it was not text at all.
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", text):
        raise StatementRefused("The file is not text in UTF-8 or Latin-1; it cannot be an MT940 file.")
    return text


def parse_mt940(data: bytes) -> ParsedStatement:
    """Read a SWIFT MT940 statement (one account; several :20: blocks are read as one statement)."""
    text = _decode_mt940(data)
    if ":25:" not in text:
        raise StatementRefused("The MT940 file has no account identification (:25:).")
    expected = len(re.findall(r"^:61:", text, flags=re.MULTILINE))
    try:
        blocks = mt940.parse_statements(text, processors=_MT940_PROCESSORS, options=_MT940_OPTIONS)
    except Exception as error:  # noqa: BLE001 - the parser raises many kinds on malformed input
        raise StatementRefused(
            f"The MT940 file could not be read ({type(error).__name__}: {error})."
        ) from None
    statement: ParsedStatement | None = None
    position = 0
    for block in blocks:
        account_field = (block.data.get("account_identification") or "").strip()
        if not account_field:
            continue
        account = _mt940_account(account_field)
        opening = block.data.get("final_opening_balance") or block.data.get("opening_balance")
        closing = block.data.get("final_closing_balance") or block.data.get("closing_balance")
        currency = (block.currency or "").upper()
        if statement is None:
            statement = ParsedStatement(format="mt940", account=account, currency=currency)
        elif compact_account(account) != compact_account(statement.account):
            raise StatementRefused(
                "The file holds statements of several accounts; export and import one account at a time."
            )
        identifier = " ".join(
            filter(None, [block.data.get("transaction_reference"), block.data.get("statement_number")])
        )
        if identifier:
            statement.bank_identifier = ", ".join(filter(None, [statement.bank_identifier, identifier]))[:100]
        if opening is not None:
            if statement.opening_balance is None:
                statement.opening_balance = opening.amount.amount
            statement.from_date = min(filter(None, [statement.from_date, _plain_date(opening.date)]))
        if closing is not None:
            statement.closing_balance = closing.amount.amount
            statement.to_date = max(filter(None, [statement.to_date, _plain_date(closing.date)]))
        if len(block) and not is_currency(currency):
            raise StatementRefused("The MT940 file has no opening balance (:60F:) that gives the currency.")
        for transaction in block:
            position += 1
            if not transaction.data.get("id"):
                # The parser is lenient; a statement line without its transaction type was not understood.
                raise StatementRefused(
                    f"Statement line {position} (:61:) is malformed: its amount or transaction type "
                    "cannot be read."
                )
            statement.entries.append(_mt940_entry(transaction.data, currency, position))
    if statement is None:
        raise StatementRefused("The MT940 file has no statement with an account identification (:25:).")
    if position != expected:
        raise StatementRefused(
            f"The MT940 file has {expected} statement lines (:61:) but only {position} could be read; "
            "a line is malformed."
        )
    if not is_currency(statement.currency):
        raise StatementRefused("The MT940 file has no opening balance (:60F:) that gives the currency.")
    return statement


def _plain_date(value) -> date | None:
    return date(value.year, value.month, value.day) if value is not None else None


def _mt940_account(account_field: str) -> str:
    # ":25:" is an IBAN, or "bank code/account", sometimes followed by the currency.
    parts = [part for part in re.split(r"[/\s]", account_field) if part]
    parts = [part for part in parts if not (len(part) == 3 and part.isalpha() and is_currency(part.upper()))]
    return parts[-1] if parts else account_field


def _mt940_entry(data: dict, currency: str, position: int) -> ParsedEntry:
    amount_object = data.get("amount")
    if amount_object is None or data.get("date") is None:
        raise StatementRefused(f"Statement line {position} (:61:) has no amount or date.")
    signed = amount_object.amount
    entry_currency = (amount_object.currency or currency or "").upper()
    amount = _amount(str(abs(signed)), entry_currency, f"Statement line {position}")
    details = data.get("transaction_details") or ""
    name = data.get("applicant_name") or ""
    account = data.get("applicant_iban") or ""
    texts = [data.get("purpose") or ""]
    end_to_end = data.get("end_to_end_reference") or ""
    # The processor reads German ?-coded details into keys of their own (and drops the raw text); what it
    # leaves is SWIFT-style text.
    if details:
        fields = _slash_fields(details)
        name = name or fields.get("NAME", "")
        account = account or fields.get("IBAN", "")
        end_to_end = end_to_end or fields.get("EREF", "")
        texts = [fields.get("REMI", "") or fields.get("USTD", "") or (details if not fields else "")]
        structured = compact_reference(fields.get("STRD", "") or fields.get("REMI", ""))
    else:
        structured = ""
    extra = data.get("extra_details") or ""
    bank_reference = (data.get("bank_reference") or "").strip()
    customer_reference = (data.get("customer_reference") or "").strip()
    if bank_reference.upper() in _NO_REFERENCE:
        bank_reference = ""
    if customer_reference.upper() in _NO_REFERENCE:
        customer_reference = ""
    return ParsedEntry(
        booked_on=_plain_date(data.get("entry_date") or data["date"]),
        value_on=_plain_date(data["date"]),
        is_credit=signed > 0,
        amount=amount,
        currency=entry_currency,
        # The customer reference is the payer's; only the bank's own identifies the booking.
        bank_reference=bank_reference[:100],
        end_to_end_id=end_to_end[:100] if end_to_end.upper() not in _NO_REFERENCE else "",
        counterparty_name=" ".join(name.split())[:200],
        counterparty_account=compact_account(account)[:50],
        structured_reference=structured,
        remittance_text=" ".join(" ".join(filter(None, [*texts, customer_reference, extra])).split()),
        position=position,
    )


def _slash_fields(details: str) -> dict[str, str]:
    """The /CODE/value/ sub-fields of a SWIFT-style :86: (values may be empty or contain single slashes)."""
    flat = "".join(details.splitlines())
    matches = list(_SLASH_CODES.finditer(flat))
    fields: dict[str, str] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(flat)
        value = flat[match.end() : end].strip().strip("/").strip()
        fields.setdefault(match.group(1), value)
    return fields
