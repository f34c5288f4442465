"""The one place that maps roles to permissions, and the decorators every view uses to declare its needs."""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user

from ..extensions import login_manager


class Role(enum.StrEnum):
    ADMIN = "admin"
    FUNDRAISING = "fundraising"
    OPERATIONS = "operations"
    BOARD = "board"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMIN: "Administrator",
    Role.FUNDRAISING: "Fundraising",
    Role.OPERATIONS: "Operations",
    Role.BOARD: "Board (read only)",
}


class Permission(enum.StrEnum):
    """What a view needs. `*_VIEW` permissions only read; everything else changes data."""

    DASHBOARD_VIEW = "dashboard.view"
    DONORS_VIEW = "donors.view"
    DONORS_EDIT = "donors.edit"
    PIPELINE_VIEW = "pipeline.view"
    PIPELINE_EDIT = "pipeline.edit"
    PLAN_RATES_EDIT = "plan_rates.edit"  # the plan's exchange rates, kept by operations
    CONTRIBUTIONS_VIEW = "contributions.view"
    CONTRIBUTIONS_EDIT = "contributions.edit"
    HUBS_VIEW = "hubs.view"
    HUBS_EDIT = "hubs.edit"
    ACCOUNT_EDIT = "account.edit"  # one's own password: every role has it
    USERS_MANAGE = "users.manage"
    AUDIT_VIEW = "audit.view"

    @property
    def changes_data(self) -> bool:
        return not self.value.endswith(".view")


_READ_ALL = {
    Permission.DASHBOARD_VIEW,
    Permission.DONORS_VIEW,
    Permission.PIPELINE_VIEW,
    Permission.CONTRIBUTIONS_VIEW,
    Permission.HUBS_VIEW,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.FUNDRAISING: frozenset(
        _READ_ALL | {Permission.DONORS_EDIT, Permission.PIPELINE_EDIT, Permission.ACCOUNT_EDIT}
    ),
    Role.OPERATIONS: frozenset(
        _READ_ALL
        | {
            Permission.CONTRIBUTIONS_EDIT,
            Permission.HUBS_EDIT,
            Permission.PLAN_RATES_EDIT,
            Permission.ACCOUNT_EDIT,
        }
    ),
    # The board reads everything and changes nothing but its own password.
    Role.BOARD: frozenset(_READ_ALL | {Permission.ACCOUNT_EDIT}),
}


def role_can(role: Role | str, permission: Permission) -> bool:
    return Permission(permission) in ROLE_PERMISSIONS.get(Role(role), frozenset())


def requires(permission: Permission) -> Callable:
    """Declare what a view needs: anonymous users go to the login page, users without it get 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permission = permission
        return wrapped

    return decorator


def public(view: Callable) -> Callable:
    """Mark a view as reachable without login (login page, health check, webhook, pay page)."""
    view.is_public = True
    return view
