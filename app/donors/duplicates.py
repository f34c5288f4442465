"""Possible duplicates of an organisation or a contact: for the "merge" links on their pages, and in bulk for
the rows of an import (app/donors/imports.py).

Exact matches come from the indexed keys (the same `email_key`, the same `name_key`). Close matches are scored
with rapidfuzz, but only within a blocking key, so that a page never scores the whole table: organisations in
the same country (or, without one, names starting alike), contacts whose names start alike.

In bulk (`organisation_matches`, `contact_matches`) the same rules run for thousands of rows at once: the
candidates of every block the rows fall in are loaded by a few IN queries (not one per row), and each row is
scored against its block's candidates only. The number of queries does not depend on the number of rows.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
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
class Candidate:
    """What a suggestion shows of the record it points to (read with the candidates, in the same query):
    its id, its name (str() of it, as of the record), and its country (an organisation) or e-mail (a
    contact)."""

    id: int
    name: str
    country_code: str | None = None
    email: str = ""

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Suggestion:
    record: Candidate
    reason: str


def _starting_with(model, prefix: str) -> sa.ColumnElement[bool]:
    """Name keys starting with `prefix`, as a range of the name_key index (prefix <= key < the next prefix)
    as well as by LIKE: SQLite's LIKE ignores case, so its planner cannot serve it from the (binary) index and
    read the whole table instead, however few names the block holds."""
    following = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return sa.and_(
        model.name_key >= prefix,
        model.name_key < following,
        model.name_key.startswith(prefix, autoescape=True),
    )


def _prefix_block(model, key: str) -> sa.ColumnElement[bool]:
    prefix = key[:PREFIX_LENGTH]
    return _starting_with(model, prefix) if prefix else sa.false()


def similar_reason(score: float) -> str:
    return f"Similar name ({round(score)}% alike)"


def sorted_tokens(key: str) -> str:
    """The key's words in order: ratio() of two such strings is their token_sort_ratio()."""
    return " ".join(sorted(key.split()))


@dataclass(frozen=True)
class Block:
    """Candidates to score, ready for rapidfuzz: their ids and their name keys with the words sorted once
    (scoring thousands of rows against one block then sorts each candidate's words once, not per row)."""

    ids: list[int]
    keys: list[str]

    @classmethod
    def of(cls, choices: dict[int, str]) -> Block:
        # By id, so that equal scores rank the same way whatever order the database returned the rows in
        # (a confirmation compares its duplicates with the preview's).
        ids = sorted(choices)
        return cls(ids, [sorted_tokens(choices[record_id]) for record_id in ids])


def close_names(
    name_key: str, choices: Block | dict[int, str], limit: int = SUGGESTIONS
) -> list[tuple[int, float]]:
    """(id, score) of the choices whose name keys are close to `name_key` (token_sort_ratio at least
    SIMILARITY_CUTOFF), best first: the one rule both a page and an import use."""
    block = choices if isinstance(choices, Block) else Block.of(choices)
    if not name_key or not block.ids:
        return []
    matches = process.extract(
        sorted_tokens(name_key), block.keys, scorer=fuzz.ratio, score_cutoff=SIMILARITY_CUTOFF, limit=limit
    )
    return [(block.ids[index], score) for _, score, index in matches]


def _comparable_length(model, name_key: str) -> sa.ColumnElement[bool]:
    """Name keys long or short enough to be close to `name_key` at all. ratio() is 100 * (1 - the InDel
    distance / the two lengths' sum), and that distance is at least the lengths' difference, so a key of
    length l can reach SIMILARITY_CUTOFF (c, as a fraction) against one of length L only if
    c * L / (2 - c) <= l <= L * (2 - c) / c. Filtering on it loses no match, and a page scores a few hundred
    candidates of its block instead of thousands (the rows an organisation in a big country reads)."""
    cutoff = SIMILARITY_CUTOFF / 100
    length = len(name_key or "")
    shortest = math.floor(cutoff * length / (2 - cutoff))
    longest = math.ceil(length * (2 - cutoff) / cutoff)
    return sa.func.length(model.name_key).between(shortest, longest)


def _shown(model) -> list:
    """The columns a suggestion shows of a record (see Candidate)."""
    if model is Organisation:
        return [Organisation.name, Organisation.country_code, sa.literal("").label("email")]
    return [Contact.name, sa.null().label("country_code"), Contact.email]


def _candidates(model, record, exact: list[tuple[sa.ColumnElement[bool], str]], block):
    """One query for a page's suggestions: the records matching each exact condition (SUGGESTIONS of each,
    by id), then up to BLOCK_LIMIT records of the block to score, as (id, name key, which part, and what a
    suggestion shows) rows. Each part is limited on its own, inside a UNION ALL, so that the block cannot
    crowd out an exact match."""
    living = [Contact.erased_at.is_(None)] if model is Contact else []
    columns = [model.id, model.name_key, *_shown(model)]
    parts = [
        sa.select(*columns, sa.literal(index).label("part"))
        .where(condition, model.id != record.id, *living)
        .order_by(model.id)
        .limit(SUGGESTIONS * (index + 1))  # room for the rows an earlier part found already
        .subquery()
        for index, (condition, _reason) in enumerate(exact)
    ]
    if block is not None:
        # The block's ids and name keys only (no shown columns): SQLite then reads them from the name_key
        # index alone, not the thousand-odd rows of a big country (23 to 5 ms); the few suggested are read
        # afterwards (`_shown_rows`).
        unshown = [sa.null().label(column.name) for column in _shown(model)]
        parts.append(
            sa.select(model.id, model.name_key, *unshown, sa.literal(len(exact)).label("part"))
            .where(block, _comparable_length(model, record.name_key), model.id != record.id, *living)
            .limit(BLOCK_LIMIT + SUGGESTIONS * len(exact))
            .subquery()
        )
    if not parts:
        return []
    statements = [sa.select(*part.c) for part in parts]
    union = statements[0] if len(statements) == 1 else sa.union_all(*statements)
    # Plain rows through the session's connection: the ORM's column loading costs twice the query itself on
    # the thousand-odd rows of a big block.
    return db.session.connection().execute(union).all()


def _shown_rows(model, ids: list[int]) -> dict:
    """What a suggestion shows of the records `ids` (close names of the block), by id: one query."""
    rows = db.session.connection().execute(sa.select(model.id, *_shown(model)).where(model.id.in_(ids)))
    return {row.id: row for row in rows}


def _suggestions(model, record, exact: list[tuple[sa.ColumnElement[bool], str]], block) -> list[Suggestion]:
    """Exact matches first (in the order of `exact`, each record once), then close names in the block
    (never one found already): one query, whatever the number of suggestions."""
    rows = _candidates(model, record, exact, block)
    # An exact match's row shows it (the block's rows carry no shown columns).
    by_id = {row.id: row for row in sorted(rows, key=lambda row: -row.part)}
    found: list[tuple[int, str]] = []
    seen = {record.id}
    for index, (_condition, reason) in enumerate(exact):
        for row in rows:
            if row.part == index and row.id not in seen and len(found) < SUGGESTIONS:
                found.append((row.id, reason))
                seen.add(row.id)
    if len(found) < SUGGESTIONS and block is not None and record.name_key:
        in_block = [row for row in rows if row.part == len(exact) and row.id not in seen]
        choices = {row.id: row.name_key for row in in_block[:BLOCK_LIMIT]}
        found += [(i, similar_reason(score)) for i, score in close_names(record.name_key, choices)]
    found = found[:SUGGESTIONS]
    unshown = [record_id for record_id, _reason in found if by_id[record_id].name is None]
    if unshown:
        by_id.update(_shown_rows(model, unshown))
    return [
        Suggestion(
            Candidate(row.id, row.name, row.country_code, row.email or ""),
            reason,
        )
        for row, reason in ((by_id[record_id], reason) for record_id, reason in found)
    ]


def organisation_duplicates(organisation: Organisation) -> list[Suggestion]:
    """Other organisations that may be this one: the same name key first, then close names nearby."""
    block = None
    if organisation.name_key:
        block = (
            Organisation.country_code == organisation.country_code
            if organisation.country_code
            else _prefix_block(Organisation, organisation.name_key)
        )
    exact = [(Organisation.name_key == organisation.name_key, "Same name")]
    return _suggestions(Organisation, organisation, exact, block)


def contact_duplicates(contact: Contact) -> list[Suggestion]:
    """Other people who may be this one: the same e-mail, the same name, then close names."""
    if contact.is_erased:
        return []
    exact = []
    if contact.email_key:
        exact.append((Contact.email_key == contact.email_key, "Same e-mail"))
    if contact.name_key:
        exact.append((Contact.name_key == contact.name_key, "Same name"))
    block = _prefix_block(Contact, contact.name_key) if contact.name_key else None
    return _suggestions(Contact, contact, exact, block)


# --- In bulk, for an import ------------------------------------------------------------------------------

#: How many keys one IN query carries at most (SQLite accepts 32,766 parameters, psycopg 65,535).
IN_CHUNK = 10_000


class Strength:
    """How sure a match is: the same e-mail or organisation name is the same record; a close name may be."""

    EXACT = "exact"
    SAME_NAME = "same_name"
    CLOSE = "close"


@dataclass(frozen=True)
class Wanted:
    """A record that is not in the database yet (a row of a file), to be matched: `key` identifies it."""

    key: int
    name_key: str
    email_key: str = ""
    country_code: str | None = None


@dataclass(frozen=True)
class Match:
    record_id: int
    reason: str
    strength: str
    score: float = 100.0


def _chunks(values: Iterable[str]) -> list[list[str]]:
    ordered = sorted(set(values))
    return [ordered[i : i + IN_CHUNK] for i in range(0, len(ordered), IN_CHUNK)]


def _rows_with(statement_for, values: Iterable[str]) -> list:
    """Every row of `statement_for(chunk)` over the values, a chunk of IN_CHUNK keys per query."""
    rows = []
    for chunk in _chunks(values):
        rows.extend(db.session.execute(statement_for(chunk)))
    return rows


def _prefix_condition(model, prefixes: set[str]) -> sa.ColumnElement[bool]:
    """Names starting with any of the prefixes: one IN on the first letters (short prefixes, of names
    shorter than PREFIX_LENGTH, by LIKE)."""
    full = sorted(p for p in prefixes if len(p) == PREFIX_LENGTH)
    short = sorted(p for p in prefixes if p and len(p) < PREFIX_LENGTH)
    conditions = [_starting_with(model, prefix) for prefix in short]
    if full:
        conditions.append(sa.func.substr(model.name_key, 1, PREFIX_LENGTH).in_(full))
    return sa.or_(*conditions) if conditions else sa.false()


def _prefix_blocks(rows, prefixes: set[str]) -> dict[str, dict[int, str]]:
    """{prefix: {id: name key}} of the loaded rows, for each prefix asked."""
    blocks: dict[str, dict[int, str]] = defaultdict(dict)
    short = [p for p in prefixes if len(p) < PREFIX_LENGTH]
    for row in rows:
        head = row.name_key[:PREFIX_LENGTH]
        if head in prefixes:
            blocks[head][row.id] = row.name_key
        for prefix in short:
            if row.name_key.startswith(prefix):
                blocks[prefix][row.id] = row.name_key
    return blocks


def _add_close(found: dict[int, list[Match]], wanted: Wanted, block: Block | None) -> None:
    matches = found.setdefault(wanted.key, [])
    if len(matches) >= SUGGESTIONS or block is None:
        return
    known = {match.record_id for match in matches}
    for record_id, score in close_names(wanted.name_key, block, SUGGESTIONS + len(known)):
        if record_id not in known and len(matches) < SUGGESTIONS:
            matches.append(Match(record_id, similar_reason(score), Strength.CLOSE, score))


def organisation_matches(wanted: Sequence[Wanted]) -> dict[int, list[Match]]:
    """For each wanted organisation, the existing ones that may be it: the same name key, then close names
    in the same country (without one, names starting alike). Two queries whatever the number of rows."""
    found: dict[int, list[Match]] = {item.key: [] for item in wanted}
    keys = {item.name_key for item in wanted if item.name_key}
    same_name: dict[str, list[int]] = defaultdict(list)
    for row in _rows_with(
        lambda chunk: (
            sa.select(Organisation.id, Organisation.name_key)
            .where(Organisation.name_key.in_(chunk))
            .order_by(Organisation.id)
        ),
        keys,
    ):
        same_name[row.name_key].append(row.id)
    for item in wanted:
        found[item.key] = [
            Match(record_id, "Same name", Strength.EXACT) for record_id in same_name.get(item.name_key, [])
        ][:SUGGESTIONS]

    countries = {item.country_code for item in wanted if item.country_code and item.name_key}
    prefixes = {item.name_key[:PREFIX_LENGTH] for item in wanted if not item.country_code and item.name_key}
    condition = sa.or_(
        Organisation.country_code.in_(sorted(countries)) if countries else sa.false(),
        _prefix_condition(Organisation, prefixes),
    )
    rows = db.session.execute(
        sa.select(Organisation.id, Organisation.name_key, Organisation.country_code).where(condition)
    ).all()
    in_country: dict[str, dict[int, str]] = defaultdict(dict)
    for row in rows:
        if row.country_code in countries:
            in_country[row.country_code][row.id] = row.name_key
    by_country = {code: Block.of(choices) for code, choices in in_country.items()}
    by_prefix = {prefix: Block.of(choices) for prefix, choices in _prefix_blocks(rows, prefixes).items()}
    for item in wanted:
        if not item.name_key:
            continue
        if item.country_code:
            block = by_country.get(item.country_code)
        else:
            block = by_prefix.get(item.name_key[:PREFIX_LENGTH])
        _add_close(found, item, block)
    return found


def contact_matches(wanted: Sequence[Wanted]) -> dict[int, list[Match]]:
    """For each wanted person, the existing (not erased) contacts that may be them: the same e-mail, the same
    name, then close names starting alike. Three queries whatever the number of rows."""
    found: dict[int, list[Match]] = {item.key: [] for item in wanted}
    living = Contact.erased_at.is_(None)
    by_email: dict[str, list[int]] = defaultdict(list)
    for row in _rows_with(
        lambda chunk: (
            sa.select(Contact.id, Contact.email_key)
            .where(Contact.email_key.in_(chunk), living)
            .order_by(Contact.id)
        ),
        {item.email_key for item in wanted if item.email_key},
    ):
        by_email[row.email_key].append(row.id)
    by_name: dict[str, list[int]] = defaultdict(list)
    for row in _rows_with(
        lambda chunk: (
            sa.select(Contact.id, Contact.name_key)
            .where(Contact.name_key.in_(chunk), living)
            .order_by(Contact.id)
        ),
        {item.name_key for item in wanted if item.name_key},
    ):
        by_name[row.name_key].append(row.id)
    for item in wanted:
        matches = [Match(i, "Same e-mail", Strength.EXACT) for i in by_email.get(item.email_key, [])]
        seen = {match.record_id for match in matches}
        matches += [
            Match(i, "Same name", Strength.SAME_NAME) for i in by_name.get(item.name_key, []) if i not in seen
        ]
        found[item.key] = matches[:SUGGESTIONS]

    prefixes = {item.name_key[:PREFIX_LENGTH] for item in wanted if item.name_key}
    rows = db.session.execute(
        sa.select(Contact.id, Contact.name_key).where(_prefix_condition(Contact, prefixes), living)
    ).all()
    blocks = {prefix: Block.of(choices) for prefix, choices in _prefix_blocks(rows, prefixes).items()}
    for item in wanted:
        if item.name_key:
            _add_close(found, item, blocks.get(item.name_key[:PREFIX_LENGTH]))
    return found
