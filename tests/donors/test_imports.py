"""Importing organisations and contacts: upload, check the columns, preview every row with its possible
duplicates, confirm. One bad row imports nothing; each duplicate is skipped, updated or created as chosen."""

from __future__ import annotations

import html
import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from app.common.audit import AuditEntry
from app.common.imports import read_table
from app.common.time import today
from app.donors import imports, queries
from app.donors.models import Affiliation, Contact, Language, Organisation, OrganisationKind
from app.extensions import db

UPLOAD_URL = "/donors/import"
PREVIEW_URL = "/donors/import/preview"
CONFIRM_URL = "/donors/import/confirm"


# --- Sending a file through the steps ---------------------------------------------------------------------


def csv_file(text: str, name: str = "people.csv", encoding: str = "utf-8"):
    return io.BytesIO(text.encode(encoding)), name


def xlsx_file(rows: list[list], name: str = "people.xlsx"):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer, name


def upload(client, file, kind: str = "contacts"):
    return client.post(UPLOAD_URL, data={"kind": kind, "file": file}, content_type="multipart/form-data")


def hidden(page: str, name: str) -> str:
    return html.unescape(re.search(rf'name="{name}" type="hidden" value="([^"]+)"', page).group(1))


def mapping_of(page: str) -> dict[str, str]:
    """The column chosen for each field on the mapping page, as a person would leave them."""
    chosen = {}
    for key, options in re.findall(
        r'<select id="column-(\w+)" name="column-\w+"[^>]*>(.*?)</select>', page, re.S
    ):
        selected = re.search(r'<option value="(\d*)" selected', options)
        chosen[f"column-{key}"] = selected.group(1) if selected else ""
    return chosen


def preview(client, mapping_page: str, **changes):
    shown = re.search(r'name="shown_header_row" value="(\d+)"', mapping_page).group(1)
    data = {"file_token": hidden(mapping_page, "file_token"), "shown_header_row": shown, "header_row": shown}
    data.update(mapping_of(mapping_page))
    data.update(changes)
    return client.post(PREVIEW_URL, data=data)


def preview_of(client, file, kind: str = "contacts"):
    page = upload(client, file, kind)
    assert page.status_code == 200, page.text
    return preview(client, page.text)


def choices_on(page: str) -> dict[str, str]:
    """The pre-chosen option of every duplicate's select."""
    found = {}
    for name, options in re.findall(
        r'<select id="(choice-\d+)" name="choice-\d+">(.*?)</select>', page, re.S
    ):
        found[name] = re.search(r'<option value="([^"]+)" selected', options).group(1)
    return found


def confirm(client, preview_page: str, **choices):
    data = {"payload": hidden(preview_page, "payload"), **choices_on(preview_page), **choices}
    return client.post(CONFIRM_URL, data=data)


def problems_listed(page: str) -> list[tuple[str, str]]:
    section = page.split('id="problems"', 1)[1].split("</section>", 1)[0]
    cells = re.findall(r'<tr><td class="num">([^<]*)</td><td>([^<]*)</td></tr>', section)
    return [(row, html.unescape(message)) for row, message in cells]


def contacts() -> dict[str, Contact]:
    return {contact.name: contact for contact in db.session.scalars(sa.select(Contact))}


def organisation_names() -> list[str]:
    return sorted(db.session.scalars(sa.select(Organisation.name)))


# --- The steps -------------------------------------------------------------------------------------------

PEOPLE = (
    "Full name,E-mail address,Organisation,Job title,Phone,Language\n"
    "Ana Ribeiro,ana@fsp.example,Fundação São Paulo,Programme officer,+55 11 3811-3000,Portuguese\n"
)


def test_the_columns_are_guessed_from_the_headers_and_shown_with_the_first_rows(login_as):
    client = login_as("fundraising")
    page = upload(client, csv_file(PEOPLE.replace(",Portuguese", ",fr"))).text
    chosen = mapping_of(page)
    assert chosen["column-name"] == "0"
    assert chosen["column-email"] == "1"
    assert chosen["column-organisation"] == "2"
    assert chosen["column-role"] == "3"
    assert chosen["column-phone"] == "4"
    assert chosen["column-language"] == "5"
    assert chosen["column-title"] == "" and chosen["column-notes"] == ""
    assert "ana@fsp.example" in page  # the first rows under each column


def test_contacts_are_created_with_their_organisation_phone_in_e164_and_the_file_as_source(
    login_as, make_organisation
):
    make_organisation(name="Fundacao Sao Paulo", country_code="BR")
    client = login_as("fundraising")
    text = (
        "Name,E-mail,Organisation,Role,Phone,Language,Lawful basis\n"
        "Ana Ribeiro,Ana@FSP.example,FUNDAÇÃO SÃO PAULO,Programme officer,(11) 3811-3000,French,Consent\n"
        "Joe Bloggs,joe@new.example,New Trust,,+44 20 7946 0000,,\n"
        "Jane Doe,jane@new.example,new trust,Director,,es,\n"
    )
    page = preview_of(client, csv_file(text))
    assert page.status_code == 200, page.text
    assert "1 new organisation" in page.text

    response = confirm(client, page.text)

    assert response.status_code == 302
    people = contacts()
    ana = people["Ana Ribeiro"]
    assert ana.email == "Ana@fsp.example"  # as email-validator normalises it
    assert ana.phone == "+551138113000"  # read in the organisation's country
    assert ana.language == Language.FR and ana.lawful_basis.value == "consent"
    assert ana.source.startswith("Imported from people.csv")
    assert [a.organisation.name for a in ana.affiliations] == ["Fundacao Sao Paulo"]
    assert ana.affiliations[0].role == "Programme officer"
    assert people["Joe Bloggs"].phone == "+442079460000"
    assert people["Jane Doe"].language == Language.ES
    assert organisation_names() == ["Fundacao Sao Paulo", "New Trust"]  # created once for two rows
    new_trust = db.session.scalar(sa.select(Organisation).where(Organisation.name == "New Trust"))
    assert new_trust.kind == OrganisationKind.OTHER
    with client.session_transaction() as session:
        assert ("success", "Imported people.csv: 3 contacts created, 0 updated, 0 skipped. "
                "1 new organisation created for them.") in session["_flashes"]  # fmt: skip


def test_an_organisation_the_file_misspells_is_pointed_out_before_it_is_created(login_as, make_organisation):
    make_organisation(name="Ford Foundation", country_code="US")
    client = login_as("fundraising")
    page = preview_of(client, csv_file("Name,Organisation\nAna Ribeiro,Ford Foundaton\n")).text
    assert "“Ford Foundaton” (row 2) looks like <strong>Ford Foundation</strong>" in html.unescape(page)


def test_every_created_record_is_audited_and_found_by_the_search(login_as, app):
    client = login_as("fundraising")
    page = preview_of(client, csv_file("Name,E-mail,Organisation\nZoë Ångström,zoe@example.org,Fundação X\n"))
    confirm(client, page.text)

    audited = set(db.session.execute(sa.select(AuditEntry.record_type, AuditEntry.action)))
    assert {("Contact", "create"), ("Organisation", "create"), ("Affiliation", "create")} <= audited
    donor_types = ("Contact", "Organisation", "Affiliation")
    actors = set(
        db.session.scalars(sa.select(AuditEntry.actor_id).where(AuditEntry.record_type.in_(donor_types)))
    )
    assert actors == {client.user.id}
    found = db.session.scalars(queries.organisations_statement(queries.OrganisationFilters(query="angstrom")))
    assert [organisation.name for organisation in found] == ["Fundação X"]


def test_organisations_from_an_xlsx_file_with_a_title_row_kind_country_and_themes(login_as):
    client = login_as("admin")
    file = xlsx_file(
        [
            ["Funders to approach, 2027"],
            ["Organisation", "Type", "Country", "Website", "Status", "Focus themes"],
            ["Open Society Foundations", "Private foundation", "USA", "opensocietyfoundations.org", "active",
             "Civic space, Open data"],
            ["Agence Française de Développement", "bilateral agency", "France", "", "", "civic space"],
        ],
        name="funders.xlsx",
    )  # fmt: skip
    mapping_page = upload(client, file, kind="organisations").text
    page = preview(client, mapping_page)
    assert page.status_code == 200, page.text
    confirm(client, page.text)

    by_name = {o.name: o for o in db.session.scalars(sa.select(Organisation))}
    osf = by_name["Open Society Foundations"]
    assert (osf.kind.value, osf.country_code, osf.status.value) == ("private_foundation", "US", "active")
    assert osf.website == "https://opensocietyfoundations.org"
    assert [theme.name for theme in osf.themes] == ["Civic space", "Open data"]
    afd = by_name["Agence Française de Développement"]
    assert (afd.kind.value, afd.country_code, afd.status.value) == ("bilateral_agency", "FR", "prospect")
    assert [theme.name for theme in afd.themes] == ["Civic space"]  # one theme, matched case-insensitively


# --- All or nothing -------------------------------------------------------------------------------------


def test_one_bad_row_imports_nothing_and_every_problem_is_listed_by_its_spreadsheet_row(login_as):
    client = login_as("fundraising")
    text = (
        "Name,E-mail,Phone,Language,Organisation\n"
        "Good Person,good@example.org,,,\n"
        ",nobody@example.org,,,\n"
        "Bad Mail,not-an-address,,,\n"
        "\n"
        "Bad Phone,phone@example.org,12345,,\n"
        "Bad Language,lang@example.org,,Klingon,\n"
        "Good Again,GOOD@example.org,,,\n"
        f"{'X' * 201},long@example.org,,,\n"
    )
    page = preview_of(client, csv_file(text))

    assert page.status_code == 422
    problems = problems_listed(page.text)
    assert [row for row, _ in problems] == ["3", "4", "6", "7", "8", "9"]
    messages = dict(problems)
    assert messages["3"] == "No name on this row."
    assert messages["4"].startswith("The e-mail address: ")
    assert messages["6"].startswith("The phone number “12345”")
    assert messages["7"] == "The language “Klingon” is not one of: en, fr, es."
    assert messages["8"] == "GOOD@example.org is already on row 2: keep one row per person."
    assert messages["9"] == "The name is 201 characters long: at most 200."
    assert contacts() == {}
    assert "Nothing was imported" in page.text


def test_duplicate_organisations_within_the_file_are_refused(login_as):
    client = login_as("fundraising")
    page = preview_of(
        client,
        csv_file("Name,Country\nFord Foundation,US\nFORD-foundation.,US\nGates,Narnia\n", name="orgs.csv"),
        kind="organisations",
    )
    assert page.status_code == 422
    assert problems_listed(page.text) == [
        ("3", "“FORD-foundation.” is already on row 2: keep one row per organisation."),
        ("4", "“Narnia” is not a country: use its name or ISO code (KE)."),
    ]
    assert organisation_names() == []


def test_a_required_column_the_mapping_leaves_out_is_a_problem_on_the_header_row(login_as):
    client = login_as("fundraising")
    mapping_page = upload(client, csv_file(PEOPLE)).text
    page = preview(client, mapping_page, **{"column-name": ""})
    assert page.status_code == 422
    assert problems_listed(page.text) == [("1", "No name column: name one column “Name” (the full name).")]


def test_another_header_row_matches_the_columns_again_on_that_row(login_as):
    client = login_as("fundraising")
    text = "Attendees\nName,Mail\nAna Ribeiro,ana@fsp.example\n"
    mapping_page = upload(client, csv_file(text)).text
    assert mapping_of(mapping_page)["column-name"] == "0"
    page = preview(client, mapping_page, header_row="1")
    assert page.status_code == 200
    assert 'name="shown_header_row" value="1"' in page.text
    assert mapping_of(page.text)["column-name"] == ""  # "Attendees" names no column


def test_one_column_for_two_fields_is_refused(login_as):
    client = login_as("fundraising")
    mapping_page = upload(client, csv_file(PEOPLE)).text
    page = preview(client, mapping_page, **{"column-title": "3"})
    assert page.status_code == 422
    assert "Column 4 is chosen for both “Title” and “Role”" in html.unescape(page.text)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("Name\nJosé\n".encode("cp1252"), "people.csv", "The file is not UTF-8 text"),
        (b"%PDF-1.4 a letter", "people.pdf", "Upload a CSV (.csv) or Excel (.xlsx) file."),
        (b"%PDF-1.4 a letter", "people.xlsx", "is not an Excel workbook"),
        (b"", "people.csv", "The file is empty."),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_a_message(login_as, content, name, message):
    client = login_as("fundraising")
    response = upload(client, (io.BytesIO(content), name))
    assert response.status_code == 422
    assert message in html.unescape(response.text)
    assert contacts() == {}


# --- Duplicates -------------------------------------------------------------------------------------------


def test_exact_and_close_duplicates_are_offered_with_their_reason_and_a_sensible_default(
    login_as, make_contact
):
    ana = make_contact(name="Ana Ribeiro", email="ana@fsp.example")
    bruno = make_contact(name="Bruno Carvalho", email="bruno@old.example")
    client = login_as("fundraising")
    text = (
        "Name,E-mail\n"
        "A. Ribeiro,ANA@fsp.example\n"  # the same e-mail: the same person
        "Bruno Carvahlo,bruno@new.example\n"  # a close name
        "Carla Dias,carla@example.org\n"  # new
    )
    page = preview_of(client, csv_file(text)).text

    assert "Same e-mail" in page and "Similar name (" in page
    assert choices_on(page) == {"choice-2": f"update-{ana.id}", "choice-3": "skip"}
    assert f'<option value="update-{bruno.id}"' in page and '<option value="create"' in page
    assert "1 new contact" in page and "1 already in Tributary" in page and "1 possible duplicate" in page


def test_skip_update_and_create_are_honoured(login_as, make_contact, make_organisation):
    ford = make_organisation(name="Ford Foundation", country_code="US")
    ana = make_contact(name="Ana Ribeiro", email="ana@fsp.example", title="Ms", phone="+14155550100")
    bruno = make_contact(name="Bruno Carvalho", email="bruno@old.example")
    carla = make_contact(name="Carla Dias", email="carla@old.example")
    client = login_as("fundraising")
    text = (
        "Name,E-mail,Title,Phone,Organisation,Notes\n"
        "Ana Ribeiro,ana@fsp.example,Dr,,Ford Foundation,Met in Lisbon\n"
        "Bruno Carvahlo,bruno@new.example,,,,\n"
        "Carla Diaz,carla@new.example,,,,A different Carla\n"
    )
    page = preview_of(client, csv_file(text)).text

    confirm(client, page, **{"choice-2": f"update-{ana.id}", "choice-3": "skip", "choice-4": "create"})

    db.session.expire_all()
    assert (ana.title, ana.phone, ana.notes) == ("Dr", "+14155550100", "Met in Lisbon")  # blank keeps
    assert [(a.organisation_id, a.is_current) for a in ana.affiliations] == [(ford.id, True)]
    assert bruno.email == "bruno@old.example"  # skipped
    assert carla.email == "carla@old.example"
    assert sorted(contacts()) == ["Ana Ribeiro", "Bruno Carvalho", "Carla Dias", "Carla Diaz"]
    updates = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.record_type == "Contact", AuditEntry.action == "update")
    ).all()
    assert [entry.record_id for entry in updates] == [str(ana.id)]


def test_an_organisation_with_the_same_name_is_updated_by_default(login_as, make_organisation):
    ford = make_organisation(name="Ford Foundation", country_code="US", website="")
    client = login_as("fundraising")
    page = preview_of(
        client, csv_file("Name,Website\nFORD foundation,fordfoundation.org\n", "o.csv"), "organisations"
    )
    assert choices_on(page.text) == {"choice-2": f"update-{ford.id}"}
    confirm(client, page.text)
    db.session.expire_all()
    assert (ford.name, ford.website, ford.country_code) == (
        "Ford Foundation",
        "https://fordfoundation.org",
        "US",
    )
    assert organisation_names() == ["Ford Foundation"]


def test_a_choice_that_the_row_does_not_offer_imports_nothing(login_as, make_contact, make_organisation):
    ana = make_contact(name="Ana Ribeiro", email="ana@fsp.example")
    other = make_contact(name="Someone Else", email="else@example.org")
    client = login_as("fundraising")
    page = preview_of(
        client, csv_file("Name,E-mail\nAna Ribeiro,ana@fsp.example\nNew Person,new@example.org\n")
    )
    response = confirm(client, page.text, **{"choice-2": f"update-{other.id}"})
    assert response.status_code == 422
    assert "Choose skip, update or create for row 2" in response.text
    assert sorted(contacts()) == ["Ana Ribeiro", "Someone Else"]
    assert ana.email == "ana@fsp.example"


def test_a_preview_overtaken_by_a_new_duplicate_imports_nothing_and_shows_a_new_preview(
    login_as, make_contact
):
    client = login_as("fundraising")
    page = preview_of(client, csv_file("Name,E-mail\nAna Ribeiro,ana@fsp.example\n")).text
    make_contact(name="Ana Ribeiro", email="ana@fsp.example")  # someone adds her meanwhile

    response = confirm(client, page)

    assert response.status_code == 409
    assert "Records changed since this preview was made" in response.text
    assert "Same e-mail" in response.text  # the new preview offers the duplicate
    assert len(contacts()) == 1


# --- The signed preview ------------------------------------------------------------------------------------


def test_a_tampered_or_missing_token_changes_nothing(login_as):
    client = login_as("fundraising")
    page = preview_of(client, csv_file("Name,E-mail\nAna Ribeiro,ana@fsp.example\n")).text
    token = hidden(page, "payload")
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")

    for payload in (tampered, "", "nonsense"):
        response = client.post(CONFIRM_URL, data={"payload": payload})
        assert response.status_code == 302
        with client.session_transaction() as session:
            messages = [message for _, message in session.pop("_flashes", [])]
        assert any("could not be verified" in message for message in messages)
    assert contacts() == {}


def test_the_file_token_of_one_step_is_not_accepted_by_the_other(login_as):
    client = login_as("fundraising")
    mapping_page = upload(client, csv_file(PEOPLE)).text
    response = client.post(CONFIRM_URL, data={"payload": hidden(mapping_page, "file_token")})
    assert response.status_code == 302
    assert contacts() == {}


# --- Permissions and links -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["operations", "board"])
def test_operations_and_board_cannot_import(login_as, role):
    client = login_as(role)
    assert client.get(UPLOAD_URL).status_code == 403
    assert upload(client, csv_file(PEOPLE)).status_code == 403
    assert client.post(PREVIEW_URL, data={}).status_code == 403
    assert client.post(CONFIRM_URL, data={}).status_code == 403
    assert client.get("/donors/import/template.csv").status_code == 403
    assert "/donors/import" not in client.get("/donors/organisations/").text


@pytest.mark.parametrize("role", ["fundraising", "admin"])
def test_fundraising_and_admin_find_the_import_and_its_template(login_as, role):
    client = login_as(role)
    assert 'href="/donors/import"' in client.get("/donors/organisations/").text
    assert client.get("/donors/import?kind=contacts").status_code == 200
    template = client.get("/donors/import/template.csv?kind=contacts")
    assert template.status_code == 200
    rows = read_table("template.csv", template.data).rows
    assert rows[0].cells[:4] == ("Name", "Title", "E-mail", "Phone")


def test_the_template_files_import_as_they_are(login_as):
    client = login_as("fundraising")
    for kind in ("organisations", "contacts"):
        content = client.get(f"/donors/import/template.csv?kind={kind}").data
        page = preview_of(client, (io.BytesIO(content), f"{kind}.csv"), kind)
        assert page.status_code == 200, page.text
        confirm(client, page.text)
    assert "Ana Ribeiro" in contacts()
    assert organisation_names() == ["Fondation Exemple"]
    assert db.session.scalar(sa.select(sa.func.count(Affiliation.id))) == 1


# --- Duplicate detection in bulk -------------------------------------------------------------------------


def count_statements(action) -> int:
    statements = []

    def seen(*args, **kwargs):
        statements.append(1)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        action()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    return len(statements)


def people_file(count: int) -> tuple[str, bytes]:
    lines = ["Name,E-mail,Organisation"]
    for number in range(count):
        lines.append(f"Person {number} Example,person{number}@example.org,Foundation {number % 7}")
    return "people.csv", "\n".join(lines).encode()


@pytest.mark.parametrize("kind", ["contacts", "organisations"])
def test_the_preview_runs_as_many_queries_for_200_rows_as_for_10(make_contact, make_organisation, kind):
    for number in range(0, 30, 3):
        make_organisation(name=f"Foundation {number}", country_code="US")
        make_contact(name=f"Person {number} Example", email=f"person{number}@example.org")
        make_contact(name=f"Persn {number + 1} Example", email="")

    def run(count):
        filename, content = people_file(count)
        if kind == "organisations":
            content = "\n".join(
                ["Name,Country"] + [f"Foundation {n}{',US' if n % 2 else ','}" for n in range(count)]
            ).encode()
        table = imports.read_file(filename, content)
        header = imports.guess_header(kind, table)
        return count_statements(lambda: imports.build_preview(kind, filename, table, header))

    assert run(10) == run(200)


def test_close_names_are_found_in_bulk_as_on_the_contact_page(make_contact):
    from app.donors import duplicates

    ana = make_contact(name="Ana Ribeiro", email="ana@fsp.example")
    twin = make_contact(name="Ana Riberio", email="other@example.org")
    on_page = {s.record.id: s.reason for s in duplicates.contact_duplicates(ana)}
    in_bulk = duplicates.contact_matches([duplicates.Wanted(1, ana.name_key)])[1]
    assert {m.record_id: m.reason for m in in_bulk} == {ana.id: "Same name", twin.id: on_page[twin.id]}


# --- Hostile values in the steps the sweep cannot reach (they follow an upload) ---------------------------


@pytest.mark.hostile
def test_the_mapping_and_confirmation_forms_take_hostile_values_without_a_server_error(
    login_as, make_contact
):
    from werkzeug.datastructures import MultiDict

    from tests import hostile
    from tests.test_no_server_errors import _check, _send, undone

    make_contact(name="Ana Ribeiro", email="ana@fsp.example")
    client = login_as("admin")
    mapping_page = upload(client, csv_file(PEOPLE.replace(",Portuguese", ",fr"))).text
    preview_page = preview(client, mapping_page).text
    assert "Same e-mail" in preview_page
    forms = [
        *hostile.read_page(UPLOAD_URL, mapping_page)[0],
        *hostile.read_page(PREVIEW_URL, preview_page)[0],
    ]
    assert {form.action for form in forms} >= {PREVIEW_URL, CONFIRM_URL}
    findings = hostile.Findings()
    sane = hostile.sane_value(2027, today().isoformat())
    for form in forms:
        baseline = form.baseline(sane)
        for item in form.fields:
            for attempt in hostile.attempts_for(item, {}):
                with undone():
                    data = MultiDict(hostile.substituted(baseline, attempt))
                    response = _send(client.post, form.action, data=data)
                    _check(findings, response, f"POST {form.action} {attempt.field}={attempt.value[:20]!r}")
    assert not findings, findings.report()
    assert sorted(contacts()) == ["Ana Ribeiro"]
