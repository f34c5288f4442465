"""How a built message leaves the process: the only module that uses smtplib.

A message goes through the SMTP server configured by the environment (MAIL_SERVER and friends), or, when no
server is configured, is written as an .eml file to the outbox folder (`<instance>/outbox/`, or
TRIBUTARY_OUTBOX), so that a fresh install never loses a message and never reaches the network. Callers hand
over the exact bytes that were logged, so that what is sent is what the message log holds.
"""

from __future__ import annotations

import re
import smtplib
import ssl
import unicodedata
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr
from pathlib import Path

from flask import current_app

from .time import utcnow


class MailDeliveryFailed(Exception):
    """The SMTP server could not be reached or refused the message; the text says why."""


@dataclass(frozen=True)
class Delivery:
    """How a message went: `transport` is "smtp" or "outbox"; `outbox_path` is set for the outbox."""

    transport: str
    outbox_path: str = ""


def mail_server_configured() -> bool:
    """Whether messages go by SMTP (True) or to the outbox folder (False)."""
    return bool(current_app.config.get("MAIL_SERVER"))


def outbox_folder() -> Path:
    """Where messages go when no mail server is configured."""
    configured = current_app.config.get("TRIBUTARY_OUTBOX")
    return Path(configured) if configured else Path(current_app.instance_path) / "outbox"


def transmit(mime: bytes) -> Delivery:
    """Send these MIME bytes by SMTP (envelope from their headers), or write them to the outbox."""
    headers = BytesHeaderParser(policy=policy.default).parsebytes(mime)
    if not mail_server_configured():
        return _write_to_outbox(mime, str(headers["Subject"] or ""))
    sender = parseaddr(str(headers["From"] or ""))[1]
    recipients = [
        address
        for _, address in getaddresses(
            [str(value) for name in ("To", "Cc", "Bcc") for value in headers.get_all(name, [])]
        )
        if address
    ]
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
            connection.sendmail(sender, recipients, mime)
    except (smtplib.SMTPException, OSError) as error:
        raise MailDeliveryFailed(
            f"The mail server {host}:{port} did not take the message: {error}"
        ) from error
    return Delivery("smtp")


def _write_to_outbox(mime: bytes, subject: str) -> Delivery:
    folder = outbox_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        plain = unicodedata.normalize("NFKD", subject).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^A-Za-z0-9]+", "-", plain).strip("-")[:60] or "message"
        path = folder / f"{stamp}-{slug}.eml"
        path.write_bytes(mime)
    except OSError as error:
        raise MailDeliveryFailed(f"The message could not be saved to the outbox {folder}: {error}") from error
    return Delivery("outbox", str(path))
