"""E-mail for every area: build a message from templates, log it, and send it only after the commit.

The flow, as indico does it:

1. Inside the request's (or command's) transaction, a service builds the message (`build_message`, from
   templates/email/<name>.txt and <name>.html in the recipient's language) and logs it as pending with
   `queue_message`, which keeps the exact MIME bytes. The area links its own record to the logged message
   in a table of its own (contributions: `contribution_messages`), so this module never imports an area.
2. The caller commits. A failed commit rolls the pending row back with everything else: nothing was sent.
3. After the commit the caller calls `deliver_pending(messages)`: each message is claimed (so that only one
   process ever sends it), sent by `mail_transport.transmit`, then marked sent or failed in a short
   transaction of its own. Listeners registered with `on_delivery` hear of each outcome in that transaction.
4. A crash between the commit and the send leaves a pending row; the next `deliver_pending` call or
   `flask mail send-pending` sends it, once.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy.orm import Mapped, Session, column_property, deferred, mapped_column, relationship

from ..extensions import db
from .audit import current_actor
from .db_types import enum_column
from .errors import DomainError
from .mail_transport import MailDeliveryFailed, mail_server_configured, transmit
from .time import utcnow

#: A pending message older than this is a leftover (its sender crashed or lost its connection after the
#: commit): the next delivery or `flask mail send-pending` sends it.
LEFTOVER_AGE = timedelta(minutes=2)
#: A message claimed for sending this long ago and never marked sent or failed was interrupted mid-send.
INTERRUPTED_AGE = timedelta(minutes=15)
#: How many leftovers a user's own delivery takes along, so that a backlog never holds up a page for long.
LEFTOVERS_PER_DELIVERY = 5


class MailStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return {"pending": "Waiting to be sent", "sent": "Sent", "failed": "Failed"}[self.value]


class MailMessage(db.Model):
    """One e-mail: what was sent to whom, how it went, who asked and when. Areas link their records to it."""

    __tablename__ = "mail_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What the area calls this message ("invoice", "reminder", "statement", "gift_letter", ...).
    kind: Mapped[str] = mapped_column(sa.String(40), index=True)
    #: What it is about, for people reading the log ("Invoice BE-2027-0001"); the area's link table says it
    #: for programs.
    about: Mapped[str | None] = mapped_column(sa.String(200))
    sender: Mapped[str] = mapped_column(sa.String(300), default="")
    recipients: Mapped[str] = mapped_column(sa.String(1000))
    subject: Mapped[str] = mapped_column(sa.String(300))
    status: Mapped[MailStatus] = mapped_column(
        enum_column(MailStatus, length=10), default=MailStatus.PENDING, index=True
    )
    error: Mapped[str] = mapped_column(sa.Text, default="")
    #: "smtp" or "outbox" once an attempt was made; empty while pending.
    transport: Mapped[str] = mapped_column(sa.String(20), default="")
    message_id: Mapped[str] = mapped_column(sa.String(300), default="")
    outbox_path: Mapped[str] = mapped_column(sa.String(500), default="")
    #: The exact bytes sent (None for messages logged before the log kept them).
    mime: Mapped[bytes | None] = deferred(mapped_column(sa.LargeBinary))
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: Who asked, as text ("cli", an e-mail address), so that it still reads if the user row is gone.
    requested_by_label: Mapped[str] = mapped_column(sa.String(254), default="")
    #: The one-time token of the form that asked for this message (see `new_send_token`): a second request
    #: carrying the same token is a repeat of the first and sends nothing.
    send_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, index=True)
    #: When a deliverer claimed the message; only the one whose claim succeeded sends it.
    attempted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    requested_by = relationship("User")

    @property
    def went_out(self) -> bool:
        return self.status == MailStatus.SENT

    @property
    def requested_by_name(self) -> str:
        """Who asked, for people: the user's name, or what the label stands for."""
        if self.requested_by is not None:
            return self.requested_by.full_name or self.requested_by.email
        return {"cli": "the command line", "system": "the system"}.get(
            self.requested_by_label, self.requested_by_label
        )

    @property
    def outbox_filename(self) -> str:
        return self.outbox_path.replace("\\", "/").rsplit("/", 1)[-1]


#: Whether the log holds the message's bytes, without loading them.
MailMessage.has_copy = column_property(MailMessage.__table__.c.mime.is_not(None))
#: The messages left waiting (`_leftovers`: pending, never tried, older than a moment) read from an index
#: of their own: on SQLite, whose statistics say nothing of the few pending ones, the status index lost to
#: the date's and every message was read (the message log counts them on each view).
sa.Index("ix_mail_messages_waiting", MailMessage.status, MailMessage.attempted_at, MailMessage.created_at)


# --- Building ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/pdf"


@dataclass(frozen=True)
class Recipients:
    """Who a message goes to: `to` first, then everyone else in copy."""

    to: list[str]
    cc: list[str]

    def __str__(self) -> str:
        return ", ".join(self.to + self.cc)


def build_message(
    template: str,
    *,
    subject: str,
    to: list[str],
    cc: list[str] | None = None,
    language: str = "en",
    context: dict | None = None,
    attachments: list[Attachment] | tuple = (),
    sender: str | None = None,
) -> EmailMessage:
    """An EmailMessage with a text and an HTML body rendered in `language`, and its attachments."""
    context = dict(context or {}, language=language)
    with force_locale(language):
        text = render_template(f"email/{template}.txt", **context)
        html = render_template(f"email/{template}.html", **context)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender or current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=_sender_domain(message["From"]))
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for attachment in attachments:
        maintype, subtype = attachment.mime_type.split("/", 1)
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message


def _sender_domain(sender: str) -> str:
    match = re.search(r"@([A-Za-z0-9.-]+)", sender or "")
    return match.group(1) if match else "localhost"


# --- Logging inside the transaction ------------------------------------------------------------------------


def queue_message(
    message: EmailMessage, *, kind: str, actor, about: str | None = None, send_token: str | None = None
) -> MailMessage:
    """Log a built message as pending in this transaction; `deliver_pending` sends it after the commit.
    `send_token` is the asking form's one-time token, checked first by `refuse_repeated_send`."""
    if actor is not None:
        actor_id, label = actor.id, actor.email
    else:
        actor_id, label = current_actor()
    recipients = ", ".join(str(value) for name in ("To", "Cc") for value in message.get_all(name, []))
    logged = MailMessage(
        kind=kind,
        about=about[:200] if about else None,
        sender=str(message["From"] or "")[:300],
        recipients=recipients[:1000],
        subject=str(message["Subject"] or "")[:300],
        status=MailStatus.PENDING,
        message_id=str(message["Message-ID"] or "")[:300],
        mime=message.as_bytes(policy=policy.SMTP),
        requested_by_id=actor_id,
        requested_by_label=(label or "system")[:254],
        send_token=send_token,
        created_at=utcnow(),
    )
    db.session.add(logged)
    db.session.flush()
    db.session.info.setdefault(_QUEUED_KEY, set()).add(logged.id)
    return logged


# --- One message per click ----------------------------------------------------------------------------------
#
# A send button's form carries a one-time token, made when the page is drawn. The first request with it
# queues the message and stores the token with it; a second request with the same token (a double click, a
# browser retrying a POST, a form sent again with the back button) finds it and sends nothing. Sending again
# on purpose is a new page, so a new token. The service checks under a row lock on what it sends, so two
# requests with one token take turns; the unique column is the last guard.

#: The form field that carries the token.
SEND_TOKEN_FIELD = "send_token"
_SEND_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")


class RepeatedSend(DomainError):
    """A send form came a second time: its first request's message stands, and nothing more is sent."""

    def __init__(self, earlier: MailMessage):
        self.category, first = outcome_message(earlier)
        super().__init__(f"That was the same button pressed again, so nothing more was sent. {first}")


def new_send_token() -> str:
    """A one-time token for a send form (templates: `post_button(..., once=True)`)."""
    return secrets.token_urlsafe(18)


def send_token(value) -> str | None:
    """The token a request carried, or None if it carried none or something that is not a token."""
    return value if isinstance(value, str) and _SEND_TOKEN_SHAPE.fullmatch(value) else None


def refuse_repeated_send(token: str | None) -> None:
    """Raise `RepeatedSend` if a message was already queued with this token. Call it after locking the row
    of what is sent (the invoice, the member, the letter)."""
    if token is None:
        return
    earlier = db.session.scalar(sa.select(MailMessage).where(MailMessage.send_token == token))
    if earlier is not None:
        raise RepeatedSend(earlier)


#: session.info key: ids of messages queued in the session's current transaction, not yet committed.
_QUEUED_KEY = "mail_queued_uncommitted"


@sa.event.listens_for(Session, "after_commit")
@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_queued(session: Session, *args) -> None:
    session.info.pop(_QUEUED_KEY, None)


# --- Erasure -----------------------------------------------------------------------------------------------

#: What an erased message's recipients read as.
ERASED_RECIPIENT = "[erased]"
#: session.info key: outbox files of messages erased in the transaction, removed once it commits.
_ERASED_FILES_KEY = "mail_erased_outbox_files"


def messages_to(address: str) -> sa.Select:
    """Messages whose recipients include `address` (case does not matter), for erasing a person's copies."""
    folded = (address or "").strip().casefold()
    if not folded:
        return sa.select(MailMessage).where(sa.false())
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return sa.select(MailMessage).where(
        sa.func.lower(MailMessage.recipients).like(f"%{escaped}%", escape="\\")
    )


def erase_copies(messages: Iterable[MailMessage], address: str = "") -> int:
    """Forget what these messages said and to whom (the MIME copy, the recipients, the outbox file); keep
    that they were sent: kind, subject, status, dates, who asked. Their outbox files are removed after the
    commit. `address`, when given, spares a message that only names it as part of a longer address.
    Returns how many messages were erased."""
    folded = (address or "").strip().casefold()
    erased = 0
    for message in messages:
        if folded and folded not in (part.strip().casefold() for part in _addresses(message.recipients)):
            continue
        if message.outbox_path:
            db.session.info.setdefault(_ERASED_FILES_KEY, set()).add(message.outbox_path)
        message.mime = None
        message.recipients = ERASED_RECIPIENT
        message.outbox_path = ""
        erased += 1
    db.session.flush()
    return erased


def _addresses(recipients: str) -> list[str]:
    from email.utils import getaddresses

    return [address for _, address in getaddresses([recipients or ""]) if address]


@sa.event.listens_for(Session, "after_commit")
def _remove_erased_outbox_files(session: Session) -> None:
    paths = session.info.pop(_ERASED_FILES_KEY, None)
    if not paths:
        return
    from pathlib import Path

    from .mail_transport import outbox_folder

    try:
        folder = outbox_folder().resolve()
    except RuntimeError:  # no application context: nothing is removed outside the configured folder
        return
    for raw in paths:
        path = Path(raw).resolve()
        if path.parent == folder and path.suffix == ".eml":
            path.unlink(missing_ok=True)


@sa.event.listens_for(Session, "after_soft_rollback")
def _keep_outbox_files(session: Session, previous_transaction) -> None:
    session.info.pop(_ERASED_FILES_KEY, None)


# --- Sending after the commit ------------------------------------------------------------------------------

DeliveryListener = Callable[[MailMessage], None]
_listeners: list[DeliveryListener] = []


def on_delivery(listener: DeliveryListener) -> DeliveryListener:
    """Register a function told of every message once it is marked sent or failed (in that transaction).

    An area uses it to record what the outcome means for its own records (contributions: the invoice's
    history); it looks up its link to the message and ignores messages that are not its own.
    """
    _listeners.append(listener)
    return listener


def deliver_pending(messages: Iterable[MailMessage] = ()) -> None:
    """After the commit: send each pending message once, then a few leftovers; commits each outcome."""
    ids = [message.id for message in messages]
    _require_nothing_unsaved()
    for message_id in ids:
        _deliver(message_id)
    deliver_leftovers(limit=LEFTOVERS_PER_DELIVERY)


@dataclass(frozen=True)
class LeftoverReport:
    sent: list[MailMessage]
    failed: list[MailMessage]
    interrupted: list[MailMessage]


def _leftovers(older_than: timedelta):
    return sa.select(MailMessage.id).where(
        MailMessage.status == MailStatus.PENDING,
        MailMessage.attempted_at.is_(None),
        MailMessage.created_at <= utcnow() - older_than,
    )


def leftovers_waiting(older_than: timedelta = LEFTOVER_AGE) -> int:
    """How many pending messages nobody sent after their commit."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(_leftovers(older_than).subquery()))


def deliver_leftovers(older_than: timedelta = LEFTOVER_AGE, limit: int | None = None) -> LeftoverReport:
    """Send pending messages that nobody sent after their commit; mark interrupted sends as failed."""
    _require_nothing_unsaved()
    interrupted = _mark_interrupted(utcnow() - INTERRUPTED_AGE)
    query = _leftovers(older_than).order_by(MailMessage.created_at, MailMessage.id)
    if limit is not None:
        query = query.limit(limit)
    ids = list(db.session.scalars(query))
    db.session.commit()
    delivered = [message for message in (_deliver(message_id) for message_id in ids) if message is not None]
    return LeftoverReport(
        sent=[message for message in delivered if message.went_out],
        failed=[message for message in delivered if not message.went_out],
        interrupted=interrupted,
    )


def _require_nothing_unsaved() -> None:
    session = db.session
    if session.info.get(_QUEUED_KEY) or session.new or session.dirty or session.deleted:
        raise RuntimeError("deliver_pending() runs after the commit; the session holds uncommitted changes")


def _claim(message_id: int) -> bool:
    """Mark the message as being sent, unless another process already did; committed at once.

    A conditional UPDATE is atomic on both databases: of two deliverers, PostgreSQL makes the second wait
    for the first's row lock and then finds the row claimed; SQLite lets one writer at a time.
    """
    result = db.session.execute(
        sa.update(MailMessage)
        .where(
            MailMessage.id == message_id,
            MailMessage.status == MailStatus.PENDING,
            MailMessage.attempted_at.is_(None),
        )
        .values(attempted_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _deliver(message_id: int) -> MailMessage | None:
    """Claim, send and mark one message; None when another process has it."""
    if not _claim(message_id):
        return None
    message = db.session.get(MailMessage, message_id)
    transport = "smtp" if mail_server_configured() else "outbox"
    try:
        delivery = transmit(message.mime)
    except MailDeliveryFailed as failure:
        message.status, message.transport, message.error = MailStatus.FAILED, transport, str(failure)
    else:
        message.status, message.transport = MailStatus.SENT, delivery.transport
        message.outbox_path = delivery.outbox_path[:500]
        message.sent_at = utcnow()
    _tell_listeners(message)
    db.session.commit()
    return message


def _mark_interrupted(claimed_before: datetime) -> list[MailMessage]:
    interrupted = list(
        db.session.scalars(
            sa.select(MailMessage)
            .where(MailMessage.status == MailStatus.PENDING, MailMessage.attempted_at < claimed_before)
            .with_for_update(skip_locked=True)
        )
    )
    for message in interrupted:
        message.status = MailStatus.FAILED
        message.error = (
            "Sending was interrupted (the process stopped while talking to the mail server), so it is not "
            "known whether the message went out. Check with the recipient, or send it again."
        )
        _tell_listeners(message)
    db.session.commit()
    return interrupted


def _tell_listeners(message: MailMessage) -> None:
    db.session.flush()
    for listener in _listeners:
        listener(message)


# --- Telling the user --------------------------------------------------------------------------------------


def outcome_message(message: MailMessage) -> tuple[str, str]:
    """What to tell the user about a message: (flash category, text)."""
    if message.status == MailStatus.FAILED:
        return "error", f"The message could not be sent, and was logged with the error: {message.error}"
    if message.status == MailStatus.PENDING:
        return (
            "warning",
            f"“{message.subject}” is waiting to be sent to {message.recipients}; it goes out with the next "
            "message or with `flask mail send-pending`.",
        )
    if message.transport == "outbox":
        return (
            "warning",
            f"No mail server is configured: the message was saved to the outbox at {message.outbox_path}.",
        )
    return "success", f"Sent “{message.subject}” to {message.recipients}."
