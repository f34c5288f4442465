"""The pipeline's home-page panel: open asks by stage, what is late or due, and the way to the dashboard."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import url_for

from ..auth.permissions import Permission
from ..common.panels import panel_provider
from ..common.time import today
from ..extensions import db
from .models import Deliverable, DeliverableStatus, Instalment, Opportunity
from .services.deadlines import UPCOMING_DAYS
from .stages import OPEN_STAGES


@panel_provider(Permission.PIPELINE_VIEW)
def pipeline_panel() -> dict:
    """Counts from three aggregate queries, each linking to the records behind it."""
    on = today()
    by_stage = dict(
        db.session.execute(
            sa.select(Opportunity.stage, sa.func.count())
            .where(Opportunity.stage.in_([stage.value for stage in OPEN_STAGES]))
            .group_by(Opportunity.stage)
        ).all()
    )
    late = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Instalment)
        .where(Instalment.expected_on < on, Instalment.received_amount < Instalment.amount)
    )
    due = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Deliverable)
        .where(
            Deliverable.status.in_([DeliverableStatus.TO_DO.value, DeliverableStatus.IN_PROGRESS.value]),
            Deliverable.due_on <= on + timedelta(days=UPCOMING_DAYS),
        )
    )
    rows = [
        (stage.label, by_stage.get(stage, 0), url_for("pipeline.list_opportunities", stage=stage.value))
        for stage in OPEN_STAGES
    ]
    rows.append(("Late instalments", late, url_for("pipeline.list_deadlines", _anchor="late-instalments")))
    rows.append(
        (
            f"Deliverables due in {UPCOMING_DAYS} days",
            due,
            url_for("pipeline.list_deadlines", _anchor="upcoming-deliverables"),
        )
    )
    return {
        "title": "Pipeline",
        "rows": rows,
        "link": ("Board dashboard", url_for("pipeline.board_dashboard")),
    }
