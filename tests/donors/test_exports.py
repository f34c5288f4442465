"""The organisation list exported as a spreadsheet reads back as listed, formula-looking names as text."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.helpers import get_counting_queries


def test_the_organisation_list_exports_to_csv_and_xlsx_with_formulas_escaped(login_as, make_organisation):
    make_organisation(name='=HYPERLINK("http://x","Fondation")')
    make_organisation(name="Fondation Lumière")
    client = login_as("fundraising")

    exported = client.get("/donors/organisations/?format=csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert exported.headers["Content-Disposition"].startswith('attachment; filename="organisations-')
    assert rows[0][0] == "Name"
    assert {row[0] for row in rows[1:]} >= {'\'=HYPERLINK("http://x","Fondation")', "Fondation Lumière"}

    spreadsheet = client.get("/donors/organisations/?format=xlsx")
    sheet = load_workbook(io.BytesIO(spreadsheet.data)).active
    names = {row[0] for row in sheet.iter_rows(min_row=2)}
    assert sheet["A1"].value == "Name" and sheet.freeze_panes == "B2"
    assert {cell.value for cell in names} >= {'=HYPERLINK("http://x","Fondation")', "Fondation Lumière"}
    assert all(cell.data_type == "s" for cell in names)  # text, never a formula


def test_the_organisation_export_lists_themes_owner_and_current_contacts_in_a_fixed_number_of_queries(
    login_as, make_organisation, make_contact, make_affiliation, make_user, monkeypatch
):

    from app.common import exports
    from app.donors.models import Theme
    from app.extensions import db

    monkeypatch.setattr(exports, "STREAM_BATCH_ROWS", 2)  # rows fetched two at a time: still one query each
    health, water = Theme(name="Health"), Theme(name="Water")
    db.session.add_all([health, water])
    owner = make_user("fundraising")
    first = make_organisation(name="Aardvark Trust", owner=owner, themes=[water, health])
    make_contact(name="Zoe Adams", organisation=first)
    make_contact(name="Ben Cole", organisation=first)
    client = login_as("fundraising")

    def export() -> tuple[list[list[str]], int]:
        response, queries = get_counting_queries(client, "/donors/organisations/?format=csv")
        return list(csv.reader(io.StringIO(response.text)))[1:], queries

    rows, few = export()
    assert rows[0][0] == "Aardvark Trust"
    assert rows[0][5:] == [str(owner), "Health, Water", "Ben Cole; Zoe Adams"]
    for number in range(6):
        other = make_organisation(name=f"Beta {number}", themes=[health])
        make_affiliation(make_contact(name=f"Contact {number}"), other)
    rows, many = export()
    assert len(rows) == 7 and many == few
    assert all(row[6] == "Health" and row[7] == f"Contact {n}" for n, row in enumerate(rows[1:]))
