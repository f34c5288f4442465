"""`flask contributions ...`: the commands operations run (annual run, reminders), each registered here."""

from flask.cli import AppGroup

from .cli_reminders import send_reminders_command
from .cli_runs import issue_annual_command, render_invoice_pdfs_command

contributions_cli = AppGroup("contributions", help="Country contributions: annual run, reminders.")
contributions_cli.add_command(issue_annual_command)
contributions_cli.add_command(render_invoice_pdfs_command)
contributions_cli.add_command(send_reminders_command)
