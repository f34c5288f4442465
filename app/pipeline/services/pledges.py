"""Pledges (grant agreements): made when an ask is won, their instalment schedule, gifts applied to
instalments, and the donor's deliverables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, lazyload, selectinload

from ...common.errors import DomainError, ValidationFailed
from ...common.fiscal import fiscal_year_of
from ...common.locks import lock_and_refresh
from ...common.money import quantize
from ...common.pagination import paginate_counted
from ...donors.models import Gift, Organisation
from ...extensions import db
from ..models import (
    Deliverable,
    DeliverableKind,
    DeliverableStatus,
    GiftApplication,
    Instalment,
    InstalmentStatus,
    Opportunity,
    Pledge,
)
from .arithmetic import (
    AwardBelowPaid,
    ScheduledInstalment,
    SplitRow,
    regenerate_schedule,
    schedule_from_split,
)

ZERO = Decimal("0.00")


class ApplicationRefused(DomainError):
    """A gift cannot be applied as asked (other currency, more than the gift or than the instalment needs)."""


def create_pledge(opportunity, user, agreed_on: date, awarded_amount: Decimal | None = None) -> Pledge:
    """The grant agreement of a won ask: its award, and a schedule made from the ask's fiscal-year split."""
    award = awarded_amount if awarded_amount is not None else opportunity.amount
    pledge = Pledge(
        opportunity=opportunity,
        organisation_id=opportunity.organisation_id,
        awarded_amount=award,
        currency=opportunity.currency,
        agreed_on=agreed_on,
    )
    split = [SplitRow(split.fiscal_year, split.amount) for split in opportunity.splits]
    planned = schedule_from_split(split, agreed_on)
    if award != opportunity.amount:
        planned = regenerate_schedule([], award, planned, opportunity.currency)
    for instalment in planned:
        pledge.instalments.append(_instalment(instalment))
    db.session.add(pledge)
    db.session.flush()
    return pledge


def _instalment(planned: ScheduledInstalment) -> Instalment:
    return Instalment(
        amount=planned.amount,
        expected_on=planned.expected_on,
        fiscal_year=fiscal_year_of(planned.expected_on),
    )


def reschedule(
    pledge: Pledge,
    awarded_amount: Decimal,
    wanted: Sequence[tuple[Decimal, date]],
    agreed_on: date | None = None,
) -> Pledge:
    """Change the award or the dates: instalments that received money never change, the unpaid ones are made
    again from `wanted` so that the schedule adds up to the award."""
    errors: dict[str, list[str]] = {}
    if (
        awarded_amount is None
        or awarded_amount <= 0
        or quantize(awarded_amount, pledge.currency) != awarded_amount
    ):
        errors["awarded_amount"] = [
            f"Give an award above zero, in {pledge.currency} with at most its decimals."
        ]
    if any(amount is None or amount <= 0 for amount, _on in wanted):
        errors["instalments"] = ["Each unpaid instalment needs an amount above zero."]
    if any(on is None for _amount, on in wanted):
        errors["instalments"] = ["Each unpaid instalment needs an expected date."]
    if errors:
        raise ValidationFailed("The schedule was not changed.", errors)
    # Under the same locks as applying a gift, so that no gift lands on an instalment while it is remade.
    _locked_instalments([pledge.id])
    db.session.refresh(pledge, attribute_names=["instalments"])
    current = [
        ScheduledInstalment(i.amount, i.expected_on, i.received_amount, i.id) for i in pledge.instalments
    ]
    try:
        schedule = regenerate_schedule(
            current, awarded_amount, [ScheduledInstalment(a, on) for a, on in wanted], pledge.currency
        )
    except AwardBelowPaid as problem:
        raise ValidationFailed(str(problem), {"awarded_amount": [str(problem)]}) from problem
    by_id = {instalment.id: instalment for instalment in pledge.instalments}
    keep_ids = {planned.id for planned in schedule if planned.id is not None}
    for instalment in list(pledge.instalments):
        if instalment.id not in keep_ids:
            pledge.instalments.remove(instalment)
    for planned in schedule:
        if planned.id is not None and planned.id in by_id:
            instalment = by_id[planned.id]
            if instalment.received_amount == 0:
                instalment.amount = planned.amount
                instalment.expected_on = planned.expected_on
                instalment.fiscal_year = fiscal_year_of(planned.expected_on)
        else:
            pledge.instalments.append(_instalment(planned))
    pledge.awarded_amount = awarded_amount
    if agreed_on is not None:
        pledge.agreed_on = agreed_on
    db.session.flush()
    return pledge


def _locked_instalments(pledge_ids) -> list[Instalment]:
    """Lock the pledges (in id order) and then all their instalments, and read the instalments afresh."""
    db.session.flush()
    db.session.execute(
        sa.select(Pledge.id).where(Pledge.id.in_(pledge_ids)).order_by(Pledge.id).with_for_update()
    )
    return list(
        db.session.scalars(
            sa.select(Instalment)
            .where(Instalment.pledge_id.in_(pledge_ids))
            .order_by(Instalment.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def applied_amounts(gift_ids) -> dict[int, Decimal]:
    """Gift id -> what is already applied to instalments."""
    return {
        gift_id: amount
        for gift_id, amount in db.session.execute(
            sa.select(GiftApplication.gift_id, sa.func.sum(GiftApplication.amount))
            .where(GiftApplication.gift_id.in_(list(gift_ids)))
            .group_by(GiftApplication.gift_id)
        )
    }


def apply_gift(gift: Gift, amounts: Mapping[int, Decimal], user) -> list[GiftApplication]:
    """Apply parts of a gift to instalments of its donor's pledges (it may pay several, or part of one)."""
    amounts = {instalment_id: amount for instalment_id, amount in amounts.items() if amount}
    if not amounts:
        raise ApplicationRefused("Give an amount for at least one instalment.")
    # One lock order everywhere (gift, then pledges, then instalments), so that two people applying the same
    # gift, or applying while the schedule changes, decide one after the other on what the first committed.
    lock_and_refresh(gift)
    instalments = _locked_instalments(sa.select(Instalment.pledge_id).where(Instalment.id.in_(list(amounts))))
    instalments = [instalment for instalment in instalments if instalment.id in amounts]
    if len(instalments) != len(amounts):
        raise ApplicationRefused("One of the instalments no longer exists.")
    already = applied_amounts([gift.id]).get(gift.id, ZERO)
    total = sum(amounts.values(), ZERO)
    if already + total > gift.amount:
        raise ApplicationRefused(
            f"The gift is {gift.amount} {gift.currency}; {already} is already applied, so at most "
            f"{gift.amount - already} more can be."
        )
    applications = []
    for instalment in instalments:
        amount = amounts[instalment.id]
        pledge = instalment.pledge
        if pledge.organisation_id != gift.organisation_id:
            raise ApplicationRefused("A gift pays only its own donor's pledges.")
        if pledge.currency != gift.currency:
            raise ApplicationRefused(
                f"The gift is in {gift.currency} and the pledge in {pledge.currency}: record the gift in the "
                "pledge's currency."
            )
        if amount < 0 or quantize(amount, gift.currency) != amount:
            raise ApplicationRefused("Give amounts above zero with at most the currency's decimals.")
        if amount > instalment.outstanding:
            raise ApplicationRefused(
                f"The instalment due {instalment.expected_on.isoformat()} needs only "
                f"{instalment.outstanding}."
            )
        existing = next((a for a in instalment.applications if a.gift_id == gift.id), None)
        if existing is None:
            existing = GiftApplication(
                gift_id=gift.id, instalment=instalment, amount=amount, applied_by_id=user.id
            )
            db.session.add(existing)
        else:
            existing.amount += amount
        instalment.received_amount += amount
        applications.append(existing)
    db.session.flush()
    return applications


def remove_application(application: GiftApplication) -> None:
    """Take a gift's part back off an instalment (a mistake corrected)."""
    pledge_id = sa.select(Instalment.pledge_id).where(Instalment.id == application.instalment_id)
    instalment = next(i for i in _locked_instalments(pledge_id) if i.id == application.instalment_id)
    instalment.received_amount -= application.amount
    db.session.delete(application)
    db.session.flush()


#: The pledge page offers the latest gifts with money left, this many at most (a link offers them all).
GIFT_CHOICES = 25


def unapplied_gifts(
    pledge: Pledge, limit: int | None = GIFT_CHOICES
) -> tuple[list[tuple[Gift, Decimal]], bool]:
    """The donor's gifts in the pledge's currency with money not yet applied, and how much, latest first: at
    most `limit` of them (None: all), and whether there are more. The gifts are read along an index by
    organisation and date until `limit` are found, what each has applied summed from its own applications,
    so that a donor with thousands of gifts costs what one with a few does."""
    applied = (
        sa.select(sa.func.coalesce(sa.func.sum(GiftApplication.amount), 0))
        .where(GiftApplication.gift_id == Gift.id)
        .scalar_subquery()
    )
    query = (
        sa.select(Gift, applied)
        .where(
            Gift.organisation_id == pledge.organisation_id,
            Gift.currency == pledge.currency,
            Gift.amount > applied,
        )
        .order_by(Gift.received_on.desc(), Gift.id.desc())
    )
    rows = db.session.execute(query if limit is None else query.limit(limit + 1)).all()
    more = limit is not None and len(rows) > limit
    return [
        (gift, gift.amount - quantize(Decimal(str(done)), gift.currency)) for gift, done in rows[:limit]
    ], more


def save_deliverable(
    pledge: Pledge,
    kind: DeliverableKind,
    due_on: date | None,
    title: str = "",
    requirements: str = "",
    status: DeliverableStatus = DeliverableStatus.TO_DO,
    submitted_on: date | None = None,
    deliverable: Deliverable | None = None,
) -> Deliverable:
    """Add or change a reporting deadline; a submitted or accepted one carries its submission date."""
    errors: dict[str, list[str]] = {}
    if due_on is None:
        errors["due_on"] = ["Give the due date."]
    if status.is_done and submitted_on is None:
        errors["submitted_on"] = ["Give the date it was submitted."]
    if not status.is_done and submitted_on is not None:
        errors["status"] = ["A deliverable with a submission date is submitted or accepted."]
    if errors:
        raise ValidationFailed("The deliverable was not saved.", errors)
    if deliverable is None:
        deliverable = Deliverable(pledge=pledge)
        db.session.add(deliverable)
    deliverable.kind = kind
    deliverable.title = (title or "").strip()
    deliverable.due_on = due_on
    deliverable.requirements = requirements or ""
    deliverable.status = status
    deliverable.submitted_on = submitted_on
    db.session.flush()
    return deliverable


def pledge_for_page(pledge_id: int) -> Pledge | None:
    """The pledge with what its page shows, in a fixed number of queries: its ask (without the ask's own
    organisation, owner and split), its instalments with the gifts applied to each, and its deliverables."""
    return (
        db.session.scalars(
            sa.select(Pledge)
            .where(Pledge.id == pledge_id)
            .options(
                joinedload(Pledge.opportunity, innerjoin=True).options(
                    lazyload(Opportunity.splits),
                    lazyload(Opportunity.organisation),
                    lazyload(Opportunity.owner),
                ),
                selectinload(Pledge.instalments).selectinload(Instalment.applications),
                selectinload(Pledge.deliverables),
            )
        )
        .unique()
        .one_or_none()
    )


# --- The list -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _InstalmentFigures:
    """An instalment's figures, for `Instalment.status` (the one rule) without loading the instalment."""

    amount: Decimal
    expected_on: date
    received_amount: Decimal


@dataclass(frozen=True)
class PledgeRow:
    """What a row of the pledge list shows (plain values: a page of pledges is not loaded whole)."""

    id: int
    organisation_name: str
    title: str
    agreed_on: date
    awarded_amount: Decimal
    currency: str
    received_amount: Decimal
    statuses: tuple[InstalmentStatus, ...]


#: Latest agreement first: the order ix_pledges_agreed_on serves, read backwards.
PLEDGE_ORDER = (Pledge.agreed_on.desc(), Pledge.id.desc())


def pledge_page(on: date):
    """A page of pledges (`?page=`), latest agreement first, with what their instalments received and each
    instalment's status on `on`: the page's ids read along an index, then the rows of those pledges and of
    their instalments, four queries whatever the page."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Pledge))
    page = paginate_counted(
        lambda limit, offset: sa.select(Pledge.id).order_by(*PLEDGE_ORDER).limit(limit).offset(offset), total
    )
    ids = list(page.items)
    instalments: dict[int, list[_InstalmentFigures]] = {}
    for pledge_id, amount, expected_on, received in db.session.execute(
        sa.select(Instalment.pledge_id, Instalment.amount, Instalment.expected_on, Instalment.received_amount)
        .where(Instalment.pledge_id.in_(ids))
        .order_by(Instalment.pledge_id, Instalment.expected_on, Instalment.id)
    ):
        instalments.setdefault(pledge_id, []).append(_InstalmentFigures(amount, expected_on, received))
    rows = {}
    for id_, organisation, title, agreed_on, awarded, currency in db.session.execute(
        sa.select(
            Pledge.id,
            Organisation.name,
            Opportunity.title,
            Pledge.agreed_on,
            Pledge.awarded_amount,
            Pledge.currency,
        )
        .join(Organisation, Organisation.id == Pledge.organisation_id)
        .join(Opportunity, Opportunity.id == Pledge.opportunity_id)
        .where(Pledge.id.in_(ids))
    ):
        schedule = instalments.get(id_, [])
        rows[id_] = PledgeRow(
            id_,
            organisation,
            title,
            agreed_on,
            awarded,
            currency,
            sum((instalment.received_amount for instalment in schedule), ZERO),
            tuple(Instalment.status(instalment, on) for instalment in schedule),
        )
    page.items = [rows[id_] for id_ in ids if id_ in rows]
    return page
