"""`flask contributions issue-annual --fy YEAR [--dry-run]`: the annual run from the command line.

It uses the same resumable run as the browser: interrupt it (Ctrl-C, a lost connection) and run the command
again, and it carries on without issuing anything twice or leaving a number unused. The PDFs render in one
worker process per core.

`flask contributions render-invoice-pdfs` stores the PDF of every issued invoice and credit note that lacks
one (issued by a process that stopped, or whose render failed, before its PDF was stored).
"""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from ..auth.models import User
from ..common.audit import acting_as
from ..common.errors import DomainError
from ..common.money import format_money, rate_label
from ..common.pdf import pdf_workers
from ..extensions import db
from .services import annual_run, annual_run_preview, invoice_pdfs


@click.command("issue-annual")
@click.option(
    "--fy", "fiscal_year", type=click.IntRange(2000, 2100), required=True, help="Fiscal year, e.g. 2027."
)
@click.option("--dry-run", is_flag=True, help="Show what would be issued, and issue nothing.")
@click.option("--as-user", "user_email", default=None, help="E-mail of the user who issues (default: 'cli').")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 1000),
    default=50,
    show_default=True,
    help="Members per step; each member is still committed on its own.",
)
@with_appcontext
def issue_annual_command(fiscal_year: int, dry_run: bool, user_email: str | None, batch_size: int) -> None:
    """Issue every active member's annual contribution invoice for a fiscal year (or resume that run)."""
    actor = None
    if user_email:
        actor = db.session.scalar(sa.select(User).where(User.email == user_email.strip().lower()))
        if actor is None:
            raise click.ClickException(f"There is no user {user_email}.")
    with acting_as(actor, label=None if actor else "cli"):
        preview = annual_run_preview.build_preview(fiscal_year)
        if preview.policy is None:
            raise click.ClickException(f"There is no contribution policy for FY{fiscal_year}: set one first.")
        _describe(preview)
        if dry_run:
            click.echo(f"{preview.summary()}; dry run, issued 0")
            return
        if not preview.to_invoice and annual_run.open_run(fiscal_year) is None:
            click.echo(f"{preview.summary()}; issued 0")
            return
        try:
            run, resumed = annual_run.start_run(fiscal_year, actor, preview)
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from error
        db.session.commit()
        run_id = run.id
        # The preview holds every member it read; kept, they would all be expired again at each commit.
        summary, preview = preview.summary(), None
        if resumed:
            click.echo(f"Carrying on with run #{run_id}, started {run.started_at:%Y-%m-%d %H:%M} UTC.")
        remaining = annual_run.remaining_count(run)
        with (
            pdf_workers() as renderer,
            click.progressbar(length=remaining, label=f"Issuing FY{fiscal_year}", show_pos=True) as bar,
        ):
            results = annual_run.run_to_completion(
                run_id,
                actor,
                batch_size,
                on_step=lambda result: bar.update(result.processed),
                renderer=renderer,
            )
    issued = sum(len(result.issued) for result in results)
    for result in results:
        for entry in result.new_problems:
            click.echo(f"problem: {entry['member']}: {entry['problem']}")
    if results[-1].error:
        click.echo(f"{summary}; issued {issued}")
        raise click.ClickException(
            f"The run stopped: {results[-1].error}. Run the command again to carry on where it stopped."
        )
    click.echo(f"{summary}; issued {issued}")


def _describe(preview: annual_run_preview.Preview) -> None:
    for row in preview.problems:
        click.echo(f"problem: {row.member.name}: {' '.join(row.problems)}")
    for row in preview.waived:
        click.echo(f"waived: {row.member.name}: {row.waived_because}")
    for row in preview.to_invoice:
        if row.adjustment is not None:
            policy_amount = (
                format_money(row.policy_amount, row.currency)
                if row.policy_amount is not None
                else "no amount"
            )
            click.echo(
                f"adjusted: {row.member.name}: {format_money(row.amount, row.currency)} instead of "
                f"{policy_amount} ({row.adjustment.reason}; {row.adjustment.approval_reference})"
            )
    for row in preview.to_invoice:
        if row.converted:
            click.echo(f"converted: {row.member.name}: {_conversion(row)}")
    rates = {hub.hub: hub for hub in preview.hub_currencies}
    for total in preview.totals_by_hub:
        if total.to_invoice_count:
            amounts = ", ".join(
                format_money(amount, currency) for currency, amount in total.to_invoice.items()
            )
            hub = rates.get(total.label)
            rate = (
                f" at the FY{preview.fiscal_year} budget rate, {hub.rate_label}" if hub and hub.rate else ""
            )
            click.echo(f"to invoice from {total.label}: {total.to_invoice_count} invoices, {amounts}{rate}")


def _conversion(row: annual_run_preview.PreviewRow) -> str:
    """`€9,200.00, assessed at $10,000.00, converted at 1 USD = 0.9200 EUR (FY2027 budget rate)`."""
    assessed = format_money(row.assessed_amount, row.assessed_currency)
    rate = rate_label(row.assessed_currency, row.exchange_rate, row.currency)
    return (
        f"{format_money(row.amount, row.currency)}, assessed at {assessed}, converted at {rate} "
        f"(FY{row.billing.fiscal_year} budget rate)"
    )


@click.command("render-invoice-pdfs")
@with_appcontext
def render_invoice_pdfs_command() -> None:
    """Render and store the PDF of every issued invoice and credit note that has none yet."""
    with pdf_workers() as renderer:
        stored = invoice_pdfs.render_missing(renderer)
    click.echo(f"Stored {stored} invoice PDF(s).")
