"""Accounts: creating users, signing in with throttling, passwords and roles."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from ..common.errors import DomainError, ValidationFailed
from ..common.time import as_utc, utcnow
from ..common.uniqueness import UniqueField, unique_as_field_errors
from ..extensions import db
from .models import User
from .passwords import MIN_PASSWORD_LENGTH, burn_verification_time, hash_password, verify_password
from .permissions import Role


class LoginRefused(DomainError):
    """Wrong e-mail, wrong password, locked or deactivated: one generic message for all."""

    def __init__(self):
        super().__init__("Those details did not work. Check them and try again, or ask an administrator.")


class LastAdministrator(DomainError):
    """The last active administrator cannot be demoted or deactivated."""


def normalise_email(email: str) -> str:
    """The canonical, lower-case form of an e-mail address; raises ValidationFailed if it is not one."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise ValidationFailed(str(error), {"email": [str(error)]}) from error


def check_password_strength(password: str) -> None:
    """Refuse passwords that are too short to be safe."""
    if len(password) < MIN_PASSWORD_LENGTH:
        message = f"Use at least {MIN_PASSWORD_LENGTH} characters."
        raise ValidationFailed(message, {"password": [message]})


def find_user_by_email(email: str) -> User | None:
    """The user with this e-mail address, whatever its case."""
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))


#: Two admins creating the same user at once: the second gets the message beside the e-mail.
EMAIL_UNIQUE = UniqueField("uq_users_email", "email", "Already in use.")


def create_user(email: str, full_name: str, role: Role | str, password: str) -> User:
    """Create an active user; the e-mail must be new and the password long enough."""
    email = normalise_email(email)
    if find_user_by_email(email) is not None:
        raise ValidationFailed("A user with this e-mail already exists.", {"email": ["Already in use."]})
    check_password_strength(password)
    user = User(email=email, full_name=full_name.strip() or email, role=Role(role))
    user.password_hash = hash_password(password)
    with unique_as_field_errors(EMAIL_UNIQUE, message="A user with this e-mail already exists."):
        db.session.add(user)
        db.session.flush()
    return user


def authenticate(email: str, password: str, max_failures: int, lock_minutes: int) -> User:
    """Return the user for these credentials, counting failures and locking the account after too many."""
    user = find_user_by_email(email)
    now = utcnow()
    if user is None:
        burn_verification_time(password)
        raise LoginRefused()
    locked_until = as_utc(user.locked_until)
    if locked_until is not None and locked_until > now:
        burn_verification_time(password)
        raise LoginRefused()
    if not verify_password(user.password_hash, password):
        user.failed_login_count += 1
        if user.failed_login_count >= max_failures:
            user.locked_until = now + timedelta(minutes=lock_minutes)
            user.failed_login_count = 0
        db.session.flush()
        raise LoginRefused()
    if not user.is_active_account:
        raise LoginRefused()
    user.failed_login_count = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.flush()
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change one's own password after checking the current one."""
    if not verify_password(user.password_hash, current_password):
        raise ValidationFailed(
            "The current password is not right.", {"current_password": ["The current password is not right."]}
        )
    check_password_strength(new_password)
    user.password_hash = hash_password(new_password)
    db.session.flush()


def set_password(user: User, new_password: str) -> None:
    """An administrator sets a new password for someone."""
    check_password_strength(new_password)
    user.password_hash = hash_password(new_password)
    user.failed_login_count = 0
    user.locked_until = None
    db.session.flush()


def _other_active_admins(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(User.id)).where(
            User.role == Role.ADMIN, User.is_active_account.is_(True), User.id != user.id
        )
    )


def update_user(user: User, full_name: str, role: Role | str) -> None:
    """Change a user's name and role; the last administrator keeps the admin role."""
    role = Role(role)
    if user.role == Role.ADMIN and role != Role.ADMIN and _other_active_admins(user) == 0:
        raise LastAdministrator("This is the last active administrator; make someone else admin first.")
    user.full_name = full_name.strip() or user.email
    user.role = role
    db.session.flush()


def set_active(user: User, active: bool) -> None:
    """Deactivate or reactivate an account; the last administrator stays active."""
    if not active and user.role == Role.ADMIN and _other_active_admins(user) == 0:
        raise LastAdministrator("This is the last active administrator; it cannot be deactivated.")
    user.is_active_account = active
    if active:
        user.failed_login_count = 0
        user.locked_until = None
    db.session.flush()
