"""What holds an invoice's payment up: the ministry's purchase-order or commitment number, the documents its
treasury asked for (with when they were asked for and sent), and a note.

An invoice is *blocked* while it is open and its blocker is not cleared. The purchase-order number is printed
on documents issued after it is set (issued invoices keep their stored PDF). Every change is in the audit log
(the tables are audited); functions flush and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ...common.errors import DomainError, ValidationFailed
from ...common.time import today, utcnow
from ...extensions import db
from ..models import BlockerDocument, BlockerDocumentKind, Invoice, InvoiceBlocker, InvoiceStatus

PURCHASE_ORDER_MAX = 100
NOTE_MAX = 2000


class BlockerError(DomainError):
    """A change to what holds a payment up was refused."""


def blocker_of(invoice: Invoice) -> InvoiceBlocker | None:
    """The invoice's blocker record, if one was ever kept."""
    if invoice.id is None:
        return None
    return db.session.scalar(
        sa.select(InvoiceBlocker)
        .where(InvoiceBlocker.invoice_id == invoice.id)
        .options(selectinload(InvoiceBlocker.documents))
    )


def purchase_order_of(invoice: Invoice) -> str | None:
    """The purchase-order number to print on a document about this invoice, once it is known."""
    blocker = blocker_of(invoice)
    return blocker.purchase_order_number if blocker is not None and blocker.purchase_order_number else None


def purchase_orders_of(invoice_ids: Iterable[int]) -> dict[int, str]:
    """`purchase_order_of` for many invoices in one query: invoice id -> its purchase-order number, for those
    that have one."""
    invoice_ids = list(invoice_ids)
    if not invoice_ids:
        return {}
    rows = db.session.execute(
        sa.select(InvoiceBlocker.invoice_id, InvoiceBlocker.purchase_order_number).where(
            InvoiceBlocker.invoice_id.in_(invoice_ids), InvoiceBlocker.purchase_order_number != ""
        )
    )
    return {invoice_id: number for invoice_id, number in rows if number}


def _blocker_for_change(invoice: Invoice, actor) -> InvoiceBlocker:
    if invoice.status in (InvoiceStatus.PAID, InvoiceStatus.CREDITED, InvoiceStatus.WRITTEN_OFF):
        raise BlockerError(
            f"Invoice {invoice.number} is {invoice.status.label.lower()}: nothing holds it up."
        )
    blocker = blocker_of(invoice)
    if blocker is None:
        blocker = InvoiceBlocker(invoice_id=invoice.id, purchase_order_number="", note="")
        db.session.add(blocker)
    blocker.updated_at = utcnow()
    blocker.updated_by_id = getattr(actor, "id", None)
    return blocker


def save_blocker(
    invoice: Invoice, actor, *, purchase_order_number: str = "", note: str = ""
) -> InvoiceBlocker:
    """Record the purchase-order number and the note; saving marks the payment as held up again."""
    purchase_order_number = " ".join((purchase_order_number or "").split())
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    if len(purchase_order_number) > PURCHASE_ORDER_MAX:
        errors["purchase_order_number"] = [f"At most {PURCHASE_ORDER_MAX} characters."]
    if len(note) > NOTE_MAX:
        errors["note"] = [f"At most {NOTE_MAX} characters."]
    if errors:
        raise ValidationFailed("Some details need correcting.", errors)
    blocker = _blocker_for_change(invoice, actor)
    if not purchase_order_number and not note and not blocker.documents:
        raise ValidationFailed(
            "Give a purchase-order number, a note or a requested document: what holds the payment up?",
            {"note": ["Say what holds the payment up."]},
        )
    blocker.purchase_order_number = purchase_order_number
    blocker.note = note
    blocker.cleared_at = None
    db.session.flush()
    return blocker


def request_document(
    invoice: Invoice,
    kind: BlockerDocumentKind | str,
    actor,
    *,
    requested_on: date | None = None,
    description: str = "",
) -> BlockerDocument:
    """Record that the member's treasury asked for a document before it pays."""
    try:
        kind = BlockerDocumentKind(kind)
    except ValueError:
        raise ValidationFailed("Choose the document asked for.", {"kind": ["Choose a document."]}) from None
    description = " ".join((description or "").split())
    if kind == BlockerDocumentKind.OTHER and not description:
        raise ValidationFailed("Say which document.", {"description": ["Say which document was asked for."]})
    blocker = _blocker_for_change(invoice, actor)
    document = BlockerDocument(
        kind=kind, description=description[:300], requested_on=requested_on or today(), sent_on=None
    )
    blocker.documents.append(document)
    blocker.cleared_at = None
    db.session.flush()
    return document


def mark_document_sent(document: BlockerDocument, actor, sent_on: date | None = None) -> BlockerDocument:
    """Record when the requested document was sent to the member."""
    sent_on = sent_on or today()
    if sent_on < document.requested_on:
        raise ValidationFailed(
            "A document is sent after it was asked for.",
            {"sent_on": [f"On or after {document.requested_on.isoformat()}, when it was asked for."]},
        )
    document.sent_on = sent_on
    document.blocker.updated_at = utcnow()
    document.blocker.updated_by_id = getattr(actor, "id", None)
    db.session.flush()
    return document


def clear_blocker(invoice: Invoice, actor) -> InvoiceBlocker:
    """Nothing holds the payment up any more (the purchase-order number is kept for documents)."""
    blocker = blocker_of(invoice)
    if blocker is None or blocker.cleared_at is not None:
        raise BlockerError(f"Nothing is recorded as holding up invoice {invoice.number or invoice.id}.")
    blocker.cleared_at = utcnow()
    blocker.updated_at = utcnow()
    blocker.updated_by_id = getattr(actor, "id", None)
    db.session.flush()
    return blocker


# --- Reading -----------------------------------------------------------------------------------------------


def blocked_invoice_ids() -> sa.Select:
    """The ids of open invoices whose payment is held up (for the invoice list's filter)."""
    return (
        sa.select(InvoiceBlocker.invoice_id)
        .join(Invoice, Invoice.id == InvoiceBlocker.invoice_id)
        .where(
            InvoiceBlocker.cleared_at.is_(None),
            Invoice.status.in_([InvoiceStatus.DRAFT, InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID]),
        )
    )


def blockers_by_member(member_ids: Iterable[int]) -> dict[int, list[InvoiceBlocker]]:
    """What holds up each member's open invoices, for the arrears page: {member id: [blocker, ...]}."""
    member_ids = list(member_ids)
    if not member_ids:
        return {}
    blockers = db.session.scalars(
        sa.select(InvoiceBlocker)
        .join(Invoice, Invoice.id == InvoiceBlocker.invoice_id)
        .where(
            Invoice.member_id.in_(member_ids),
            InvoiceBlocker.id.in_(blocked_invoice_ids().with_only_columns(InvoiceBlocker.id)),
        )
        .options(selectinload(InvoiceBlocker.documents), sa.orm.joinedload(InvoiceBlocker.invoice))
        .order_by(Invoice.due_on, Invoice.id)
    ).all()
    found: dict[int, list[InvoiceBlocker]] = {}
    for blocker in blockers:
        found.setdefault(blocker.invoice.member_id, []).append(blocker)
    return found


def summary(blocker: InvoiceBlocker) -> str:
    """One line saying what holds the payment up: 'PO 4500012345 · waiting for: Form W-8 (asked 3 Mar)'."""
    parts = []
    if blocker.purchase_order_number:
        parts.append(f"PO {blocker.purchase_order_number}")
    waiting = [document for document in blocker.documents if document.sent_on is None]
    if waiting:
        parts.append("waiting for: " + ", ".join(str(document) for document in waiting))
    elif blocker.documents:
        parts.append("documents sent")
    if blocker.note:
        parts.append(blocker.note if len(blocker.note) <= 80 else blocker.note[:77] + "…")
    return " · ".join(parts) or "Held up"
