"""Merging duplicates: two organisations, or two contacts, become one survivor.

Every row that points at the merged record (in any area: the references are read from the metadata, so that
donors imports nobody to its right) is pointed at the survivor instead. Where a unique key would then hold the
same pair twice (a connector who knew both contacts, a theme on both organisations, a person in one meeting
under both records), the merged record's copy is dropped, as it says nothing the survivor's does not. The
survivor keeps its own values unless the user picks the other's, field by field. One audit entry says what
moved (counts and ids); the survivor's changed fields and the merged record's deletion are audited as usual.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..common.audit import AuditEntry, current_actor
from ..common.errors import DomainError, ValidationFailed
from ..common.locks import lock_and_refresh
from ..extensions import db
from .models import AcknowledgementLetter, Connector, Contact, Organisation


class CannotMerge(DomainError):
    """These two records cannot be merged (the same record, an erased person, issued letters)."""


@dataclass(frozen=True)
class MergeField:
    name: str
    label: str


ORGANISATION_FIELDS = (
    MergeField("name", "Name"),
    MergeField("kind", "Kind"),
    MergeField("status", "Status"),
    MergeField("country_code", "Country"),
    MergeField("website", "Website"),
    MergeField("owner_id", "Relationship owner"),
    MergeField("notes", "Notes"),
)

CONTACT_FIELDS = (
    MergeField("name", "Name"),
    MergeField("title", "Title"),
    MergeField("email", "E-mail"),
    MergeField("phone", "Phone"),
    MergeField("language", "Language"),
    MergeField("lawful_basis", "Lawful basis"),
    MergeField("source", "Source"),
    MergeField("privacy_notice_sent_on", "Privacy notice sent on"),
    MergeField("email_consent", "Consent to e-mail"),
    MergeField("notes", "Notes"),
)

#: Picked with email_consent: the date belongs to the consent it records.
_GOES_WITH = {"email_consent": ("email_consent_on",)}


def fields_for(record: Organisation | Contact) -> tuple[MergeField, ...]:
    """The fields the compare page offers for this kind of record."""
    return ORGANISATION_FIELDS if isinstance(record, Organisation) else CONTACT_FIELDS


def differing_fields(survivor, merged) -> list[MergeField]:
    """The fields whose values differ, the ones the user may pick from the merged record."""
    return [f for f in fields_for(survivor) if getattr(survivor, f.name) != getattr(merged, f.name)]


def _lock_both(first, second) -> None:
    # In id order, so that two merges of the same pair in opposite directions cannot deadlock. The one that
    # waited finds out here whether the other merge took one of its records away (merged into another).
    try:
        lock_and_refresh(*sorted((first, second), key=lambda record: record.id))
    except sa.exc.InvalidRequestError as gone:  # the row is no longer there to refresh
        raise CannotMerge(
            "One of the two records was merged into another (or deleted) by someone else meanwhile: "
            "nothing was changed. Reload the page to see where its data went."
        ) from gone


def _unique_column_sets(table: sa.Table) -> list[set[str]]:
    sets = [{c.name for c in table.primary_key.columns}]
    sets += [
        {c.name for c in constraint.columns}
        for constraint in table.constraints
        if isinstance(constraint, sa.UniqueConstraint)
    ]
    sets += [{c.name for c in index.columns} for index in table.indexes if index.unique]
    sets += [{c.name} for c in table.columns if c.unique]
    return sets


def _references(target: sa.Table) -> list[tuple[sa.Table, sa.Column]]:
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column.table is target for fk in column.foreign_keys):
                found.append((table, column))
    return sorted(found, key=lambda pair: (pair[0].name, pair[1].name))


def _repoint(table: sa.Table, column: sa.Column, merged_id: int, survivor_id: int) -> dict:
    """Point `column` from the merged record to the survivor; drop the merged copies of unique pairs."""
    dropped = 0
    for columns in _unique_column_sets(table):
        if column.name not in columns:
            continue
        others = sorted(columns - {column.name})
        if not others:
            holders = sa.select(sa.func.count()).select_from(table)
            if db.session.scalar(holders.where(column == survivor_id)) and db.session.scalar(
                holders.where(column == merged_id)
            ):
                raise CannotMerge(f"Both records have {table.name.replace('_', ' ')}; only one may.")
            continue
        twin = sa.alias(table)
        duplicate = sa.exists().where(
            twin.c[column.name] == survivor_id, *[twin.c[o] == table.c[o] for o in others]
        )
        dropped += db.session.execute(sa.delete(table).where(column == merged_id, duplicate)).rowcount or 0
    key = list(table.primary_key.columns)
    ids = []
    if len(key) == 1:
        ids = list(db.session.scalars(sa.select(key[0]).where(column == merged_id).order_by(key[0])))
    moved = db.session.execute(sa.update(table).where(column == merged_id).values({column.name: survivor_id}))
    return {"moved": moved.rowcount or 0, "ids": ids, "dropped_as_duplicate": dropped}


def _move_everything(target: sa.Table, merged_id: int, survivor_id: int) -> dict[str, dict]:
    moved = {}
    for table, column in _references(target):
        outcome = _repoint(table, column, merged_id, survivor_id)
        if outcome["moved"] or outcome["dropped_as_duplicate"]:
            moved[f"{table.name}.{column.name}"] = outcome
    return moved


def _apply_picks(survivor, merged, take_from_merged: set[str]) -> None:
    offered = {f.name for f in fields_for(survivor)}
    unknown = take_from_merged - offered
    if unknown:
        raise ValidationFailed("Unknown field.", {"fields": [f"Not a field: {', '.join(sorted(unknown))}."]})
    for name in sorted(take_from_merged):
        for attribute in (name, *_GOES_WITH.get(name, ())):
            setattr(survivor, attribute, getattr(merged, attribute))


def _audit(survivor, merged, moved: dict[str, dict], taken: set[str]) -> None:
    actor_id, actor_label = current_actor()
    changes = {"merged_in": [f"#{merged.id} {merged}", f"#{survivor.id} {survivor}"]}
    for reference, outcome in moved.items():
        summary = f"{outcome['moved']} moved"
        if outcome["ids"]:
            summary += f" (ids {', '.join(str(i) for i in outcome['ids'])})"
        if outcome["dropped_as_duplicate"]:
            summary += f", {outcome['dropped_as_duplicate']} already on the survivor"
        changes[reference] = [f"#{merged.id}", summary]
    if taken:
        changes["fields_taken_from_merged"] = [None, ", ".join(sorted(taken))]
    db.session.add(
        AuditEntry(
            actor_id=actor_id,
            actor_label=actor_label[:254],
            action="merge",
            record_type=type(survivor).__name__,
            record_id=str(survivor.id),
            record_label=str(survivor)[:200],
            changes=changes,
        )
    )


def merge_organisations(
    survivor: Organisation, merged: Organisation, take_from_merged: set[str], actor
) -> dict[str, dict]:
    """Join `merged` into `survivor` (all it holds moves, its values only where picked), delete it."""
    if survivor.id == merged.id:
        raise CannotMerge("An organisation cannot be merged into itself.")
    _lock_both(survivor, merged)
    if db.session.scalar(
        sa.select(AcknowledgementLetter.id).where(AcknowledgementLetter.organisation_id == merged.id).limit(1)
    ):
        raise CannotMerge(
            f"{merged.name} has acknowledgement letters, which stay addressed as issued: "
            f"keep {merged.name} and merge the other one into it instead."
        )
    return _merge(Organisation, survivor, merged, set(take_from_merged))


def merge_contacts(survivor: Contact, merged: Contact, take_from_merged: set[str], actor) -> dict[str, dict]:
    """Join `merged` into `survivor` (all they hold moves, their values only where picked), delete them."""
    if survivor.id == merged.id:
        raise CannotMerge("A person cannot be merged into themselves.")
    _lock_both(survivor, merged)
    if survivor.is_erased:
        raise CannotMerge(
            f"{survivor.name}'s personal data was erased: merging would bring personal data back in. "
            "Keep the other record and merge this one into it."
        )
    take_from_merged = set(take_from_merged)
    if merged.is_erased and take_from_merged:
        raise CannotMerge("The other record's personal data was erased: there is nothing to take from it.")
    # Both were connectors: the survivor stays one, the merged person's connector keeps its connections.
    survivor_is_connector = db.session.scalar(
        sa.select(Connector.id).where(Connector.contact_id == survivor.id)
    )
    if survivor_is_connector:
        db.session.execute(
            sa.update(Connector.__table__).where(Connector.contact_id == merged.id).values(contact_id=None)
        )
    never_contact = merged.do_not_contact
    moved = _merge(Contact, survivor, merged, take_from_merged)
    # Asking never to be contacted is never undone by a merge.
    survivor.do_not_contact = survivor.do_not_contact or never_contact
    if survivor.email_consent and not survivor.email:
        raise ValidationFailed(
            "Consent without an address.",
            {"email_consent": ["Consent to e-mail needs the e-mail address too."]},
        )
    db.session.flush()
    return moved


def _merge(model, survivor, merged, take_from_merged: set[str]) -> dict[str, dict]:
    _apply_picks(survivor, merged, take_from_merged)
    db.session.flush()
    moved = _move_everything(model.__table__, merged.id, survivor.id)
    _audit(survivor, merged, moved, take_from_merged)
    # The bulk updates went around the session: what it holds about either record is stale.
    merged_id = merged.id
    db.session.flush()
    db.session.expire_all()
    db.session.delete(db.session.get(model, merged_id))
    db.session.flush()
    return moved


#: How the compare page names what a record holds; references from other areas fall back to their table name.
_HOLDING_LABELS = {
    "affiliations.organisation_id": "Contacts (positions)",
    "affiliations.contact_id": "Positions",
    "interactions.organisation_id": "Interactions",
    "interaction_contacts.contact_id": "Interactions taken part in",
    "gifts.organisation_id": "Gifts",
    "gifts.contact_id": "Gifts addressed to them",
    "introductions.organisation_id": "Introductions",
    "introductions.target_contact_id": "Introductions to them",
    "organisation_themes.organisation_id": "Themes",
    "connections.contact_id": "Connectors who know them",
    "acknowledgement_letters.organisation_id": "Acknowledgement letters",
    "acknowledgement_letters.contact_id": "Letters addressed to them",
    "connectors.contact_id": "Connector record",
}


def holdings(record: Organisation | Contact) -> dict[str, int]:
    """What points at the record, counted by kind (for the compare page): what a merge would move."""
    counts = {}
    for table, column in _references(type(record).__table__):
        key = f"{table.name}.{column.name}"
        number = db.session.scalar(sa.select(sa.func.count()).select_from(table).where(column == record.id))
        if number:
            counts[_HOLDING_LABELS.get(key, table.name.replace("_", " ").capitalize())] = number
    return counts
