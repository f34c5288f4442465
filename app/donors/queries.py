"""Read-side queries for the donor pages: the filtered organisation list, "who can introduce us", next steps.

Each returns a statement or a fixed number of queries' worth of rows, so that pages run a constant number of
queries whatever the data size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from . import search
from .models import (
    Affiliation,
    Connection,
    Connector,
    Contact,
    Gift,
    Interaction,
    Introduction,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    Theme,
    interaction_contacts,
    interaction_staff,
    organisation_themes,
)

#: Rows per page of a section of a detail page (contacts, introductions, connections).
SECTION_ROWS = 10


@dataclass(frozen=True)
class OrganisationFilters:
    """What the organisation list can be narrowed by; None or "" means any."""

    query: str = ""
    kind: OrganisationKind | None = None
    status: OrganisationStatus | None = None
    owner_id: int | None = None
    country_code: str | None = None
    theme_id: int | None = None

    @property
    def is_empty(self) -> bool:
        return not (
            self.query.strip()
            or self.kind
            or self.status
            or self.owner_id
            or self.country_code
            or self.theme_id
        )


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def matching_organisation_ids(query: str) -> sa.Select:
    """Ids of organisations whose name, or a (current or past) contact's name or e-mail, contains `query`."""
    dialect = _dialect()
    by_name = search.matching_ids(Organisation.__table__, query, dialect)
    by_contact = sa.select(Affiliation.organisation_id).where(
        Affiliation.contact_id.in_(search.matching_ids(Contact.__table__, query, dialect))
    )
    return sa.union(by_name, by_contact)


def organisations_statement(filters: OrganisationFilters) -> sa.Select:
    """The filtered organisation list, by name, with owner and themes loaded in a fixed number of queries."""
    return filtered_organisations(filters).options(
        joinedload(Organisation.owner), selectinload(Organisation.themes)
    )


def filtered_organisations(filters: OrganisationFilters) -> sa.Select:
    """The filtered organisation list, by name: the organisations alone (no related rows loaded)."""
    statement = sa.select(Organisation)
    if filters.query.strip():
        statement = statement.where(Organisation.id.in_(matching_organisation_ids(filters.query)))
    if filters.kind:
        statement = statement.where(Organisation.kind == filters.kind)
    if filters.status:
        statement = statement.where(Organisation.status == filters.status)
    if filters.owner_id:
        statement = statement.where(Organisation.owner_id == filters.owner_id)
    if filters.country_code:
        statement = statement.where(Organisation.country_code == filters.country_code)
    if filters.theme_id:
        # EXISTS, probed per row of the list's order index: as IN, SQLite read every organisation of the theme
        # (a quarter of them) by id and sorted them for each page.
        statement = statement.where(
            sa.exists().where(
                organisation_themes.c.organisation_id == Organisation.id,
                organisation_themes.c.theme_id == filters.theme_id,
            )
        )
    return statement.order_by(Organisation.search_text, Organisation.id)


#: How many current contacts a row of the organisation list names ("and N more" after them).
NAMED_CONTACTS = 3
#: What separates the names a row of the list shows (themes, contacts).
NAMES_SEPARATOR = ", "


class ListedOrganisation(NamedTuple):
    """A row of the organisation list: the columns of `organisation_list_rows`, in its order."""

    id: int
    name: str
    kind: OrganisationKind
    status: OrganisationStatus
    country_code: str | None
    owner_name: str | None
    #: The organisation's themes by name, joined by NAMES_SEPARATOR ("" without any).
    theme_names: str | None
    #: Its first NAMED_CONTACTS current contacts by name, joined by NAMES_SEPARATOR.
    contact_names: str | None
    current_contacts: int

    @property
    def more_contacts(self) -> int:
        """How many current contacts the row does not name."""
        return max(0, self.current_contacts - NAMED_CONTACTS)


def _joined_names(names: sa.Select) -> sa.ScalarSelect:
    """The names a one-column select gives (in its ORDER BY, which sorts by that column), joined by
    NAMES_SEPARATOR: string_agg ordered on PostgreSQL; on SQLite (3.40, whose group_concat takes no ORDER BY)
    group_concat over the ordered subquery, which it reads in that order."""
    listed = names.subquery()
    name = listed.c[0]
    if _dialect() == "postgresql":
        # string_agg(name, ', ' ORDER BY name): the ORDER BY goes after the last argument.
        joined = sa.func.string_agg(name, aggregate_order_by(sa.literal(NAMES_SEPARATOR), name))
    else:
        joined = sa.func.group_concat(name, NAMES_SEPARATOR)
    return sa.select(joined).scalar_subquery()


def organisation_list_rows(page_ids: sa.Subquery) -> sa.Select:
    """What each row of the organisation list shows, for the page's ids (see paginate(rows=...)): plain
    columns, the themes and the first current contacts' names aggregated per row, no objects built."""
    current = sa.and_(Affiliation.organisation_id == Organisation.id, Affiliation.ended_on.is_(None))
    themes = (
        sa.select(Theme.name)
        .join(organisation_themes, organisation_themes.c.theme_id == Theme.id)
        .where(organisation_themes.c.organisation_id == Organisation.id)
        .order_by(Theme.name)
        .correlate(Organisation)
    )
    contacts = (
        sa.select(Contact.name)
        .join(Affiliation, Affiliation.contact_id == Contact.id)
        .where(current)
        .order_by(Contact.name)
        .limit(NAMED_CONTACTS)
        .correlate(Organisation)
    )
    from ..auth.models import User

    return (
        sa.select(
            Organisation.id,
            Organisation.name,
            Organisation.kind,
            Organisation.status,
            Organisation.country_code,
            User.full_name.label("owner_name"),
            _joined_names(themes).label("theme_names"),
            _joined_names(contacts).label("contact_names"),
            sa.select(sa.func.count()).select_from(Affiliation).where(current).scalar_subquery(),
        )
        .join(page_ids, page_ids.c.id == Organisation.id)
        .outerjoin(User, User.id == Organisation.owner_id)
    )


def current_affiliations(organisation_id: int) -> sa.Select:
    return (
        sa.select(Affiliation)
        .where(Affiliation.organisation_id == organisation_id, Affiliation.ended_on.is_(None))
        .options(joinedload(Affiliation.contact))
    )


def _current_contact_ids(organisation_id: int) -> sa.Select:
    return sa.select(Affiliation.contact_id).where(
        Affiliation.organisation_id == organisation_id, Affiliation.ended_on.is_(None)
    )


def who_can_introduce_statement(organisation_id: int) -> sa.Select:
    """Every connection that reaches one of the organisation's current contacts, by connector."""
    return (
        sa.select(Connection)
        .join(Connection.connector)
        .where(Connection.contact_id.in_(_current_contact_ids(organisation_id)))
        .options(
            joinedload(Connection.connector).joinedload(Connector.user),
            joinedload(Connection.contact),
        )
        .order_by(Connector.name, Connection.id)
    )


def who_can_introduce(organisation_id: int) -> list[Connection]:
    """Every connection that reaches one of the organisation's current contacts."""
    return list(db.session.scalars(who_can_introduce_statement(organisation_id)))


@dataclass(frozen=True)
class OrganisationCounts:
    """How many rows each section of the organisation page has, counted in one query."""

    current_contacts: int
    past_contacts: int
    introducers: int
    introductions: int
    interactions: int
    gifts: int


def organisation_counts(organisation_id: int) -> OrganisationCounts:
    def count(model, *conditions) -> sa.ScalarSelect:
        return sa.select(sa.func.count()).select_from(model).where(*conditions).scalar_subquery()

    at_organisation = Affiliation.organisation_id == organisation_id
    row = db.session.execute(
        sa.select(
            count(Affiliation, at_organisation, Affiliation.ended_on.is_(None)),
            count(Affiliation, at_organisation, Affiliation.ended_on.is_not(None)),
            count(Connection, Connection.contact_id.in_(_current_contact_ids(organisation_id))),
            count(Introduction, Introduction.organisation_id == organisation_id),
            count(Interaction, Interaction.organisation_id == organisation_id),
            count(Gift, Gift.organisation_id == organisation_id),
        )
    ).one()
    return OrganisationCounts(*row)


@dataclass(frozen=True)
class ContactCounts:
    """How many rows each paged section of the contact page has, and their gifts, counted in one query."""

    interactions: int
    introductions: int
    gifts: int


def contact_counts(contact_id: int) -> ContactCounts:
    def count(table, *conditions) -> sa.ScalarSelect:
        return sa.select(sa.func.count()).select_from(table).where(*conditions).scalar_subquery()

    row = db.session.execute(
        sa.select(
            count(interaction_contacts, interaction_contacts.c.contact_id == contact_id),
            count(Introduction, Introduction.target_contact_id == contact_id),
            count(Gift, Gift.contact_id == contact_id),
        )
    ).one()
    return ContactCounts(*row)


def _open_steps_of(owner_id: int) -> tuple[sa.ColumnElement[bool], ...]:
    # The same conditions as the partial index ix_interactions_open_next_steps_due, written as its predicate
    # is (a literal '', not a bound parameter), so that both databases see that the index serves them.
    return (
        Interaction.next_step_owner_id == owner_id,
        Interaction.next_step_done_at.is_(None),
        Interaction.next_step.op("<>")(sa.literal_column("''")),
    )


def _next_step_order() -> tuple:
    """Overdue first, then by due date, undated last."""
    return (Interaction.next_step_due_on.is_(None), Interaction.next_step_due_on, Interaction.id)


def open_next_steps_page(owner_id: int):
    """A function of (limit, offset) giving a page of the user's open next steps: the page's ids are picked
    from the index alone, then only those rows are read (with their organisation)."""

    def page(limit: int, offset: int) -> sa.Select:
        ids = (
            sa.select(Interaction.id)
            .where(*_open_steps_of(owner_id))
            .order_by(*_next_step_order())
            .limit(limit)
            .offset(offset)
        )
        return (
            sa.select(Interaction)
            .where(Interaction.id.in_(ids))
            .options(joinedload(Interaction.organisation))
            .order_by(*_next_step_order())
        )

    return page


def open_next_steps(owner_id: int, limit: int) -> list[Interaction]:
    """The user's first `limit` open next steps (overdue first, then by due date, undated last)."""
    return list(db.session.scalars(open_next_steps_page(owner_id)(limit, 0)))


def next_step_counts(owner_id: int, today: date) -> tuple[int, int]:
    """(open, overdue) next steps of the user, counted in SQL: overdue means due before `today`."""
    row = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count().filter(Interaction.next_step_due_on < today),
        ).where(*_open_steps_of(owner_id))
    ).one()
    return row[0], row[1]


def is_overdue(interaction: Interaction, today: date) -> bool:
    return interaction.next_step_due_on is not None and interaction.next_step_due_on < today


def current_contact_choices(organisation_id: int) -> list[sa.Row]:
    """(id, name) of the organisation's current contacts, by name, for a select: plain rows, not the
    affiliations and contacts as ORM objects (the biggest organisation has over a thousand)."""
    return list(
        db.session.connection().execute(
            sa.select(Contact.id, Contact.name)
            .join(Affiliation, Affiliation.contact_id == Contact.id)
            .where(Affiliation.organisation_id == organisation_id, Affiliation.ended_on.is_(None))
            .order_by(Contact.name, Contact.id)
        )
    )


def interaction_people(interaction_ids: list[int]) -> dict[int, list[str]]:
    """For a page of interactions: who took part, contacts then staff, each by name, in one query."""
    if not interaction_ids:
        return {}
    from ..auth.models import User

    contacts = (
        sa.select(
            interaction_contacts.c.interaction_id, sa.literal(0).label("side"), Contact.name.label("name")
        )
        .join(Contact, Contact.id == interaction_contacts.c.contact_id)
        .where(interaction_contacts.c.interaction_id.in_(interaction_ids))
    )
    staff = (
        sa.select(
            interaction_staff.c.interaction_id, sa.literal(1).label("side"), User.full_name.label("name")
        )
        .join(User, User.id == interaction_staff.c.user_id)
        .where(interaction_staff.c.interaction_id.in_(interaction_ids))
    )
    people = sa.union_all(contacts, staff).subquery()
    names: dict[int, list[str]] = {}
    for interaction_id, _, name in db.session.execute(
        sa.select(people).order_by(people.c.interaction_id, people.c.side, people.c.name)
    ):
        names.setdefault(interaction_id, []).append(name)
    return names


def count_interactions(organisation_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Interaction.id)).where(Interaction.organisation_id == organisation_id)
    )


def gift_totals(organisation_id: int) -> dict[str, Decimal]:
    """Everything the organisation gave, per currency (never added across currencies)."""
    rows = db.session.execute(
        sa.select(Gift.currency, sa.func.sum(Gift.amount))
        .where(Gift.organisation_id == organisation_id)
        .group_by(Gift.currency)
        .order_by(Gift.currency)
    )
    return {currency: Decimal(total) for currency, total in rows}


def current_organisations(contact_ids: list[int]) -> dict[int, Affiliation]:
    """For a list of contacts: each one's current position (the latest begun), organisation loaded."""
    if not contact_ids:
        return {}
    affiliations = db.session.scalars(
        sa.select(Affiliation)
        .where(Affiliation.contact_id.in_(contact_ids), Affiliation.ended_on.is_(None))
        .options(joinedload(Affiliation.organisation))
        .order_by(Affiliation.started_on.desc().nulls_last(), Affiliation.id.desc())
    )
    current: dict[int, Affiliation] = {}
    for affiliation in affiliations:
        current.setdefault(affiliation.contact_id, affiliation)
    return current


def gift_years(organisation_id: int) -> list[int]:
    """The calendar years in which the organisation gave, newest first."""
    year = sa.extract("year", Gift.received_on)
    return [
        int(value)
        for value in db.session.scalars(
            sa.select(year)
            .where(Gift.organisation_id == organisation_id)
            .group_by(year)
            .order_by(year.desc())
        )
    ]
