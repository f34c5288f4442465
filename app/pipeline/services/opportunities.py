"""Opportunities: create and change them, move them through the stages, and keep their fiscal-year split."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from ...auth.models import User
from ...common.errors import DomainError, ValidationFailed
from ...common.money import is_currency, quantize
from ...common.time import today, utcnow
from ...donors.models import Contact, Introduction, Organisation
from ...extensions import db
from ..models import Opportunity, OpportunityContact, OpportunitySplit, StageChange
from ..stages import Stage
from .arithmetic import SplitDoesNotAddUp, SplitRow, check_split, weighted


class StageChangeRefused(DomainError):
    """The move asked for breaks a rule (a won opportunity has a pledge, lost needs a reason...)."""


@dataclass
class OpportunityDetails:
    organisation_id: int | None
    title: str
    owner_id: int | None
    amount: Decimal | None
    currency: str
    split: list[SplitRow]
    primary_contact_id: int | None = None
    is_restricted: bool = False
    purpose: str = ""
    expected_decision_on: date | None = None
    proposal_due_on: date | None = None
    next_step: str = ""
    next_step_due_on: date | None = None
    introduction_id: int | None = None
    #: None keeps the stage's default.
    probability: int | None = None
    #: Other people involved: (contact id, their role in this ask).
    contacts: list[tuple[int, str]] = field(default_factory=list)


def _validate(details: OpportunityDetails) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    currency = (details.currency or "").strip().upper()
    details.currency = currency
    if not details.title or not details.title.strip():
        errors["title"] = ["Give the ask a title."]
    if details.organisation_id is None or db.session.get(Organisation, details.organisation_id) is None:
        errors["organisation_id"] = ["Choose the organisation asked."]
    owner = db.session.get(User, details.owner_id) if details.owner_id else None
    if owner is None or not owner.is_active:
        errors["owner_id"] = ["Choose an active user as the owner."]
    if not is_currency(currency):
        errors["currency"] = ["Give an ISO 4217 currency code such as USD."]
    if details.amount is None or details.amount <= 0:
        errors["amount"] = ["Give an amount above zero."]
    elif is_currency(currency) and quantize(details.amount, currency) != details.amount:
        errors["amount"] = [f"{currency} amounts have at most its decimals."]
    if details.is_restricted and not (details.purpose or "").strip():
        errors["purpose"] = ["Say what a restricted ask is for."]
    if details.probability is not None and not 0 <= details.probability <= 100:
        errors["probability"] = ["A probability is between 0 and 100."]
    if details.primary_contact_id and db.session.get(Contact, details.primary_contact_id) is None:
        errors["primary_contact_id"] = ["Choose a contact from the list."]
    if details.introduction_id and db.session.get(Introduction, details.introduction_id) is None:
        errors["introduction_id"] = ["Choose an introduction from the list."]
    if "amount" not in errors and "currency" not in errors:
        try:
            details.split = check_split(details.amount, details.split, currency)
        except SplitDoesNotAddUp as problem:
            errors["split"] = [str(problem)]
    return errors


def _apply(opportunity: Opportunity, details: OpportunityDetails) -> None:
    opportunity.organisation_id = details.organisation_id
    opportunity.title = details.title.strip()
    opportunity.owner_id = details.owner_id
    opportunity.amount = details.amount
    opportunity.currency = details.currency
    opportunity.primary_contact_id = details.primary_contact_id or None
    opportunity.is_restricted = details.is_restricted
    opportunity.purpose = (details.purpose or "").strip() if details.is_restricted else ""
    opportunity.expected_decision_on = details.expected_decision_on
    opportunity.proposal_due_on = details.proposal_due_on
    opportunity.next_step = (details.next_step or "").strip()
    opportunity.next_step_due_on = details.next_step_due_on
    opportunity.introduction_id = details.introduction_id or None
    if details.probability is not None:
        opportunity.probability = details.probability
    by_year = {split.fiscal_year: split for split in opportunity.splits}
    wanted = {row.fiscal_year: row.amount for row in details.split}
    for year, split in by_year.items():
        if year not in wanted:
            opportunity.splits.remove(split)
    for year, amount in wanted.items():
        if year in by_year:
            by_year[year].amount = amount
        else:
            opportunity.splits.append(OpportunitySplit(fiscal_year=year, amount=amount))
    current = {link.contact_id: link for link in opportunity.contacts}
    wanted_contacts = dict(details.contacts)
    for contact_id, link in current.items():
        if contact_id not in wanted_contacts:
            opportunity.contacts.remove(link)
    for contact_id, role in wanted_contacts.items():
        if contact_id in current:
            current[contact_id].role = role
        else:
            opportunity.contacts.append(OpportunityContact(contact_id=contact_id, role=role))


def create_opportunity(details: OpportunityDetails, user) -> Opportunity:
    """A new ask at the identified stage, its split checked to add up to the amount."""
    errors = _validate(details)
    if errors:
        raise ValidationFailed("The opportunity was not saved.", errors)
    opportunity = Opportunity(stage=Stage.IDENTIFIED, probability=Stage.IDENTIFIED.default_probability)
    _apply(opportunity, details)
    opportunity.stage_changes.append(
        StageChange(from_stage=None, to_stage=Stage.IDENTIFIED, changed_by_id=user.id)
    )
    db.session.add(opportunity)
    db.session.flush()
    return opportunity


def update_opportunity(opportunity: Opportunity, details: OpportunityDetails, user) -> Opportunity:
    """Change an ask's details and split; a won ask's amount is the pledge's business, not the ask's."""
    errors = _validate(details)
    if opportunity.stage == Stage.WON and (
        details.amount != opportunity.amount or details.currency != opportunity.currency
    ):
        errors.setdefault("amount", []).append("This ask is won: change the award on its pledge instead.")
    if errors:
        raise ValidationFailed("The opportunity was not saved.", errors)
    _apply(opportunity, details)
    db.session.flush()
    return opportunity


def move_stage(
    opportunity: Opportunity,
    stage: Stage,
    user,
    reason: str = "",
    probability: int | None = None,
    agreed_on: date | None = None,
) -> StageChange | None:
    """Move an ask to another stage (kept with date, user and reason); winning it creates its pledge."""
    from .pledges import create_pledge

    reason = (reason or "").strip()
    if stage == opportunity.stage:
        return None
    if opportunity.stage == Stage.WON:
        raise StageChangeRefused("This ask is won and has a pledge; it no longer moves between stages.")
    if stage.needs_reason and not reason:
        raise ValidationFailed(
            f"Say why the ask was {stage.label.lower()}.",
            {"reason": [f"Say why it was {stage.label.lower()}."]},
        )
    if probability is not None and not 0 <= probability <= 100:
        raise ValidationFailed("A probability is between 0 and 100.", {"probability": ["Between 0 and 100."]})
    change = StageChange(from_stage=opportunity.stage, to_stage=stage, changed_by_id=user.id, reason=reason)
    opportunity.stage_changes.append(change)
    opportunity.stage = stage
    opportunity.stage_changed_at = utcnow()
    opportunity.probability = (
        probability if probability is not None and stage.is_open else stage.default_probability
    )
    opportunity.close_reason = reason if stage.needs_reason else ""
    db.session.flush()
    if stage == Stage.WON:
        create_pledge(opportunity, user, agreed_on=agreed_on or today())
    return change


def open_opportunities_query() -> sa.Select:
    """Asks still in play, biggest first."""
    return sa.select(Opportunity).where(
        Opportunity.stage.in_([stage.value for stage in Stage if stage.is_open])
    )


def weighted_value(opportunity: Opportunity) -> Decimal:
    """The ask's amount times its probability."""
    return weighted(opportunity.amount, opportunity.probability, opportunity.currency)
