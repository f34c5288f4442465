"""What the contributions area keeps in a hub's name, for the hubs area to ask (`hubs.uses`): the invoices and
credit notes it issued, and the members, drafts and reserved numbers that point at it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..hubs.models import Hub
from ..hubs.uses import HubUse, IssuedDocuments, register_hub_use
from .models import CreditNote, DocumentSequence, Invoice, Member
from .totals import OpenInvoiceTotal, from_cents


def has_issued_documents(hub: Hub) -> bool:
    """True once the hub has an invoice with a number or any credit note."""
    issued = sa.select(Invoice.id).where(Invoice.hub_id == hub.id, Invoice.number.is_not(None))
    credited = sa.select(CreditNote.id).where(CreditNote.hub_id == hub.id)
    return bool(db.session.scalar(sa.select(sa.or_(sa.exists(issued), sa.exists(credited)))))


def _plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


def references(hub: Hub) -> list[str]:
    """Members invoiced by the hub and its draft invoices; reserved invoice numbers only when nothing else."""
    members = db.session.scalar(sa.select(sa.func.count(Member.id)).where(Member.hub_id == hub.id))
    drafts = db.session.scalar(sa.select(sa.func.count(Invoice.id)).where(Invoice.hub_id == hub.id))
    parts = []
    if members:
        parts.append(f"{members} member{_plural(members, '', 's')} are invoiced by it")
    if drafts:
        parts.append(f"{drafts} draft invoice{_plural(drafts, '', 's')} belong to it")
    if not parts:
        sequences = db.session.scalar(
            sa.select(sa.func.count(DocumentSequence.id)).where(DocumentSequence.hub_id == hub.id)
        )
        if sequences:
            parts.append("invoice numbers were reserved for it")
    return parts


def issued_documents(hub: Hub, latest: int = 5) -> IssuedDocuments:
    """Counts, the latest invoices and credit notes, and what is outstanding per currency (fixed queries)."""
    # Counted from the partial index of numbered invoices (`ix_invoices_hub_numbered`).
    invoice_count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Invoice)
        .where(Invoice.hub_id == hub.id, Invoice.number.is_not(None))
    )
    credit_note_count = db.session.scalar(
        sa.select(sa.func.count(CreditNote.id)).where(CreditNote.hub_id == hub.id)
    )
    latest_invoices = db.session.scalars(
        sa.select(Invoice)
        .where(Invoice.hub_id == hub.id, Invoice.number.is_not(None))
        .order_by(Invoice.issued_on.desc(), Invoice.id.desc())
        .limit(latest)
    ).all()
    latest_credit_notes = db.session.scalars(
        sa.select(CreditNote)
        .where(CreditNote.hub_id == hub.id)
        .options(selectinload(CreditNote.invoice))
        .order_by(CreditNote.issued_on.desc(), CreditNote.id.desc())
        .limit(latest)
    ).all()
    # What open invoices still owe, from the totals kept per hub, currency and due date (never every invoice).
    kept = OpenInvoiceTotal
    rows = db.session.execute(
        sa.select(kept.currency, sa.func.sum(kept.outstanding_cents))
        .where(kept.hub_id == hub.id)
        .group_by(kept.currency)
        .order_by(kept.currency)
    ).all()
    outstanding = {currency: from_cents(total) for currency, total in rows if total}
    return IssuedDocuments(
        invoice_count, credit_note_count, list(latest_invoices), list(latest_credit_notes), outstanding
    )


register_hub_use(HubUse(has_issued_documents, references, issued_documents))
