"""Issued invoices' PDFs, rendered after the issuing transaction and stored in short transactions.

Issuing an invoice (number, frozen content) commits without its PDF, so that the hub's numbering row is locked
for milliseconds rather than for a render. The PDF follows: `PdfQueue` builds each invoice's HTML here (it
reads the database), hands it to a renderer (`app.common.pdf.IN_PROCESS`, or the worker processes of
`pdf_workers()`, one per core) and stores what comes back, a few invoices per commit, each under its row lock
(`invoicing.store_rendered_pdf`: a PDF already stored by someone else is kept). A process killed in between
leaves issued invoices without a PDF, never a gap or a duplicate: they are found by `invoicing.pdf_missing()`
and rendered by the next annual-run step or by `flask contributions render-invoice-pdfs`; until then nothing
sends or serves them (`sending.stored_invoice_pdf`, the download view).

`PdfQueue.store_finished` and `finish` commit (like the annual run's steps, a sequence of units of work).
"""

from __future__ import annotations

from collections import OrderedDict
from concurrent.futures import Future, wait

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ...common.pdf import IN_PROCESS
from ...extensions import db
from ..models import CreditNote, Invoice
from .invoicing import (
    credit_notes_without_pdf,
    invoice_pdf_html,
    pdf_missing,
    store_credit_note_pdf,
    store_rendered_pdf,
)
from .payment_blockers import purchase_orders_of

#: Rendered PDFs stored per commit (at most; fewer when fewer are ready).
STORE_BATCH = 10


class PdfNotMade(Exception):
    """A render failed (or its worker process died): the invoice stays issued without its PDF."""


class PdfQueue:
    """Invoices whose PDF is being rendered, in the order they were added; stored as they finish."""

    def __init__(self, renderer=IN_PROCESS, in_flight: int | None = None):
        self.renderer = renderer
        # Enough work queued to keep every worker busy while this process issues the next invoices.
        self.in_flight = in_flight or max(4, 4 * getattr(renderer, "processes", 1))
        self._pending: OrderedDict[int, Future] = OrderedDict()
        self.stored = 0

    def add(self, invoice_id: int) -> None:
        """Render this issued invoice's PDF (committed already; its HTML is read now)."""
        self.add_many([invoice_id])

    def add_many(self, invoice_ids: list[int]) -> None:
        """Render these issued invoices' PDFs: read together (with their lines, member, hub and purchase
        orders), and every HTML built before the first PDF is stored, since storing commits and a commit
        expires what was read (each invoice would be read again)."""
        wanted = [invoice_id for invoice_id in dict.fromkeys(invoice_ids) if invoice_id not in self._pending]
        if not wanted:
            return
        invoices = db.session.scalars(
            sa.select(Invoice)
            .where(Invoice.id.in_(wanted), pdf_missing())
            .options(selectinload(Invoice.lines), selectinload(Invoice.member), selectinload(Invoice.hub))
        ).all()
        purchase_orders = purchase_orders_of([invoice.id for invoice in invoices])
        by_id = {invoice.id: invoice for invoice in invoices}
        pages = [
            (invoice_id, invoice_pdf_html(by_id[invoice_id], purchase_orders.get(invoice_id)))
            for invoice_id in wanted
            if invoice_id in by_id
        ]
        del invoices, by_id
        for invoice_id, html in pages:
            self._pending[invoice_id] = self.renderer.submit(html)
            if len(self._pending) >= self.in_flight:
                wait([next(iter(self._pending.values()))])
                self.store_finished()

    def store_finished(self, at_least: int = 1) -> int:
        """Store the PDFs that are ready, oldest first, if there are `at_least` of them; commits."""
        ready = [invoice_id for invoice_id, future in self._pending.items() if future.done()]
        if len(ready) < at_least:
            return 0
        for start in range(0, len(ready), STORE_BATCH):
            for invoice_id in ready[start : start + STORE_BATCH]:
                try:
                    pdf = self._pending.pop(invoice_id).result()
                except Exception as error:
                    message = f"The PDF of invoice #{invoice_id} could not be made: {error}"
                    raise PdfNotMade(message) from error
                if store_rendered_pdf(invoice_id, pdf):
                    self.stored += 1
            db.session.commit()
        return len(ready)

    def finish(self) -> int:
        """Wait for every render and store it; commits. Returns how many PDFs this queue stored."""
        while self._pending:
            wait(list(self._pending.values()))
            self.store_finished()
        return self.stored

    def abandon(self) -> None:
        """Drop what is still rendering (after an error): those invoices stay without a PDF, to be rendered
        again later."""
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()


def missing_pdf_ids(annual_run_id: int | None = None, limit: int | None = None) -> list[int]:
    """Issued invoices without their stored PDF (of one annual run, if given), oldest first."""
    query = sa.select(Invoice.id).where(pdf_missing()).order_by(Invoice.id)
    if annual_run_id is not None:
        query = query.where(Invoice.annual_run_id == annual_run_id)
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def render_missing(renderer=IN_PROCESS, annual_run_id: int | None = None) -> int:
    """Render and store every issued invoice's missing PDF (and, for all invoices, every credit note's);
    commits. Returns how many were stored."""
    queue = PdfQueue(renderer)
    try:
        missing = missing_pdf_ids(annual_run_id)
        for start in range(0, len(missing), STORE_BATCH):
            queue.add_many(missing[start : start + STORE_BATCH])
            queue.store_finished(at_least=STORE_BATCH)
        stored = queue.finish()
    except BaseException:
        queue.abandon()
        db.session.rollback()
        raise
    if annual_run_id is None:
        stored += render_missing_credit_notes()
    return stored


def render_missing_credit_notes() -> int:
    """Render and store, here, the PDF of every credit note that lacks one (a render that failed after the
    note was issued: a rare few); commits after each. Returns how many were stored."""
    stored = 0
    for credit_note_id in credit_notes_without_pdf():
        credit_note = db.session.get(CreditNote, credit_note_id)
        stored += store_credit_note_pdf(credit_note)
        db.session.commit()
    return stored
