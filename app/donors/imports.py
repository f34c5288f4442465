"""Importing organisations or contacts from a CSV or XLSX file: upload, map the columns, preview, confirm.

The steps keep no state in the process (app/common/imports.py reads the file, finds the columns and signs):

1. `read_file` reads the upload; `guess_header` finds the columns by their headers (exact names, then words),
   and the mapping step lets the person change them (`chosen_header`). The file itself travels signed
   (`sign_file` / `read_signed_file`) between the steps.
2. `build_preview` checks every row the way the forms and the database would (required names, e-mail through
   email-validator, phone numbers to E.164, known choices, lengths, one row per person or organisation in the
   file): any bad row raises ImportRejected listing every problem by its spreadsheet row, and nothing is
   imported. It then finds the possible duplicates of every row in bulk (app/donors/duplicates.py) and offers,
   for each, skip, update or create anyway.
3. `confirm_token` signs the file, the mapping and the duplicates the preview showed; `apply_import` reads the
   file again, validates it again, refuses when the duplicates moved meanwhile (PreviewOutOfDate), and applies
   the person's choices. Created and updated records reach the audit log and the search index through the
   models, as any other change does.

Every function flushes and never commits: one confirmation is one transaction, so it imports all or nothing.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import zlib
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from functools import cached_property

import pycountry
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..common.audit import acting_as
from ..common.errors import DomainError, ValidationFailed
from ..common.imports import (
    Column,
    Header,
    PreviewSigner,
    RowProblem,
    Table,
    find_header,
    header_from_mapping,
    plain_text,
    read_table,
    reject,
    reject_if_any,
)
from ..common.time import today
from ..extensions import db
from . import duplicates
from .duplicates import Match, Strength, Wanted
from .models import (
    Affiliation,
    Contact,
    Language,
    LawfulBasis,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
)
from .services import country_name, display_phone, normalise_email, normalise_phone, themes_from_text
from .text import clean, fold, name_key

ORGANISATIONS, CONTACTS = "organisations", "contacts"
KINDS = {ORGANISATIONS: "Organisations", CONTACTS: "Contacts"}
#: What an import reads at most: 10,000 people or organisations under a header row.
MAX_RECORDS = 10_000
MAX_UPLOAD_BYTES = 4 * 1024 * 1024
MAX_ROWS = MAX_RECORDS + 20  # a header row, a title and notes above it, blank rows in between
#: A viewer country no number is in: display_phone() then writes every number internationally.
INTERNATIONAL = "ZZ"
#: How many rows without a duplicate the preview lists (the others are counted).
LISTED_NEW_ROWS = 200

#: The uploaded file, between the upload, the mapping and the preview.
FILE_SIGNER = PreviewSigner("tributary.donor-import-file")
#: What the preview showed, for the confirmation.
SIGNER = PreviewSigner("tributary.donor-import")


class PreviewOutOfDate(DomainError):
    """Records changed between the preview and the confirmation: the preview no longer says what happens."""


# --- Columns -----------------------------------------------------------------------------------------------

ORGANISATION_COLUMNS = (
    Column(
        "name",
        "Name",
        names={"name", "organisation", "organization", "organisation name", "organization name", "funder",
               "foundation", "donor", "company"},
        words=("organisation", "organization", "name", "funder", "donor"),
        missing_message="No organisation name column: name one column “Name”.",
    ),
    Column("kind", "Kind", names={"kind", "type", "organisation type", "organization type", "category"},
           words=("kind", "type"), required=False),
    Column("country", "Country", names={"country", "country code", "iso", "iso code", "nation"},
           words=("country",), required=False),
    Column("website", "Website", names={"website", "web site", "web", "url", "site", "homepage"},
           words=("website", "url", "web"), required=False),
    Column("status", "Status", names={"status", "stage", "relationship status"}, words=("status",),
           required=False),
    Column("themes", "Themes", names={"themes", "theme", "focus themes", "focus", "focus areas", "tags"},
           words=("theme", "themes", "focus", "tags"), required=False),
    Column("notes", "Notes", names={"notes", "note", "comments", "comment", "remarks"},
           words=("notes", "note", "comments", "comment"), required=False),
)  # fmt: skip

CONTACT_COLUMNS = (
    # The organisation first, so that "Organisation name" is not taken for the person's name.
    Column("organisation", "Organisation",
           names={"organisation", "organization", "organisation name", "organization name", "company",
                  "employer", "foundation", "funder", "donor"},
           words=("organisation", "organization", "company", "employer"), required=False),
    Column("email", "E-mail", names={"email", "e mail", "email address", "e mail address", "mail", "courriel",
                                     "correo"}, words=("email", "mail"), required=False),
    Column("name", "Name", names={"name", "full name", "contact", "contact name", "person", "nom", "nombre"},
           words=("name",), missing_message="No name column: name one column “Name” (the full name)."),
    Column("title", "Title", names={"title", "salutation", "honorific", "civility"}, required=False),
    Column("role", "Role", names={"role", "position", "job title", "job", "function", "poste", "cargo"},
           words=("role", "position", "job"), required=False),
    Column("phone", "Phone", names={"phone", "telephone", "tel", "mobile", "phone number", "telephone nr"},
           words=("phone", "telephone", "mobile", "tel"), required=False),
    Column("language", "Language", names={"language", "lang", "langue", "idioma", "preferred language"},
           words=("language",), required=False),
    Column("lawful_basis", "Lawful basis", names={"lawful basis", "legal basis", "gdpr basis", "basis"},
           words=("lawful", "legal", "gdpr"), required=False),
    Column("source", "Source", names={"source", "data source", "where from", "origin"}, words=("source",),
           required=False),
    Column("notes", "Notes", names={"notes", "note", "comments", "comment", "remarks"},
           words=("notes", "note", "comments", "comment"), required=False),
)  # fmt: skip

COLUMNS = {ORGANISATIONS: ORGANISATION_COLUMNS, CONTACTS: CONTACT_COLUMNS}
#: The order the mapping step and the template file show the columns in.
SHOWN_ORDER = {
    ORGANISATIONS: ("name", "kind", "country", "website", "status", "themes", "notes"),
    CONTACTS: ("name", "title", "email", "phone", "language", "organisation", "role", "lawful_basis",
               "source", "notes"),
}  # fmt: skip
#: What the template file's example row holds.
EXAMPLES = {
    ORGANISATIONS: {"name": "Fondation Exemple", "kind": "Private foundation", "country": "France",
                    "website": "https://fondation.example", "status": "Prospect",
                    "themes": "Civic space, Open contracting", "notes": "Met at the 2026 summit"},
    CONTACTS: {"name": "Ana Ribeiro", "title": "Dr", "email": "ana.ribeiro@fondation.example",
               "phone": "+33 1 42 68 53 00", "language": "fr", "organisation": "Fondation Exemple",
               "role": "Programme officer", "lawful_basis": "Legitimate interest",
               "source": "OGP summit 2026 attendee list", "notes": ""},
}  # fmt: skip
#: What each column takes, for the page that explains the file.
HINTS = {
    "kind": ", ".join(kind.label for kind in OrganisationKind) + " (blank: Other).",
    "country": "A country name or ISO code (Kenya, KE, KEN).",
    "status": ", ".join(status.label for status in OrganisationStatus) + " (blank: Prospect).",
    "themes": "Separated by commas; new themes are added.",
    "language": "en, fr or es (or English, French, Spanish); blank: English.",
    "lawful_basis": ", ".join(basis.label for basis in LawfulBasis) + " (blank: Legitimate interest).",
    "phone": "With + and the country code, or as dialled in the organisation's country.",
    "organisation": "Matched to an organisation by its name; one that does not exist yet is created.",
    "source": "Where the data came from (GDPR); blank: “Imported from” and the file's name.",
    "title": "Dr, Ms, Mr… (a job title goes in Role).",
}

#: Database column lengths the file's values must fit.
LIMITS = {
    (ORGANISATIONS, "name"): 300,
    (ORGANISATIONS, "website"): 300,
    (ORGANISATIONS, "themes"): 1000,
    (ORGANISATIONS, "notes"): 10000,
    (CONTACTS, "name"): 200,
    (CONTACTS, "title"): 200,
    (CONTACTS, "role"): 200,
    (CONTACTS, "phone"): 40,
    (CONTACTS, "organisation"): 300,
    (CONTACTS, "source"): 300,
    (CONTACTS, "notes"): 10000,
}


def check_kind(kind: str | None) -> str:
    """`kind` when it names what an import holds, or ValidationFailed."""
    if kind not in COLUMNS:
        raise ValidationFailed("Choose what the file holds.", {"kind": ["Choose organisations or contacts."]})
    return kind


def columns(kind: str) -> list[Column]:
    """The columns of an import, in the order the mapping step shows them."""
    by_key = {column.key: column for column in COLUMNS[check_kind(kind)]}
    return [by_key[key] for key in SHOWN_ORDER[kind]]


def template_rows(kind: str) -> list[list[str]]:
    """The header row and one example row, for the downloadable template file."""
    shown = columns(kind)
    return [[column.label for column in shown], [EXAMPLES[kind][column.key] for column in shown]]


# --- Reading values ----------------------------------------------------------------------------------------


def _choices_by_text(enum_class, extra: Mapping[str, str] = ()) -> dict[str, str]:
    names = {}
    for item in enum_class:
        names[plain_text(item.value)] = item.value
        names[plain_text(item.label)] = item.value
    names.update({plain_text(text): value for text, value in dict(extra).items()})
    return names


_KINDS = _choices_by_text(
    OrganisationKind,
    {"foundation": "private_foundation", "government": "government", "family office": "individual",
     "individual": "individual", "bilateral": "bilateral_agency", "multilateral agency": "multilateral",
     "corporate": "company", "business": "company"},
)  # fmt: skip
_STATUSES = _choices_by_text(OrganisationStatus, {"current": "active", "former": "lapsed"})
_LANGUAGES = _choices_by_text(
    Language,
    {"eng": "en", "fra": "fr", "fre": "fr", "spa": "es", "anglais": "en", "francais": "fr", "espagnol": "es",
     "ingles": "en", "frances": "fr", "espanol": "es", "castellano": "es"},
)  # fmt: skip
_BASES = _choices_by_text(
    LawfulBasis, {"legitimate interests": "legitimate_interest", "li": "legitimate_interest"}
)


def read_country(text: str) -> str | None:
    """The ISO alpha-2 code of a country given by its code or name (KE, KEN, Kenya), or None."""
    value = " ".join(text.split())
    if not value:
        return None
    try:
        return pycountry.countries.lookup(value).alpha_2
    except LookupError:
        return _countries_by_plain_name().get(plain_text(value))


_COUNTRY_NAMES: dict[str, str] = {}


def _countries_by_plain_name() -> dict[str, str]:
    if not _COUNTRY_NAMES:
        for country in pycountry.countries:
            for attribute in ("name", "official_name", "common_name"):
                value = getattr(country, attribute, None)
                if value:
                    _COUNTRY_NAMES.setdefault(plain_text(value), country.alpha_2)
    return _COUNTRY_NAMES


def _one_line(text: str) -> str:
    return " ".join(clean(text).split())


def _website(text: str) -> str:
    website = _one_line(text)
    if website and not website.startswith(("http://", "https://")):
        website = f"https://{website}"  # as the organisation form does
    return website


# --- Parsed rows -------------------------------------------------------------------------------------------


@dataclass
class OrganisationRow:
    row: int
    name: str
    kind: str | None = None
    status: str | None = None
    country_code: str | None = None
    website: str = ""
    themes: str = ""
    notes: str = ""

    @cached_property
    def name_key(self) -> str:
        return name_key(self.name)

    def wanted(self) -> Wanted:
        return Wanted(self.row, self.name_key, country_code=self.country_code)

    def shown(self) -> list[tuple[str, str]]:
        return [
            ("Kind", OrganisationKind(self.kind).label if self.kind else ""),
            ("Country", country_name(self.country_code)),
            ("Website", self.website),
            ("Status", OrganisationStatus(self.status).label if self.status else ""),
            ("Themes", self.themes),
        ]


@dataclass
class ContactRow:
    row: int
    name: str
    title: str = ""
    email: str = ""
    phone: str = ""
    language: str | None = None
    organisation: str = ""
    role: str = ""
    lawful_basis: str | None = None
    source: str = ""
    notes: str = ""

    @cached_property
    def name_key(self) -> str:
        return name_key(self.name)

    @cached_property
    def organisation_key(self) -> str:
        return name_key(self.organisation)

    def wanted(self) -> Wanted:
        return Wanted(self.row, self.name_key, email_key=self.email.casefold())

    def shown(self) -> list[tuple[str, str]]:
        return [
            ("E-mail", self.email),
            ("Organisation", self.organisation),
            ("Role", self.role),
            ("Phone", display_phone(self.phone, viewer_country=INTERNATIONAL)),
            ("Language", Language(self.language).label if self.language else ""),
        ]


def _too_long(problems, number, label, value, limit) -> None:
    if len(value) > limit:
        problems.append(RowProblem(number, f"{label} is {len(value):,} characters long: at most {limit:,}."))


def _choice(problems, number, label, text, names, allowed) -> str | None:
    if not text.strip():
        return None
    value = names.get(plain_text(text))
    if value is None:
        problems.append(RowProblem(number, f"{label} “{_one_line(text)[:60]}” is not one of: {allowed}."))
    return value


def _parse_organisations(header: Header, table: Table) -> list[OrganisationRow]:
    problems: list[RowProblem] = []
    rows: list[OrganisationRow] = []
    seen: dict[str, int] = {}
    for record in header.records(table):
        number = record.number
        item = OrganisationRow(number, _one_line(record["name"]))
        if not item.name:
            problems.append(RowProblem(number, "No organisation name on this row."))
        _too_long(problems, number, "The name", item.name, LIMITS[ORGANISATIONS, "name"])
        if len(fold(item.name)) > LIMITS[ORGANISATIONS, "name"]:  # the folded copy the search keeps
            problems.append(RowProblem(number, "The name is too long once its accents are spelt out."))
        item.kind = _choice(problems, number, "The kind", record["kind"], _KINDS,
                            ", ".join(k.label for k in OrganisationKind))  # fmt: skip
        item.status = _choice(problems, number, "The status", record["status"], _STATUSES,
                              ", ".join(s.label for s in OrganisationStatus))  # fmt: skip
        country_text = _one_line(record["country"])
        item.country_code = read_country(country_text) if country_text else None
        if country_text and item.country_code is None:
            problems.append(
                RowProblem(number, f"“{country_text[:60]}” is not a country: use its name or ISO code (KE).")
            )
        item.website = _website(record["website"])
        _too_long(problems, number, "The website", item.website, LIMITS[ORGANISATIONS, "website"])
        item.themes = _one_line(record["themes"])
        _too_long(problems, number, "The themes", item.themes, LIMITS[ORGANISATIONS, "themes"])
        item.notes = clean(record["notes"]).strip()
        _too_long(problems, number, "The notes", item.notes, LIMITS[ORGANISATIONS, "notes"])
        key = item.name_key
        if key and key in seen:
            problems.append(
                RowProblem(
                    number, f"“{item.name}” is already on row {seen[key]}: keep one row per organisation."
                )
            )
        elif key:
            seen[key] = number
        rows.append(item)
    reject_if_any(problems)
    return rows


def _parse_contacts(
    header: Header, table: Table, organisations: Mapping[str, Organisation]
) -> list[ContactRow]:
    """The contact rows; `organisations` are the existing ones the file names, by name key (for the country a
    phone number without + is read in)."""
    problems: list[RowProblem] = []
    rows: list[ContactRow] = []
    seen_emails: dict[str, int] = {}
    for record in header.records(table):
        number = record.number
        item = ContactRow(number, _one_line(record["name"]))
        if not item.name:
            problems.append(RowProblem(number, "No name on this row."))
        _too_long(problems, number, "The name", item.name, LIMITS[CONTACTS, "name"])
        for key, label in (("title", "The title"), ("role", "The role"), ("source", "The source")):
            setattr(item, key, _one_line(record[key]))
            _too_long(problems, number, label, getattr(item, key), LIMITS[CONTACTS, key])
        item.notes = clean(record["notes"]).strip()
        _too_long(problems, number, "The notes", item.notes, LIMITS[CONTACTS, "notes"])
        item.organisation = _one_line(record["organisation"])
        _too_long(
            problems, number, "The organisation's name", item.organisation, LIMITS[CONTACTS, "organisation"]
        )
        if item.organisation and not item.organisation_key:
            problems.append(RowProblem(number, "The organisation's name has no letters or digits."))
        try:
            item.email = normalise_email(_one_line(record["email"]))
        except ValidationFailed as failed:
            problems.append(RowProblem(number, f"The e-mail address: {failed.field_errors['email'][0]}"))
        raw_phone = _one_line(record["phone"])
        if len(raw_phone) > LIMITS[CONTACTS, "phone"]:
            _too_long(problems, number, "The phone number", raw_phone, LIMITS[CONTACTS, "phone"])
        else:
            organisation = organisations.get(item.organisation_key)
            try:
                item.phone = normalise_phone(raw_phone, organisation.country_code if organisation else None)
            except ValidationFailed as failed:
                problems.append(
                    RowProblem(number, f"The phone number “{raw_phone}”: {failed.field_errors['phone'][0]}")
                )
        item.language = _choice(problems, number, "The language", record["language"], _LANGUAGES,
                                "en, fr, es")  # fmt: skip
        item.lawful_basis = _choice(problems, number, "The lawful basis", record["lawful_basis"], _BASES,
                                    ", ".join(b.label for b in LawfulBasis))  # fmt: skip
        email_key = item.email.casefold()
        if email_key and email_key in seen_emails:
            problems.append(
                RowProblem(number, f"{item.email} is already on row {seen_emails[email_key]}: "
                           "keep one row per person.")
            )  # fmt: skip
        elif email_key:
            seen_emails[email_key] = number
        rows.append(item)
    reject_if_any(problems)
    return rows


# --- Reading the file and its columns ----------------------------------------------------------------------


def read_file(filename: str, content: bytes) -> Table:
    """The uploaded file's rows, or ImportRejected saying why it cannot be read (UTF-8 only: a file in another
    character set is refused with what to do, rather than read with wrong letters)."""
    table = read_table(filename, content, max_bytes=MAX_UPLOAD_BYTES, max_rows=MAX_ROWS)
    return table


def guess_header(kind: str, table: Table, row: int | None = None) -> Header:
    """The header row and the columns found by their names: among the opening rows, or on `row`."""
    if row is not None and table.row(row) is not None:
        return find_header(Table([table.row(row)], table.kind), COLUMNS[check_kind(kind)])
    return find_header(table, COLUMNS[check_kind(kind)])


def chosen_header(kind: str, table: Table, header_row: int, mapping: Mapping[str, int | None]) -> Header:
    """The header the person chose on the mapping step (ImportRejected when it cannot be)."""
    known = {column.key for column in COLUMNS[check_kind(kind)]}
    positions = {key: mapping.get(key) for key in known}
    header = header_from_mapping(table, header_row, positions)
    taken: dict[int, str] = {}
    problems = []
    labels = {column.key: column.label for column in COLUMNS[kind]}
    for key in SHOWN_ORDER[kind]:
        index = header.positions.get(key)
        if index is None:
            continue
        if index in taken:
            problems.append(
                RowProblem(header.row, f"Column {index + 1} is chosen for both “{labels[taken[index]]}” and "
                           f"“{labels[key]}”: choose it for one only.")
            )  # fmt: skip
        taken[index] = key
    reject_if_any(problems)
    return header


def _check_header(kind: str, header: Header, table: Table) -> None:
    problems = header.missing(COLUMNS[kind])
    reject_if_any(problems)
    count = sum(1 for _ in header.records(table))
    if not count:
        raise reject("The file has no row under its header row.", header.row)
    if count > MAX_RECORDS:
        raise reject(f"The file has {count:,} rows: import at most {MAX_RECORDS:,} at a time.")


# --- The preview -------------------------------------------------------------------------------------------


class Choice(enum.StrEnum):
    SKIP = "skip"
    UPDATE = "update"
    CREATE = "create"


@dataclass(frozen=True)
class Existing:
    """A record a row may duplicate, as the preview shows it."""

    id: int
    name: str
    detail: str
    reason: str
    strength: str


@dataclass
class PreviewLine:
    item: OrganisationRow | ContactRow
    matches: list[Existing] = field(default_factory=list)

    @property
    def row(self) -> int:
        return self.item.row

    @property
    def is_exact(self) -> bool:
        return bool(self.matches) and self.matches[0].strength == Strength.EXACT

    @property
    def options(self) -> list[tuple[str, str]]:
        """(value, label) of what may be done with this row; the first is the default."""
        updates = [
            (f"update-{match.id}", f"Update {match.name} ({match.reason.lower()})") for match in self.matches
        ]
        skip = ("skip", "Skip this row")
        create = ("create", "Create a new record anyway")
        if self.is_exact:
            return [updates[0], skip, *updates[1:], create]
        return [skip, *updates, create]

    @property
    def default(self) -> str:
        return self.options[0][0]


@dataclass(frozen=True)
class NewOrganisation:
    key: str
    name: str
    first_row: int
    #: An existing organisation with a close name, which the file may have meant.
    similar_to: str = ""


@dataclass
class ImportPreview:
    kind: str
    filename: str
    header: Header
    lines: list[PreviewLine]
    #: Contacts: organisations the file names that do not exist yet, each created once.
    new_organisations: list[NewOrganisation] = field(default_factory=list)
    #: Contacts: rows naming an organisation that has several records with that name (the oldest is used).
    ambiguous_organisations: dict[str, int] = field(default_factory=dict)

    @property
    def new(self) -> list[PreviewLine]:
        return [line for line in self.lines if not line.matches]

    @property
    def exact(self) -> list[PreviewLine]:
        return [line for line in self.lines if line.is_exact]

    @property
    def close(self) -> list[PreviewLine]:
        return [line for line in self.lines if line.matches and not line.is_exact]

    def fingerprint(self) -> dict:
        """What the confirmation must find again: each row's possible duplicates, and (contacts) which
        organisations exist."""
        return {
            "matches": {
                str(line.row): [match.id for match in line.matches] for line in self.lines if line.matches
            },
            "new_organisations": [new.key for new in self.new_organisations],
        }


def _existing_organisations(keys) -> dict[str, list[Organisation]]:
    """Organisations by name key, oldest first (one query per IN_CHUNK keys)."""
    found: dict[str, list[Organisation]] = {}
    for chunk in duplicates._chunks(keys):  # noqa: SLF001 - the same chunking as the matcher
        for organisation in db.session.scalars(
            sa.select(Organisation).where(Organisation.name_key.in_(chunk)).order_by(Organisation.id)
        ):
            found.setdefault(organisation.name_key, []).append(organisation)
    return found


def _described(model, matches: dict[int, list[Match]]) -> dict[int, tuple[str, str]]:
    """{id: (name, detail)} of every matched record, in one query."""
    ids = sorted({match.record_id for found in matches.values() for match in found})
    if not ids:
        return {}
    if model is Organisation:
        rows = db.session.execute(
            sa.select(Organisation.id, Organisation.name, Organisation.country_code).where(
                Organisation.id.in_(ids)
            )
        )
        return {row.id: (row.name, country_name(row.country_code)) for row in rows}
    current = (
        sa.select(sa.func.min(Organisation.name))
        .join(Affiliation, Affiliation.organisation_id == Organisation.id)
        .where(Affiliation.contact_id == Contact.id, Affiliation.ended_on.is_(None))
        .correlate(Contact)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(Contact.id, Contact.name, Contact.email, current.label("at")).where(Contact.id.in_(ids))
    )
    return {row.id: (row.name, " · ".join(part for part in (row.email, row.at) if part)) for row in rows}


def _with_similar(new_organisations: list[NewOrganisation]) -> list[NewOrganisation]:
    """The organisations a contacts file would create, each with the existing one whose name is close, if
    any (a typo in the file): the same bulk matcher, two queries."""
    wanted = [Wanted(number, new.key) for number, new in enumerate(new_organisations)]
    matches = duplicates.organisation_matches(wanted)
    ids = {found[0].record_id for found in matches.values() if found}
    statement = sa.select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
    names = dict(db.session.execute(statement).all()) if ids else {}
    return [
        replace(new, similar_to=names.get(matches[number][0].record_id, "")) if matches[number] else new
        for number, new in enumerate(new_organisations)
    ]


def build_preview(kind: str, filename: str, table: Table, header: Header) -> ImportPreview:
    """Every row checked (ImportRejected lists every bad one) and its possible duplicates. A constant number
    of queries, whatever the number of rows."""
    check_kind(kind)
    _check_header(kind, header, table)
    if kind == ORGANISATIONS:
        items: Sequence = _parse_organisations(header, table)
        matches = duplicates.organisation_matches([item.wanted() for item in items])
        model = Organisation
        preview = ImportPreview(kind, filename, header, [])
    else:
        keys = {name_key(record["organisation"]) for record in header.records(table)} - {""}
        existing = _existing_organisations(keys)
        items = _parse_contacts(header, table, {key: found[0] for key, found in existing.items()})
        matches = duplicates.contact_matches([item.wanted() for item in items])
        model = Contact
        preview = ImportPreview(kind, filename, header, [])
        listed: set[str] = set()
        for item in items:
            key = item.organisation_key
            if not key:
                continue
            if key not in existing:
                if key not in listed:
                    listed.add(key)
                    preview.new_organisations.append(NewOrganisation(key, item.organisation, item.row))
            elif len(existing[key]) > 1:
                preview.ambiguous_organisations.setdefault(existing[key][0].name, len(existing[key]))
        preview.new_organisations = _with_similar(preview.new_organisations)
    described = _described(model, matches)
    for item in items:
        line = PreviewLine(item)
        for match in matches.get(item.row, []):
            if match.record_id in described:
                name, detail = described[match.record_id]
                line.matches.append(Existing(match.record_id, name, detail, match.reason, match.strength))
        preview.lines.append(line)
    return preview


# --- Signing -----------------------------------------------------------------------------------------------


def _pack(content: bytes) -> str:
    return base64.b64encode(zlib.compress(content, 6)).decode()


def _unpack(text: str) -> bytes:
    return zlib.decompress(base64.b64decode(text.encode(), validate=True), bufsize=MAX_UPLOAD_BYTES)


def sign_file(kind: str, filename: str, content: bytes) -> str:
    """The uploaded file, signed, for the mapping step."""
    return FILE_SIGNER.sign({"kind": kind, "filename": filename[:255], "content": _pack(content)})


@dataclass(frozen=True)
class SignedFile:
    kind: str
    filename: str
    content: bytes


def read_signed_file(token: str | None, signer: PreviewSigner = FILE_SIGNER) -> SignedFile:
    """The file a signed token carries, or PreviewTokenInvalid."""
    data = signer.read(token)
    try:
        signed = SignedFile(str(data["kind"]), str(data["filename"]), _unpack(str(data["content"])))
    except (KeyError, TypeError, ValueError, zlib.error):
        raise signer.refused() from None
    if signed.kind not in COLUMNS or len(signed.content) > MAX_UPLOAD_BYTES:
        raise signer.refused()
    return signed


def confirm_token(preview: ImportPreview, content: bytes) -> str:
    """What the confirmation carries: the file, the columns chosen and the duplicates the preview showed."""
    return SIGNER.sign(
        {
            "kind": preview.kind,
            "filename": preview.filename[:255],
            "content": _pack(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "header_row": preview.header.row,
            "mapping": preview.header.positions,
            "expected": preview.fingerprint(),
        }
    )


@dataclass(frozen=True)
class SignedPreview:
    file: SignedFile
    header_row: int
    mapping: dict[str, int | None]
    expected: dict


def read_confirm_token(token: str | None) -> SignedPreview:
    signed_file = read_signed_file(token, SIGNER)
    data = SIGNER.read(token)
    try:
        mapping = {
            str(key): (None if value is None else int(value)) for key, value in data["mapping"].items()
        }
        header_row, expected = int(data["header_row"]), dict(data["expected"])
        if hashlib.sha256(signed_file.content).hexdigest() != data["sha256"]:
            raise ValueError
    except (KeyError, TypeError, ValueError, AttributeError):
        raise SIGNER.refused() from None
    return SignedPreview(signed_file, header_row, mapping, expected)


# --- Confirming --------------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    kind: str
    filename: str
    created: int = 0
    updated: int = 0
    skipped: int = 0
    organisations_created: int = 0

    def summary(self) -> str:
        what = "organisation" if self.kind == ORGANISATIONS else "contact"

        def count(number, word):
            return f"{number:,} {word}{'' if number == 1 else 's'}"

        text = (
            f"Imported {self.filename or 'the file'}: {count(self.created, what)} created, "
            f"{self.updated:,} updated, {self.skipped:,} skipped."
        )
        if self.organisations_created:
            text += f" {count(self.organisations_created, 'new organisation')} created for them."
        return text


def preview_from_token(token: str | None) -> tuple[SignedPreview, ImportPreview]:
    """The signed preview and the preview as the database stands now (ImportRejected if the file no longer
    passes, PreviewTokenInvalid if the token cannot be trusted)."""
    signed = read_confirm_token(token)
    table = read_file(signed.file.filename, signed.file.content)
    header = chosen_header(signed.file.kind, table, signed.header_row, signed.mapping)
    return signed, build_preview(signed.file.kind, signed.file.filename, table, header)


def _decisions(preview: ImportPreview, choices: Mapping[str, str]) -> dict[int, tuple[Choice, int | None]]:
    """{row: (choice, record id to update)} from the form's `choice-<row>` values; a row without one takes
    its default. ValidationFailed names the rows whose value is not one of their options."""
    decided: dict[int, tuple[Choice, int | None]] = {}
    bad = []
    for line in preview.lines:
        if not line.matches:
            decided[line.row] = (Choice.CREATE, None)
            continue
        value = (choices.get(f"choice-{line.row}") or line.default).strip()
        if value not in {option for option, _ in line.options}:
            bad.append(line.row)
            continue
        if value.startswith("update-"):
            decided[line.row] = (Choice.UPDATE, int(value.removeprefix("update-")))
        else:
            decided[line.row] = (Choice(value), None)
    updated: dict[int, int] = {}
    for row, (choice, record_id) in decided.items():
        if choice == Choice.UPDATE and record_id in updated:
            raise ValidationFailed(
                f"Rows {updated[record_id]} and {row} would both update the same record: choose “update” for "
                "one of them only. Nothing was imported.",
                {"choices": [f"Rows {updated[record_id]} and {row}"]},
            )
        if choice == Choice.UPDATE:
            updated[record_id] = row
    if bad:
        rows = ", ".join(str(row) for row in bad[:20])
        raise ValidationFailed(
            f"Choose skip, update or create for row{'s' if len(bad) > 1 else ''} {rows}. "
            "Nothing was imported.",
            {"choices": [f"Rows {rows}"]},
        )
    return decided


def apply_import(token: str | None, choices: Mapping[str, str], actor) -> ImportResult:
    """Apply a confirmed import with the person's choices, in the caller's transaction: all rows or none."""
    signed, preview = preview_from_token(token)
    return apply_preview(signed, preview, choices, actor)


def apply_preview(
    signed: SignedPreview, preview: ImportPreview, choices: Mapping[str, str], actor
) -> ImportResult:
    """Apply the preview read again from its token (preview_from_token) with the person's choices.
    PreviewOutOfDate when the duplicates or organisations changed since the preview was shown;
    ValidationFailed when a choice is not one the row offers."""
    if preview.fingerprint() != signed.expected:
        raise PreviewOutOfDate(
            "Records changed since this preview was made (someone added or changed an organisation or a "
            "contact), so it no longer shows what the import would do. Nothing was imported: check the new "
            "preview below and confirm again."
        )
    decided = _decisions(preview, choices)
    result = ImportResult(preview.kind, preview.filename)
    result.skipped = sum(1 for choice, _ in decided.values() if choice == Choice.SKIP)
    with acting_as(actor) if actor is not None else nullcontext():
        if preview.kind == ORGANISATIONS:
            _apply_organisations(preview, decided, result)
        else:
            _apply_contacts(preview, decided, result)
        db.session.flush()
    return result


def _targets(model, decided, options=()) -> dict[int, object]:
    ids = sorted({record_id for choice, record_id in decided.values() if choice == Choice.UPDATE})
    if not ids:
        return {}
    return {
        record.id: record
        for record in db.session.scalars(sa.select(model).where(model.id.in_(ids)).options(*options))
    }


def _themes_by_name(texts) -> dict[str, object]:
    names = [part.strip() for text in texts for part in text.split(",") if part.strip()]
    return {theme.name.casefold(): theme for theme in themes_from_text(", ".join(names))} if names else {}


def _row_themes(text: str, themes: Mapping[str, object]) -> list:
    found = []
    for part in text.split(","):
        theme = themes.get(" ".join(part.split())[:80].casefold())
        if theme is not None and theme not in found:
            found.append(theme)
    return found


def _apply_organisations(preview: ImportPreview, decided, result: ImportResult) -> None:
    targets = _targets(Organisation, decided, (selectinload(Organisation.themes),))
    themes = _themes_by_name(
        line.item.themes for line in preview.lines if decided[line.row][0] != Choice.SKIP
    )
    for line in preview.lines:
        choice, record_id = decided[line.row]
        item: OrganisationRow = line.item
        if choice == Choice.SKIP:
            continue
        if choice == Choice.CREATE:
            organisation = Organisation(
                name=item.name,
                kind=OrganisationKind(item.kind or OrganisationKind.OTHER),
                status=OrganisationStatus(item.status or OrganisationStatus.PROSPECT),
                country_code=item.country_code,
                website=item.website,
                notes=item.notes,
            )
            organisation.themes = _row_themes(item.themes, themes)
            db.session.add(organisation)
            result.created += 1
            continue
        organisation = targets[record_id]
        # An update keeps the record's name (the file's spelling matched it) and takes every filled cell.
        for attribute, value in (("kind", item.kind), ("status", item.status),
                                 ("country_code", item.country_code), ("website", item.website),
                                 ("notes", item.notes)):  # fmt: skip
            if value:
                setattr(organisation, attribute, value)
        for theme in _row_themes(item.themes, themes):
            if theme not in organisation.themes:
                organisation.themes.append(theme)
        result.updated += 1


def _apply_contacts(preview: ImportPreview, decided, result: ImportResult) -> None:
    targets = _targets(Contact, decided, (selectinload(Contact.affiliations),))
    used = [line.item for line in preview.lines if decided[line.row][0] != Choice.SKIP]
    existing = {
        key: found[0]
        for key, found in _existing_organisations({i.organisation_key for i in used} - {""}).items()
    }
    default_source = f"Imported from {preview.filename or 'a file'} on {today().isoformat()}"[
        : LIMITS[CONTACTS, "source"]
    ]
    for line in preview.lines:
        choice, record_id = decided[line.row]
        item: ContactRow = line.item
        if choice == Choice.SKIP:
            continue
        organisation = None
        if item.organisation_key:
            organisation = existing.get(item.organisation_key)
            if organisation is None:
                organisation = Organisation(
                    name=item.organisation, kind=OrganisationKind.OTHER, status=OrganisationStatus.PROSPECT
                )
                db.session.add(organisation)
                existing[item.organisation_key] = organisation
                result.organisations_created += 1
        if choice == Choice.CREATE:
            contact = Contact(
                name=item.name,
                title=item.title,
                email=item.email,
                phone=item.phone,
                language=Language(item.language or Language.EN),
                lawful_basis=LawfulBasis(item.lawful_basis or LawfulBasis.LEGITIMATE_INTEREST),
                source=item.source or default_source,
                notes=item.notes,
                do_not_contact=False,
                email_consent=False,
            )
            db.session.add(contact)
            if organisation is not None:
                db.session.add(_affiliation(contact, organisation, item.role))
            result.created += 1
            continue
        contact = targets[record_id]
        for attribute, value in (("title", item.title), ("email", item.email), ("phone", item.phone),
                                 ("language", item.language), ("lawful_basis", item.lawful_basis),
                                 ("source", item.source), ("notes", item.notes)):  # fmt: skip
            if value:
                setattr(contact, attribute, value)
        if organisation is not None and not any(
            affiliation.is_current and affiliation.organisation_id == organisation.id
            for affiliation in contact.affiliations
        ):
            db.session.add(_affiliation(contact, organisation, item.role))
        result.updated += 1


def _affiliation(contact: Contact, organisation: Organisation, role: str) -> Affiliation:
    """A current position, without loading the organisation's other positions (an existing organisation is
    named by its id, so that its `affiliations` collection is not read for every row)."""
    if organisation.id is not None:
        return Affiliation(contact=contact, organisation_id=organisation.id, role=role)
    return Affiliation(contact=contact, organisation=organisation, role=role)
