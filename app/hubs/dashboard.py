"""The home page panel: hubs whose setup checklist is not finished, with what is overdue."""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for

from ..auth.permissions import Permission
from ..common.panels import panel_provider
from ..extensions import db
from . import services
from .models import Hub, HubStatus


@panel_provider(Permission.HUBS_VIEW)
def hub_setup_panel() -> dict | None:
    """Hub setup progress, for hubs that are not closed and still have steps to do."""
    hubs = db.session.scalars(sa.select(Hub).where(Hub.status != HubStatus.CLOSED).order_by(Hub.name)).all()
    progress = services.checklist_progress(hub.id for hub in hubs)
    rows = []
    for hub in hubs:
        mine = progress.get(hub.id)
        if mine is None or mine.complete:
            continue
        value = f"{mine.done} of {mine.applicable} done" + (
            f", {mine.overdue} overdue" if mine.overdue else ""
        )
        rows.append((hub.name, value, url_for("hubs.show_hub", hub_id=hub.id, _anchor="checklist")))
    if not rows:
        return None
    return {"title": "Hub setup", "rows": rows, "link": ("All hubs", url_for("hubs.list_hubs"))}
