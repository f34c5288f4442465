"""A fundraiser imports an event's attendee list in a browser: a bad row is refused whole, the fixed file's
columns are checked, the preview offers the duplicates, and the confirmed import says what it did.

Set SCREENSHOTS=/some/folder to keep a picture of each step."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from app.donors.models import Contact
from app.extensions import db

BAD_FILE = (
    "Full name,E-mail address,Organisation,Job title,Phone,Language\n"
    "Ana Ribeiro,ana@fsp.example,Fundação São Paulo,Programme officer,+55 11 3811-3000,pt\n"
    "Bruno Carvahlo,bruno@new.example,Ford Foundation,Director,+1 212 573 5000,en\n"
    "Carla Dias,carla@example,New Trust,,,es\n"
)
FIXED_FILE = BAD_FILE.replace(",pt\n", ",fr\n").replace("carla@example,", "carla@newtrust.example,")


def csv_upload(text: str) -> dict:
    return {"name": "summit-attendees.csv", "mimeType": "text/csv", "buffer": text.encode()}


def snap(page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_a_fundraiser_imports_contacts_and_chooses_what_to_do_with_a_duplicate(
    sign_in_page, make_organisation, make_contact
):
    ford = make_organisation(name="Ford Foundation", country_code="US")
    ana = make_contact(name="Ana Ribeiro", email="ana@fsp.example")
    make_contact(name="Bruno Carvalho", email="bruno@ford.example", organisation=ford)
    page = sign_in_page("fundraising")

    page.goto("/donors/organisations/")
    page.get_by_role("button", name="Import a file").click()
    page.get_by_label("Contacts (people)").check()
    snap(page, "1-upload")
    page.get_by_label("File").set_input_files(csv_upload(BAD_FILE))
    page.get_by_role("button", name="Upload and check the columns").click()

    expect(page.get_by_role("heading", name="Check the columns")).to_be_visible()
    expect(page.get_by_label("E-mail")).to_have_value("1")
    snap(page, "2-mapping")
    page.get_by_role("button", name="Check every row and show the preview").click()

    problems = page.locator("#problems")
    expect(problems).to_contain_text("2 problems to fix")
    expect(problems).to_contain_text("The language “pt” is not one of: en, fr, es.")
    expect(problems.get_by_role("row").filter(has_text="e-mail address")).to_contain_text("4")
    snap(page, "3-problems")

    page.get_by_role("link", name="Upload another file").click()
    page.get_by_label("Contacts (people)").check()
    page.get_by_label("File").set_input_files(csv_upload(FIXED_FILE))
    page.get_by_role("button", name="Upload and check the columns").click()
    page.get_by_role("button", name="Check every row and show the preview").click()

    expect(page.locator("#summary")).to_contain_text("1 new contact")
    expect(page.locator("#summary")).to_contain_text("1 already in Tributary")
    expect(page.locator("#summary")).to_contain_text("1 possible duplicate")
    expect(page.locator("#row-2")).to_contain_text("Same e-mail")
    expect(page.locator("#row-3")).to_contain_text("Similar name")
    expect(page.get_by_label("What to do with row 3")).to_have_value("skip")
    snap(page, "4-preview")
    page.get_by_label("What to do with row 3").select_option("create")
    page.get_by_role("button", name="Confirm the import").click()

    expect(page.get_by_text("2 contacts created, 1 updated, 0 skipped")).to_be_visible()
    snap(page, "5-done")
    db.session.expire_all()
    names = sorted(db.session.scalars(sa.select(Contact.name)))
    assert names == ["Ana Ribeiro", "Bruno Carvahlo", "Bruno Carvalho", "Carla Dias"]
    assert ana.language.value == "fr"
