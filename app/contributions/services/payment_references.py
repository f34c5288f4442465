"""Structured payment references: derived from an invoice's number, stored on it at issue, printed on it and
in its QR code, and found again in what a bank statement says.

- Belgian hub (a Belgian hub invoicing in EUR): a Belgian structured communication, `+++123/4567/89012+++`
  (10 digits and a mod-97 check, `stdnum.be.ogm_vcs`). Its digits are the fiscal year (2), the hub (3) and the
  invoice's sequence number (5).
- Every other invoice: an ISO 11649 creditor reference, `RF` + check digits + the invoice number without its
  dashes (`RF18US20270042`, `stdnum.iso11649`).

References are kept compact (digits only, or RF... without spaces); `display_reference` formats them.
"""

from __future__ import annotations

import re

from stdnum import iso11649
from stdnum.be import ogm_vcs
from stdnum.iso7064 import mod_97_10

#: PREFIX-FY-NNNN; test and legacy numbers may carry letters before the sequence digits.
_NUMBER = re.compile(r"^(?P<prefix>[A-Z0-9]+)-(?:CN-)?(?P<year>\d{4})-\D*(?P<sequence>\d+)$")
#: A Belgian structured communication as payers write it: +++123/4567/89012+++, ***...***, or 12 bare digits.
_OGM_IN_TEXT = re.compile(r"(?<!\d)(?:[+*]{3}\s*)?(\d{3})\s*/?\s*(\d{4})\s*/?\s*(\d{5})(?:\s*[+*]{3})?(?!\d)")
#: An ISO 11649 reference, possibly written in groups of four.
_RF_IN_TEXT = re.compile(r"\bRF\s?\d{2}(?:\s?[A-Z0-9]){1,21}\b", re.IGNORECASE)


def uses_belgian_communication(hub, currency: str) -> bool:
    """Whether invoices of this hub in this currency carry a Belgian structured communication."""
    return (hub.country_code or "").upper() == "BE" and currency == "EUR"


def derive_reference(invoice) -> str | None:
    """The reference an invoice's number gives (compact), or None for a draft or an unusual number."""
    if not invoice.number:
        return None
    match = _NUMBER.match(invoice.number.upper())
    if match is None:
        return None
    if uses_belgian_communication(invoice.hub, invoice.currency):
        year, hub, sequence = int(match["year"]) % 100, (invoice.hub_id or 0) % 1000, int(match["sequence"])
        base = f"{year:02d}{hub:03d}{sequence % 100000:05d}"
        return base + ogm_vcs.calc_check_digits(base)
    body = re.sub(r"[^A-Z0-9]", "", invoice.number.upper())[:21]
    return "RF" + mod_97_10.calc_check_digits(body + "RF") + body


def reference_of(invoice) -> str | None:
    """The invoice's reference: the one stored at issue, or for older invoices the one its number gives."""
    return invoice.payment_reference or derive_reference(invoice)


def display_reference(reference: str | None) -> str:
    """A reference as printed: `+++090/9337/55493+++` or `RF18 US20 2700 42`."""
    if not reference:
        return ""
    if reference.isdigit() and len(reference) == 12:
        return f"+++{ogm_vcs.format(reference)}+++"
    return iso11649.format(reference)


def is_structured_communication(reference: str) -> bool:
    return reference.isdigit() and len(reference) == 12


def compact_reference(text: str | None) -> str:
    """A reference the bank gave in its own field, compacted (digits, or RF...); empty when it is neither."""
    text = (text or "").strip()
    if not text:
        return ""
    digits = re.sub(r"\D", "", text)
    if len(digits) == 12 and not re.search(r"[A-Za-z]", text) and ogm_vcs.is_valid(digits):
        return digits
    if iso11649.is_valid(text):
        return iso11649.compact(text)
    return ""


def references_in_text(text: str | None) -> list[str]:
    """Every valid structured reference written in free text, compact, in the order they appear."""
    text = text or ""
    found: list[str] = []
    for match in _OGM_IN_TEXT.finditer(text):
        digits = "".join(match.groups())
        if ogm_vcs.is_valid(digits) and digits not in found:
            found.append(digits)
    for match in _RF_IN_TEXT.finditer(text):
        # The pattern may swallow the words after a reference written in groups: keep the longest run of
        # whole groups whose check digits agree.
        groups = match.group(0).upper().split()
        for end in range(len(groups), 0, -1):
            candidate = "".join(groups[:end])
            if iso11649.is_valid(candidate):
                if candidate not in found:
                    found.append(candidate)
                break
    return found


def normalize_number(text: str | None) -> str:
    """Letters and digits only, upper case: how invoice numbers are compared with remittance text."""
    return re.sub(r"[^A-Z0-9]", "", (text or "").upper())
