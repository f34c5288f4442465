"""The main hub journey in a real browser: work a setup checklist step from "to do" to "done"."""

import re

from playwright.sync_api import expect

from app.common.filters import day
from app.common.time import today
from app.hubs import services


def test_operations_walks_a_checklist_step_from_to_do_to_done(sign_in_page, make_hub):
    hub = make_hub(name="Brussels hub", invoice_prefix="BE", base_currency="EUR")
    template = services.create_template(
        "Opening a hub office",
        steps=[("Board approval", "Executive director"), ("Bank account", "Finance director")],
    )
    services.start_checklist(hub, template)
    page = sign_in_page("operations")

    page.get_by_role("link", name="Hubs", exact=True).first.click()
    page.get_by_role("link", name="Brussels hub").click()
    expect(page.get_by_text("0 of 2 done")).to_be_visible()

    row = page.locator("tr", has_text="Bank account")
    status = row.get_by_label("Status of “Bank account”")
    expect(status).to_have_value("to_do")

    status.select_option(label="In progress")
    row.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("“Bank account” is in progress.")
    expect(
        page.locator("tr", has_text="Bank account").get_by_label("Status of “Bank account”")
    ).to_have_value("in_progress")

    row = page.locator("tr", has_text="Bank account")
    row.get_by_label("Status of “Bank account”").select_option(label="Done")
    row.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("“Bank account” is done.")
    expect(page).to_have_url(re.compile(r"/hubs/\d+#item-\d+$"))
    expect(page.locator("tr", has_text="Bank account")).to_contain_text(f"Done on {day(today())}")
    expect(page.get_by_text("1 of 2 done")).to_be_visible()
