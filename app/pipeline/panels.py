"""The pipeline's panels: on the home page, open asks by stage, what is late or due, and the way to the
dashboard; on an organisation's donor page, its asks and pledges."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import url_for
from flask_login import current_user

from ..auth.permissions import Permission
from ..common.db_types import MONEY
from ..common.money import format_money
from ..common.panels import panel_provider
from ..common.time import today
from ..donors.panels import organisation_panel
from ..extensions import db
from .models import Deliverable, DeliverableStatus, Instalment, Opportunity, Pledge
from .services.deadlines import UPCOMING_DAYS
from .stages import OPEN_STAGES, Stage


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
    """The organisation's newest asks and pledges on its donor page: PANEL_ROWS of each, in one query (a
    UNION ALL of the two lists, each limited and ranked on its own)."""
    asks = (
        sa.select(
            sa.literal(0).label("part"),
            sa.func.row_number()
            .over(order_by=(Opportunity.created_at.desc(), Opportunity.id.desc()))
            .label("rank"),
            Opportunity.id,
            Opportunity.title,
            Opportunity.stage,
            Opportunity.amount,
            Opportunity.currency,
            sa.cast(sa.null(), MONEY).label("received"),
            sa.cast(sa.null(), sa.Date).label("agreed_on"),
        )
        .where(Opportunity.organisation_id == organisation.id)
        .order_by(Opportunity.created_at.desc(), Opportunity.id.desc())
        .limit(PANEL_ROWS)
        .subquery()
    )
    # What each pledge received is the sum over its instalments, added up in SQL (no instalment loaded).
    received = (
        sa.select(sa.func.coalesce(sa.func.sum(Instalment.received_amount), 0))
        .where(Instalment.pledge_id == Pledge.id)
        .correlate(Pledge)
        .scalar_subquery()
    )
    pledges = (
        sa.select(
            sa.literal(1).label("part"),
            sa.func.row_number().over(order_by=(Pledge.agreed_on.desc(), Pledge.id.desc())).label("rank"),
            Pledge.id,
            sa.literal("").label("title"),
            sa.null().label("stage"),
            Pledge.awarded_amount,
            Pledge.currency,
            sa.cast(received, MONEY).label("received"),
            Pledge.agreed_on,
        )
        .where(Pledge.organisation_id == organisation.id)
        .order_by(Pledge.agreed_on.desc(), Pledge.id.desc())
        .limit(PANEL_ROWS)
        .subquery()
    )
    both = sa.union_all(sa.select(*asks.c), sa.select(*pledges.c)).subquery()
    rows = []
    for row in db.session.execute(sa.select(*both.c).order_by(both.c.part, both.c.rank)):
        if row.part == 0:
            rows.append(
                (
                    f"{row.title} ({Stage(row.stage).label.lower()})",
                    format_money(row.amount, row.currency),
                    url_for("pipeline.show_opportunity", opportunity_id=row.id),
                )
            )
        else:
            rows.append(
                (
                    f"Pledge agreed {row.agreed_on.isoformat()}: received",
                    f"{format_money(row.received, row.currency)} of {format_money(row.amount, row.currency)}",
                    url_for("pipeline.show_pledge", pledge_id=row.id),
                )
            )
    # The registry shows the panel to readers; only those who may add an ask get the link to do so.
    editable = current_user.can(Permission.PIPELINE_EDIT)
    link = ("New opportunity", url_for("pipeline.new_opportunity", organisation_id=organisation.id))
    return {"title": "Pipeline", "rows": rows, "link": link if editable else None}
