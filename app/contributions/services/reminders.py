"""Payment reminders for overdue invoices: level 1 friendly, 2 firm, 3 final; never two for one invoice within
14 days, nothing after the final one. The same rules serve the invoice page's button and the nightly command.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import force_locale, gettext

from ...common.errors import DomainError
from ...common.mail import Attachment, build_message
from ...common.time import as_utc, today
from ...extensions import db
from ..models import ZERO, Invoice, InvoiceEvent, InvoiceEventKind, InvoiceStatus, MessageKind, SentMessage
from .sending import _stored_invoice_pdf, deliver, recipients_for

FINAL_LEVEL = 3
#: Days that must pass between two reminders about one invoice.
MIN_DAYS_BETWEEN = 14
LEVEL_NAMES = {1: "friendly", 2: "firm", 3: "final"}


class ReminderNotAllowed(DomainError):
    """The invoice is not overdue, was reminded less than 14 days ago, or had its final reminder."""


@dataclass(frozen=True)
class ReminderState:
    """What the next reminder for an invoice would be, and whether it may go now."""

    level: int | None  # the next level, None when none is left
    allowed: bool
    reason: str  # why not, or what it would be
    last_level: int | None = None
    last_on: date | None = None
    next_on: date | None = None

    @property
    def label(self) -> str:
        return level_label(self.level) if self.level else ""


def level_label(level: int) -> str:
    return {1: "Friendly reminder", 2: "Firm reminder", 3: "Final reminder"}[level]


def _last_reminders(invoice_ids: list[int]) -> dict[int, tuple[int, date]]:
    """{invoice id: (highest level sent, date of the latest reminder)} in one query."""
    if not invoice_ids:
        return {}
    rows = db.session.execute(
        sa.select(
            InvoiceEvent.invoice_id,
            sa.func.max(InvoiceEvent.reminder_level),
            sa.func.max(InvoiceEvent.at),
        )
        .where(InvoiceEvent.kind == InvoiceEventKind.REMINDED, InvoiceEvent.invoice_id.in_(invoice_ids))
        .group_by(InvoiceEvent.invoice_id)
    ).all()
    return {invoice_id: (level or 0, as_utc(at).date()) for invoice_id, level, at in rows}


def _state(invoice: Invoice, last: tuple[int, date] | None, on: date) -> ReminderState:
    last_level, last_on = last if last else (0, None)
    if not invoice.status.is_open or invoice.balance_due <= ZERO:
        return ReminderState(
            None, False, f"The invoice is {invoice.status.label.lower()}.", last_level or None
        )
    if invoice.due_on is None or invoice.due_on >= on:
        return ReminderState(
            min(last_level + 1, FINAL_LEVEL),
            False,
            f"Not overdue: due on {invoice.due_on:%d %b %Y}."
            if invoice.due_on
            else "The invoice has no due date.",
            last_level or None,
            last_on,
        )
    if last_level >= FINAL_LEVEL:
        return ReminderState(
            None, False, f"The final reminder was sent on {last_on:%d %b %Y}.", last_level, last_on
        )
    level = last_level + 1
    if last_on is not None and (on - last_on).days < MIN_DAYS_BETWEEN:
        next_on = last_on + timedelta(days=MIN_DAYS_BETWEEN)
        return ReminderState(
            level,
            False,
            f"Reminder {last_level} went on {last_on:%d %b %Y}; the next can go from {next_on:%d %b %Y}.",
            last_level,
            last_on,
            next_on,
        )
    return ReminderState(level, True, f"{level_label(level)} (level {level})", last_level or None, last_on)


def reminder_state(invoice: Invoice, on: date | None = None) -> ReminderState:
    """The next reminder for one invoice and whether it may be sent on `on` (today by default)."""
    return _state(invoice, _last_reminders([invoice.id]).get(invoice.id), on or today())


@dataclass(frozen=True)
class DueReminder:
    invoice: Invoice
    state: ReminderState


def due_reminders(on: date | None = None) -> list[DueReminder]:
    """Every overdue invoice whose next reminder may go now, oldest due first (two queries)."""
    on = on or today()
    invoices = db.session.scalars(
        sa.select(Invoice)
        .where(
            Invoice.status.in_([InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID]),
            Invoice.due_on < on,
        )
        .order_by(Invoice.due_on, Invoice.id)
    ).all()
    last = _last_reminders([invoice.id for invoice in invoices])
    states = [DueReminder(invoice, _state(invoice, last.get(invoice.id), on)) for invoice in invoices]
    return [item for item in states if item.state.allowed]


def send_reminder(invoice: Invoice, actor, on: date | None = None) -> SentMessage:
    """E-mail the next reminder (with the stored invoice PDF) if the rules allow it now; log it."""
    on = on or today()
    state = reminder_state(invoice, on)
    if not state.allowed:
        raise ReminderNotAllowed(f"No reminder for {invoice.number}: {state.reason}")
    member = invoice.member
    recipients = recipients_for(member)
    pdf = _stored_invoice_pdf(invoice)
    lang = invoice.language.value
    with force_locale(lang):
        subject = {
            1: gettext("Reminder: invoice %(number)s is overdue", number=invoice.number),
            2: gettext("Second reminder: invoice %(number)s is still unpaid", number=invoice.number),
            3: gettext("Final reminder: invoice %(number)s", number=invoice.number),
        }[state.level]
    message = build_message(
        "reminder",
        subject=subject,
        to=recipients.to,
        cc=recipients.cc,
        language=lang,
        context={
            "invoice": invoice,
            "member": member,
            "hub": invoice.hub,
            "level": state.level,
            "days_overdue": (on - invoice.due_on).days,
        },
        attachments=[Attachment(f"{invoice.number}.pdf", pdf)],
    )
    return deliver(
        message,
        MessageKind.REMINDER,
        member,
        actor,
        invoice=invoice,
        recipients=recipients,
        reminder_level=state.level,
    )
