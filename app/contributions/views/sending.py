"""Sending by e-mail: invoices, statements and reminders, the invoice page's sending panel, and the log of
every message sent about members (services/sending.py and services/reminders.py hold the rules).

Every sending view does the same four steps: call the service (which logs the message as pending), commit,
`deliver_pending`, then flash the outcome. Only committed messages ever leave.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import contains_eager, lazyload

from ...auth.permissions import Permission, requires
from ...common.errors import DomainError
from ...common.exports import download_response
from ...common.mail import (
    SEND_TOKEN_FIELD,
    MailMessage,
    MailStatus,
    RepeatedSend,
    deliver_leftovers,
    deliver_pending,
    leftovers_waiting,
    outcome_message,
    send_token,
)
from ...common.pagination import paginate
from ...extensions import db
from .. import bp
from ..models import ContributionMessage, Invoice, Member, MessageKind
from ..services import reminders, sending

#: The message log's status filter: value -> (label, condition).
STATUS_FILTERS = {
    "sent": ("Sent by SMTP", sa.and_(MailMessage.status == MailStatus.SENT, MailMessage.transport == "smtp")),
    "outbox": (
        "Saved to the outbox",
        sa.and_(MailMessage.status == MailStatus.SENT, MailMessage.transport == "outbox"),
    ),
    "pending": ("Waiting to be sent", MailMessage.status == MailStatus.PENDING),
    "failed": ("Failed", MailMessage.status == MailStatus.FAILED),
}


def _invoice_or_404(invoice_id: int) -> Invoice:
    return db.session.get(Invoice, invoice_id) or abort(404)


def _member_or_404(member_id: int) -> Member:
    return db.session.get(Member, member_id) or abort(404)


def _invoice_page(invoice: Invoice) -> str:
    return url_for("contributions.show_invoice", invoice_id=invoice.id)


def _send(queue, back_url: str):
    """Queue with `queue(send_token)`, commit, deliver, flash the outcome, and go back. A repeat of the same
    form (its one-time token seen before) sends nothing and says what the first request did."""
    try:
        message = queue(send_token(request.form.get(SEND_TOKEN_FIELD)))
    except RepeatedSend as repeat:
        db.session.rollback()
        flash(str(repeat), repeat.category)
        return redirect(back_url)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(back_url)
    db.session.commit()
    deliver_pending([message])
    category, text = outcome_message(message)
    flash(text, category)
    return redirect(back_url)


# --- The invoice page's panel ------------------------------------------------------------------------------


@bp.context_processor
def inject_invoice_sending_panel():
    return {"invoice_sending_panel": invoice_sending_panel}


def invoice_sending_panel(invoice: Invoice) -> dict:
    """What templates/contributions/sending/_invoice_sending.html shows about an invoice (two queries)."""
    links = db.session.scalars(
        sa.select(ContributionMessage)
        .join(MailMessage, MailMessage.id == ContributionMessage.message_id)
        .where(ContributionMessage.invoice_id == invoice.id)
        .order_by(MailMessage.created_at.desc(), MailMessage.id.desc())
    ).all()
    return {
        "messages": [link.message for link in links],
        "reminder": reminders.reminder_state(invoice) if not invoice.is_draft else None,
    }


# --- Sending -----------------------------------------------------------------------------------------------


@bp.route("/invoices/<int:invoice_id>/send", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def send_invoice(invoice_id: int):
    invoice = _invoice_or_404(invoice_id)
    return _send(lambda token: sending.queue_invoice(invoice, current_user, token), _invoice_page(invoice))


@bp.route("/invoices/<int:invoice_id>/remind", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def send_reminder(invoice_id: int):
    invoice = _invoice_or_404(invoice_id)
    return _send(
        lambda token: reminders.queue_reminder(invoice, current_user, send_token=token),
        _invoice_page(invoice),
    )


@bp.route("/members/<int:member_id>/statement/send", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def send_statement(member_id: int):
    member = _member_or_404(member_id)
    return _send(
        lambda token: sending.queue_statement(member, current_user, send_token=token),
        url_for("contributions.member_statement", member_id=member.id),
    )


# --- The message log ---------------------------------------------------------------------------------------


@bp.route("/messages/")
@requires(Permission.CONTRIBUTIONS_VIEW)
def list_messages():
    kind = request.args.get("kind") or ""
    state = request.args.get("state") or ""
    q = (request.args.get("q") or "").strip()
    query = (
        sa.select(ContributionMessage)
        .join(MailMessage, MailMessage.id == ContributionMessage.message_id)
        .order_by(MailMessage.created_at.desc(), MailMessage.id.desc())
    )
    if kind in {k.value for k in MessageKind}:
        query = query.where(MailMessage.kind == kind)
    if state in STATUS_FILTERS:
        query = query.where(STATUS_FILTERS[state][1])
    if q:  # every message has its member: joined only to search its name
        query = query.join(Member, Member.id == ContributionMessage.member_id).where(
            sa.or_(Member.name.ilike(f"%{q}%"), MailMessage.subject.ilike(f"%{q}%"))
        )
    page = paginate(query, rows=_message_rows)
    return render_template(
        "contributions/sending/messages.html",
        page=page,
        kinds=list(MessageKind),
        kind=kind,
        statuses={value: label for value, (label, _) in STATUS_FILTERS.items()},
        state=state,
        q=q,
        waiting=leftovers_waiting(),
    )


def _message_rows(page_ids: sa.Subquery) -> sa.Select:
    """What the message log shows of each message on the page: its link (with the message and who asked
    loaded) and its member's name and invoice's number as columns, not as member and invoice objects with
    their hubs."""
    return (
        sa.select(
            ContributionMessage, Member.name.label("member_name"), Invoice.number.label("invoice_number")
        )
        .join(page_ids, page_ids.c.id == ContributionMessage.message_id)
        .join(MailMessage, MailMessage.id == ContributionMessage.message_id)
        .join(Member, Member.id == ContributionMessage.member_id)
        .outerjoin(Invoice, Invoice.id == ContributionMessage.invoice_id)
        .options(
            lazyload(ContributionMessage.member),
            lazyload(ContributionMessage.invoice),
            contains_eager(ContributionMessage.message).joinedload(MailMessage.requested_by),
        )
    )


@bp.route("/messages/send-waiting", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def send_waiting_messages():
    """What `flask mail send-pending` does, for people without a shell: send what was left waiting."""
    report = deliver_leftovers()
    if report.sent:
        sent = len(report.sent)
        flash(
            "Sent the message that was waiting."
            if sent == 1
            else f"Sent the {sent} messages that were waiting.",
            "success",
        )
    for message in report.failed + report.interrupted:
        flash(f"“{message.subject}” could not be sent: {message.error}", "error")
    if not (report.sent or report.failed or report.interrupted):
        flash("No message was waiting.", "info")
    return redirect(url_for("contributions.list_messages"))


@bp.route("/messages/<int:message_id>.eml")
@requires(Permission.CONTRIBUTIONS_VIEW)
def download_message(message_id: int):
    """The exact message that was sent (or tried), to open in a mail program."""
    link = db.session.get(ContributionMessage, message_id) or abort(404)
    mime = link.message.mime or abort(404)
    return download_response(mime, f"message-{link.message_id}.eml", "message/rfc822")
