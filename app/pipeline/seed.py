"""Demo data for the pipeline: a plan for the current and next two fiscal years with its rates, about a
hundred opportunities across every stage, year and currency, and pledges with paid, due and late instalments,
gifts applied to them and deliverables. Idempotent: nothing is added once opportunities exist."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from ..auth.models import User
from ..common.fiscal import current_fiscal_year, fiscal_year
from ..common.time import today
from ..donors.models import Gift, GiftMethod, Organisation, OrganisationKind
from ..extensions import db
from ..hubs.models import Hub
from .models import DeliverableKind, DeliverableStatus, Opportunity, PlanExchangeRate, PlanTarget
from .services import opportunities, pledges
from .services.arithmetic import SplitRow, even_split
from .sources import Source
from .stages import Stage

#: Demo funders, used when the donors area has none yet: (name, kind, country).
DEMO_FUNDERS = [
    ("Open Horizons Foundation", OrganisationKind.PRIVATE_FOUNDATION, "US"),
    ("Fondation Lumière", OrganisationKind.PRIVATE_FOUNDATION, "FR"),
    ("Northbridge Trust", OrganisationKind.PRIVATE_FOUNDATION, "GB"),
    ("Civic Futures Fund", OrganisationKind.PRIVATE_FOUNDATION, "US"),
    ("Helvetia Stiftung", OrganisationKind.PRIVATE_FOUNDATION, "CH"),
    ("Meridian Bank Foundation", OrganisationKind.CORPORATE_FOUNDATION, "NL"),
    ("TechForGood Foundation", OrganisationKind.CORPORATE_FOUNDATION, "US"),
    ("Nordic Development Agency", OrganisationKind.BILATERAL_AGENCY, "SE"),
    ("Agence de coopération", OrganisationKind.BILATERAL_AGENCY, "FR"),
    ("UK Aid Partnerships", OrganisationKind.BILATERAL_AGENCY, "GB"),
    ("German Cooperation Office", OrganisationKind.BILATERAL_AGENCY, "DE"),
    ("Regional Development Bank", OrganisationKind.MULTILATERAL, "CI"),
    ("Ministry of External Affairs", OrganisationKind.GOVERNMENT, "NZ"),
    ("Alvarez Family Office", OrganisationKind.INDIVIDUAL, "ES"),
    ("Clearwater Consulting", OrganisationKind.COMPANY, "US"),
]
#: Asks are in the currencies the donors' demo gifts use.
CURRENCY_OF_COUNTRY = {
    "FR": "EUR",
    "NL": "EUR",
    "DE": "EUR",
    "ES": "EUR",
    "BE": "EUR",
    "CI": "EUR",
    "GB": "GBP",
}
#: 1 USD in each currency, per fiscal year offset from the current one.
DEMO_RATES = {
    "EUR": ("0.9200", "0.9100", "0.9000"),
    "GBP": ("0.7900", "0.7800", "0.7800"),
    "CHF": ("0.8800", "0.8700", "0.8600"),
}
DEMO_TARGETS = {
    Source.FOUNDATIONS: ("3500000", "4000000", "4500000"),
    Source.BILATERAL: ("2500000", "2750000", "3000000"),
    Source.COUNTRY_CONTRIBUTIONS: ("2000000", "2100000", "2200000"),
    Source.OTHER: ("400000", "450000", "500000"),
}
TITLES = [
    "Core support",
    "Open contracting programme",
    "Civic space fund",
    "Gender and inclusion in budgets",
    "Public services monitoring",
    "Anti-corruption partnerships",
    "Regional hub launch",
    "Data and tools",
]
STAGE_COUNTS = {
    Stage.IDENTIFIED: 20,
    Stage.QUALIFIED: 16,
    Stage.CULTIVATION: 16,
    Stage.PROPOSAL: 14,
    Stage.VERBAL_COMMITMENT: 8,
    Stage.WON: 14,
    Stage.LOST: 7,
    Stage.DECLINED: 5,
}


def _funders() -> list[Organisation]:
    existing = db.session.scalars(sa.select(Organisation).order_by(Organisation.id)).all()
    if len(existing) >= 8:
        return list(existing)
    names = {organisation.name for organisation in existing}
    for name, kind, country in DEMO_FUNDERS:
        if name not in names:
            organisation = Organisation(name=name, kind=kind, country_code=country)
            db.session.add(organisation)
            existing.append(organisation)
    db.session.flush()
    return list(existing)


def _plan(first_year: int) -> None:
    for offset in range(3):
        year = first_year + offset
        for source, amounts in DEMO_TARGETS.items():
            db.session.add(
                PlanTarget(fiscal_year=year, source=source, amount=Decimal(amounts[offset]), currency="USD")
            )
    for offset in range(-1, 5):
        for currency, rates in DEMO_RATES.items():
            rate = rates[min(max(offset, 0), 2)]
            db.session.add(
                PlanExchangeRate(
                    fiscal_year=first_year + offset,
                    currency=currency,
                    rate=Decimal(rate),
                    reporting_currency="USD",
                )
            )


def seed_demo() -> int:
    """The pipeline's demo data; returns how many opportunities were added."""
    if db.session.scalar(sa.select(Opportunity.id).limit(1)) is not None:
        return 0
    owner = db.session.scalar(sa.select(User).where(User.email == "fundraising@example.org"))
    others = db.session.scalars(sa.select(User).where(User.role.in_(["fundraising", "admin"]))).all()
    if owner is None:
        return 0
    hub = db.session.scalar(sa.select(Hub).order_by(Hub.id))
    first_year = current_fiscal_year()
    _plan(first_year)
    funders = _funders()
    rng = random.Random(2026)
    on = today()
    added = 0
    for stage, count in STAGE_COUNTS.items():
        for _ in range(count):
            organisation = rng.choice(funders)
            currency = CURRENCY_OF_COUNTRY.get(organisation.country_code or "", "USD")
            amount = Decimal(rng.choice([25, 40, 60, 75, 100, 150, 200, 250, 400, 600])) * 1000
            start = (
                first_year - 1
                if stage == Stage.WON and rng.random() < 0.5
                else first_year + rng.choice([0, 0, 1, 2])
            )
            years = list(range(start, start + rng.choice([1, 1, 2, 3])))
            details = opportunities.OpportunityDetails(
                organisation_id=organisation.id,
                title=f"{rng.choice(TITLES)} {years[0]}" + (f"–{years[-1]}" if len(years) > 1 else ""),
                owner_id=(owner if rng.random() < 0.7 else rng.choice(others)).id,
                amount=amount,
                currency=currency,
                split=[SplitRow(row.fiscal_year, row.amount) for row in even_split(amount, years, currency)],
                is_restricted=rng.random() < 0.3,
                purpose="Programme work in the regional hubs",
                expected_decision_on=on + timedelta(days=rng.randint(-20, 200)),
                proposal_due_on=on + timedelta(days=rng.randint(5, 90))
                if stage in (Stage.CULTIVATION, Stage.PROPOSAL)
                else None,
                next_step=rng.choice(
                    [
                        "Call the programme officer",
                        "Send the concept note",
                        "Site visit",
                        "Board introduction",
                        "",
                    ]
                ),
                next_step_due_on=on + timedelta(days=rng.randint(-5, 45)),
            )
            opportunity = opportunities.create_opportunity(details, owner)
            if stage != Stage.IDENTIFIED:
                agreed = max(
                    fiscal_year(years[0]).starts_on - timedelta(days=rng.randint(10, 60)),
                    on - timedelta(days=400),
                )
                opportunities.move_stage(
                    opportunity,
                    stage,
                    owner,
                    reason="Priorities changed this year" if stage.needs_reason else "",
                    agreed_on=min(agreed, on),
                )
            if stage == Stage.WON and hub is not None:
                _pledge_story(opportunity.pledge, hub, rng, owner)
            added += 1
    return added


def _pledge_story(pledge, hub, rng: random.Random, owner) -> None:
    """Some instalments paid by a gift, some part paid, the rest due or late; deliverables to report."""
    on = today()
    for index, instalment in enumerate(pledge.instalments):
        if instalment.expected_on > on:
            continue
        roll = rng.random()
        if roll < 0.55:
            share = instalment.amount
        elif roll < 0.75:
            share = (instalment.amount / 2).quantize(Decimal("0.01"))
        else:
            continue  # late: expected and not received
        gift = Gift(
            organisation_id=pledge.organisation_id,
            received_on=min(instalment.expected_on + timedelta(days=rng.randint(3, 40)), on),
            amount=share,
            currency=pledge.currency,
            hub_id=hub.id,
            method=GiftMethod.WIRE,
            is_restricted=pledge.opportunity.is_restricted,
            purpose=pledge.opportunity.purpose if pledge.opportunity.is_restricted else "",
        )
        db.session.add(gift)
        db.session.flush()
        pledges.apply_gift(gift, {instalment.id: share}, owner)
        if index == 0:
            pledges.save_deliverable(
                pledge,
                DeliverableKind.NARRATIVE_REPORT,
                instalment.expected_on + timedelta(days=180),
                title="Interim narrative report",
                requirements="Progress against the logframe, 10 pages at most.",
                status=DeliverableStatus.SUBMITTED
                if instalment.expected_on + timedelta(days=180) < on
                else DeliverableStatus.TO_DO,
                submitted_on=instalment.expected_on + timedelta(days=175)
                if instalment.expected_on + timedelta(days=180) < on
                else None,
            )
    pledges.save_deliverable(
        pledge,
        DeliverableKind.FINANCIAL_REPORT,
        on + timedelta(days=rng.randint(5, 120)),
        title="Annual financial report",
        requirements="Audited statement of expenditure in the grant currency.",
    )
