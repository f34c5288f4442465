"""Demo members: about 80 national and 20 local governments, their billing contacts, income groups for the
last three fiscal years and the current one, the contribution policy for those years (in USD, with the budget
rate into EUR for the Brussels hub), and two adjustments.

All names of people are invented; e-mail addresses use the reserved `.example` top-level domain.
"""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import date
from decimal import Decimal

import click
import sqlalchemy as sa

from ...common.fiscal import current_fiscal_year
from ...common.languages import Language
from ...extensions import db
from ...hubs.models import Hub
from ..models import (
    AdjustmentKind,
    ContributionAdjustment,
    ContributionPolicy,
    IncomeGroup,
    Member,
    MemberContact,
    MemberIncomeGroup,
    MemberKind,
    PolicyExchangeRate,
)
from ..services.members import country_name

H, UM, LM, L = IncomeGroup.HIGH, IncomeGroup.UPPER_MIDDLE, IncomeGroup.LOWER_MIDDLE, IncomeGroup.LOW
EN, FR, ES = Language.EN, Language.FR, Language.ES

#: (ISO code, income group now, language, hub prefix, budget year start month, lead days)
#: Groups follow the World Bank classification closely; Europe and Africa are invoiced from Brussels.
NATIONAL_MEMBERS = [
    # Europe
    ("FR", H, FR, "BE", 1, 120),
    ("DE", H, EN, "BE", 1, 120),
    ("ES", H, ES, "BE", 1, 90),
    ("NL", H, EN, "BE", 1, 120),
    ("BE", H, FR, "BE", 1, 90),
    ("CH", H, FR, "BE", 1, 120),
    ("NO", H, EN, "BE", 1, 120),
    ("IE", H, EN, "BE", 1, 90),
    ("PL", H, EN, "BE", 1, 90),
    ("RO", H, EN, "BE", 1, 90),
    ("BG", UM, EN, "BE", 1, 90),
    ("RS", UM, EN, "BE", 1, 90),
    ("AL", UM, EN, "BE", 1, 60),
    ("MD", UM, EN, "BE", 1, 60),
    ("UA", UM, EN, "BE", 1, 90),
    ("GE", UM, EN, "BE", 1, 60),
    ("AM", UM, EN, "BE", 1, 60),
    ("GB", H, EN, "BE", 4, 120),
    # Africa
    ("SN", LM, FR, "BE", 1, 120),
    ("CI", LM, FR, "BE", 1, 120),
    ("BF", L, FR, "BE", 1, 120),
    ("ML", L, FR, "BE", 1, 120),
    ("NE", L, FR, "BE", 1, 120),
    ("BJ", LM, FR, "BE", 1, 120),
    ("TG", L, FR, "BE", 1, 90),
    ("CM", LM, FR, "BE", 1, 90),
    ("MG", L, FR, "BE", 1, 90),
    ("TN", LM, FR, "BE", 1, 90),
    ("MA", LM, FR, "BE", 1, 120),
    ("CD", L, FR, "BE", 1, 120),
    ("GA", UM, FR, "BE", 1, 90),
    ("RW", L, EN, "BE", 7, 120),
    ("KE", LM, EN, "BE", 7, 150),
    ("NG", LM, EN, "BE", 1, 120),
    ("GH", LM, EN, "BE", 1, 120),
    ("ZA", UM, EN, "BE", 4, 180),
    ("TZ", LM, EN, "BE", 7, 150),
    ("UG", L, EN, "BE", 7, 150),
    ("MW", L, EN, "BE", 4, 120),
    ("ZM", LM, EN, "BE", 1, 120),
    ("LR", L, EN, "BE", 7, 90),
    ("SL", L, EN, "BE", 1, 90),
    ("ET", L, EN, "BE", 7, 120),
    ("BW", UM, EN, "BE", 4, 120),
    ("NA", UM, EN, "BE", 4, 120),
    ("GQ", UM, ES, "BE", 1, 90),
    # Americas
    ("US", H, EN, "HQ", 10, 240),
    ("CA", H, EN, "HQ", 4, 180),
    ("MX", UM, ES, "HQ", 1, 120),
    ("GT", UM, ES, "HQ", 1, 120),
    ("HN", LM, ES, "HQ", 1, 90),
    ("SV", UM, ES, "HQ", 1, 90),
    ("CR", UM, ES, "HQ", 1, 120),
    ("PA", H, ES, "HQ", 1, 90),
    ("CO", UM, ES, "HQ", 1, 150),
    ("PE", UM, ES, "HQ", 1, 150),
    ("EC", UM, ES, "HQ", 1, 120),
    ("BO", LM, ES, "HQ", 1, 120),
    ("PY", UM, ES, "HQ", 1, 120),
    ("UY", H, ES, "HQ", 1, 120),
    ("AR", UM, ES, "HQ", 1, 150),
    ("CL", H, ES, "HQ", 1, 150),
    ("DO", UM, ES, "HQ", 1, 90),
    ("BR", UM, EN, "HQ", 1, 180),
    ("JM", UM, EN, "HQ", 4, 120),
    ("HT", LM, FR, "HQ", 10, 90),
    # Asia, the Pacific and the Middle East
    ("PH", LM, EN, "HQ", 1, 180),
    ("ID", UM, EN, "HQ", 1, 180),
    ("MN", UM, EN, "HQ", 1, 120),
    ("KR", H, EN, "HQ", 1, 180),
    ("JP", H, EN, "HQ", 4, 180),
    ("AU", H, EN, "HQ", 7, 180),
    ("NZ", H, EN, "HQ", 7, 150),
    ("LK", LM, EN, "HQ", 1, 120),
    ("NP", LM, EN, "HQ", 7, 120),
    ("PK", LM, EN, "HQ", 7, 150),
    ("BD", LM, EN, "HQ", 7, 150),
    ("TL", LM, EN, "HQ", 1, 90),
    ("JO", LM, EN, "HQ", 1, 120),
    ("LB", LM, FR, "HQ", 1, 90),
]

#: Members whose group changed: ISO code -> (group before, first fiscal year offset of the new group).
#: The offset counts back from the current fiscal year (0 = changed this year, 1 = last year, ...).
GROUP_CHANGES = {
    "UA": (LM, 1),
    "MN": (LM, 1),
    "ZM": (L, 2),
    "LB": (UM, 2),
    "JO": (UM, 2),
    "ID": (LM, 2),
    "RO": (UM, 2),
}

#: No income group recorded for the current year yet, so that the annual run has problems to show.
MISSING_CURRENT_GROUP = {"TL", "LR", "MD"}

#: Better names than the ISO list's for a few countries.
NAMES = {"CD": "Democratic Republic of the Congo"}

#: (name, ISO code, language, hub prefix)
LOCAL_MEMBERS = [
    ("Paris", "FR", FR, "BE"),
    ("Barcelona", "ES", ES, "BE"),
    ("Madrid", "ES", ES, "BE"),
    ("Tbilisi", "GE", EN, "BE"),
    ("Kyiv", "UA", EN, "BE"),
    ("Iași County", "RO", EN, "BE"),
    ("Dakar", "SN", FR, "BE"),
    ("Lagos State", "NG", EN, "BE"),
    ("Nairobi County", "KE", EN, "BE"),
    ("Makueni County", "KE", EN, "BE"),
    ("Montréal", "CA", FR, "HQ"),
    ("Mexico City", "MX", ES, "HQ"),
    ("Jalisco", "MX", ES, "HQ"),
    ("Bogotá", "CO", ES, "HQ"),
    ("Quito", "EC", ES, "HQ"),
    ("Buenos Aires", "AR", ES, "HQ"),
    ("São Paulo", "BR", EN, "HQ"),
    ("Seoul", "KR", EN, "HQ"),
    ("South Cotabato", "PH", EN, "HQ"),
    ("Western Cape", "ZA", EN, "HQ"),
]

#: The policy per fiscal-year offset from the current year (USD):
#: high, upper-middle, lower-middle, low, local.
POLICY_AMOUNTS = {
    3: ("46000", "23000", "9200", "4600", "2300"),
    2: ("47500", "23750", "9500", "4750", "2400"),
    1: ("48500", "24250", "9750", "4850", "2450"),
    0: ("50000", "25000", "10000", "5000", "2500"),
}

#: The budget rate of each year's policy (USD) into the currencies the hubs invoice in, per fiscal-year
#: offset: units of that currency for one US dollar, as finance set them when each budget was adopted.
BUDGET_RATES = {
    "EUR": {3: "0.9200", 2: "0.9300", 1: "0.9100", 0: "0.9000"},
}

FIRST_NAMES = {
    EN: ["Grace", "Daniel", "Amina", "Samuel", "Priya", "Thomas", "Esther", "Joseph", "Hannah", "Kwame"],
    FR: ["Aminata", "Jean-Marc", "Fatou", "Olivier", "Mariam", "Luc", "Awa", "Didier", "Claire", "Moussa"],
    ES: [
        "Lucía",
        "Andrés",
        "Camila",
        "Javier",
        "Valentina",
        "Diego",
        "Gabriela",
        "Mateo",
        "Paula",
        "Ricardo",
    ],
}
LAST_NAMES = {
    EN: [
        "Mensah",
        "Okafor",
        "Lindqvist",
        "Haddad",
        "Kowalski",
        "Otieno",
        "Tanaka",
        "Novak",
        "Reyes",
        "Byrne",
    ],
    FR: ["Diallo", "Traoré", "Lefèvre", "Ndiaye", "Kaboré", "Rakoto", "Mercier", "Koffi", "Bamba", "Girard"],
    ES: [
        "Quispe",
        "Herrera",
        "Morales",
        "Castillo",
        "Rojas",
        "Vargas",
        "Mendoza",
        "Navarro",
        "Salazar",
        "Ortiz",
    ],
}
TITLES = {
    EN: [
        ("Director of Budget", "Ministry of Finance"),
        ("Head of Multilateral Affairs", "Ministry of Foreign Affairs"),
    ],
    FR: [
        ("Directeur du budget", "Ministère des Finances"),
        ("Chargée des organisations internationales", "Ministère des Affaires étrangères"),
    ],
    ES: [
        ("Director de Presupuesto", "Ministerio de Hacienda"),
        ("Jefa de Asuntos Multilaterales", "Ministerio de Relaciones Exteriores"),
    ],
}
LOCAL_OFFICES = {
    EN: "Office of International Relations",
    FR: "Relations internationales",
    ES: "Relaciones Internacionales",
}


def seed_members() -> int:
    """Add the demo members, policies and adjustments that are missing; returns the records created."""
    hubs = {
        hub.invoice_prefix: hub
        for hub in db.session.scalars(sa.select(Hub).where(Hub.invoice_prefix.in_(["BE", "HQ"])))
    }
    if set(hubs) != {"BE", "HQ"}:
        click.echo(
            "Demo members skipped: the hubs with invoice prefixes BE and HQ do not exist yet.", err=True
        )
        return 0
    fiscal_year = current_fiscal_year()
    created = _seed_policies(fiscal_year)
    existing = {
        (member.kind, member.country_code, member.name): member
        for member in db.session.scalars(sa.select(Member))
    }
    national_codes = {code for kind, code, _name in existing if kind == MemberKind.NATIONAL}
    for position, (code, group, language, hub_prefix, budget_month, lead_days) in enumerate(NATIONAL_MEMBERS):
        if code in national_codes:
            continue
        member = Member(
            kind=MemberKind.NATIONAL,
            country_code=code,
            name=NAMES.get(code) or country_name(code),
            joined_on=_joined_on(code, position),
            language=language,
            hub=hubs[hub_prefix],
            budget_year_start_month=budget_month,
            budget_lead_days=lead_days,
            billing_address=_address(code, language),
        )
        db.session.add(member)
        created += 1 + _add_contacts(member, code, language, local=False)
        created += _add_groups(member, code, group, fiscal_year)
    for position, (name, code, language, hub_prefix) in enumerate(LOCAL_MEMBERS):
        if (MemberKind.LOCAL, code, name) in existing:
            continue
        member = Member(
            kind=MemberKind.LOCAL,
            country_code=code,
            name=name,
            joined_on=date(2018 + position % 7, 1 + position % 12, 1),
            language=language,
            hub=hubs[hub_prefix],
            budget_year_start_month=1,
            budget_lead_days=90,
            billing_address=f"{LOCAL_OFFICES[language]}\n{name}\n{country_name(code)}",
        )
        db.session.add(member)
        created += 1 + _add_contacts(member, f"{code}{position}", language, local=True)
    db.session.flush()
    created += _seed_adjustments(fiscal_year)
    db.session.flush()
    return created


def _seed_policies(fiscal_year: int) -> int:
    created = 0
    policies = {policy.fiscal_year: policy for policy in db.session.scalars(sa.select(ContributionPolicy))}
    for offset, amounts in POLICY_AMOUNTS.items():
        year = fiscal_year - offset
        policy = policies.get(year)
        if policy is None:
            high, upper_middle, lower_middle, low, local = (Decimal(amount) for amount in amounts)
            policy = ContributionPolicy(
                fiscal_year=year,
                currency="USD",
                high_amount=high,
                upper_middle_amount=upper_middle,
                lower_middle_amount=lower_middle,
                low_amount=low,
                local_amount=local,
                notes=f"Adopted by the Steering Committee, decision SC-{year - 1}-09.",
            )
            db.session.add(policy)
            created += 1
        created += _add_budget_rates(policy, offset)
    return created


def _add_budget_rates(policy: ContributionPolicy, offset: int) -> int:
    """The year's budget rates the policy lacks (also for a demo database seeded before rates existed)."""
    created = 0
    for currency, rates in BUDGET_RATES.items():
        if currency == policy.currency or offset not in rates or policy.rate_to(currency) is not None:
            continue
        policy.exchange_rates.append(PolicyExchangeRate(currency=currency, rate=Decimal(rates[offset])))
        created += 1
    return created


def _add_groups(member: Member, code: str, group: IncomeGroup, fiscal_year: int) -> int:
    before, changed_offset = GROUP_CHANGES.get(code, (group, 99))
    created = 0
    for offset in (3, 2, 1, 0):
        if offset == 0 and code in MISSING_CURRENT_GROUP:
            continue
        member.income_groups.append(
            MemberIncomeGroup(
                fiscal_year=fiscal_year - offset, income_group=group if offset <= changed_offset else before
            )
        )
        created += 1
    return created


def _add_contacts(member: Member, seed: str, language: Language, local: bool) -> int:
    number = _stable_number(seed)
    first, last = FIRST_NAMES[language], LAST_NAMES[language]
    domain = f"{member.country_code.lower()}.gov.example" if not local else f"{_slug(member.name)}.example"
    titles = TITLES[language]
    how_many = 1 if local or number % 3 else 2
    for index in range(how_many):
        given, family = first[(number + index * 3) % len(first)], last[(number // 7 + index) % len(last)]
        title, office = titles[index % len(titles)]
        member.contacts.append(
            MemberContact(
                name=f"{given} {family}",
                title=title if not local else "International relations officer",
                office=office if not local else LOCAL_OFFICES[language],
                email=f"{_slug(given)}.{_slug(family)}@{domain}",
                phone=f"555 01{(number + index) % 100:02d}",  # the fictional 555-01xx range
                is_primary=index == 0,
            )
        )
    return how_many


def _seed_adjustments(fiscal_year: int) -> int:
    decided = [
        (
            "HT",
            AdjustmentKind.AMOUNT,
            Decimal("2500.00"),
            "Reduced after the earthquake; to be reviewed next year.",
            f"Steering Committee decision SC-{fiscal_year - 1}-11",
        ),
        (
            "MW",
            AdjustmentKind.WAIVER,
            None,
            "Waived for one year after Cyclone Freddy's damage to public finances.",
            f"Steering Committee decision SC-{fiscal_year - 1}-12",
        ),
    ]
    created = 0
    for code, kind, amount, reason, reference in decided:
        member = db.session.scalar(
            sa.select(Member).where(Member.kind == MemberKind.NATIONAL, Member.country_code == code)
        )
        if member is None:
            continue
        exists = db.session.scalar(
            sa.select(ContributionAdjustment.id).where(
                ContributionAdjustment.member_id == member.id,
                ContributionAdjustment.fiscal_year == fiscal_year,
            )
        )
        if exists is None:
            db.session.add(
                ContributionAdjustment(
                    member=member,
                    fiscal_year=fiscal_year,
                    kind=kind,
                    amount=amount,
                    reason=reason,
                    approval_reference=reference,
                )
            )
            created += 1
    return created


def _joined_on(code: str, position: int) -> date:
    number = _stable_number(code)
    return date(2004 + (number + position) % 20, 1 + number % 12, 1)


def _address(code: str, language: Language) -> str:
    office = TITLES[language][0][1]
    return f"{office}\n{country_name(code)}"


def _stable_number(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(character for character in plain.lower() if character.isalnum() or character == "-").strip(
        "-"
    )
