"""`flask contributions send-reminders [--dry-run]`: the next reminder for every overdue invoice.

Level 1 friendly, 2 firm, 3 final; never two reminders for one invoice within 14 days; none after the final.
Each reminder is committed on its own, so that one member without an e-mail address does not hold up the rest.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..common.audit import acting_as
from ..common.errors import DomainError
from ..extensions import db
from .services.reminders import due_reminders, send_reminder
from .services.sending import outcome_message


@click.command("send-reminders")
@click.option("--dry-run", is_flag=True, help="List what would be sent, without sending or logging anything.")
@with_appcontext
def send_reminders_command(dry_run: bool) -> None:
    """Send the next payment reminder for every overdue invoice that is due one."""
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
                message = send_reminder(invoice, None)
                db.session.commit()
        except DomainError as error:
            db.session.rollback()
            failed += 1
            click.echo(f"Not sent: {line}: {error}", err=True)
            continue
        category, text = outcome_message(message)
        if category == "error":
            failed += 1
            click.echo(f"Failed: {line}: {message.error}", err=True)
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
