"""The organisation list exported as a spreadsheet reads back as listed, formula-looking names as text."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook


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
