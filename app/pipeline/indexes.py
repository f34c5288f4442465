"""Indexes the pipeline's pages read in their order, so that a page's rows come from an index range instead
of a sort of every row (defined beside the models they index; the migrations create them)."""

import sqlalchemy as sa

from ..donors.models import Gift
from .models import Opportunity, Pledge

#: The board's cards (each stage's largest asks; a closed stage's only when it closed lately, read from the
#: same index) and the list filtered by stage, biggest first.
sa.Index(
    "ix_opportunities_stage_amount", Opportunity.stage, Opportunity.amount, Opportunity.id,
    Opportunity.stage_changed_at,
)  # fmt: skip
#: The closed columns of the board count and add up the asks closed in the last 90 days: a range of this one.
sa.Index(
    "ix_opportunities_stage_changed", Opportunity.stage, Opportunity.stage_changed_at, Opportunity.currency,
    Opportunity.amount,
)  # fmt: skip
#: The whole list and the list filtered by owner, biggest first.
sa.Index("ix_opportunities_amount", Opportunity.amount, Opportunity.id)
sa.Index("ix_opportunities_owner_amount", Opportunity.owner_id, Opportunity.amount, Opportunity.id)
#: The pledges, latest agreement first.
sa.Index("ix_pledges_agreed_on", Pledge.agreed_on, Pledge.id)
#: A pledge's page offers the donor's latest gifts with money left: read along this one, latest first.
sa.Index("ix_gifts_organisation_received_on", Gift.organisation_id, Gift.received_on, Gift.id)
