"""Possible duplicates of an organisation or a contact, for the "merge" links on their pages.

Exact matches come from the indexed keys (the same `email_key`, the same `name_key`). Close matches are scored
with rapidfuzz, but only within a blocking key, so that a page never scores the whole table: organisations in
the same country (or, without one, names starting alike), contacts whose names start alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from rapidfuzz import fuzz, process

from ..extensions import db
from .models import Contact, Organisation

#: How alike two folded names must be (token_sort_ratio, 0-100) to be suggested: catches a typo, a swapped
#: word or a dropped "The", not "Ford Foundation" for "Hewlett Foundation" (61).
SIMILARITY_CUTOFF = 85
#: How many records of one block are scored at most (a block is a country or a name prefix).
BLOCK_LIMIT = 2000
#: How many suggestions a page shows.
SUGGESTIONS = 5
#: Names starting with these many characters alike form a block.
PREFIX_LENGTH = 3


@dataclass(frozen=True)
class Suggestion:
    record: Organisation | Contact
    reason: str


def _prefix_block(model, key: str) -> sa.ColumnElement[bool]:
    prefix = key[:PREFIX_LENGTH]
    return model.name_key.startswith(prefix, autoescape=True) if prefix else sa.false()


def _close(model, record, block: sa.ColumnElement[bool], exclude: set[int]) -> list[tuple[int, str]]:
    """(id, reason) of the records in `block` whose names are close to `record`'s, best first."""
    statement = sa.select(model.id, model.name_key).where(block, model.id.not_in(exclude)).limit(BLOCK_LIMIT)
    if model is Contact:
        statement = statement.where(Contact.erased_at.is_(None))
    choices = {row.id: row.name_key for row in db.session.execute(statement)}
    matches = process.extract(
        record.name_key,
        choices,
        scorer=fuzz.token_sort_ratio,
        score_cutoff=SIMILARITY_CUTOFF,
        limit=SUGGESTIONS,
    )
    return [(record_id, f"Similar name ({round(score)}% alike)") for _, score, record_id in matches]


def _load(model, found: list[tuple[int, str]]) -> list[Suggestion]:
    records = {
        r.id: r for r in db.session.scalars(sa.select(model).where(model.id.in_([i for i, _ in found])))
    }
    return [Suggestion(records[record_id], reason) for record_id, reason in found if record_id in records]


def organisation_duplicates(organisation: Organisation) -> list[Suggestion]:
    """Other organisations that may be this one: the same name key first, then close names nearby."""
    found = [
        (record_id, "Same name")
        for record_id in db.session.scalars(
            sa.select(Organisation.id)
            .where(Organisation.name_key == organisation.name_key, Organisation.id != organisation.id)
            .order_by(Organisation.id)
            .limit(SUGGESTIONS)
        )
    ]
    if len(found) < SUGGESTIONS and organisation.name_key:
        block = (
            Organisation.country_code == organisation.country_code
            if organisation.country_code
            else _prefix_block(Organisation, organisation.name_key)
        )
        exclude = {organisation.id, *(record_id for record_id, _ in found)}
        found += _close(Organisation, organisation, block, exclude)
    return _load(Organisation, found[:SUGGESTIONS])


def contact_duplicates(contact: Contact) -> list[Suggestion]:
    """Other people who may be this one: the same e-mail, the same name, then close names."""
    if contact.is_erased:
        return []
    found: list[tuple[int, str]] = []
    exact = []
    if contact.email_key:
        exact.append((Contact.email_key == contact.email_key, "Same e-mail"))
    if contact.name_key:
        exact.append((Contact.name_key == contact.name_key, "Same name"))
    for condition, reason in exact:
        seen = {contact.id, *(record_id for record_id, _ in found)}
        found += [
            (record_id, reason)
            for record_id in db.session.scalars(
                sa.select(Contact.id)
                .where(condition, Contact.id.not_in(seen), Contact.erased_at.is_(None))
                .order_by(Contact.id)
                .limit(SUGGESTIONS)
            )
        ]
    if len(found) < SUGGESTIONS and contact.name_key:
        exclude = {contact.id, *(record_id for record_id, _ in found)}
        found += _close(Contact, contact, _prefix_block(Contact, contact.name_key), exclude)
    return _load(Contact, found[:SUGGESTIONS])
