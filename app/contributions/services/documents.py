"""What goes into an invoice, credit note or pro-forma PDF: the figures, the lines, the bank details and the
QR codes, on the issuing hub's letterhead, addressed to the billed member. The letterhead, the recipient
block, the language and the rendering are app.common.documents'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from babel.numbers import format_currency

from ...common import pdf
from ...common.documents import Recipient, document_html, epc_qr, render_document, translate, url_qr
from ...common.money import format_rate
from ...common.time import today
from .. import paylinks
from ..models import Member
from .assessments import billing_amount
from .payment_blockers import purchase_order_of
from .payment_references import display_reference, is_structured_communication


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


def bill_to_for(member: Member) -> dict:
    """Who and where an invoice is billed to, as it is frozen at issue: the member, its billing address and
    its primary contact (else its first)."""
    contacts = sorted(member.contacts, key=lambda contact: (not contact.is_primary, contact.id or 0))
    contact = contacts[0] if contacts else None
    return Recipient(
        name=member.name,
        address=member.billing_address or "",
        country_code=member.country_code,
        contact_name=contact.name if contact else "",
        contact_title=contact.title if contact else "",
        office=contact.office if contact else "",
        email=contact.email if contact else "",
    ).as_dict()


#: "Read it from the database" (the default where a caller may pass what it read for many at once).
LOOK_UP = object()


def _invoice_document(invoice, kind: str, purchase_order_number=LOOK_UP) -> InvoiceDocument:
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
        purchase_order_number=(
            purchase_order_of(invoice) if purchase_order_number is LOOK_UP else purchase_order_number
        ),
    )


def render_invoice_pdf(invoice) -> bytes:
    """The issued invoice's PDF, in its language (rendered once, after the issuing transaction)."""
    return pdf.render_pdf(invoice_html(invoice))


def invoice_html(invoice, purchase_order_number=LOOK_UP) -> str:
    """The issued invoice's document as HTML, for `render_invoice_pdf` or a PDF worker process
    (`purchase_order_number`: as `payment_blockers.purchase_orders_of` read it, else looked up)."""
    lang = invoice.language.value
    document = _invoice_document(invoice, "invoice", purchase_order_number)
    reference = invoice.payment_reference
    if reference:
        document.structured_reference = display_reference(reference)
        document.structured_reference_kind = "ogm" if is_structured_communication(reference) else "rf"
    document.epc_qr = epc_qr(invoice.hub, invoice.total, invoice.currency, invoice.number, reference)
    if paylinks.online_payment_configured():
        document.pay_url = paylinks.pay_url(invoice)
        document.pay_qr = url_qr(document.pay_url)
    return document_html(
        "pdf/invoice.html",
        issuer=invoice.hub,
        lang=lang,
        recipient=invoice.bill_to or bill_to_for(invoice.member),
        document=document,
    )


def render_pro_forma_pdf(invoice=None, assessment=None, billing=None) -> bytes:
    """A PRO FORMA for a draft invoice or a planned contribution (an assessment, billed as `billing` says in
    the hub's currency): no number, no QR code."""
    if invoice is not None:
        lang = invoice.language.value
        document = _invoice_document(invoice, "pro_forma")
        member, hub = invoice.member, invoice.hub
    else:
        member = assessment.member
        hub = member.hub
        lang = member.language.value
        description = translate(
            lang, "Annual contribution, fiscal year %(year)s", year=str(assessment.fiscal_year)
        )
        if billing is None:
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
    return render_document(
        "pdf/invoice.html", issuer=hub, lang=lang, recipient=bill_to_for(member), document=document
    )


def credit_note_html(credit_note, invoice) -> str:
    """A credit note's document as HTML, in the invoice's language, referring to the invoice it reduces and
    printing the balance it left when it was issued (kept on the note; none on notes from before it was)."""
    return document_html(
        "pdf/credit_note.html",
        issuer=invoice.hub,
        lang=credit_note.language.value,
        recipient=invoice.bill_to or {},
        credit_note=credit_note,
        invoice=invoice,
        balance_after=credit_note.balance_after,
    )


def render_credit_note_pdf(credit_note, invoice) -> bytes:
    """A credit note's PDF (rendered once, after the issuing transaction)."""
    return pdf.render_pdf(credit_note_html(credit_note, invoice))
