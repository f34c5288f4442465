"""Payment reminders for overdue invoices: level 1 friendly, 2 firm, 3 final; never two for one invoice within
REMINDER_SPACING, nothing after the final one. The same rules serve the invoice page's button and the nightly
command.

A reminder is decided under a row lock on its invoice, and the reminders that count are read again inside
that lock: a double click, two tabs, or the nightly command racing a click wait for each other, and the later
one sees the reminder the earlier one logged. A reminder counts from the moment it is logged (pending), and
stops counting if its sending fails, so that it can be sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import force_locale, gettext

from ...common.errors import DomainError
from ...common.locks import lock_and_refresh
from ...common.mail import Attachment, MailMessage, MailStatus, build_message, refuse_repeated_send
from ...common.time import as_utc, today
from ...extensions import db
from ..models import ZERO, ContributionMessage, Invoice, InvoiceStatus, MessageKind
from .sending import log_member_message, recipients_for, stored_invoice_pdf

FINAL_LEVEL = 3
#: The time that must pass between two reminders about one invoice; the rules, the nightly command's query
#: and every message that quotes the spacing read it from here.
REMINDER_SPACING = timedelta(days=14)
LEVEL_NAMES = {1: "friendly", 2: "firm", 3: "final"}


class ReminderNotAllowed(DomainError):
    """The invoice is not overdue, was reminded within the reminder spacing, or had its final reminder."""


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


def _counted_reminders():
    """Per invoice: the highest reminder level and the latest reminder that count (pending or sent)."""
    return (
        sa.select(
            ContributionMessage.invoice_id,
            sa.func.max(ContributionMessage.reminder_level).label("last_level"),
            sa.func.max(MailMessage.created_at).label("last_at"),
        )
        .join(MailMessage, MailMessage.id == ContributionMessage.message_id)
        .where(MailMessage.kind == MessageKind.REMINDER.value, MailMessage.status != MailStatus.FAILED)
        .group_by(ContributionMessage.invoice_id)
    )


def _last_reminders(invoice_ids: list[int]) -> dict[int, tuple[int, date]]:
    """{invoice id: (highest level that counts, date of the latest)} in one query."""
    if not invoice_ids:
        return {}
    rows = db.session.execute(_counted_reminders().where(ContributionMessage.invoice_id.in_(invoice_ids)))
    return {invoice_id: (level or 0, as_utc(at).date()) for invoice_id, level, at in rows}


def spacing_cutoff(on: date) -> datetime:
    """A reminder logged before this moment is at least REMINDER_SPACING (in calendar days) before `on`."""
    return datetime.combine(on - REMINDER_SPACING + timedelta(days=1), time.min, tzinfo=UTC)


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
    if last_on is not None and on < last_on + REMINDER_SPACING:
        next_on = last_on + REMINDER_SPACING
        return ReminderState(
            level,
            False,
            f"Reminder {last_level} went on {last_on:%d %b %Y}; reminders go at least "
            f"{REMINDER_SPACING.days} days apart, so the next can go from {next_on:%d %b %Y}.",
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
    """Every overdue invoice whose next reminder may go now, oldest due first (one query).

    The database leaves out invoices reminded within REMINDER_SPACING or past their final reminder;
    `_state` then applies the whole rule to what is left, so the list and the button always agree.
    """
    on = on or today()
    counted = _counted_reminders().subquery()
    rows = db.session.execute(
        sa.select(Invoice, counted.c.last_level, counted.c.last_at)
        .outerjoin(counted, counted.c.invoice_id == Invoice.id)
        .where(
            Invoice.status.in_([InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID]),
            Invoice.due_on < on,
            sa.or_(
                counted.c.invoice_id.is_(None),
                sa.and_(counted.c.last_level < FINAL_LEVEL, counted.c.last_at < spacing_cutoff(on)),
            ),
        )
        .order_by(Invoice.due_on, Invoice.id)
    ).all()
    states = [
        DueReminder(invoice, _state(invoice, (level or 0, as_utc(at).date()) if at else None, on))
        for invoice, level, at in rows
    ]
    return [item for item in states if item.state.allowed]


def queue_reminder(
    invoice: Invoice, actor, on: date | None = None, send_token: str | None = None
) -> MailMessage:
    """Log the next reminder (with the stored invoice PDF) if the rules allow it now; it leaves after commit.

    Decided under the invoice's row lock, with the last reminder read again inside it, so that two
    attempts at once queue one reminder and the other is refused with ReminderNotAllowed.
    """
    on = on or today()
    lock_and_refresh(invoice, also=("allocations", "credit_notes", "write_offs"))
    refuse_repeated_send(send_token)
    state = reminder_state(invoice, on)
    if not state.allowed:
        raise ReminderNotAllowed(f"No reminder for {invoice.number}: {state.reason}")
    member = invoice.member
    recipients = recipients_for(member)
    pdf = stored_invoice_pdf(invoice)
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
    return log_member_message(
        message,
        MessageKind.REMINDER,
        member,
        actor,
        invoice=invoice,
        reminder_level=state.level,
        about=f"{level_label(state.level)} for invoice {invoice.number}",
        send_token=send_token,
    )
