"""The home page: each area contributes a panel of figures that the signed-in user is allowed to read."""

from __future__ import annotations

from collections.abc import Callable

from flask_login import current_user

from ..auth.permissions import Permission

#: (permission, callable returning a panel dict) registered by each area at import time.
_PANEL_PROVIDERS: list[tuple[Permission, Callable[[], dict | None]]] = []


def panel_provider(permission: Permission):
    """Register a function that returns {'title', 'rows': [(label, value, url)], 'link': (text, url)}."""

    def decorator(func):
        _PANEL_PROVIDERS.append((permission, func))
        return func

    return decorator


def dashboard_panels() -> list[dict]:
    panels = []
    for permission, provider in _PANEL_PROVIDERS:
        if current_user.can(permission):
            panel = provider()
            if panel:
                panels.append(panel)
    return panels
