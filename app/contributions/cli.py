"""`flask contributions ...`: the commands operations run (annual run, reminders)."""

from flask.cli import AppGroup

contributions_cli = AppGroup("contributions", help="Country contributions: annual run, reminders.")


def register(app) -> None:
    from . import cli_reminders, cli_runs  # noqa: F401  (they add their commands to the group)

    app.cli.add_command(contributions_cli)
