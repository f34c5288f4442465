"""`flask mail send-pending`: send the messages that were logged but never sent (their sender stopped after
the commit), and mark sends that were interrupted halfway as failed. Safe to run at any time, from cron too:
a message is only ever sent by the one process that claims it."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from .mail import LEFTOVER_AGE, deliver_leftovers

mail_cli = AppGroup("mail", help="E-mail: messages waiting in the log.")


@mail_cli.command("send-pending")
def send_pending_command() -> None:
    """Send every message still waiting in the log; report what went and what failed."""
    report = deliver_leftovers()
    for message in report.sent:
        where = f" (outbox: {message.outbox_path})" if message.transport == "outbox" else ""
        click.echo(f"Sent: #{message.id} “{message.subject}” to {message.recipients}{where}")
    for message in report.failed:
        click.echo(f"Failed: #{message.id} “{message.subject}”: {message.error}", err=True)
    for message in report.interrupted:
        click.echo(f"Interrupted: #{message.id} “{message.subject}”: {message.error}", err=True)
    minutes = int(LEFTOVER_AGE.total_seconds() // 60)
    click.echo(
        f"{len(report.sent)} sent, {len(report.failed)} failed, {len(report.interrupted)} interrupted. "
        f"Messages younger than {minutes} minutes are left to the request that queued them."
    )
