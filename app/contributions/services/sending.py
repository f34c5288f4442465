"""Sending invoices and statements by e-mail to a member's contacts, and logging every message.

The message is sent (or written to the outbox) first, then logged as a SentMessage (and, when it went out, an
InvoiceEvent) for the caller to commit. A failed delivery is logged with its error and never raises, so that a
mail server being down is shown to the user, not turned into a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import force_locale, gettext

from ...common.errors import DomainError
from ...common.mail import Attachment, MailDeliveryFailed, build_message, send_message
from ...common.time import today
from ...extensions import db
from ..models import Invoice, InvoiceEventKind, Member, MessageKind, SentMessage
from .invoicing import record_invoice_event
from .statements import build_statement, render_statement_pdf, statement_filename


class NoRecipient(DomainError):
    """The member has no contact with an e-mail address."""


class NothingToSend(DomainError):
    """The document to attach does not exist (a draft invoice, or one without its stored PDF)."""


@dataclass(frozen=True)
class Recipients:
    to: list[str]
    cc: list[str]

    def __str__(self) -> str:
        return ", ".join(self.to + self.cc)


def recipients_for(member: Member) -> Recipients:
    """The primary contact (or the first with an e-mail) as To; every other contact with an e-mail as Cc."""
    with_email = [c for c in sorted(member.contacts, key=lambda c: (not c.is_primary, c.id or 0)) if c.email]
    if not with_email:
        raise NoRecipient(
            f"{member.name} has no contact with an e-mail address. Add one on the member's page."
        )
    primary, others = with_email[0], with_email[1:]
    to = [primary.email]
    cc = [c.email for c in others if c.email not in to]
    return Recipients(to, list(dict.fromkeys(cc)))


def _stored_invoice_pdf(invoice: Invoice) -> bytes:
    if invoice.is_draft or not invoice.pdf_bytes:
        raise NothingToSend(f"Invoice {invoice.number or invoice.id} has no issued PDF to send.")
    return invoice.pdf_bytes


def _hub_name(member: Member) -> str:
    return member.hub.legal_name if member.hub is not None else ""


def send_invoice(invoice: Invoice, actor) -> SentMessage:
    """E-mail an issued invoice with its stored PDF to the member's contacts; log it."""
    member = invoice.member
    recipients = recipients_for(member)
    pdf = _stored_invoice_pdf(invoice)
    lang = invoice.language.value
    with force_locale(lang):
        subject = gettext(
            "Invoice %(number)s from %(issuer)s", number=invoice.number, issuer=_hub_name(member)
        )
    message = build_message(
        "invoice",
        subject=subject,
        to=recipients.to,
        cc=recipients.cc,
        language=lang,
        context={"invoice": invoice, "member": member, "hub": invoice.hub},
        attachments=[Attachment(f"{invoice.number}.pdf", pdf)],
    )
    return deliver(message, MessageKind.INVOICE, member, actor, invoice=invoice, recipients=recipients)


def send_statement(member: Member, actor, as_of: date | None = None) -> SentMessage:
    """E-mail the member's statement of account (rendered now, not stored) to its contacts; log it."""
    recipients = recipients_for(member)
    as_of = as_of or today()
    lang = member.language.value
    pdf = render_statement_pdf(member, as_of)
    statement = build_statement(member, as_of, lang)
    with force_locale(lang):
        subject = gettext("Statement of account for %(member)s", member=member.name)
    message = build_message(
        "statement",
        subject=subject,
        to=recipients.to,
        cc=recipients.cc,
        language=lang,
        context={"member": member, "statement": statement, "hub": member.hub},
        attachments=[Attachment(statement_filename(member, as_of), pdf)],
    )
    return deliver(message, MessageKind.STATEMENT, member, actor, recipients=recipients)


def deliver(
    message,
    kind: MessageKind,
    member: Member,
    actor,
    *,
    invoice: Invoice | None = None,
    recipients: Recipients,
    reminder_level: int | None = None,
) -> SentMessage:
    """Send a built message and log how it went (SentMessage, plus an InvoiceEvent when it went out)."""
    sent = SentMessage(
        kind=kind,
        member_id=member.id,
        invoice_id=invoice.id if invoice is not None else None,
        reminder_level=reminder_level,
        recipients=str(recipients)[:1000],
        subject=str(message["Subject"])[:300],
        transport="smtp",
        message_id=str(message["Message-ID"] or "")[:300],
        sent_by_id=getattr(actor, "id", None),
    )
    try:
        delivery = send_message(message)
    except MailDeliveryFailed as failure:
        sent.error = str(failure)
    else:
        sent.transport = delivery.transport
        sent.outbox_path = delivery.outbox_path[:500]
        if invoice is not None:
            if kind == MessageKind.REMINDER:
                event_kind = InvoiceEventKind.REMINDED
                detail = f"Reminder {reminder_level} to {recipients}"
            else:
                event_kind = InvoiceEventKind.SENT
                detail = f"Sent to {recipients}"
            if delivery.transport == "outbox":
                detail += " (saved to the outbox: no mail server is configured)"
            record_invoice_event(invoice, event_kind, actor, detail=detail, reminder_level=reminder_level)
    db.session.add(sent)
    db.session.flush()
    return sent


def outcome_message(sent: SentMessage) -> tuple[str, str]:
    """What to tell the user about a message: (flash category, text)."""
    if sent.error:
        return "error", f"The message could not be sent, and was logged with the error: {sent.error}"
    if sent.transport == "outbox":
        return (
            "warning",
            f"No mail server is configured: the message was saved to the outbox at {sent.outbox_path}.",
        )
    return "success", f"Sent “{sent.subject}” to {sent.recipients}."
