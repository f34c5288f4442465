"""Documents on a hub's letterhead: invoices, credit notes, statements, acknowledgement letters, the board
pack. A document is the issuing hub's letterhead, a recipient block, a body template and an optional QR
code, written in the reader's language and rendered through app.common.pdf.

A body template extends `templates/pdf/_document.html` and fills its blocks (`doc_title`, `doc_meta`,
`document`, and optionally `recipient_label`, `extra_style`); then

    render_document("pdf/letter.html", issuer=hub, lang="fr", recipient=Recipient(name=..., address=...),
                    qr=DocumentQr(url_qr(link), "Scan to read online"), gift=gift)

renders it with the words of its catalogue, its dates and its amounts in French. The issuer is any object
with a hub's fields (legal_name, street_address, postal_code, city, country_code, registration_number,
vat_number, logo_bytes, logo_mime_type, text_for(kind, lang)); this module imports no area.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from decimal import Decimal

import segno
from babel import Locale
from flask import render_template
from flask_babel import force_locale, gettext
from segno import helpers as segno_helpers

from . import pdf
from .languages import Language
from .pdf import data_url

#: Countries that write the postal code after the city ("Washington, DC 20005").
POSTCODE_AFTER_CITY = {"US", "CA", "GB", "AU", "NZ"}
#: EPC QR codes carry at most this amount (the standard's limit).
EPC_MAX_AMOUNT = Decimal("999999999.99")
#: The data mask of every QR code made here. ISO/IEC 18004 lets an encoder use any of the eight (the symbol
#: says which it used, and every reader reads it); choosing the best one means drawing the symbol eight times
#: and scoring each, three quarters of the time a QR code takes (about 6 of 8 ms, on every euro invoice).
#: Mask 0 (a checkerboard) breaks up large areas on any data; the tests read the codes back with zbarimg.
QR_MASK = 0


# --- The reader's language ---------------------------------------------------------------------------------


def document_language(lang: Language | str | None) -> str:
    """The language code a document is written in: one of Language's, else English."""
    try:
        return Language(lang).value
    except ValueError:
        return Language.EN.value


@contextmanager
def in_language(lang: Language | str) -> Iterator[str]:
    """Inside the block, gettext, dates and amounts speak `lang` (for a line of text made outside a template,
    such as an invoice line's description)."""
    code = document_language(lang)
    with force_locale(code):
        yield code


def translate(lang: Language | str, message: str, **variables) -> str:
    """One message of the catalogue in `lang`: translate("fr", "Invoice %(number)s", number="BE-1")."""
    with in_language(lang):
        return gettext(message, **variables)


def country_name(country_code: str, lang: Language | str) -> str:
    """A country's name as the reader writes it (`Belgique`, `Bélgica`), or the code if CLDR has none."""
    locale = Locale.parse(document_language(lang))
    return locale.territories.get(country_code, country_code) if country_code else ""


# --- The letterhead ----------------------------------------------------------------------------------------


def letterhead(issuer, lang: Language | str) -> dict:
    """The issuing hub's block for any document: logo, legal name, address, numbers, legal texts (the context
    `_document.html` reads: hub, lang, logo_url, hub_address, tax_statement, legal_mentions)."""
    code = document_language(lang)
    if issuer.country_code in POSTCODE_AFTER_CITY:
        city_line = f"{issuer.city} {issuer.postal_code}"
    else:
        city_line = f"{issuer.postal_code} {issuer.city}"
    country = country_name(issuer.country_code, code)
    address = [line for line in (issuer.street_address, city_line.strip(), country) if line]
    logo = (
        data_url(issuer.logo_bytes, issuer.logo_mime_type)
        if issuer.logo_bytes and issuer.logo_mime_type
        else None
    )
    return {
        "hub": issuer,
        "lang": code,
        "logo_url": logo,
        "hub_address": address,
        "tax_statement": issuer.text_for("tax_statement", code),
        "legal_mentions": issuer.text_for("legal_mentions", code),
    }


# --- The recipient -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """Who a document is addressed to, as it is frozen on an issued document (`as_dict()` is JSON)."""

    name: str
    #: The postal address, one line per line, without the country.
    address: str = ""
    country_code: str = ""
    contact_name: str = ""
    contact_title: str = ""
    #: The ministry or department, often the address's first line already (then it is printed once).
    office: str = ""
    email: str = ""

    @classmethod
    def from_dict(cls, data: Mapping) -> Recipient:
        """A recipient from its frozen form (unknown keys ignored, missing ones empty)."""
        fields = cls.__dataclass_fields__
        return cls(**{key: str(data.get(key) or "") for key in fields if key in data or key == "name"})

    def as_dict(self) -> dict:
        return asdict(self)


def recipient_lines(recipient: Recipient | Mapping, lang: Language | str) -> dict:
    """The recipient's block as `_document.html` prints it: name, office, address lines with the country in
    the reader's language, the person it is for, the e-mail address."""
    if not isinstance(recipient, Recipient):
        recipient = Recipient.from_dict(recipient)
    address = [line.strip() for line in recipient.address.splitlines() if line.strip()]
    country = country_name(recipient.country_code, lang) if recipient.country_code else ""
    if country and country not in address:
        address.append(country)
    office = recipient.office.strip()
    return {
        "name": recipient.name,
        "address": address,
        "contact_name": recipient.contact_name,
        "contact_title": recipient.contact_title,
        "office": "" if office in address else office,
        "email": recipient.email,
    }


# --- QR codes ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentQr:
    """A QR code to print with its caption: `image` is a PNG data URL (from url_qr or epc_qr)."""

    image: str
    caption: str = ""


def _qr_png(qr) -> str:
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=4, border=2)
    return data_url(buffer.getvalue(), "image/png")


def url_qr(url: str) -> str:
    """A QR code of a link, as a PNG data URL."""
    return _qr_png(segno.make_qr(url, error="m", mask=QR_MASK))


def epc_qr(
    issuer, amount: Decimal, currency: str, reference: str, structured_reference: str | None = None
) -> str | None:
    """A SEPA credit transfer QR code (EPC 069-12) as a PNG data URL, for EUR amounts to the issuer's IBAN;
    None when the transfer cannot be coded (another currency, no IBAN, an amount out of the EPC's range).

    A structured reference goes into the code's structured-remittance field, so that the payer's bank sends it
    back unchanged; without one, `reference` (the invoice number) goes in as free text.
    """
    if currency != "EUR" or not issuer.iban or not (Decimal("0.01") <= amount <= EPC_MAX_AMOUNT):
        return None
    name = (issuer.legal_name or issuer.name)[:70]
    bic = issuer.bic if issuer.bic and len(issuer.bic) in (8, 11) else None
    remittance = {"reference": structured_reference} if structured_reference else {"text": reference[:140]}
    # segno's make_epc_qr, with our fixed mask: the payload as segno writes it (EPC 069-12, its character set
    # chosen), in a symbol of error level M only, as the EPC requires (no boost), version 13 at most.
    payload = segno_helpers._make_epc_qr_data(
        name, issuer.iban.replace(" ", ""), amount, remittance.get("text"), remittance.get("reference"), bic,
        None, None,
    )  # fmt: skip
    qr = segno.make_qr(payload, error="m", boost_error=False, mask=QR_MASK)
    if qr.version > 13:  # pragma: no cover - the payload is at most 331 bytes, which version 13 holds
        raise ValueError(f"An EPC QR code is at most version 13, not {qr.designator}")
    return _qr_png(qr)


# --- Rendering ---------------------------------------------------------------------------------------------


def document_html(
    template: str,
    *,
    issuer,
    lang: Language | str,
    recipient: Recipient | Mapping | None = None,
    qr: DocumentQr | None = None,
    **context,
) -> str:
    """A document's HTML, as `render_document` turns it into a PDF (for rendering elsewhere: a worker
    process of app.common.pdf.pdf_workers)."""
    code = document_language(lang)
    with force_locale(code):
        return render_template(
            template,
            recipient=recipient_lines(recipient, code) if recipient is not None else None,
            qr=qr,
            **letterhead(issuer, code),
            **context,
        )


def render_document(template: str, **arguments) -> bytes:
    """A document as PDF bytes: `template` (extending pdf/_document.html) on the issuer's letterhead,
    addressed to `recipient`, with an optional QR code under the body, every word in `lang` (the arguments
    of `document_html`)."""
    return pdf.render_pdf(document_html(template, **arguments))
