"""The harness behind tests/test_no_server_errors.py: read the app's own pages for their forms and filters,
and try every field with hostile values of each class.

Nothing here knows a particular page. Forms are read from the rendered HTML (every `<form>`, its fields,
their rendered values and choices), so a page added later is covered the day it exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import sqlalchemy as sa
from werkzeug.exceptions import HTTPException

from app.common.urls import INTEGER_MAX
from app.extensions import db

SCRIPT = "<script>alert('hostile')</script>"
NUL = "a\x00b"

#: Numbers nobody may type as an amount, a rate, a year or a count: each must be refused wherever it lands.
REFUSED_NUMBERS = {
    "huge": ["2147483648.00", "1000000000000", "99999999999999999999999999999"],
    "tiny": ["0.001", "0.000000001", "-0.01"],
    "exponent": ["1e309", "1E+999999999", "1e-999999", "1e3"],
    "non-finite": ["NaN", "Infinity", "-Infinity", "sNaN"],
}
TEXTS = {
    "over-long": "x" * 20_000,
    "non-ASCII": "Zürich — 東京 🙂 \u202eevil\u202c",
    "script": SCRIPT,
}
CHOICES = {"blank": "", "space": " ", "unknown": "no-such-choice", "id beyond range": str(INTEGER_MAX + 1)}
DATES = ["0001-01-01", "9999-12-31", "2026-02-30", "10000-01-01", "2026-13-45", "not a date", "1e309"]


@dataclass(frozen=True)
class FormField:
    name: str
    kind: str  # text, number, date, select, hidden, checkbox, radio, textarea, file, ...
    value: str
    options: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True)
class HtmlForm:
    method: str
    action: str
    fields: tuple[FormField, ...]

    def baseline(self, sane) -> list[tuple[str, str]]:
        """What a person would send: the values on the page, the first choice, sane values where required."""
        pairs = []
        seen_radio = set()
        for item in self.fields:
            if item.kind == "file":
                continue
            if item.kind == "checkbox":
                if item.value:
                    pairs.append((item.name, item.value))
                continue
            if item.kind == "radio":
                if item.name in seen_radio:
                    continue
                seen_radio.add(item.name)
            value = item.value
            if item.kind in ("select", "radio") and not value:
                value = next((option for option in item.options if option), "")
            if not value and (item.required or _first_row(item.name)):
                value = sane(item)
            pairs.append((item.name, value))
        return pairs

    @property
    def key(self) -> tuple:
        return (self.method, urlsplit(self.action).path, tuple(sorted({f.name for f in self.fields})))


def _first_row(name: str) -> bool:
    # The first row of a list of rows (invoice lines): a form needs at least one filled.
    return bool(re.search(r"-0-(amount|description)$", name))


class _FormParser(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[HtmlForm] = []
        self.links: list[str] = []
        self._form: dict | None = None
        self._select: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag == "a" and attributes.get("href", "").startswith("/"):
            self.links.append(attributes["href"])
        if tag == "form":
            action = urljoin(self.page_url, attributes.get("action", "") or self.page_url).split("#")[0]
            self._form = {"method": attributes.get("method", "get").lower(), "action": action, "fields": []}
            return
        if self._form is None or "name" not in attributes or "disabled" in attributes:
            return
        name, required = attributes["name"], "required" in attributes
        if tag == "input":
            kind = attributes.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                return
            value = attributes.get("value", "")
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                value = "" if kind == "checkbox" else value
                if kind == "checkbox":
                    self._form["fields"].append(FormField(name, kind, "", (attributes.get("value", "y"),)))
                    return
            self._form["fields"].append(FormField(name, kind, value, (), required))
        elif tag == "select":
            self._select = {"name": name, "options": [], "selected": "", "required": required}
        elif tag == "option" and self._select is not None:
            value = attributes.get("value", "")
            self._select["options"].append(value)
            if "selected" in attributes:
                self._select["selected"] = value
        elif tag == "textarea":
            self._textarea = {"name": name, "text": "", "required": required}
        elif tag == "button" and attributes.get("value"):
            self._form["fields"].append(FormField(name, "hidden", attributes["value"]))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["text"] += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None and self._form is not None:
            select = self._select
            self._form["fields"].append(
                FormField(
                    select["name"], "select", select["selected"], tuple(select["options"]), select["required"]
                )
            )
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            area = self._textarea
            self._form["fields"].append(
                FormField(area["name"], "textarea", _textarea_text(area["text"]), (), area["required"])
            )
            self._textarea = None
        elif tag == "form" and self._form is not None:
            self.forms.append(
                HtmlForm(self._form["method"], self._form["action"], tuple(self._form["fields"]))
            )
            self._form = None


def _textarea_text(text: str) -> str:
    # HTML drops the newline right after <textarea>; WTForms writes one so that the content keeps its own.
    return text.removeprefix("\r\n").removeprefix("\n")


def read_page(page_url: str, html: str) -> tuple[list[HtmlForm], list[str]]:
    """The forms and the in-app links of a rendered page."""
    parser = _FormParser(page_url)
    parser.feed(html)
    return parser.forms, parser.links


def endpoint_of(app, url: str, method: str = "GET") -> str | None:
    """The endpoint a URL reaches, or None."""
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _args = adapter.match(urlsplit(url).path, method=method)
    except HTTPException:
        return None
    return endpoint


def with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    parts = urlsplit(url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in {n for n, _ in pairs}
    ]
    return parts.path + "?" + urlencode(query + pairs)


@dataclass(frozen=True)
class Attempt:
    """One hostile value in one field; `refused_number` when the value must change no money."""

    field: str
    value: str
    hostile_class: str
    refused_number: bool = False


def attempts_for(item: FormField, duplicates: dict[str, list[str]]) -> Iterator[Attempt]:
    """The hostile values worth typing into a field of this kind."""
    if item.name == "csrf_token":
        return  # CSRF is off in tests; the token is checked before any field is read
    yield Attempt(item.name, NUL, "NUL byte")
    if item.kind == "file":
        return
    if item.kind in ("number",) or re.search(r"(amount|rate)$", item.name):
        for hostile_class, values in REFUSED_NUMBERS.items():
            for value in values:
                yield Attempt(item.name, value, hostile_class, refused_number=True)
        yield Attempt(item.name, "", "blank")
        yield Attempt(item.name, "twelve", "not a number")
        return
    if item.kind == "date":
        for value in DATES:
            yield Attempt(item.name, value, "malformed or extreme date")
        return
    if item.kind in ("select", "radio", "hidden", "checkbox"):
        for hostile_class, value in CHOICES.items():
            yield Attempt(item.name, value, hostile_class)
        yield Attempt(item.name, "1e309", "exponent")
        yield Attempt(item.name, SCRIPT, "script")
        return
    for hostile_class, value in TEXTS.items():
        yield Attempt(item.name, value, hostile_class)
    yield Attempt(item.name, " ", "blank")
    yield Attempt(item.name, "1e309", "exponent")
    for value in duplicates.get(_bare(item.name), []):
        yield Attempt(item.name, value, "duplicate of a unique value")
        yield Attempt(item.name, f" {value.upper()} ", "duplicate of a unique value")


def _bare(name: str) -> str:
    return name.rsplit("-", 1)[-1]


def substituted(pairs: list[tuple[str, str]], attempt: Attempt) -> list[tuple[str, str]]:
    replaced = [(name, attempt.value if name == attempt.field else value) for name, value in pairs]
    if attempt.field not in {name for name, _ in pairs}:
        replaced.append((attempt.field, attempt.value))
    return replaced


def unique_text_values(limit: int = 2) -> dict[str, list[str]]:
    """Existing values of every single-column unique text constraint, by column name: duplicates to try."""
    values: dict[str, list[str]] = {}
    for table in db.metadata.sorted_tables:
        uniques = [c for c in table.constraints if isinstance(c, sa.UniqueConstraint)]
        uniques += [i for i in table.indexes if i.unique]
        for unique in uniques:
            columns = list(unique.columns)
            if len(columns) == 1 and isinstance(columns[0].type, sa.String):
                column = columns[0]
                found = db.session.scalars(sa.select(column).where(column.is_not(None)).limit(limit)).all()
                values.setdefault(column.name, []).extend(str(value) for value in found)
    return values


def money_totals() -> list[tuple]:
    """Count and sum of every money column (Numeric with two places), table by table."""
    totals = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, sa.Numeric) and c.type.scale == 2]
        if columns:
            row = db.session.execute(
                sa.select(sa.func.count(), *[sa.func.sum(column) for column in columns]).select_from(table)
            ).one()
            totals.append((table.name, *row))
    return totals


@dataclass
class Findings:
    """What went wrong, one line per request, so that a failure lists every problem at once."""

    server_errors: list[str] = field(default_factory=list)
    echoed_scripts: list[str] = field(default_factory=list)
    money_changed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.server_errors or self.echoed_scripts or self.money_changed)

    def report(self) -> str:
        lines = []
        for name, found in vars(self).items():
            lines += [f"{name.replace('_', ' ')}: {line}" for line in found]
        return "\n" + "\n".join(lines)


def sane_value(fiscal_year: int, today_iso: str):
    """The value a careful person types into a required field left empty on the page."""

    def value_for(item: FormField) -> str:
        name = _bare(item.name)
        if item.kind == "date":
            return today_iso
        if re.search(r"(amount|^high|^low|middle$|^local)$", name):
            return "10.00"
        if name.endswith("rate") or name.startswith("rate_"):
            return "1.1"
        if "year" in name:
            return str(fiscal_year)
        if name.endswith("days"):
            return "30"
        if "email" in name:
            return "hostile.tester@example.org"
        if "password" in name:
            return "a long enough passphrase 2027"
        if item.kind == "number":
            return "1"
        return "Test value"

    return value_for
