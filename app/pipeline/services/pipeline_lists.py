"""The pipeline board's columns and the filtered opportunity list with its totals, in constant queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ...auth.models import User
from ...common.forms import choices
from ...common.money import quantize
from ...common.pagination import paginate_counted
from ...common.time import as_utc, utcnow
from ...common.urls import bounded_int
from ...contributions.totals import from_cents
from ...donors.models import Affiliation, Contact, Introduction, Organisation, OrganisationKind
from ...donors.queries import OrganisationFilters, organisations_statement
from ...extensions import db
from ..models import Opportunity, OpportunitySplit
from ..opportunity_totals import OpportunityTotal, OpportunityYearTotal
from ..stages import CLOSED_STAGES, OPEN_STAGES, Stage
from . import plan as plan_service
from .conversion import MissingPlanRate, to_reporting

ZERO = Decimal("0.00")
#: Won, lost and declined asks stay on the board this long after they closed.
RECENTLY_CLOSED_DAYS = 90
#: The largest asks of each stage shown as cards; the rest are counted, and listed by the stage's filter.
CARDS_PER_COLUMN = 25
#: Biggest first, the latest of equal asks first: the order the indexes by amount serve, read backwards.
LIST_ORDER = (Opportunity.amount.desc(), Opportunity.id.desc())


@dataclass(frozen=True)
class Card:
    """What a card on the board shows of an ask (the columns only, not the ask with its organisation and
    owner loaded whole: a board shows two hundred cards)."""

    id: int
    title: str
    stage: Stage
    probability: int
    amount: Decimal
    currency: str
    next_step: str
    next_step_due_on: date | None
    stage_changed_at: datetime
    organisation_name: str
    owner_name: str

    def days_in_stage(self, on: date) -> int:
        """Whole days since the current stage began."""
        return max((on - as_utc(self.stage_changed_at).date()).days, 0)


CARD_COLUMNS = (
    Opportunity.id,
    Opportunity.title,
    Opportunity.stage,
    Opportunity.probability,
    Opportunity.amount,
    Opportunity.currency,
    Opportunity.next_step,
    Opportunity.next_step_due_on,
    Opportunity.stage_changed_at,
    Organisation.name,
    User.full_name,
)


@dataclass
class BoardColumn:
    stage: Stage
    cards: list[Card]
    totals: dict[str, Decimal]
    count: int = 0

    @property
    def hidden(self) -> int:
        """How many of the column's asks are not shown as cards (the list filtered by stage has them all)."""
        return self.count - len(self.cards)


def board_columns() -> list[BoardColumn]:
    """One column per stage with its count and totals per currency, and its largest asks as cards.

    The open stages' counts and totals are the kept ones (app/pipeline/opportunity_totals.py); the closed
    stages' are those of the asks closed in the last 90 days, a range of an index by stage and date. The cards
    are each stage's CARDS_PER_COLUMN largest asks, read in amount order from an index by stage and amount
    (one limited query per stage, in one statement), with their organisation's and owner's names. Four queries
    whatever the pipeline's size, none of them reading every ask."""
    columns = {stage: BoardColumn(stage, [], {}) for stage in Stage}
    #: Won, lost and declined asks are on the board for 90 days after they closed.
    since = utcnow() - timedelta(days=RECENTLY_CLOSED_DAYS)
    kept = OpportunityTotal
    open_totals = (
        sa.select(kept.stage, kept.currency, sa.func.sum(kept.ask_count), sa.func.sum(kept.amount_cents))
        .where(kept.stage.in_([stage.value for stage in OPEN_STAGES]))
        .group_by(kept.stage, kept.currency)
        .having(sa.func.sum(kept.ask_count) > 0)
    )
    for stage, currency, count, amount in db.session.execute(open_totals):
        column = columns[Stage(stage)]
        column.count += int(count)
        column.totals[currency] = quantize(from_cents(amount), currency)
    for stage, currency, count, amount in db.session.execute(
        sa.select(Opportunity.stage, Opportunity.currency, sa.func.count(), sa.func.sum(Opportunity.amount))
        .where(
            Opportunity.stage.in_([stage.value for stage in CLOSED_STAGES]),
            Opportunity.stage_changed_at >= since,
        )
        .group_by(Opportunity.stage, Opportunity.currency)
    ):
        column = columns[Stage(stage)]
        column.count += count
        column.totals[currency] = quantize(Decimal(amount), currency)
    largest = [
        sa.select(Opportunity.id)
        .where(
            Opportunity.stage == stage,
            *([Opportunity.stage_changed_at >= since] if not stage.is_open else []),
        )
        .order_by(*LIST_ORDER)
        .limit(CARDS_PER_COLUMN)
        .subquery()
        .select()
        for stage in Stage
    ]
    card_ids = sa.union_all(*largest).subquery()
    cards = db.session.execute(
        sa.select(*CARD_COLUMNS)
        .join(Organisation, Organisation.id == Opportunity.organisation_id)
        .join(User, User.id == Opportunity.owner_id)
        .where(Opportunity.id.in_(sa.select(card_ids.c.id)))
        .order_by(*LIST_ORDER)
    )
    for row in cards:
        card = Card(*row)
        columns[card.stage].cards.append(card)
    return list(columns.values())


@dataclass
class Filters:
    owner_id: int | None = None
    stage: Stage | None = None
    fiscal_year: int | None = None
    kind: OrganisationKind | None = None
    restricted: bool | None = None

    @classmethod
    def from_form(cls, form) -> Filters:
        stage = form.stage.data if form.stage.data in {s.value for s in Stage} else None
        kind = form.kind.data if form.kind.data in {k.value for k in OrganisationKind} else None
        return cls(
            owner_id=bounded_int(form.owner.data),
            stage=Stage(stage) if stage else None,
            fiscal_year=form.fiscal_year.data,
            kind=OrganisationKind(kind) if kind else None,
            restricted={"yes": True, "no": False}.get(form.restricted.data),
        )

    def apply(self, query: sa.Select) -> sa.Select:
        if self.owner_id:
            query = query.where(Opportunity.owner_id == self.owner_id)
        if self.stage:
            query = query.where(Opportunity.stage == self.stage)
        if self.fiscal_year:
            query = query.where(
                Opportunity.id.in_(
                    sa.select(OpportunitySplit.opportunity_id).where(
                        OpportunitySplit.fiscal_year == self.fiscal_year
                    )
                )
            )
        if self.kind:
            query = query.where(
                Opportunity.organisation_id.in_(
                    sa.select(Organisation.id).where(Organisation.kind == self.kind)
                )
            )
        if self.restricted is not None:
            query = query.where(Opportunity.is_restricted.is_(self.restricted))
        return query


@dataclass
class OpportunityList:
    page: object  # a Flask-SQLAlchemy Pagination of Opportunity
    totals: dict[str, Decimal]
    converted: Decimal | None
    rates_used: dict[tuple[int, str], Decimal]
    missing_rates: list[MissingPlanRate]
    reporting_currency: str
    filters: Filters = field(default_factory=Filters)


def opportunity_list(filters: Filters) -> OpportunityList:
    """The requested page of asks (`?page=`), and the totals of every ask the filters select: per currency,
    and converted at each split year's plan rate. A page reads its ids in order from an index by amount
    (alone, or after the stage or the owner) and then those asks. The totals are the kept ones
    (app/pipeline/opportunity_totals.py) when the filters are among their keys (stage, owner, restricted),
    else added up from the asks selected. The list costs the same whatever the page."""

    def page_of(limit: int, offset: int) -> sa.Select:
        return filters.apply(sa.select(Opportunity.id)).order_by(*LIST_ORDER).limit(limit).offset(offset)

    if filters.fiscal_year is None and filters.kind is None:
        count, totals, by_year = _kept_totals(filters)
    else:
        count, totals, by_year = _added_up_totals(filters)
    pagination = paginate_counted(page_of, count)
    pagination.items = _list_rows(pagination.items)
    reporting = plan_service.reporting_currency()
    rates = plan_service.rate_table({year for year, _c, _a in by_year})
    converted: Decimal | None = ZERO
    used: dict[tuple[int, str], Decimal] = {}
    missing: set[MissingPlanRate] = set()
    for year, currency, amount in by_year:
        conversion = to_reporting(amount, currency, year, rates, reporting)
        if isinstance(conversion, MissingPlanRate):
            missing.add(conversion)
            converted = None
        else:
            if conversion.rate is not None:
                used[(year, currency)] = conversion.rate
            if converted is not None:
                converted += conversion.amount
    return OpportunityList(
        pagination, totals, converted, dict(sorted(used.items())), sorted(missing), reporting, filters
    )


Totals = tuple[int, dict[str, Decimal], list[tuple[int, str, Decimal]]]


@dataclass(frozen=True)
class ListRow:
    """What a row of the list shows of an ask (its columns, its organisation's and owner's names and its
    split's years: plain values, not the ask with its organisation and owner loaded whole)."""

    id: int
    title: str
    stage: Stage
    probability: int
    amount: Decimal
    currency: str
    is_restricted: bool
    expected_decision_on: date | None
    organisation_name: str
    owner_name: str
    fiscal_years: tuple[int, ...]


def _list_rows(ids: list[int]) -> list[ListRow]:
    """The rows of these asks, in the order of `ids`: one query for the asks, one for their split's years
    (both run for an empty page too, so that a page runs as many queries empty as full)."""
    years: dict[int, list[int]] = {}
    for opportunity_id, fiscal_year in db.session.execute(
        sa.select(OpportunitySplit.opportunity_id, OpportunitySplit.fiscal_year)
        .where(OpportunitySplit.opportunity_id.in_(ids))
        .order_by(OpportunitySplit.opportunity_id, OpportunitySplit.fiscal_year)
    ):
        years.setdefault(opportunity_id, []).append(fiscal_year)
    rows = {
        row[0]: ListRow(*row, tuple(years.get(row[0], ())))
        for row in db.session.execute(
            sa.select(
                Opportunity.id,
                Opportunity.title,
                Opportunity.stage,
                Opportunity.probability,
                Opportunity.amount,
                Opportunity.currency,
                Opportunity.is_restricted,
                Opportunity.expected_decision_on,
                Organisation.name,
                User.full_name,
            )
            .join(Organisation, Organisation.id == Opportunity.organisation_id)
            .join(User, User.id == Opportunity.owner_id)
            .where(Opportunity.id.in_(ids))
        )
    }
    return [rows[id_] for id_ in ids if id_ in rows]


def _kept_totals(filters: Filters) -> Totals:
    """(asks, {currency: amount}, [(fiscal year, currency, split amount)]) from the kept totals."""

    def kept_rows(model, *columns) -> sa.Select:
        query = sa.select(*columns)
        if filters.owner_id:
            query = query.where(model.owner_id == filters.owner_id)
        if filters.stage:
            query = query.where(model.stage == filters.stage)
        if filters.restricted is not None:
            query = query.where(model.is_restricted.is_(filters.restricted))
        return query

    kept, kept_years = OpportunityTotal, OpportunityYearTotal
    totals: dict[str, Decimal] = {}
    count = 0
    for currency, amount, asks in db.session.execute(
        kept_rows(kept, kept.currency, sa.func.sum(kept.amount_cents), sa.func.sum(kept.ask_count))
        .group_by(kept.currency)
        .having(sa.func.sum(kept.ask_count) > 0)
        .order_by(kept.currency)
    ):
        totals[currency] = quantize(from_cents(amount), currency)
        count += int(asks)
    by_year = [
        (year, currency, quantize(from_cents(amount), currency))
        for year, currency, amount in db.session.execute(
            kept_rows(
                kept_years, kept_years.fiscal_year, kept_years.currency, sa.func.sum(kept_years.amount_cents)
            )
            .group_by(kept_years.fiscal_year, kept_years.currency)
            .having(sa.func.sum(kept_years.amount_cents) != 0)
        )
    ]
    return count, totals, by_year


def _added_up_totals(filters: Filters) -> Totals:
    """The same, added up from the asks the filters select (a filter the kept totals have no key for)."""
    selected = Opportunity.id.in_(filters.apply(sa.select(Opportunity.id)))
    totals: dict[str, Decimal] = {}
    count = 0
    for currency, amount, asks in db.session.execute(
        sa.select(Opportunity.currency, sa.func.sum(Opportunity.amount), sa.func.count())
        .where(selected)
        .group_by(Opportunity.currency)
        .order_by(Opportunity.currency)
    ):
        totals[currency] = quantize(Decimal(amount), currency)
        count += asks
    by_year = [
        (year, currency, quantize(Decimal(amount), currency))
        for year, currency, amount in db.session.execute(
            sa.select(
                OpportunitySplit.fiscal_year, Opportunity.currency, sa.func.sum(OpportunitySplit.amount)
            )
            .join(Opportunity, Opportunity.id == OpportunitySplit.opportunity_id)
            .where(selected)
            .group_by(OpportunitySplit.fiscal_year, Opportunity.currency)
        )
    ]
    return count, totals, by_year


def fill_filter_choices(form) -> None:
    """The owner, stage and funder-kind options of the list's filters."""
    form.owner.choices = choices(_users(), blank="Anyone")
    form.stage.choices = choices(((stage.value, stage.label) for stage in Stage), blank="Any stage")
    form.kind.choices = choices(((kind.value, kind.label) for kind in OrganisationKind), blank="Any kind")


def _users():
    return db.session.execute(
        sa.select(User.id, User.full_name).where(User.is_active_account.is_(True)).order_by(User.full_name)
    ).all()


#: Organisations the "new opportunity" chooser lists at most.
CHOOSER_LIMIT = 20


def organisation_choices_for_new(query: str, owner_id: int) -> list[Organisation]:
    """The organisations a new ask can be for: those matching `query` (name, contact name or e-mail, as the
    donors list searches), else the person's own; at most CHOOSER_LIMIT, by name."""
    filters = OrganisationFilters(query=query) if query.strip() else OrganisationFilters(owner_id=owner_id)
    return list(db.session.scalars(organisations_statement(filters).limit(CHOOSER_LIMIT)).unique())


def fill_opportunity_choices(form, organisation_id: int | None, keep_contact_ids=()) -> None:
    """Owners, and the organisation's own contacts and introductions, for the opportunity form.

    The form is for one organisation: its choices are that organisation's people (anyone who has been at it,
    and the contacts the ask already names), never every contact, so that the form stays small with 200,000
    of them. No organisation, or one that does not exist, leaves only the blank choices."""
    organisations = db.session.execute(
        sa.select(Organisation.id, Organisation.name).where(Organisation.id == organisation_id)
    ).all()
    people = sa.select(Affiliation.contact_id).where(Affiliation.organisation_id == organisation_id)
    contacts = db.session.execute(
        sa.select(Contact.id, Contact.name)
        .where(
            Contact.erased_at.is_(None),
            sa.or_(Contact.id.in_(people), Contact.id.in_([i for i in keep_contact_ids if i])),
        )
        .order_by(Contact.name, Contact.id)
    ).all()
    introductions = db.session.scalars(
        sa.select(Introduction)
        .where(Introduction.target_contact_id.in_(people))
        .options(joinedload(Introduction.target_contact), joinedload(Introduction.connector))
        .order_by(Introduction.requested_on.desc(), Introduction.id)
    ).all()
    form.organisation_id.choices = choices(organisations, blank="Choose an organisation")
    form.owner_id.choices = choices(_users(), blank="Choose the owner")
    form.primary_contact_id.choices = choices(contacts, blank="None")
    form.introduction_id.choices = choices(
        (
            (i.id, f"{i.target_contact.name} via {i.connector.name} ({i.requested_on.isoformat()})")
            for i in introductions
        ),
        blank="None",
    )
    for row in form.contacts:
        row.contact_id.choices = choices(contacts, blank="None")
