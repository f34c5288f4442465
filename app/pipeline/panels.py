"""The pipeline's panels: on the home page, open asks by stage, what is late or due, and the way to the
dashboard; on an organisation's donor page, its asks and pledges."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import url_for
from flask_login import current_user
from sqlalchemy.orm import lazyload

from ..auth.permissions import Permission
from ..common.money import format_money
from ..common.panels import panel_provider
from ..common.time import today
from ..donors.panels import organisation_panel
from ..extensions import db
from .models import Deliverable, DeliverableStatus, Instalment, Opportunity, Pledge
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


#: How many asks, and how many pledges, the organisation page's panel lists (the newest).
PANEL_ROWS = 10


@organisation_panel(Permission.PIPELINE_VIEW)
def organisation_pipeline_panel(organisation) -> dict | None:
    """The organisation's newest asks and pledges on its donor page (two queries, PANEL_ROWS rows each)."""
    asks = db.session.scalars(
        sa.select(Opportunity)
        .where(Opportunity.organisation_id == organisation.id)
        .options(lazyload(Opportunity.splits))
        .order_by(Opportunity.created_at.desc(), Opportunity.id.desc())
        .limit(PANEL_ROWS)
    ).all()
    rows = [
        (
            f"{opportunity.title} ({opportunity.stage.label.lower()})",
            format_money(opportunity.amount, opportunity.currency),
            url_for("pipeline.show_opportunity", opportunity_id=opportunity.id),
        )
        for opportunity in asks
    ]
    # What each pledge received is the sum over its instalments, added up in SQL (no instalment loaded).
    received = (
        sa.select(sa.func.coalesce(sa.func.sum(Instalment.received_amount), 0))
        .where(Instalment.pledge_id == Pledge.id)
        .correlate(Pledge)
        .scalar_subquery()
    )
    pledged = db.session.execute(
        sa.select(Pledge, received)
        .where(Pledge.organisation_id == organisation.id)
        .options(lazyload(Pledge.instalments))
        .order_by(Pledge.agreed_on.desc(), Pledge.id.desc())
        .limit(PANEL_ROWS)
    ).all()
    rows += [
        (
            f"Pledge agreed {pledge.agreed_on.isoformat()}: received",
            f"{format_money(pledge_received, pledge.currency)} of "
            f"{format_money(pledge.awarded_amount, pledge.currency)}",
            url_for("pipeline.show_pledge", pledge_id=pledge.id),
        )
        for pledge, pledge_received in pledged
    ]
    # The registry shows the panel to readers; only those who may add an ask get the link to do so.
    editable = current_user.can(Permission.PIPELINE_EDIT)
    link = ("New opportunity", url_for("pipeline.new_opportunity", organisation_id=organisation.id))
    return {"title": "Pipeline", "rows": rows, "link": link if editable else None}
