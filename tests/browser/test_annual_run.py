"""The annual run in a browser: preview, "Issue all", and the run page following the run until it is done."""

import sqlalchemy as sa
from playwright.sync_api import expect

from app.contributions.models import IncomeGroup, Invoice, InvoiceKind
from app.contributions.services import annual_run
from app.extensions import db

# The contribution builders (hub, make_member, make_policy), as fixtures of this module.


def test_operations_issues_all_from_the_preview_and_the_run_page_follows_it_to_done(
    sign_in_page, make_member, make_policy, monkeypatch
):
    monkeypatch.setattr(annual_run, "DEFAULT_BATCH_SIZE", 2)  # several steps, as with a thousand members
    make_policy(2027, currency="EUR", lower_middle="10000.00", high="50000.00")
    for name, group in [("Andoria", "high"), ("Borduria", "lower_middle"), ("Carpania", "lower_middle")]:
        make_member(name=name, income_group=IncomeGroup(group))
    make_member(name="Docklands", kind="local")
    make_member(name="Elbonia", income_group=None)
    page = sign_in_page("operations")

    page.goto("/contributions/runs/2027/preview")
    expect(page.get_by_role("heading", name="Problems to fix first")).to_be_visible()
    expect(page.locator("#problems").get_by_role("row", name="Elbonia")).to_contain_text(
        "No income group is recorded for FY2027."
    )
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Issue all").click()

    expect(page.get_by_role("heading", name="Annual run FY2027")).to_be_visible()
    expect(page.locator("#run-status")).to_contain_text("4 invoices issued", timeout=30_000)
    expect(page.locator("#run-status")).to_contain_text("Done")
    expect(page.locator("#run-progress")).to_have_attribute("value", "4")
    expect(page.get_by_role("cell", name="BE-2027-0004")).to_be_visible()
    expect(page.get_by_role("button", name="Continue issuing")).to_have_count(0)
    page.screenshot(path="/tmp/shots/runs/browser-run-done.png", full_page=True)

    annual = sa.select(sa.func.count(Invoice.id)).where(Invoice.kind == InvoiceKind.ANNUAL_CONTRIBUTION)
    assert db.session.scalar(annual) == 4
