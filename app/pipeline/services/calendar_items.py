"""What goes in a user's calendar feed: their asks' next steps, proposal due dates and expected decisions,
their interactions' next steps, and the deliverables and expected instalments of the pledges they own."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, url_for
from sqlalchemy.orm import selectinload

from ...common.money import format_money
from ...donors.models import Interaction
from ...extensions import db
from ..ical import CalendarItem
from ..models import Deliverable, DeliverableStatus, Instalment, Opportunity, Pledge
from ..stages import OPEN_STAGES


def _link(endpoint: str, **values) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return base + url_for(endpoint, **values)


def _uid(kind: str, record_id: int) -> str:
    # Stable per record and kind: a change to the record updates the same event in the calendar.
    return f"{kind}-{record_id}@tributary"


def calendar_items(user) -> list[CalendarItem]:
    """Every dated item the user owns and has not finished (five queries, whatever their number)."""
    items: list[CalendarItem] = []
    opportunities = db.session.scalars(
        sa.select(Opportunity).where(
            Opportunity.owner_id == user.id, Opportunity.stage.in_([stage.value for stage in OPEN_STAGES])
        )
    ).all()
    for opportunity in opportunities:
        where = f" ({opportunity.organisation.name})"
        url = _link("pipeline.show_opportunity", opportunity_id=opportunity.id)
        dated = [
            (
                "next-step",
                opportunity.next_step_due_on,
                f"Next step: {opportunity.next_step or opportunity.title}",
            ),
            ("proposal", opportunity.proposal_due_on, f"Proposal due: {opportunity.title}"),
            ("decision", opportunity.expected_decision_on, f"Decision expected: {opportunity.title}"),
        ]
        for kind, day, summary in dated:
            if day is not None:
                items.append(
                    CalendarItem(
                        _uid(f"opportunity-{kind}", opportunity.id),
                        day,
                        summary + where,
                        f"{opportunity.title}, {format_money(opportunity.amount, opportunity.currency)}",
                        url,
                        opportunity.updated_at,
                    )
                )
    interactions = db.session.scalars(
        sa.select(Interaction).where(
            Interaction.next_step_owner_id == user.id,
            Interaction.next_step_due_on.is_not(None),
            Interaction.next_step_done_at.is_(None),
            # As the partial index of open steps says it (a literal ''), so that it serves this query.
            Interaction.next_step.op("<>")(sa.literal_column("''")),
        )
    ).all()
    for interaction in interactions:
        organisation = f" ({interaction.organisation.name})" if interaction.organisation else ""
        items.append(
            CalendarItem(
                _uid("interaction-next-step", interaction.id),
                interaction.next_step_due_on,
                f"Next step: {interaction.next_step}{organisation}",
                interaction.summary[:500],
                _link("donors.show_interaction", interaction_id=interaction.id),
                interaction.created_at,
            )
        )
    owned_pledges = sa.select(Pledge.id).join(Opportunity).where(Opportunity.owner_id == user.id)
    deliverables = db.session.scalars(
        sa.select(Deliverable)
        .where(
            Deliverable.pledge_id.in_(owned_pledges),
            Deliverable.status.in_([DeliverableStatus.TO_DO.value, DeliverableStatus.IN_PROGRESS.value]),
        )
        .options(selectinload(Deliverable.pledge).selectinload(Pledge.opportunity))
    ).all()
    for deliverable in deliverables:
        items.append(
            CalendarItem(
                _uid("deliverable", deliverable.id),
                deliverable.due_on,
                f"{deliverable} due ({deliverable.pledge.organisation.name})",
                deliverable.requirements[:1000],
                _link("pipeline.edit_deliverable", deliverable_id=deliverable.id),
                deliverable.updated_at,
            )
        )
    instalments = db.session.scalars(
        sa.select(Instalment)
        .where(Instalment.pledge_id.in_(owned_pledges), Instalment.received_amount < Instalment.amount)
        .options(selectinload(Instalment.pledge))
    ).all()
    for instalment in instalments:
        pledge = instalment.pledge
        items.append(
            CalendarItem(
                _uid("instalment", instalment.id),
                instalment.expected_on,
                f"Instalment expected: {format_money(instalment.outstanding, pledge.currency)} "
                f"from {pledge.organisation.name}",
                "",
                _link("pipeline.show_pledge", pledge_id=pledge.id),
                pledge.updated_at,
            )
        )
    return sorted(items, key=lambda item: (item.day, item.uid))
