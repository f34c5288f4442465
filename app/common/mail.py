"""E-mail: the only module that uses smtplib.

A message is built from templates/email/<name>.txt and <name>.html in the recipient's language, then sent
through the SMTP server configured by the environment (MAIL_SERVER and friends), or, when no server is
configured, written as an .eml file to the outbox folder (`<instance>/outbox/`, or TRIBUTARY_OUTBOX), so
that a fresh install never loses a message and never reaches the network.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale

from .time import utcnow


class MailDeliveryFailed(Exception):
    """The SMTP server could not be reached or refused the message; the text says why."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/pdf"


@dataclass(frozen=True)
class Delivery:
    """How a message went: `transport` is "smtp" or "outbox"; `outbox_path` is set for the outbox."""

    transport: str
    message_id: str
    outbox_path: str = ""


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


def mail_server_configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def outbox_folder() -> Path:
    """Where messages go when no mail server is configured."""
    configured = current_app.config.get("TRIBUTARY_OUTBOX")
    return Path(configured) if configured else Path(current_app.instance_path) / "outbox"


def send_message(message: EmailMessage) -> Delivery:
    """Send through SMTP, or write to the outbox without a server; MailDeliveryFailed on SMTP trouble."""
    if not mail_server_configured():
        return _write_to_outbox(message)
    config = current_app.config
    host, port = config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 0)
    timeout = int(config.get("MAIL_TIMEOUT") or 30)
    try:
        if config.get("MAIL_USE_SSL"):
            connection = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            connection = smtplib.SMTP(host, port, timeout=timeout)
        with connection:
            if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
                connection.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                connection.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
            connection.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        raise MailDeliveryFailed(
            f"The mail server {host}:{port} did not take the message: {error}"
        ) from error
    return Delivery("smtp", message["Message-ID"])


def _write_to_outbox(message: EmailMessage) -> Delivery:
    folder = outbox_folder()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", str(message["Subject"] or "message")).strip("-")[:60] or "message"
    path = folder / f"{stamp}-{slug}.eml"
    path.write_bytes(bytes(message))
    return Delivery("outbox", message["Message-ID"], str(path))


def _sender_domain(sender: str) -> str:
    match = re.search(r"@([A-Za-z0-9.-]+)", sender or "")
    return match.group(1) if match else "localhost"
