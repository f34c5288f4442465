"""Time the donor import's preview: a 10,000-row contacts file checked against 200,000 contacts.

    .venv/bin/python -m bench.donors_import [--database-url URL] [--contacts 200000] [--rows 10000]
                                            [--apply] [--json FILE]

Builds its data in the database given (its tables are dropped before and after: give a benchmark database,
e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench_dimport; the default is a throwaway SQLite file):
`--contacts` contacts with generated names and e-mails and 10% as many organisations, bulk-inserted with Core
in batches (the search index is filled as the app's own inserts fill it). Then a CSV file of `--rows` people:
one in ten an existing e-mail (an exact duplicate), one in ten an existing name with a typo (a close
duplicate), the rest new, half of them naming an existing organisation.

It times, separately, the duplicate detection alone (app/donors/duplicates.py contact_matches) and the whole
preview as the page builds it (read the file, find the columns, check every row, find the duplicates), and
prints seconds, rows per second, the number of queries and how many duplicates were found. With --apply it
also times the confirmation (every row created or updated, audited), rolled back afterwards.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

_FIRST_NAMES = (
    "Ana Bruno Carla Daniel Elena Farid Grace Hiro Ines Jonas Kofi Lena Mateo Nadia Omar Priya Quentin "
    "Rosa Samir Tara Ugo Vera Wen Xavier Yara Zoe Amina Boris Chloe Dmitri Eva Felipe Gita Hana Ivan "
    "Julia Karim Lucia Marco Nia Olga Pablo Rania Sofia Tomas Uma Viktor Wanjiru Yusuf Zainab"
)
_SYLLABLES = "ba ri ro sa mo ne ka li to vu de na ha go le mi su ra fe zo an el or us in at ul em ik"
_ORGANISATION_WORDS = "Open Civic Global Future Bright Common Trust Fund Society Alliance Partners Initiative"
FIRST_NAMES, SYLLABLES = _FIRST_NAMES.split(), _SYLLABLES.split()
ORGANISATION_WORDS = _ORGANISATION_WORDS.split()


@dataclass
class Figures:
    database: str
    contacts: int
    organisations: int
    rows: int
    seed_seconds: float
    detection_seconds: float
    detection_queries: int
    preview_seconds: float
    preview_queries: int
    #: This process's CPU time for each (the machine may be shared: wall time then includes waiting).
    detection_cpu_seconds: float
    preview_cpu_seconds: float
    exact_found: int
    close_found: int
    new_rows: int
    apply_seconds: float | None = None

    def report(self) -> str:
        lines = [
            f"{self.database}: a {self.rows:,}-row contacts file against {self.contacts:,} contacts and "
            f"{self.organisations:,} organisations (seeded in {self.seed_seconds:.0f} s)",
            f"  duplicate detection: {self.detection_seconds:.2f} s, "
            f"{self.rows / max(self.detection_seconds, 1e-9):,.0f} rows/s, {self.detection_queries} queries "
            f"({self.detection_cpu_seconds:.2f} s of this process's CPU)",
            f"  whole preview (read, columns, checks, duplicates): {self.preview_seconds:.2f} s, "
            f"{self.rows / max(self.preview_seconds, 1e-9):,.0f} rows/s, {self.preview_queries} queries "
            f"({self.preview_cpu_seconds:.2f} s of this process's CPU)",
            f"  found: {self.exact_found:,} already in the database (same e-mail), {self.close_found:,} "
            f"possible duplicates (same or close name), {self.new_rows:,} new",
        ]
        if self.apply_seconds is not None:
            lines.append(
                f"  confirmation (create/update, audited, rolled back): {self.apply_seconds:.1f} s, "
                f"{self.rows / max(self.apply_seconds, 1e-9):,.0f} rows/s"
            )
        return "\n".join(lines)


def _surname(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {_surname(rng)}"


def _typo(name: str, rng: random.Random) -> str:
    """The name with two neighbouring letters of its surname swapped (a typo a person makes)."""
    first, _, surname = name.partition(" ")
    if len(surname) < 4:
        return name + "e"
    at = rng.randint(1, len(surname) - 2)
    surname = surname[:at] + surname[at + 1] + surname[at] + surname[at + 2 :]
    return f"{first} {surname}"


def seed(connection, contacts: int, rng: random.Random) -> tuple[list[tuple[str, str]], list[str]]:
    """Insert the organisations and contacts in batches; returns (name, e-mail) of the contacts and the
    organisations' names."""
    import sqlalchemy as sa

    from app.donors.models import Contact, Organisation, OrganisationKind
    from app.donors.text import fold, name_key

    organisation_names = []
    seen = set()
    while len(organisation_names) < max(contacts // 10, 1):
        name = f"{rng.choice(ORGANISATION_WORDS)} {_surname(rng)} {rng.choice(ORGANISATION_WORDS)}"
        if name_key(name) not in seen:
            seen.add(name_key(name))
            organisation_names.append(name)
    kinds = list(OrganisationKind)
    countries = ["US", "GB", "FR", "DE", "KE", "BR", "IN", "JP", None]
    batch = 5_000
    for start in range(0, len(organisation_names), batch):
        connection.execute(
            sa.insert(Organisation),
            [
                {"name": name, "name_key": name_key(name), "search_text": fold(name),
                 "kind": kinds[i % len(kinds)], "country_code": countries[i % len(countries)], "website": "",
                 "notes": ""}
                for i, name in enumerate(organisation_names[start : start + batch], start)
            ],
        )  # fmt: skip
    people = []
    for number in range(contacts):
        name = _person(rng)
        people.append((name, f"{name.split()[0].lower()}.{number}@example.org"))
    for start in range(0, contacts, batch):
        connection.execute(
            sa.insert(Contact),
            [
                {"name": name, "name_key": name_key(name), "email": email, "email_key": email.casefold(),
                 "search_text": Contact.search_text_for(name, email), "title": "", "phone": "", "notes": "",
                 "source": "bench"}
                for name, email in people[start : start + batch]
            ],
        )  # fmt: skip
    return people, organisation_names


def contacts_file(people, organisation_names, rows: int, rng: random.Random) -> bytes:
    """A CSV of `rows` people: a tenth existing e-mails, a tenth existing names with a typo, the rest new
    (each existing person at most once, as a valid file has one row per person)."""
    lines = ["Name,E-mail,Organisation,Role,Language"]
    existing = iter(rng.sample(people, min(len(people), rows // 5 + 1)))
    for number in range(rows):
        organisation = rng.choice(organisation_names) if number % 2 else f"New Funder {number % 300}"
        if number % 10 == 0:
            name, email = next(existing)
        elif number % 10 == 1:
            name, _ = next(existing)
            name, email = _typo(name, rng), f"moved.{number}@elsewhere.example"
        else:
            name, email = _person(rng), f"new.{number}@import.example"
        lines.append(f"{name},{email},{organisation},Programme officer,{('en', 'fr', 'es')[number % 3]}")
    return "\n".join(lines).encode()


def run_benchmark(url: str, label: str, contacts: int, rows: int, apply: bool) -> Figures:
    import sqlalchemy as sa

    from app import create_app
    from app.donors import duplicates, imports
    from app.extensions import db
    from config import Config

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(BenchConfig)
    rng = random.Random(20261201)
    with app.app_context():
        db.drop_all()
        db.create_all()
        try:
            started = time.perf_counter()
            with db.engine.begin() as connection:
                people, organisation_names = seed(connection, contacts, rng)
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect() as connection:
                    connection.execute(sa.text("ANALYZE contacts"))
                    connection.execute(sa.text("ANALYZE organisations"))
            seed_seconds = time.perf_counter() - started
            content = contacts_file(people, organisation_names, rows, rng)

            statements = [0]

            def count(*args):
                statements[0] += 1

            sa.event.listen(db.engine, "before_cursor_execute", count)
            table = imports.read_file("bench.csv", content)
            header = imports.guess_header(imports.CONTACTS, table)
            wanted = [row.wanted() for row in imports._parse_contacts(header, table, {})]  # noqa: SLF001
            duplicates.contact_matches(wanted[:10])  # warm up, as a running app is: connection, mappers
            db.session.rollback()
            statements[0] = 0
            started, cpu = time.perf_counter(), time.process_time()
            matches = duplicates.contact_matches(wanted)
            detection_seconds, detection_cpu = time.perf_counter() - started, time.process_time() - cpu
            detection_queries = statements[0]
            db.session.rollback()

            statements[0] = 0
            started, cpu = time.perf_counter(), time.process_time()
            table = imports.read_file("bench.csv", content)
            header = imports.guess_header(imports.CONTACTS, table)
            preview = imports.build_preview(imports.CONTACTS, "bench.csv", table, header)
            preview_seconds, preview_cpu = time.perf_counter() - started, time.process_time() - cpu
            preview_queries = statements[0]
            sa.event.remove(db.engine, "before_cursor_execute", count)
            assert len(matches) == rows == len(preview.lines)
            figures = Figures(
                database=label,
                contacts=contacts,
                organisations=len(organisation_names),
                rows=rows,
                seed_seconds=seed_seconds,
                detection_seconds=detection_seconds,
                detection_queries=detection_queries,
                preview_seconds=preview_seconds,
                preview_queries=preview_queries,
                detection_cpu_seconds=detection_cpu,
                preview_cpu_seconds=preview_cpu,
                exact_found=len(preview.exact),
                close_found=len(preview.close),
                new_rows=len(preview.new),
            )
            if apply:
                started = time.perf_counter()
                imports.apply_import(imports.confirm_token(preview, content), {}, None)
                figures.apply_seconds = time.perf_counter() - started
                db.session.rollback()
            return figures
        finally:
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def run(database_url: str | None, contacts: int, rows: int, apply: bool = False) -> Figures:
    """Time the preview on `database_url` (default: a throwaway SQLite file) and print the figures."""
    if database_url and database_url.startswith("postgresql"):
        from bench.__main__ import ensure_postgres_database

        ensure_postgres_database(database_url)
    with tempfile.TemporaryDirectory(prefix="bench-donors-import-") as directory:
        url = database_url or f"sqlite:///{Path(directory) / 'bench.sqlite'}"
        label = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        figures = run_benchmark(url, label, contacts, rows, apply)
    print(figures.report(), flush=True)
    return figures


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", help="a benchmark database (its tables are dropped); default SQLite"
    )
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--apply", action="store_true", help="also time the confirmation (rolled back)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    arguments = parser.parse_args(argv)
    figures = run(arguments.database_url, arguments.contacts, arguments.rows, arguments.apply)
    if arguments.json:
        arguments.json.write_text(json.dumps(asdict(figures) | {"report": figures.report()}))


if __name__ == "__main__":
    main()
