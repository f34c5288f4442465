"""Possible duplicates: the same e-mail or name first, then close names within the same country or name
prefix, never the record itself or an erased person; each with a link to compare and merge."""

from app.donors import duplicates, services


def reasons(suggestions) -> dict[str, str]:
    return {str(s.record): s.reason for s in suggestions}


def test_organisations_with_the_same_or_a_close_name_in_the_country(make_organisation):
    ford = make_organisation(name="Ford Foundation", country_code="US")
    make_organisation(name="FORD-Foundation.", country_code="GB")
    make_organisation(name="The Ford Foundation", country_code="US")
    make_organisation(name="Ford Foundaton", country_code="US")
    make_organisation(name="Hewlett Foundation", country_code="US")
    make_organisation(name="Ford Foundation Trust", country_code="KE")

    found = reasons(duplicates.organisation_duplicates(ford))

    assert found["FORD-Foundation."] == "Same name"
    assert found["Ford Foundaton"].startswith("Similar name (97%")
    assert found["The Ford Foundation"].startswith("Similar name")
    assert "Ford Foundation" not in found and "Hewlett Foundation" not in found
    assert "Ford Foundation Trust" not in found  # another country, another block


def test_an_organisation_without_a_country_is_compared_by_its_name_prefix(make_organisation):
    open_society = make_organisation(name="Open Society Foundations", country_code=None)
    make_organisation(name="Open Society Foundation", country_code="US")
    make_organisation(name="Society for Open Data", country_code=None)
    assert list(reasons(duplicates.organisation_duplicates(open_society))) == ["Open Society Foundation"]


def test_contacts_with_the_same_e_mail_the_same_name_or_a_close_name(make_contact, make_user):
    ana = make_contact(name="Ana Ribeiro", email="ana@fsp.example")
    make_contact(name="A. Ribeiro", email="ANA@fsp.example")
    make_contact(name="ana  ribeiro", email="")
    make_contact(name="Ana Riberio", email="other@example.org")
    make_contact(name="Anatole France", email="")
    erased = make_contact(name="Ana Ribeiro", email="ana.r@example.org")
    services.erase_contact(erased, make_user("fundraising"))

    found = reasons(duplicates.contact_duplicates(ana))

    assert found == {
        "A. Ribeiro": "Same e-mail",
        "ana  ribeiro": "Same name",
        "Ana Riberio": found["Ana Riberio"],
    }
    assert found["Ana Riberio"].startswith("Similar name")
    assert duplicates.contact_duplicates(erased) == []


def test_the_pages_show_possible_duplicates_with_a_merge_link(login_as, make_organisation, make_contact):
    ford = make_organisation(name="Ford Foundation", country_code="US")
    twin = make_organisation(name="Ford Foundaton", country_code="US")
    ana = make_contact(name="Ana Ribeiro", email="ana@fsp.example", organisation=ford)
    other = make_contact(name="Ana Ribeiro", email="", organisation=twin)

    organisation_page = login_as("fundraising").get(f"/donors/organisations/{ford.id}")
    assert "Possible duplicates" in organisation_page.text
    assert f"/donors/organisations/{ford.id}/merge/{twin.id}" in organisation_page.text
    contact_page = login_as("fundraising").get(f"/donors/contacts/{ana.id}")
    assert f"/donors/contacts/{ana.id}/merge/{other.id}" in contact_page.text

    board_page = login_as("board").get(f"/donors/organisations/{ford.id}")
    assert "Possible duplicates" in board_page.text and "/merge/" not in board_page.text


def test_no_panel_when_nothing_looks_alike(login_as, make_organisation):
    lonely = make_organisation(name="Wellcome Trust", country_code="GB")
    assert "Possible duplicates" not in login_as("fundraising").get(f"/donors/organisations/{lonely.id}").text


def _queries(function, record) -> tuple[list, int]:
    import sqlalchemy as sa

    from app.extensions import db

    statements = []
    listener = lambda *args, **kwargs: statements.append(1)  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        return function(record), len(statements)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)


def test_suggestions_cost_two_queries_at_most_whatever_their_number(make_organisation, make_contact):
    """One query for the candidates (the block's ids and name keys only), one more for what the close names
    suggested show, whatever their number; exact matches alone cost the one."""
    ford = make_organisation(name="Ford Foundation", country_code="US")
    for n in range(12):
        make_organisation(name=f"Ford Foundation {n}", country_code="US")
    make_organisation(name="FORD-Foundation.", country_code="GB")
    found, queries = _queries(duplicates.organisation_duplicates, ford)
    assert queries == 2 and len(found) == duplicates.SUGGESTIONS
    assert found[0].reason == "Same name"  # the exact match first, whatever the size of the block
    assert [s.record.name for s in found[1:]] == [f"Ford Foundation {n}" for n in range(4)]
    assert all(s.record.country_code == "US" for s in found[1:])
    lonely = make_organisation(name="Wellcome Trust", country_code="GB")
    assert _queries(duplicates.organisation_duplicates, lonely) == ([], 1)

    ana = make_contact(name="Ana Ribeiro", email="ana@fsp.example")
    make_contact(name="A. Ribeiro", email="ANA@fsp.example")
    make_contact(name="Ana Ribeiro", email="")
    found, queries = _queries(duplicates.contact_duplicates, ana)
    assert queries == 1 and [s.reason for s in found] == ["Same e-mail", "Same name"]


def test_only_names_too_long_or_short_to_be_close_are_left_out_of_the_block(make_organisation):
    """The block is narrowed to names whose length can reach the cutoff at all: the longest and shortest
    names that are still close are found, the page and the import agree."""
    key = "abcdefghij klmnopqrst"  # 21 characters
    record = make_organisation(name=key, country_code="US")
    # 4 letters added (ratio 2*21/46 = 91%) or dropped (2*17/38 = 89%): close, though of another length.
    make_organisation(name=key + "uvwx", country_code="US")
    make_organisation(name="abcdefgh klmnopqr", country_code="US")
    # 10 letters added: no ratio can reach the cutoff (2*21/52 = 81%), so it is never scored.
    make_organisation(name=key + "uvwxyzabcd", country_code="US")

    found = reasons(duplicates.organisation_duplicates(record))

    assert set(found) == {key + "uvwx", "abcdefgh klmnopqr"}
    wanted = duplicates.Wanted(key=1, name_key=record.name_key, country_code="US")
    in_bulk = duplicates.organisation_matches([wanted])[1]
    assert {match.record_id for match in in_bulk} - {record.id} == {
        suggestion.record.id for suggestion in duplicates.organisation_duplicates(record)
    }
