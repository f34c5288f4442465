"""Demo donors for `flask seed-demo`: a few hundred funders with contacts (some who moved), connectors from
board and the Steering Committee, introductions in every state, a year of interactions with open and overdue
next steps, and gifts in USD, EUR and GBP.

Rows go in with bulk inserts (a few thousand rows in well under a second); the search columns are filled the
way the models fill them. Running it twice adds nothing.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from ..auth.models import User
from ..auth.permissions import Role
from ..common.time import today
from ..extensions import db
from ..hubs.models import Hub, HubKind
from .models import (
    AcknowledgementStatus,
    Affiliation,
    Connection,
    Connector,
    ConnectorRole,
    Contact,
    Gift,
    GiftMethod,
    Interaction,
    InteractionKind,
    Introduction,
    IntroductionStatus,
    Language,
    LawfulBasis,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    Theme,
    interaction_contacts,
    interaction_staff,
    organisation_themes,
)
from .text import fold, name_key

ORGANISATIONS = 320
THEMES = [
    "Anti-corruption",
    "Civic space",
    "Gender and inclusion",
    "Public services",
    "Open data",
    "Climate and environment",
    "Fiscal openness",
    "Justice",
]
#: (kind, name patterns, countries); {0} and {1} are filled from the word lists below.
KINDS = [
    (
        OrganisationKind.PRIVATE_FOUNDATION,
        ["{0} Foundation", "The {0} {1} Fund", "{0} Family Foundation"],
        "US",
    ),
    (OrganisationKind.PRIVATE_FOUNDATION, ["Fondation {0}", "Fondation pour {1}"], "FR"),
    (OrganisationKind.PRIVATE_FOUNDATION, ["Fundação {0}", "Instituto {0} {1}"], "BR"),
    (OrganisationKind.PRIVATE_FOUNDATION, ["Stiftung {0}", "{0}-Stiftung"], "DE"),
    (OrganisationKind.PRIVATE_FOUNDATION, ["Fundación {0}", "Fundación {0} {1}"], "ES"),
    (OrganisationKind.CORPORATE_FOUNDATION, ["{0} Corporate Foundation", "{0} Group Foundation"], "GB"),
    (OrganisationKind.COMPANY, ["{0} {1} Ltd", "{0} Partners"], "GB"),
    (OrganisationKind.INDIVIDUAL, ["{0} Family Office"], "CH"),
    (OrganisationKind.MULTILATERAL, ["{1} Trust Fund", "{0} Development Facility"], "CH"),
]
AGENCIES = [
    ("Swedish International Development Cooperation Agency (Sida)", "SE"),
    ("Norwegian Agency for Development Cooperation (Norad)", "NO"),
    ("Foreign, Commonwealth & Development Office (FCDO)", "GB"),
    ("Agence française de développement (AFD)", "FR"),
    ("Deutsche Gesellschaft für Internationale Zusammenarbeit (GIZ)", "DE"),
    ("Agencia Española de Cooperación Internacional para el Desarrollo (AECID)", "ES"),
    ("Global Affairs Canada", "CA"),
    ("Enabel, Belgian development agency", "BE"),
]
WORDS = [
    "Aurora",
    "Beaumont",
    "Calloway",
    "Dumont",
    "Élan",
    "Faria",
    "Gómez",
    "Hartwell",
    "Iris",
    "Jansen",
    "Kestrel",
    "Lumière",
    "Marés",
    "Northgate",
    "Oakridge",
    "Paulo",
    "Quinta",
    "Ribeiro",
    "São Paulo",
    "Tessier",
    "Úrsula",
    "Valcourt",
    "Westbrook",
    "Xavier",
    "Yates",
    "Zúñiga",
    "Émile Durand",
    "Bellevue",
    "Horizon",
    "Meridian",
    "Solstice",
    "Cedar",
    "Lindqvist",
    "Moreau",
    "Ortega",
    "Prisma",
]
FIRST_NAMES = [
    "Ana",
    "Beatriz",
    "Camille",
    "David",
    "Élodie",
    "Fatou",
    "Gabriel",
    "Hélène",
    "Ingrid",
    "João",
    "Karin",
    "Luis",
    "María",
    "Noah",
    "Olivia",
    "Pierre",
    "Rania",
    "Sofía",
    "Tomás",
    "Ursula",
    "Valentina",
    "William",
    "Yasmin",
    "Zoë",
    "Amélie",
    "Björn",
    "Chloé",
    "Diego",
    "Íñigo",
    "Maëlle",
]
LAST_NAMES = [
    "Alves",
    "Bernard",
    "Costa",
    "Dubois",
    "Eriksson",
    "Fernández",
    "García",
    "Hoffmann",
    "Ibáñez",
    "Jensen",
    "Kowalski",
    "Lefèvre",
    "Müller",
    "Nakamura",
    "Okafor",
    "Pereira",
    "Quintero",
    "Rossi",
    "Schmidt",
    "Thompson",
    "Umar",
    "Vázquez",
    "Wójcik",
    "Xu",
    "Young",
    "Zimmermann",
    "Núñez",
    "Brontë",
    "Ødegaard",
    "Çelik",
]
ROLES = [
    "Programme Officer",
    "Senior Programme Officer",
    "Director of Programmes",
    "Grants Manager",
    "Head of Governance",
    "Executive Director",
    "Partnerships Lead",
]
CONNECTORS = [
    ("Margaret Okonjo", ConnectorRole.BOARD),
    ("Henrik Lindgren", ConnectorRole.BOARD),
    ("Isabel Fontaine", ConnectorRole.BOARD),
    ("Rafael Mendes", ConnectorRole.STEERING_COMMITTEE),
    ("Amina Diallo", ConnectorRole.STEERING_COMMITTEE),
    ("Jonas Weber", ConnectorRole.STEERING_COMMITTEE),
    ("Lucía Herrera", ConnectorRole.STEERING_COMMITTEE),
    ("Priya Raman", ConnectorRole.STEERING_COMMITTEE),
    ("Tom Gallagher", ConnectorRole.OTHER),
]
NATURES = [
    "Former colleague",
    "Steering Committee member, former colleague",
    "Served on a board together",
    "University friend",
    "Met at the OGP summit",
    "Former grantee",
]
SUMMARIES = [
    "Discussed the governance programme and their next funding round.",
    "Introduced our work on open contracting; they asked for results from the last two years.",
    "Annual check-in: priorities unchanged, budget tighter next year.",
    "Site visit to the Nairobi partners; strong interest in the civic space work.",
    "Call about the reporting template and the timing of the next instalment.",
]
NEXT_STEPS = [
    "Send the concept note",
    "Share the annual report",
    "Propose a call with the CEO",
    "Send the budget breakdown",
    "Invite to the June event",
    "Follow up on the proposal",
]


def seed_demo() -> int:
    """The demo donors, made once: returns the number of organisations added."""
    if db.session.scalar(sa.select(sa.func.count(Organisation.id))):
        return 0
    rng = random.Random(2026)
    staff = list(
        db.session.scalars(
            sa.select(User).where(User.role.in_([Role.FUNDRAISING, Role.ADMIN])).order_by(User.id)
        )
    )
    board_user = db.session.scalar(sa.select(User).where(User.role == Role.BOARD).order_by(User.id))
    hubs = list(db.session.scalars(sa.select(Hub).order_by(Hub.id)))
    if not staff or not hubs:
        return 0
    on = today()

    theme_ids = _insert(Theme, [{"name": name} for name in THEMES])
    organisation_rows = _organisation_rows(rng, staff)
    organisation_ids = _insert(Organisation, organisation_rows)
    _bulk(
        organisation_themes,
        [
            {"organisation_id": organisation_id, "theme_id": theme_id}
            for organisation_id in organisation_ids
            for theme_id in rng.sample(theme_ids, rng.randint(1, 3))
        ],
    )

    contact_rows, contact_homes = _contact_rows(rng, organisation_ids, organisation_rows)
    contact_ids = _insert(Contact, contact_rows)
    affiliations = []
    current_at: dict[int, int] = {}
    for contact_id, home in zip(contact_ids, contact_homes, strict=True):
        started = on - timedelta(days=rng.randint(400, 3000))
        if rng.random() < 0.12:  # someone who moved: a past position, then a current one elsewhere
            earlier = rng.choice(organisation_ids)
            moved = on - timedelta(days=rng.randint(60, 380))
            affiliations.append(_affiliation(contact_id, earlier, rng.choice(ROLES), started, moved))
            started = moved
        affiliations.append(_affiliation(contact_id, home, rng.choice(ROLES), started, None))
        current_at[contact_id] = home
    _bulk(Affiliation.__table__, affiliations)

    connector_rows = [
        {"name": name, "role": role, "user_id": None, "contact_id": None, "email": "", "notes": ""}
        for name, role in CONNECTORS
    ]
    if board_user is not None:  # a board member with a login is a connector too
        connector_rows.append(
            {
                "name": board_user.full_name,
                "role": ConnectorRole.BOARD,
                "user_id": board_user.id,
                "contact_id": None,
                "email": board_user.email,
                "notes": "",
            }
        )
    connector_ids = _insert(Connector, connector_rows)
    known = rng.sample(contact_ids, min(len(contact_ids), 260))
    connections = [
        {"connector_id": rng.choice(connector_ids), "contact_id": contact_id, "nature": rng.choice(NATURES)}
        for contact_id in known
    ]
    _bulk(Connection.__table__, connections)

    statuses = [s for s in IntroductionStatus] * 10
    introductions = []
    for index, status in enumerate(statuses):
        connection = connections[index]
        asked = on - timedelta(days=rng.randint(5, 300))
        introductions.append(
            {
                "connector_id": connection["connector_id"],
                "target_contact_id": connection["contact_id"],
                "organisation_id": current_at[connection["contact_id"]],
                "requested_by_id": rng.choice(staff).id,
                "for_user_id": staff[0].id,
                "status": status,
                "requested_on": asked,
                "status_changed_on": None
                if status is IntroductionStatus.REQUESTED
                else asked + timedelta(days=12),
                "purpose": "Meet the programme team about the governance portfolio.",
                "outcome": {
                    "made": "Lunch with the CEO; invited to apply.",
                    "declined": "Not the right time.",
                }.get(status.value, ""),
            }
        )
    introduction_ids = _insert(Introduction, introductions)
    made = [i for i, row in zip(introduction_ids, introductions, strict=True) if row["status"] == "made"]

    _seed_interactions(rng, on, organisation_ids, contact_ids, current_at, staff)
    _seed_gifts(
        rng, on, organisation_ids, organisation_rows, hubs, staff, made, introductions, introduction_ids
    )
    return len(organisation_ids)


def _organisation_rows(rng: random.Random, staff: list[User]) -> list[dict]:
    rows, seen = [], set()
    for name, country in AGENCIES:
        rows.append(_organisation(name, OrganisationKind.BILATERAL_AGENCY, country, rng, staff))
        seen.add(name_key(name))
    while len(rows) < ORGANISATIONS:
        kind, patterns, country = rng.choice(KINDS)
        name = rng.choice(patterns).format(rng.choice(WORDS), rng.choice(WORDS))
        if name_key(name) in seen:
            continue
        seen.add(name_key(name))
        rows.append(_organisation(name, kind, country, rng, staff))
    return rows


def _organisation(name, kind, country, rng, staff) -> dict:
    return {
        "name": name,
        "name_key": name_key(name),
        "search_text": fold(name),
        "kind": kind,
        "country_code": country,
        "website": f"https://www.{name_key(name).replace(' ', '')[:24]}.example",
        "status": rng.choice(
            [OrganisationStatus.PROSPECT] * 3 + [OrganisationStatus.ACTIVE] * 2 + [OrganisationStatus.LAPSED]
        ),
        "owner_id": rng.choice(staff).id,
        "notes": "",
    }


def _contact_rows(rng, organisation_ids, organisation_rows) -> tuple[list[dict], list[int]]:
    rows, homes = [], []
    for organisation_id, organisation in zip(organisation_ids, organisation_rows, strict=True):
        domain = organisation["website"].removeprefix("https://www.")
        for _ in range(rng.randint(1, 3)):
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            email = f"{name_key(name).replace(' ', '.')}@{domain}"
            language = {"FR": Language.FR, "BE": Language.FR, "ES": Language.ES}.get(
                organisation["country_code"], Language.EN
            )
            rows.append(
                {
                    "name": name,
                    "name_key": name_key(name),
                    "title": "",
                    "email": email,
                    "email_key": email.casefold(),
                    "phone": "",
                    "language": language,
                    "do_not_contact": rng.random() < 0.04,
                    "notes": "",
                    "search_text": Contact.search_text_for(name, email),
                    "lawful_basis": LawfulBasis.LEGITIMATE_INTEREST,
                    "source": "Demo data",
                    "email_consent": False,
                }
            )
            homes.append(organisation_id)
    return rows, homes


def _affiliation(contact_id, organisation_id, role, started_on, ended_on) -> dict:
    return {
        "contact_id": contact_id,
        "organisation_id": organisation_id,
        "role": role,
        "started_on": started_on,
        "ended_on": ended_on,
    }


def _seed_interactions(rng, on, organisation_ids, contact_ids, current_at, staff) -> None:
    by_organisation: dict[int, list[int]] = {}
    for contact_id in contact_ids:
        by_organisation.setdefault(current_at[contact_id], []).append(contact_id)
    rows, participants = [], []
    for _ in range(700):
        organisation_id = rng.choice(organisation_ids)
        occurred = on - timedelta(days=rng.randint(0, 365))
        has_step = rng.random() < 0.2
        due = occurred + timedelta(days=rng.randint(7, 60)) if has_step else None
        done = has_step and due is not None and due < on and rng.random() < 0.85
        rows.append(
            {
                "kind": rng.choice(list(InteractionKind)),
                "occurred_on": occurred,
                "organisation_id": organisation_id,
                "summary": rng.choice(SUMMARIES),
                "created_by_id": rng.choice(staff).id,
                "next_step": rng.choice(NEXT_STEPS) if has_step else "",
                "next_step_due_on": due,
                "next_step_owner_id": rng.choice(staff).id if has_step else None,
                "next_step_done_at": None if not done else _moment(due),
            }
        )
        participants.append(by_organisation.get(organisation_id, [])[:2])
    ids = _insert(Interaction, rows)
    _bulk(
        interaction_contacts,
        [
            {"interaction_id": i, "contact_id": c}
            for i, people in zip(ids, participants, strict=True)
            for c in people
        ],
    )
    _bulk(
        interaction_staff,
        [{"interaction_id": i, "user_id": row["created_by_id"]} for i, row in zip(ids, rows, strict=True)],
    )


def _seed_gifts(
    rng, on, organisation_ids, organisation_rows, hubs, staff, made, introductions, introduction_ids
):
    headquarters = next((hub for hub in hubs if hub.kind == HubKind.HEADQUARTERS), hubs[0])
    brussels = next((hub for hub in hubs if hub.base_currency == "EUR"), headquarters)
    introduced = {
        row["organisation_id"]: intro_id
        for intro_id, row in zip(introduction_ids, introductions, strict=True)
        if intro_id in made
    }
    rows = []
    givers = [
        oid for oid, row in zip(organisation_ids, organisation_rows, strict=True) if row["status"] == "active"
    ]
    for _ in range(180):
        organisation_id = rng.choice(givers or organisation_ids)
        currency = rng.choice(["USD", "USD", "EUR", "GBP"])
        received = on - timedelta(days=rng.randint(1, 420))
        age = (on - received).days
        status = (
            AcknowledgementStatus.TO_BE_ACKNOWLEDGED
            if age < 30 and rng.random() < 0.7
            else rng.choice(
                [AcknowledgementStatus.ACKNOWLEDGED] * 8 + [AcknowledgementStatus.DO_NOT_ACKNOWLEDGE]
            )
        )
        restricted = rng.random() < 0.4
        rows.append(
            {
                "organisation_id": organisation_id,
                "contact_id": None,
                "received_on": received,
                "amount": Decimal(rng.choice([5000, 10000, 25000, 50000, 75000, 150000, 250000]))
                + Decimal("0.00"),
                "currency": currency,
                "hub_id": (brussels if currency == "EUR" else headquarters).id,
                "method": rng.choice([GiftMethod.WIRE] * 4 + [GiftMethod.CHEQUE]),
                "is_restricted": restricted,
                "purpose": "Open contracting in West Africa" if restricted else "",
                "introduction_id": introduced.get(organisation_id),
                "goods_or_services": "",
                "goods_or_services_value": None,
                "acknowledgement_status": status,
                "acknowledged_on": received + timedelta(days=rng.randint(2, 6))
                if status is AcknowledgementStatus.ACKNOWLEDGED
                else None,
                "acknowledged_how": "Letter by e-mail"
                if status is AcknowledgementStatus.ACKNOWLEDGED
                else "",
                "notes": "",
                "created_by_id": rng.choice(staff).id,
            }
        )
    _insert(Gift, rows)


def _moment(day: date):
    from datetime import UTC, datetime, time

    return datetime.combine(day, time(10, 0), tzinfo=UTC)


def _insert(model, rows: list[dict]) -> list[int]:
    """Bulk insert returning the new ids in order (RETURNING works on PostgreSQL and SQLite 3.35+)."""
    if not rows:
        return []
    ids = db.session.scalars(sa.insert(model).returning(model.id, sort_by_parameter_order=True), rows)
    return list(ids)


def _bulk(table: sa.Table, rows: list[dict]) -> None:
    if rows:
        db.session.execute(sa.insert(table), rows)
