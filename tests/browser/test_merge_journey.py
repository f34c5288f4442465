"""A fundraiser, in a real browser, finds a duplicate foundation, compares the two and merges them."""

from __future__ import annotations

from playwright.sync_api import expect

from app.donors.models import Organisation
from app.extensions import db


def test_merging_a_duplicate_foundation(sign_in_page, make_organisation, make_contact, make_gift, tmp_path):
    ford = make_organisation(name="Ford Foundation", country_code="US", website="https://fordfoundation.org")
    duplicate = make_organisation(name="The Ford Foundation", country_code=None, notes="From the 2025 list")
    make_contact(name="Omar Haddad", organisation=duplicate)
    make_gift(organisation=duplicate)
    db.session.flush()
    duplicate_id = duplicate.id
    page = sign_in_page("fundraising")

    page.goto(f"/donors/organisations/{ford.id}")
    page.get_by_role("button", name="Merge with…").click()
    page.get_by_label("Name").fill("ford")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Compare and merge").click()
    expect(page.locator("h1")).to_have_text("Merge into Ford Foundation")
    page.get_by_label("From the 2025 list").check()
    page.screenshot(path=tmp_path / "compare.png", full_page=True)
    page.get_by_role("button", name=f"Merge #{duplicate_id} into #{ford.id}").click()

    expect(page.locator(".flash-success")).to_contain_text(
        "The Ford Foundation was merged into Ford Foundation"
    )
    expect(page.locator("#contacts")).to_contain_text("Omar Haddad")
    page.screenshot(path=tmp_path / "after.png", full_page=True)
    assert db.session.get(Organisation, duplicate_id) is None
