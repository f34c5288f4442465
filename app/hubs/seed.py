"""Demo hubs: the Washington DC headquarters and the Brussels hub, and the template for opening a hub office.

Every identifier is fictitious but valid: the Belgian enterprise number has correct mod-97 check digits, the
IBAN was made with schwifty's IBAN.generate("BE", bank_code="096", account_code="0012345"), and the routing
number passes the ABA checksum. Running this twice adds nothing.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from ..auth.models import User
from ..common.time import today
from ..extensions import db
from . import services
from .models import ChecklistItemStatus, ChecklistTemplate, Hub, HubKind, HubStatus

BELGIAN_TEMPLATE_NAME = "Opening a hub office in Belgium"

#: (step, who usually does it) in the order the Brussels hub went through them.
BELGIAN_STEPS = [
    ("Board approval: resolution to open the hub, its budget and who may sign for it", "Executive director"),
    (
        "Legal form and registration: statutes of the AISBL, filing, and the enterprise number from the "
        "Crossroads Bank for Enterprises (CBE)",
        "Legal counsel",
    ),
    ("VAT registration with the FPS Finance (VAT number BE + enterprise number)", "Finance director"),
    ("Bank account in EUR: IBAN, BIC and the authorised signatories", "Finance director"),
    ("Registered address and office lease", "Operations manager"),
    ("Employment and payroll provider: social secretariat and employer registration (NSSO)", "HR lead"),
    ("Insurance: civil liability, workers' compensation and office cover", "Operations manager"),
    ("Data-protection records: register of processing activities (GDPR art. 30)", "Data protection lead"),
    ("Accounting and audit arrangements: chart of accounts, accountant and auditor", "Finance director"),
]

HEADQUARTERS = dict(
    name="Washington DC headquarters",
    kind=HubKind.HEADQUARTERS,
    status=HubStatus.OPEN,
    opening_date=date(2012, 9, 1),
    legal_name="Tributary Alliance, Inc. (demo)",
    street_address="1250 Example Street NW, Suite 400",
    city="Washington, DC",
    postal_code="20005",
    country_code="US",
    registration_number="53-0009999",
    vat_number="",
    base_currency="USD",
    invoice_prefix="HQ",
    payment_terms_days=30,
    bank_name="Demo Community Bank",
    account_number="4000123456",
    routing_number="054000991",
    tax_statement={
        "en": "Tributary Alliance, Inc. is a public charity exempt under section 501(c)(3) of the US "
        "Internal Revenue Code. No sales tax applies to member contributions.",
        "fr": "Tributary Alliance, Inc. est un organisme de bienfaisance exonéré au titre de la section "
        "501(c)(3) du Code des impôts des États-Unis. Aucune taxe ne s'applique aux contributions "
        "des membres.",
        "es": "Tributary Alliance, Inc. es una entidad benéfica exenta según la sección 501(c)(3) del "
        "Código de Rentas Internas de los Estados Unidos. Las contribuciones de los miembros no están "
        "sujetas a impuestos.",
    },
    legal_mentions={
        "en": "Tributary Alliance, Inc., a District of Columbia non-profit corporation. EIN 53-0009999.",
        "fr": "Tributary Alliance, Inc., société à but non lucratif du District de Columbia. EIN 53-0009999.",
        "es": "Tributary Alliance, Inc., corporación sin fines de lucro del Distrito de Columbia. "
        "EIN 53-0009999.",
    },
)

BRUSSELS = dict(
    name="Brussels hub",
    kind=HubKind.HUB_OFFICE,
    status=HubStatus.OPEN,
    opening_date=date(2026, 9, 1),
    legal_name="Tributary Alliance Europe AISBL (demo)",
    street_address="Rue de l'Exemple 12",
    city="Brussels",
    postal_code="1000",
    country_code="BE",
    registration_number="0888.776.653",
    vat_number="BE0888776653",
    base_currency="EUR",
    invoice_prefix="BE",
    payment_terms_days=30,
    bank_name="Belfius Bank",
    iban="BE22096001234547",
    bic="GKCCBEBB",
    tax_statement={
        "en": "Member contributions are outside the scope of Belgian VAT.",
        "fr": "Les contributions des membres sont hors du champ d'application de la TVA belge.",
        "es": "Las contribuciones de los miembros están fuera del ámbito del IVA belga.",
    },
    legal_mentions={
        "en": "Tributary Alliance Europe AISBL, international non-profit association under Belgian law. "
        "Enterprise number 0888.776.653, RLE Brussels.",
        "fr": "Tributary Alliance Europe AISBL, association internationale sans but lucratif de droit belge. "
        "Numéro d'entreprise 0888.776.653, RPM Bruxelles.",
        "es": "Tributary Alliance Europe AISBL, asociación internacional sin ánimo de lucro de derecho "
        "belga. Número de empresa 0888.776.653, RPM Bruselas.",
    },
)

#: How far the Brussels hub has come: (status, days ago done or days until due, owner e-mail, notes).
BRUSSELS_PROGRESS = [
    (ChecklistItemStatus.DONE, -120, "admin@example.org", "Board resolution 2026-05, minutes on the drive."),
    (ChecklistItemStatus.DONE, -90, "admin@example.org", "Statutes filed; enterprise number received."),
    (ChecklistItemStatus.DONE, -75, "operations@example.org", ""),
    (ChecklistItemStatus.DONE, -60, "operations@example.org", "Two signatories; online banking set up."),
    (
        ChecklistItemStatus.IN_PROGRESS,
        14,
        "operations@example.org",
        "Lease draft with the landlord's lawyer.",
    ),
    (ChecklistItemStatus.TO_DO, -5, "operations@example.org", "Compare three social secretariats."),
    (ChecklistItemStatus.TO_DO, 30, "operations@example.org", ""),
    (ChecklistItemStatus.IN_PROGRESS, 21, "admin@example.org", ""),
    (ChecklistItemStatus.NOT_NEEDED, 0, None, "Kept by headquarters' accountants for the first year."),
]


def _hub(values: dict) -> tuple[Hub, bool]:
    existing = db.session.scalar(sa.select(Hub).where(Hub.invoice_prefix == values["invoice_prefix"]))
    if existing is not None:
        return existing, False
    hub = services.create_hub(services.HubDetails(**values))
    return hub, True


def _template() -> tuple[ChecklistTemplate, bool]:
    existing = db.session.scalar(
        sa.select(ChecklistTemplate).where(ChecklistTemplate.name == BELGIAN_TEMPLATE_NAME)
    )
    if existing is not None:
        return existing, False
    template = services.create_template(
        BELGIAN_TEMPLATE_NAME,
        "The steps the Brussels hub went through, in order: the approach for the next hub offices.",
        steps=BELGIAN_STEPS,
    )
    return template, True


def _work_through(hub: Hub, on: date) -> None:
    owners = {user.email: user for user in db.session.scalars(sa.select(User))}
    for item, (status, days, email, notes) in zip(hub.checklist.items, BRUSSELS_PROGRESS, strict=True):
        item.owner_id = owners[email].id if email in owners else None
        item.notes = notes
        if status == ChecklistItemStatus.DONE:
            item.due_on = on + timedelta(days=days)
            services.set_item_status(item, status, on=on + timedelta(days=days))
        else:
            item.due_on = on + timedelta(days=days) if status != ChecklistItemStatus.NOT_NEEDED else None
            services.set_item_status(item, status, on=on)


def seed_demo() -> int:
    """Add the demo hubs and the Belgian template; returns the number of records created."""
    created = 0
    template, new = _template()
    created += (1 + len(template.items)) if new else 0

    headquarters, new = _hub(HEADQUARTERS)
    created += int(new)
    if services.default_issuer() is None:
        services.make_default_issuer(headquarters)

    brussels, new = _hub(BRUSSELS)
    created += int(new)
    if brussels.checklist is None:
        checklist = services.start_checklist(brussels, template)
        _work_through(brussels, today())
        created += 1 + len(checklist.items)
    db.session.flush()
    return created
