import sys

import click
from flask.cli import AppGroup

from ..common.audit import acting_as
from ..common.errors import ValidationFailed
from ..extensions import db
from . import services
from .permissions import Role

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--name", "full_name", default="", help="Full name (defaults to the e-mail).")
def create_user_command(email: str, role: str, full_name: str) -> None:
    """Create a user. Asks for the password, or reads it from standard input when that is not a terminal."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        with acting_as(label="cli"):
            user = services.create_user(email, full_name or email, role, password)
            db.session.commit()
    except ValidationFailed as failed:
        db.session.rollback()
        raise click.ClickException(str(failed)) from failed
    click.echo(f"Created {user.email} with the role {user.role.value}.")
