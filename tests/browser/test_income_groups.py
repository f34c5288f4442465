"""Preparing a fiscal year's income groups in a browser: a file with a bad row is refused whole, the fixed
file is previewed and confirmed, and the annual run no longer stops at those members."""

import sqlalchemy as sa
from playwright.sync_api import expect

from app.contributions.models import IncomeGroup, MemberIncomeGroup
from app.extensions import db

BAD_FILE = (
    "Economy,Code,Region,Income group\n"
    "Kenya,KEN,Sub-Saharan Africa,Upper middle income\n"
    "Senegal,SEN,Sub-Saharan Africa,Lower middle income\n"
    "Chile,CHL,Latin America & Caribbean,Hgh income\n"
    "France,FRA,Europe & Central Asia,High income\n"
)
FIXED_FILE = BAD_FILE.replace("Hgh income", "High income")


def csv_upload(text: str) -> dict:
    return {"name": "CLASS.csv", "mimeType": "text/csv", "buffer": text.encode()}


def recorded_groups() -> list[tuple]:
    return sorted(
        db.session.execute(
            sa.select(
                MemberIncomeGroup.member_id, MemberIncomeGroup.fiscal_year, MemberIncomeGroup.income_group
            )
        ).all()
    )


def test_operations_imports_the_world_bank_file_after_fixing_a_bad_row(
    sign_in_page, make_member, make_policy
):
    make_policy(2027, currency="EUR")
    kenya = make_member(
        name="Kenya", country_code="KE", income_group=IncomeGroup.LOWER_MIDDLE, fiscal_year=2027
    )
    senegal = make_member(name="Senegal", country_code="SN", income_group=None)
    chile = make_member(name="Chile", country_code="CL", income_group=None)
    before = recorded_groups()
    page = sign_in_page("operations")

    page.goto("/contributions/runs/2027/preview")
    expect(page.get_by_text("No income group is recorded for FY2027.").first).to_be_visible()

    page.goto("/contributions/members/")
    page.get_by_role("button", name="Income groups by year").click()
    page.wait_for_url("**/contributions/income-groups/")
    page.goto("/contributions/income-groups/?fiscal_year=2027")
    expect(page.locator("#no-group")).to_contain_text("2 national members without a group for FY2027")
    page.get_by_role("button", name="Import the World Bank file").click()

    page.get_by_label("World Bank classification file").set_input_files(csv_upload(BAD_FILE))
    page.get_by_role("button", name="Preview the import").click()
    problems = page.locator("#problems")
    expect(problems).to_contain_text("Nothing was imported: 1 problem to fix")
    expect(problems.get_by_role("row", name="4")).to_contain_text("“Hgh income” is not an income group")
    page.screenshot(path="/tmp/shots/income_groups/browser-bad-row.png", full_page=True)
    assert recorded_groups() == before

    page.get_by_label("World Bank classification file").set_input_files(csv_upload(FIXED_FILE))
    page.get_by_role("button", name="Preview the import").click()
    expect(page.get_by_role("heading", name="Preview: income groups FY2027")).to_be_visible()
    expect(page.locator("#changed")).to_contain_text("Kenya")
    expect(page.locator("#new")).to_contain_text("Senegal")
    expect(page.locator("#new")).to_contain_text("Chile")
    expect(page.locator("#summary")).to_contain_text("1 not members, ignored")
    page.screenshot(path="/tmp/shots/income_groups/browser-preview.png", full_page=True)
    assert recorded_groups() == before

    page.on("dialog", lambda dialog: dialog.accept())  # it changes Kenya's existing group: the page asks
    page.get_by_role("button", name="Confirm the import (3 changes)").click()
    expect(page.get_by_role("status")).to_contain_text(
        "FY2027 income groups imported from CLASS.csv: 2 new, 1 changed, 0 unchanged."
    )
    expect(page.locator("#no-group")).to_contain_text("Every national member has an income group for FY2027")

    page.goto(f"/contributions/members/{chile.id}")
    expect(page.locator("#income-groups").get_by_role("row", name="FY2027")).to_contain_text("High income")
    page.goto("/contributions/runs/2027/preview")
    expect(page.get_by_text("No income group is recorded for FY2027.")).to_have_count(0)

    groups = {(member_id, year): group for member_id, year, group in recorded_groups()}
    assert groups[(kenya.id, 2027)] == IncomeGroup.UPPER_MIDDLE
    assert groups[(senegal.id, 2027)] == IncomeGroup.LOWER_MIDDLE
    assert groups[(chile.id, 2027)] == IncomeGroup.HIGH
