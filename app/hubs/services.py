"""Hubs: their records, the default issuer, what they have issued, and their setup checklists.

Services flush and never commit; the view (or the CLI) commits once. Rules that protect issued documents live
here: a hub that has issued an invoice or a credit note keeps its currency and invoice prefix for good, and is
closed rather than deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pycountry
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..common.errors import DomainError, ValidationFailed
from ..common.pdf import data_url
from ..common.time import today
from ..common.uniqueness import UniqueField, unique_as_field_errors
from ..extensions import db
from . import validation
from .models import (
    ChecklistItemStatus,
    ChecklistTemplate,
    ChecklistTemplateItem,
    Hub,
    HubChecklist,
    HubChecklistItem,
    HubKind,
    HubStatus,
)
from .uses import has_issued_documents, references

LANGUAGES = ("en", "fr", "es")
LANGUAGE_NAMES = {"en": "English", "fr": "French", "es": "Spanish"}


# --- Errors ------------------------------------------------------------------------------------------------


class HubHasIssuedDocuments(ValidationFailed):
    """The hub has issued invoices or credit notes: its currency and prefix are fixed and it cannot go."""


class HubInUse(DomainError):
    """Members or draft invoices still point at the hub."""


class DefaultIssuerRequired(DomainError):
    """The default issuer cannot be closed or deleted until another hub takes its place."""


class ChecklistAlreadyStarted(DomainError):
    """A hub has one setup checklist."""


# --- Hub records -------------------------------------------------------------------------------------------


@dataclass
class HubDetails:
    """Everything a person types about a hub (the logo travels separately)."""

    name: str
    kind: HubKind | str
    legal_name: str
    country_code: str
    base_currency: str
    invoice_prefix: str
    status: HubStatus | str = HubStatus.PLANNED
    street_address: str = ""
    city: str = ""
    postal_code: str = ""
    registration_number: str = ""
    vat_number: str = ""
    tax_statement: dict[str, str] = field(default_factory=dict)
    legal_mentions: dict[str, str] = field(default_factory=dict)
    bank_name: str = ""
    iban: str = ""
    bic: str = ""
    account_number: str = ""
    routing_number: str = ""
    payment_terms_days: int = 30
    opening_date: date | None = None

    @classmethod
    def of(cls, hub: Hub) -> HubDetails:
        """The details a hub has now (to change a few of them)."""
        return cls(**{name: getattr(hub, name) for name in cls.__dataclass_fields__})


_COLUMNS = tuple(HubDetails.__dataclass_fields__)


def _text(value) -> str:
    return (value or "").strip()


def _clean(details: HubDetails, hub: Hub | None) -> dict:
    """Check and normalise the details; raise ValidationFailed with every problem beside its field."""
    errors: dict[str, list[str]] = {}
    values: dict = {}

    def problem(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    def checked(name: str, check, *args):
        try:
            return check(*args)
        except validation.InvalidValue as error:
            problem(name, str(error))
            return None

    for name in ("name", "legal_name", "street_address", "city", "postal_code", "bank_name"):
        values[name] = _text(getattr(details, name))
    for name in ("name", "legal_name"):
        if not values[name]:
            problem(name, "Required.")

    try:
        values["kind"] = HubKind(details.kind)
    except ValueError:
        problem("kind", "Choose headquarters or hub office.")
    try:
        values["status"] = HubStatus(details.status)
    except ValueError:
        problem("status", "Choose a status from the list.")

    country = _text(details.country_code).upper()
    if pycountry.countries.get(alpha_2=country) is None:
        problem("country_code", "Choose a country from the list.")
    values["country_code"] = country

    values["base_currency"] = checked("base_currency", validation.currency, _text(details.base_currency))

    prefix = _text(details.invoice_prefix).upper()
    if not prefix:
        problem("invoice_prefix", "Required.")
    elif not (prefix.isascii() and prefix.isalnum()) or len(prefix) > 10:
        problem("invoice_prefix", "Use 1 to 10 letters or digits, such as BE (numbers read BE-2027-0001).")
    else:
        holder = db.session.scalar(
            sa.select(Hub).where(
                sa.func.upper(Hub.invoice_prefix) == prefix, Hub.id != (hub.id if hub else -1)
            )
        )
        if holder is not None:
            problem(
                "invoice_prefix", f"{holder.name} already uses the prefix {prefix}; each hub has its own."
            )
    values["invoice_prefix"] = prefix

    if values["name"]:
        namesake = db.session.scalar(
            sa.select(Hub.id).where(
                sa.func.lower(Hub.name) == values["name"].lower(), Hub.id != (hub.id if hub else -1)
            )
        )
        if namesake is not None:
            problem("name", "Another hub already has this name.")

    values["registration_number"] = checked(
        "registration_number", validation.registration_number, details.registration_number, country
    )
    values["vat_number"] = checked("vat_number", validation.vat_number, details.vat_number, country)
    if (
        country == "BE"
        and values["registration_number"]
        and values["vat_number"]
        and not validation.belgian_vat_matches_enterprise_number(
            values["vat_number"], values["registration_number"]
        )
    ):
        problem(
            "vat_number",
            f"A Belgian VAT number is BE followed by the enterprise number: "
            f"BE{values['registration_number'].replace('.', '')}.",
        )

    iban, bic = _text(details.iban), _text(details.bic)
    values["iban"] = checked("iban", validation.iban, iban) if iban else ""
    values["bic"] = checked("bic", validation.bic, bic) if bic else ""
    if iban and not bic:
        problem("bic", "Give the BIC that goes with the IBAN; payers abroad need it.")
    if bic and not iban:
        problem("iban", "Give the IBAN that goes with the BIC.")

    account, routing = _text(details.account_number).replace(" ", ""), _text(details.routing_number)
    values["account_number"] = account
    values["routing_number"] = (
        checked("routing_number", validation.routing_number, routing) if routing else ""
    )
    if account and not (account.isdigit() and 4 <= len(account) <= 17):
        problem("account_number", "An account number has 4 to 17 digits.")
    if account and not routing:
        problem("routing_number", "Give the routing number that goes with the account number.")
    if routing and not account:
        problem("account_number", "Give the account number that goes with the routing number.")

    if values.get("status") == HubStatus.OPEN and not (iban or account):
        problem("status", "An open hub issues invoices: give its bank details first.")
    if values.get("status") == HubStatus.CLOSED and hub is not None and hub.is_default_issuer:
        problem("status", "This hub is the default issuer: make another hub the default before closing it.")

    terms = details.payment_terms_days
    if terms is None or not 0 <= int(terms) <= 365:
        problem("payment_terms_days", "Between 0 and 365 days.")
    values["payment_terms_days"] = terms
    values["opening_date"] = details.opening_date

    for name in ("tax_statement", "legal_mentions"):
        texts = getattr(details, name) or {}
        values[name] = {lang: _text(texts.get(lang)) for lang in LANGUAGES if _text(texts.get(lang))}

    if errors:
        raise ValidationFailed(CORRECT_THE_FIELDS, errors)
    return values


def _refuse_rewriting_issued_documents(hub: Hub, details: HubDetails) -> None:
    errors = {}
    if _text(details.base_currency) != hub.base_currency:
        errors["base_currency"] = [
            f"{hub.name} has issued documents in {hub.base_currency}; its currency cannot change."
        ]
    if _text(details.invoice_prefix).upper() != hub.invoice_prefix:
        errors["invoice_prefix"] = [
            f"{hub.name} has issued documents numbered {hub.invoice_prefix}-…; its prefix cannot change."
        ]
    if errors and has_issued_documents(hub):
        raise HubHasIssuedDocuments(
            "This hub has issued invoices or credit notes: its currency and invoice prefix are fixed, "
            "so that issued documents keep their meaning.",
            errors,
        )


CORRECT_THE_FIELDS = "Please correct the fields marked below. Nothing was saved."
#: The hub's unique columns, as messages beside their fields when two people save the same value at once.
HUB_UNIQUE_FIELDS = (
    UniqueField("uq_hubs_name", "name", "Another hub already has this name."),
    UniqueField("uq_hubs_invoice_prefix", "invoice_prefix", "Another hub already uses this prefix."),
)
TEMPLATE_NAME_UNIQUE = UniqueField("uq_checklist_templates_name", "name", "Another template has this name.")


def create_hub(details: HubDetails, user=None, template: ChecklistTemplate | None = None) -> Hub:
    """Add a hub (and its setup checklist from a template); the first hub becomes the default issuer."""
    values = _clean(details, None)
    hub = Hub(**values)
    if values["status"] != HubStatus.CLOSED and default_issuer() is None:
        hub.is_default_issuer = True
    with unique_as_field_errors(*HUB_UNIQUE_FIELDS, message=CORRECT_THE_FIELDS):
        db.session.add(hub)
        db.session.flush()
    if template is not None:
        start_checklist(hub, template)
    return hub


def update_hub(hub: Hub, details: HubDetails, user=None) -> Hub:
    """Change a hub's details; refuses a new currency or prefix once it has issued documents."""
    _refuse_rewriting_issued_documents(hub, details)
    values = _clean(details, hub)
    with unique_as_field_errors(*HUB_UNIQUE_FIELDS, message=CORRECT_THE_FIELDS):
        for name, value in values.items():
            if getattr(hub, name) != value:
                setattr(hub, name, value)
        db.session.flush()
    return hub


def close_hub(hub: Hub, user=None) -> Hub:
    """Mark a hub closed; its issued documents stay as they are."""
    if hub.status == HubStatus.CLOSED:
        return hub
    if hub.is_default_issuer:
        raise DefaultIssuerRequired(
            f"{hub.name} is the default issuer: make another hub the default before closing it."
        )
    hub.status = HubStatus.CLOSED
    db.session.flush()
    return hub


def delete_hub(hub: Hub, user=None) -> None:
    """Delete a hub that never issued anything and that nothing points at."""
    if has_issued_documents(hub):
        raise HubHasIssuedDocuments(
            f"{hub.name} has issued invoices or credit notes, so it cannot be deleted; close it instead."
        )
    if hub.is_default_issuer:
        raise DefaultIssuerRequired(
            f"{hub.name} is the default issuer: make another hub the default before deleting it."
        )
    in_use = references(hub)
    if in_use:
        raise HubInUse(f"{hub.name} cannot be deleted: {' and '.join(in_use)}. Move them or close the hub.")
    db.session.delete(hub)
    db.session.flush()


def default_issuer() -> Hub | None:
    """The hub that issues documents when nothing else decides (None until one is chosen)."""
    return db.session.scalar(sa.select(Hub).where(Hub.is_default_issuer.is_(True)))


def make_default_issuer(hub: Hub, user=None) -> Hub:
    """Make this hub the default issuer, in place of the current one."""
    if hub.status == HubStatus.CLOSED:
        raise DomainError(f"{hub.name} is closed and cannot be the default issuer.")
    current = default_issuer()
    if current is hub:
        return hub
    if current is not None:
        current.is_default_issuer = False
        db.session.flush()  # the unique index allows one default at a time
    hub.is_default_issuer = True
    db.session.flush()
    return hub


def set_logo(hub: Hub, content: bytes) -> Hub:
    """Store a PNG or JPEG logo (checked by decoding it) in the database, for pages and PDFs."""
    try:
        mime_type = validation.logo(content)
    except validation.InvalidValue as error:
        raise ValidationFailed(str(error), {"logo": [str(error)]}) from error
    hub.logo_bytes = content
    hub.logo_mime_type = mime_type
    db.session.flush()
    return hub


def remove_logo(hub: Hub) -> Hub:
    hub.logo_bytes = None
    hub.logo_mime_type = None
    db.session.flush()
    return hub


def hub_logo_data_url(hub: Hub | None) -> str | None:
    """The hub's logo as a data: URL for PDFs (None without a logo)."""
    if hub is None or not hub.logo_bytes or not hub.logo_mime_type:
        return None
    return data_url(hub.logo_bytes, hub.logo_mime_type)


def hub_query(text: str | None = None, status: str | None = None) -> sa.Select:
    """Hubs for the list: headquarters first, then by name, narrowed by a search and a status."""
    query = sa.select(Hub).order_by(Hub.kind == HubKind.HUB_OFFICE, Hub.name)
    if text:
        pattern = f"%{text.strip()}%"
        query = query.where(
            sa.or_(
                Hub.name.ilike(pattern),
                Hub.legal_name.ilike(pattern),
                Hub.city.ilike(pattern),
                Hub.invoice_prefix.ilike(pattern),
            )
        )
    if status:
        query = query.where(Hub.status == HubStatus(status))
    return query


# --- Checklists --------------------------------------------------------------------------------------------


@dataclass
class ChecklistProgress:
    total: int = 0
    done: int = 0
    not_needed: int = 0
    overdue: int = 0

    @property
    def applicable(self) -> int:
        return self.total - self.not_needed

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.applicable) if self.applicable else 0

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.done == self.applicable


def checklist_progress(hub_ids, on: date | None = None) -> dict[int, ChecklistProgress]:
    """Done, not needed and overdue items per hub, in one aggregate query."""
    on = on or today()
    ids = list(hub_ids)
    if not ids:
        return {}
    status = HubChecklistItem.status
    open_statuses = [s for s in ChecklistItemStatus if s.is_open]
    rows = db.session.execute(
        sa.select(
            HubChecklist.hub_id,
            sa.func.count(HubChecklistItem.id),
            sa.func.count(HubChecklistItem.id).filter(status == ChecklistItemStatus.DONE),
            sa.func.count(HubChecklistItem.id).filter(status == ChecklistItemStatus.NOT_NEEDED),
            sa.func.count(HubChecklistItem.id).filter(
                status.in_(open_statuses), HubChecklistItem.due_on < on
            ),
        )
        .join(HubChecklistItem, HubChecklistItem.checklist_id == HubChecklist.id)
        .where(HubChecklist.hub_id.in_(ids))
        .group_by(HubChecklist.hub_id)
    ).all()
    return {
        hub_id: ChecklistProgress(total, done, not_needed, overdue)
        for hub_id, total, done, not_needed, overdue in rows
    }


def start_checklist(hub: Hub, template: ChecklistTemplate, user=None) -> HubChecklist:
    """Give a hub its setup checklist, a copy of the template's items in order."""
    if hub.checklist is not None:
        raise ChecklistAlreadyStarted(f"{hub.name} already has a setup checklist.")
    steps = list(template.items)
    checklist = HubChecklist(source_template_id=template.id, source_template_name=template.name)
    db.session.add(checklist)
    checklist.hub = hub
    for position, step in enumerate(steps, start=1):
        checklist.items.append(
            HubChecklistItem(
                position=position, description=step.description, owner_role=step.default_owner_role
            )
        )
    db.session.add(checklist)
    db.session.flush()
    return checklist


def set_item_status(
    item: HubChecklistItem, status: ChecklistItemStatus | str, on: date | None = None
) -> None:
    """Move an item; marking it done dates it, reopening it clears the date."""
    status = ChecklistItemStatus(status)
    if status == ChecklistItemStatus.DONE:
        if item.status != ChecklistItemStatus.DONE or item.completed_on is None:
            item.completed_on = on or today()
    else:
        item.completed_on = None
    item.status = status
    db.session.flush()


def _check_item_text(description: str) -> str:
    description = _text(description)
    if not description:
        raise ValidationFailed("Describe the step.", {"description": ["Required."]})
    return description


def update_checklist_item(
    item: HubChecklistItem,
    *,
    description: str,
    owner_role: str = "",
    owner=None,
    due_on: date | None = None,
    status: ChecklistItemStatus | str = ChecklistItemStatus.TO_DO,
    notes: str = "",
    on: date | None = None,
) -> HubChecklistItem:
    """Change who does a step, by when, how far it is, and notes."""
    item.description = _check_item_text(description)
    item.owner_role = _text(owner_role)
    item.owner_id = owner.id if owner is not None else None
    item.due_on = due_on
    item.notes = (notes or "").strip()
    set_item_status(item, status, on)
    return item


def add_checklist_item(hub: Hub, description: str, owner_role: str = "", owner=None, due_on=None):
    """Add a step at the end of a hub's checklist (starting an empty one if it has none)."""
    description = _check_item_text(description)
    checklist = hub.checklist
    if checklist is None:
        checklist = HubChecklist(source_template_name="")
        db.session.add(checklist)
        checklist.hub = hub
    position = max((step.position for step in checklist.items), default=0) + 1
    item = HubChecklistItem(
        position=position,
        description=description,
        owner_role=_text(owner_role),
        owner_id=owner.id if owner is not None else None,
        due_on=due_on,
    )
    checklist.items.append(item)
    db.session.flush()
    return item


def remove_checklist_item(item: HubChecklistItem) -> None:
    checklist = item.checklist
    checklist.items.remove(item)
    db.session.flush()


def _unique_template_name(name: str, template: ChecklistTemplate | None = None) -> str:
    name = _text(name)
    if not name:
        raise ValidationFailed("Give the template a name.", {"name": ["Required."]})
    clash = db.session.scalar(
        sa.select(ChecklistTemplate.id).where(
            sa.func.lower(ChecklistTemplate.name) == name.lower(),
            ChecklistTemplate.id != (template.id if template else -1),
        )
    )
    if clash is not None:
        raise ValidationFailed("Template names are unique.", {"name": ["Another template has this name."]})
    return name


def save_checklist_as_template(hub: Hub, name: str, description: str = "", user=None) -> ChecklistTemplate:
    """Turn a hub's checklist, as it now stands, into a template for the next hub."""
    if hub.checklist is None or not hub.checklist.items:
        raise DomainError(f"{hub.name} has no checklist items to save.")
    template = ChecklistTemplate(
        name=_unique_template_name(name),
        description=_text(description) or f"Made from the checklist of {hub.name}.",
        created_by_id=getattr(user, "id", None),
    )
    for position, step in enumerate(hub.checklist.items, start=1):
        template.items.append(
            ChecklistTemplateItem(
                position=position, description=step.description, default_owner_role=step.owner_role
            )
        )
    with unique_as_field_errors(TEMPLATE_NAME_UNIQUE):
        db.session.add(template)
        db.session.flush()
    return template


# --- Templates ---------------------------------------------------------------------------------------------


def template_query(text: str | None = None) -> sa.Select:
    """Templates by name, with their items, narrowed by a search."""
    query = sa.select(ChecklistTemplate).options(selectinload(ChecklistTemplate.items))
    if text:
        query = query.where(ChecklistTemplate.name.ilike(f"%{text.strip()}%"))
    return query.order_by(ChecklistTemplate.name)


def create_template(name: str, description: str = "", user=None, steps=()) -> ChecklistTemplate:
    """A new template; `steps` are (description, default owner role) pairs, in order."""
    template = ChecklistTemplate(
        name=_unique_template_name(name),
        description=_text(description),
        created_by_id=getattr(user, "id", None),
    )
    for position, (text, role) in enumerate(steps, start=1):
        template.items.append(
            ChecklistTemplateItem(position=position, description=text, default_owner_role=role)
        )
    with unique_as_field_errors(TEMPLATE_NAME_UNIQUE):
        db.session.add(template)
        db.session.flush()
    return template


def update_template(template: ChecklistTemplate, name: str, description: str = "") -> ChecklistTemplate:
    name = _unique_template_name(name, template)
    with unique_as_field_errors(TEMPLATE_NAME_UNIQUE):
        template.name = name
        template.description = _text(description)
        db.session.flush()
    return template


def delete_template(template: ChecklistTemplate) -> None:
    """Delete a template; checklists made from it keep their items and its name."""
    db.session.delete(template)
    db.session.flush()


def add_template_item(template: ChecklistTemplate, description: str, default_owner_role: str = ""):
    item = ChecklistTemplateItem(
        position=max((step.position for step in template.items), default=0) + 1,
        description=_check_item_text(description),
        default_owner_role=_text(default_owner_role),
    )
    template.items.append(item)
    db.session.flush()
    return item


def update_template_item(item: ChecklistTemplateItem, description: str, default_owner_role: str = ""):
    item.description = _check_item_text(description)
    item.default_owner_role = _text(default_owner_role)
    db.session.flush()
    return item


def move_template_item(item: ChecklistTemplateItem, offset: int) -> None:
    """Move a step up (-1) or down (+1); positions stay 1..n."""
    steps = list(item.template.items)
    index = steps.index(item)
    target = index + offset
    if not 0 <= target < len(steps):
        return
    steps[index], steps[target] = steps[target], steps[index]
    for position, step in enumerate(steps, start=1):
        if step.position != position:
            step.position = position
    db.session.flush()
    db.session.expire(item.template, ["items"])  # reload in the new order


def remove_template_item(item: ChecklistTemplateItem) -> None:
    template = item.template
    template.items.remove(item)
    for position, step in enumerate(template.items, start=1):
        if step.position != position:
            step.position = position
    db.session.flush()
