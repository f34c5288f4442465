"""The home page's panels: each area registers one when it is imported, and the home page shows those the
signed-in user may read. The registry sits in common so that every area can register without importing the
home page (`main`, which sits above them all)."""

from __future__ import annotations

from collections.abc import Callable

from flask_login import current_user

#: (permission, callable returning a panel dict) registered by each area at import time.
_PANEL_PROVIDERS: list[tuple[object, Callable[[], dict | None]]] = []


def panel_provider(permission):
    """Register a function that returns {'title', 'rows': [(label, value, url)], 'link': (text, url)}, shown
    to users who have `permission` (an `auth.permissions.Permission`)."""

    def decorator(func):
        _PANEL_PROVIDERS.append((permission, func))
        return func

    return decorator


def dashboard_panels() -> list[dict]:
    """The panels the signed-in user may read, in the order the areas registered them (empty ones omitted)."""
    panels = []
    for permission, provider in _PANEL_PROVIDERS:
        if current_user.can(permission):
            panel = provider()
            if panel:
                panels.append(panel)
    return panels
