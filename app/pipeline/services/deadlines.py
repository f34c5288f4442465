"""What is late or coming up: instalments past their date and not fully received, deliverables due soon."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import lazyload, selectinload

from ...extensions import db
from ..models import Deliverable, DeliverableStatus, Instalment, Opportunity, Pledge

UPCOMING_DAYS = 60


def _pledge_and_ask(relationship):
    """A row's pledge and its ask, without the collections those load by default (a pledge's instalments,
    an ask's splits): the lists show neither, and they are read only if something asks for them."""
    return (
        selectinload(relationship)
        .options(lazyload(Pledge.instalments))
        .selectinload(Pledge.opportunity)
        .options(lazyload(Opportunity.splits))
    )


def late_instalments(on: date) -> list[Instalment]:
    """Instalments expected before `on` that have not received their whole amount, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Instalment)
            .where(Instalment.expected_on < on, Instalment.received_amount < Instalment.amount)
            .options(_pledge_and_ask(Instalment.pledge))
            .order_by(Instalment.expected_on, Instalment.id)
        )
    )


def upcoming_deliverables(on: date, days: int = UPCOMING_DAYS) -> list[Deliverable]:
    """Deliverables not yet submitted that are due within `days` of `on` (or overdue), soonest first."""
    return list(
        db.session.scalars(
            sa.select(Deliverable)
            .where(
                Deliverable.status.in_([DeliverableStatus.TO_DO.value, DeliverableStatus.IN_PROGRESS.value]),
                Deliverable.due_on <= on + timedelta(days=days),
            )
            .options(_pledge_and_ask(Deliverable.pledge))
            .order_by(Deliverable.due_on, Deliverable.id)
        )
    )
