"""Sending invoices and statements by e-mail to a member's contacts.

Each `queue_*` function builds the message in the document's language, logs it as pending in the common mail
log (`app.common.mail`) and links it to the member and invoice, for the caller to commit. The caller then
calls `deliver_pending([message])`: only committed messages ever leave, and a mail server being down is
logged and shown to the user, not turned into a 500. Once a message about an invoice went out, the
invoice's history says so (`record_in_invoice_history`).
"""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage

from flask_babel import force_locale, gettext

from ...common.errors import DomainError
from ...common.locks import lock_and_refresh
from ...common.mail import (
    Attachment,
    MailMessage,
    Recipients,
    build_message,
    on_delivery,
    queue_message,
    refuse_repeated_send,
)
from ...common.time import today
from ...extensions import db
from ..models import ContributionMessage, Invoice, InvoiceEventKind, Member, MessageKind
from .invoicing import record_invoice_event
from .statements import build_statement, render_statement_pdf, statement_filename


class NoRecipient(DomainError):
    """The member has no contact with an e-mail address."""


class NothingToSend(DomainError):
    """The document to attach does not exist (a draft invoice, or one without its stored PDF)."""


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


def stored_invoice_pdf(invoice: Invoice) -> bytes:
    """The PDF stored at issue, which every message about the invoice attaches."""
    if invoice.is_draft or not invoice.pdf_bytes:
        raise NothingToSend(f"Invoice {invoice.number or invoice.id} has no issued PDF to send.")
    return invoice.pdf_bytes


def _hub_name(member: Member) -> str:
    return member.hub.legal_name if member.hub is not None else ""


def queue_invoice(invoice: Invoice, actor, send_token: str | None = None) -> MailMessage:
    """Log an e-mail of the issued invoice with its PDF to the member's contacts, to send after the commit.
    A second request with the form's `send_token` sends nothing (`RepeatedSend`)."""
    lock_and_refresh(invoice)
    refuse_repeated_send(send_token)
    member = invoice.member
    recipients = recipients_for(member)
    pdf = stored_invoice_pdf(invoice)
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
    return log_member_message(
        message,
        MessageKind.INVOICE,
        member,
        actor,
        invoice=invoice,
        about=f"Invoice {invoice.number}",
        send_token=send_token,
    )


def queue_statement(
    member: Member, actor, as_of: date | None = None, send_token: str | None = None
) -> MailMessage:
    """Log an e-mail of the member's statement of account (rendered now), to send after the commit.
    A second request with the form's `send_token` sends nothing (`RepeatedSend`)."""
    lock_and_refresh(member)
    refuse_repeated_send(send_token)
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
    return log_member_message(
        message,
        MessageKind.STATEMENT,
        member,
        actor,
        about=f"Statement of account as of {as_of.isoformat()}",
        send_token=send_token,
    )


def log_member_message(
    message: EmailMessage,
    kind: MessageKind,
    member: Member,
    actor,
    *,
    about: str,
    invoice: Invoice | None = None,
    reminder_level: int | None = None,
    send_token: str | None = None,
) -> MailMessage:
    """Log a built message as pending in the mail log and link it to its member (and invoice)."""
    logged = queue_message(
        message, kind=kind.value, actor=actor, about=f"{about} · {member.name}", send_token=send_token
    )
    db.session.add(
        ContributionMessage(
            message=logged,
            member_id=member.id,
            invoice_id=invoice.id if invoice is not None else None,
            reminder_level=reminder_level,
        )
    )
    db.session.flush()
    return logged


@on_delivery
def record_in_invoice_history(message: MailMessage) -> None:
    """Once a message about an invoice went out, add it to the invoice's history (failures are not)."""
    if not message.went_out:
        return
    link = db.session.get(ContributionMessage, message.id)
    if link is None or link.invoice is None:
        return
    if link.kind == MessageKind.REMINDER:
        kind, detail = InvoiceEventKind.REMINDED, f"Reminder {link.reminder_level} to {message.recipients}"
    else:
        kind, detail = InvoiceEventKind.SENT, f"Sent to {message.recipients}"
    if message.transport == "outbox":
        detail += " (saved to the outbox: no mail server is configured)"
    event = record_invoice_event(
        link.invoice, kind, message.requested_by, detail=detail, reminder_level=link.reminder_level
    )
    if message.requested_by is None:
        event.actor_label = message.requested_by_label
