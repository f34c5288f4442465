"""Panels that higher areas add to donor pages (the member's contributions on its organisation's page).

Donors imports no higher area: contributions registers a function here, as the home page's panels do.
"""

from __future__ import annotations

from collections.abc import Callable

from flask_login import current_user

from ..auth.permissions import Permission

#: (permission, function(organisation) -> panel dict or None), registered at import time.
_ORGANISATION_PANELS: list[tuple[Permission, Callable]] = []


def organisation_panel(permission: Permission):
    """Register a function returning {'title', 'rows': [(label, value, url)], 'link': (text, url) | None}."""

    def decorator(func):
        _ORGANISATION_PANELS.append((permission, func))
        return func

    return decorator


def organisation_panels(organisation) -> list[dict]:
    """The registered panels for this organisation that the signed-in user may read."""
    panels = []
    for permission, provider in _ORGANISATION_PANELS:
        if current_user.can(permission):
            panel = provider(organisation)
            if panel:
                panels.append(panel)
    return panels
