"""The organisation search: accents and case do not matter, contacts' names and e-mails find their
organisation, and the index serves it."""

import sqlalchemy as sa

from app.donors.queries import OrganisationFilters, organisations_statement
from app.extensions import db


def names(query: str) -> list[str]:
    return [o.name for o in db.session.scalars(organisations_statement(OrganisationFilters(query=query)))]


def test_accent_and_case_insensitive(make_organisation):
    make_organisation(name="Fundação São Paulo")
    make_organisation(name="Ford Foundation")
    assert names("sao paulo") == ["Fundação São Paulo"]
    assert names("FUNDACAO") == ["Fundação São Paulo"]
    assert names("São") == ["Fundação São Paulo"]


def test_contact_name_and_email_find_their_organisation(make_organisation, make_contact):
    open_society = make_organisation(name="Open Society")
    make_organisation(name="Hewlett")
    make_contact(name="Zoë Müller", email="zmuller@opensociety.example", organisation=open_society)
    assert names("zoe muller") == ["Open Society"]
    assert names("zmuller@opensoc") == ["Open Society"]


def test_short_queries_still_match(make_organisation):
    make_organisation(name="KfW Entwicklungsbank")
    assert names("kf") == ["KfW Entwicklungsbank"]


def test_renaming_updates_the_index(make_organisation):
    organisation = make_organisation(name="Old name")
    organisation.name = "Fondation Émile"
    db.session.flush()
    assert names("emile") == ["Fondation Émile"]
    assert names("old name") == []


def test_like_characters_are_no_wildcards_on_postgresql_and_harmless_on_sqlite(make_organisation):
    make_organisation(name="100% Ideas Trust")
    assert names("100%") == ["100% Ideas Trust"]


def test_the_search_uses_the_index(make_organisation):
    make_organisation(name="Fundação São Paulo")
    statement = organisations_statement(OrganisationFilters(query="paulo"))
    compiled = statement.compile(db.session.get_bind(), compile_kwargs={"literal_binds": True})
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        plan = " ".join(str(row[-1]) for row in db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))
        assert "VIRTUAL TABLE INDEX" in plan and "search_organisations" in plan
    else:
        # As in common/test_search.py: without sequential, plain and index-only scans (on a near-empty table,
        # another index walked with a filter, such as the list's order, does as well), only the trigram index
        # can answer.
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        db.session.execute(sa.text("SET LOCAL enable_indexscan = off"))
        db.session.execute(sa.text("SET LOCAL enable_indexonlyscan = off"))
        plan = " ".join(row[0] for row in db.session.execute(sa.text(f"EXPLAIN {compiled}")))
        assert "search_organisations_trgm" in plan
