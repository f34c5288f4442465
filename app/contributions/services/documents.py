"""What goes into an invoice, credit note or pro-forma PDF: the hub's header, the addresses, the lines, the
bank details and the QR codes. Rendering itself goes through app.common.pdf only.

`document_header(hub, lang)` and `recipient_lines(...)` are generic, for any document that uses
templates/pdf/_document.html (statements too).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import segno
from babel import Locale
from babel.numbers import format_currency
from flask_babel import force_locale, gettext
from segno import helpers as segno_helpers

from ...common.pdf import data_url, render_template_pdf
from ...common.time import today
from .. import paylinks
from .payment_blockers import purchase_order_of
from .payment_references import display_reference, is_structured_communication

#: Countries that write the postal code after the city ("Washington, DC 20005").
POSTCODE_AFTER_CITY = {"US", "CA", "GB", "AU", "NZ"}
#: EPC QR codes carry at most this amount (the standard's limit).
EPC_MAX_AMOUNT = Decimal("999999999.99")


@dataclass
class DocumentLine:
    description: str
    amount: Decimal


@dataclass
class Conversion:
    """An annual contribution assessed in the policy's currency and billed in the hub's, as printed."""

    assessed_amount: Decimal
    assessed_currency: str
    exchange_rate: Decimal
    currency: str
    fiscal_year: int

    def texts(self, lang: str) -> dict:
        """The figures formatted for the document's language: `10,000.00 USD`, `0.9200`."""
        from .assessments import format_rate

        return {
            "assessed": format_currency(
                self.assessed_amount, self.assessed_currency, format="#,##0.00 ¤¤", locale=lang,
                currency_digits=True,
            ),
            "from_currency": self.assessed_currency,
            "rate": format_rate(self.exchange_rate, lang),
            "to_currency": self.currency,
            "year": str(self.fiscal_year),
        }  # fmt: skip


def conversion_of(invoice) -> Conversion | None:
    """The conversion an invoice keeps, if its amount was converted from the policy's currency."""
    if invoice.exchange_rate is None or invoice.assessed_amount is None or not invoice.assessed_currency:
        return None
    return Conversion(
        invoice.assessed_amount,
        invoice.assessed_currency,
        invoice.exchange_rate,
        invoice.currency,
        invoice.fiscal_year,
    )


@dataclass
class InvoiceDocument:
    """The figures an invoice-like document prints, whatever it was built from."""

    kind: str  # "invoice", "pro_forma"
    number: str | None
    fiscal_year: int
    currency: str
    issued_on: date
    due_on: date | None
    lines: list[DocumentLine]
    subtotal: Decimal
    tax_total: Decimal
    total: Decimal
    notes: str = ""
    reference: str | None = None
    #: The structured payment reference as printed, and what kind it is ("ogm" or "rf").
    structured_reference: str | None = None
    structured_reference_kind: str | None = None
    #: The member's purchase-order number, when it was known before the document was issued.
    purchase_order_number: str | None = None
    pay_url: str | None = None
    pay_qr: str | None = None
    epc_qr: str | None = None
    payment_terms_days: int = 30
    extra: dict = field(default_factory=dict)
    #: For an annual contribution converted from the policy's currency.
    conversion: Conversion | None = None


def _qr_png(qr) -> str:
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=4, border=2)
    return data_url(buffer.getvalue(), "image/png")


def epc_qr(
    hub, amount: Decimal, currency: str, reference: str, structured_reference: str | None = None
) -> str | None:
    """A SEPA credit transfer QR code (EPC 069-12) as a PNG data URL, for EUR amounts to an IBAN.

    A structured reference goes into the code's structured-remittance field, so that the payer's bank sends it
    back unchanged; without one, `reference` (the invoice number) goes in as free text.
    """
    if currency != "EUR" or not hub.iban or not (Decimal("0.01") <= amount <= EPC_MAX_AMOUNT):
        return None
    name = (hub.legal_name or hub.name)[:70]
    bic = hub.bic if hub.bic and len(hub.bic) in (8, 11) else None
    remittance = {"reference": structured_reference} if structured_reference else {"text": reference[:140]}
    qr = segno_helpers.make_epc_qr(
        name=name, iban=hub.iban.replace(" ", ""), amount=amount, bic=bic, **remittance
    )
    return _qr_png(qr)


def url_qr(url: str) -> str:
    """A QR code of a link, as a PNG data URL."""
    return _qr_png(segno.make_qr(url, error="m"))


def document_header(hub, lang: str) -> dict:
    """The issuing hub's block for any document: logo, legal name, address, numbers, legal texts."""
    locale = Locale.parse(lang)
    country = locale.territories.get(hub.country_code, hub.country_code)
    if hub.country_code in POSTCODE_AFTER_CITY:
        city_line = f"{hub.city} {hub.postal_code}"
    else:
        city_line = f"{hub.postal_code} {hub.city}"
    address = [line for line in (hub.street_address, city_line.strip(), country) if line]
    logo = data_url(hub.logo_bytes, hub.logo_mime_type) if hub.logo_bytes and hub.logo_mime_type else None
    return {
        "hub": hub,
        "lang": lang,
        "logo_url": logo,
        "hub_address": address,
        "tax_statement": hub.text_for("tax_statement", lang),
        "legal_mentions": hub.text_for("legal_mentions", lang),
    }


def recipient_lines(bill_to: dict, lang: str) -> dict:
    """The billed member's block from a frozen (or freshly built) bill_to."""
    locale = Locale.parse(lang)
    code = bill_to.get("country_code") or ""
    address = [line.strip() for line in (bill_to.get("address") or "").splitlines() if line.strip()]
    country = locale.territories.get(code, "") if code else ""
    if country and country not in address:
        address.append(country)
    office = (bill_to.get("office") or "").strip()
    return {
        "name": bill_to.get("name", ""),
        "address": address,
        "contact_name": bill_to.get("contact_name", ""),
        "contact_title": bill_to.get("contact_title", ""),
        # The ministry is often the address's first line already; print it once.
        "office": "" if office in address else office,
        "email": bill_to.get("email", ""),
    }


def _render(template: str, **context) -> bytes:
    with force_locale(context["lang"]):
        return render_template_pdf(template, **context)


def _invoice_document(invoice, kind: str) -> InvoiceDocument:
    lines = [DocumentLine(line.description, line.amount) for line in invoice.lines]
    return InvoiceDocument(
        kind=kind,
        number=invoice.number if kind == "invoice" else None,
        fiscal_year=invoice.fiscal_year,
        currency=invoice.currency,
        issued_on=invoice.issued_on or today(),
        due_on=invoice.due_on if kind == "invoice" else None,
        lines=lines,
        subtotal=invoice.subtotal,
        tax_total=invoice.tax_total,
        total=invoice.total,
        notes=invoice.notes or "",
        reference=invoice.number if kind == "invoice" else None,
        payment_terms_days=invoice.hub.payment_terms_days,
        conversion=conversion_of(invoice),
        purchase_order_number=purchase_order_of(invoice),
    )


def render_invoice_pdf(invoice) -> bytes:
    """The issued invoice's PDF, in its language (rendered once, at issue)."""
    from .invoicing import bill_to_for

    lang = invoice.language.value
    document = _invoice_document(invoice, "invoice")
    reference = invoice.payment_reference
    if reference:
        document.structured_reference = display_reference(reference)
        document.structured_reference_kind = "ogm" if is_structured_communication(reference) else "rf"
    document.epc_qr = epc_qr(invoice.hub, invoice.total, invoice.currency, invoice.number, reference)
    if paylinks.online_payment_configured():
        document.pay_url = paylinks.pay_url(invoice)
        document.pay_qr = url_qr(document.pay_url)
    bill_to = invoice.bill_to or bill_to_for(invoice.member)
    return _render(
        "pdf/invoice.html",
        document=document,
        recipient=recipient_lines(bill_to, lang),
        **document_header(invoice.hub, lang),
    )


def render_pro_forma_pdf(invoice=None, assessment=None, billing=None) -> bytes:
    """A PRO FORMA for a draft invoice or a planned contribution (an assessment, billed as `billing` says in
    the hub's currency): no number, no QR code."""
    from .invoicing import bill_to_for

    if invoice is not None:
        lang = invoice.language.value
        document = _invoice_document(invoice, "pro_forma")
        member, hub = invoice.member, invoice.hub
    else:
        member = assessment.member
        hub = member.hub
        lang = member.language.value
        with force_locale(lang):
            description = gettext(
                "Annual contribution, fiscal year %(year)s", year=str(assessment.fiscal_year)
            )
        if billing is None:
            from .assessments import billing_amount

            billing = billing_amount(assessment, hub)
        conversion = None
        if billing.exchange_rate is not None:
            conversion = Conversion(
                billing.assessed_amount,
                billing.assessed_currency,
                billing.exchange_rate,
                billing.currency,
                assessment.fiscal_year,
            )
        document = InvoiceDocument(
            kind="pro_forma",
            number=None,
            fiscal_year=assessment.fiscal_year,
            currency=billing.currency,
            issued_on=today(),
            due_on=None,
            lines=[DocumentLine(description, billing.amount)],
            subtotal=billing.amount,
            tax_total=Decimal("0.00"),
            total=billing.amount,
            payment_terms_days=hub.payment_terms_days,
            conversion=conversion,
        )
    return _render(
        "pdf/invoice.html",
        document=document,
        recipient=recipient_lines(bill_to_for(member), lang),
        **document_header(hub, lang),
    )


def render_credit_note_pdf(credit_note, invoice) -> bytes:
    """A credit note's PDF, in the invoice's language, referring to the invoice it reduces."""
    lang = credit_note.language.value
    return _render(
        "pdf/credit_note.html",
        credit_note=credit_note,
        invoice=invoice,
        balance_after=invoice.balance_due - credit_note.amount,
        recipient=recipient_lines(invoice.bill_to or {}, lang),
        **document_header(invoice.hub, lang),
    )
