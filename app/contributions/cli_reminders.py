"""`flask contributions send-reminders [--dry-run]`: the next reminder for every overdue invoice.

Level 1 friendly, 2 firm, 3 final; never two reminders for one invoice within the reminder spacing; none after
the final. Each reminder is decided under its invoice's row lock and committed on its own, then sent: one
member without an e-mail address does not hold up the rest, and a click on the invoice page at the same moment
never makes a second reminder.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..common.audit import acting_as
from ..common.errors import DomainError
from ..common.mail import MailStatus, deliver_pending
from ..extensions import db
from .services.reminders import REMINDER_SPACING, due_reminders, queue_reminder


@click.command(
    "send-reminders",
    help=(
        "Send the next payment reminder for every overdue invoice that is due one "
        f"(reminders about one invoice go at least {REMINDER_SPACING.days} days apart)."
    ),
)
@click.option("--dry-run", is_flag=True, help="List what would be sent, without sending or logging anything.")
@with_appcontext
def send_reminders_command(dry_run: bool) -> None:
    due = due_reminders()
    if not due:
        click.echo("No reminder is due today.")
        return
    sent = failed = 0
    for item in due:
        invoice, state = item.invoice, item.state
        line = (
            f"{invoice.number} · {invoice.member.name} · {invoice.balance_due} {invoice.currency} "
            f"due {invoice.due_on.isoformat()} · level {state.level} ({state.label.lower()})"
        )
        if dry_run:
            click.echo(f"Would send: {line}")
            continue
        try:
            with acting_as(None, label="cli"):
                message = queue_reminder(invoice, None)
                db.session.commit()
        except DomainError as error:
            db.session.rollback()
            failed += 1
            click.echo(f"Not sent: {line}: {error}", err=True)
            continue
        deliver_pending([message])
        if message.status == MailStatus.FAILED:
            failed += 1
            click.echo(f"Failed: {line}: {message.error}", err=True)
        elif message.status == MailStatus.PENDING:
            click.echo(f"Queued: {line}: another process is sending it")
        else:
            sent += 1
            click.echo(
                f"Sent: {line}"
                + (f" (outbox: {message.outbox_path})" if message.transport == "outbox" else "")
            )
    if dry_run:
        click.echo(f"Dry run: {len(due)} reminder(s) would be sent; nothing was sent or logged.")
    else:
        click.echo(f"{sent} reminder(s) sent, {failed} not sent.")
