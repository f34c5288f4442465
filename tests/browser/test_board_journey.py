"""A board member signs in, lands on the dashboard, reads plan against actuals with its charts, downloads the
board pack, and finds nothing to change; a fundraiser moves a card across the pipeline board to won."""

import re
import subprocess

import pytest

from app.common.fiscal import current_fiscal_year
from app.extensions import db
from app.pipeline.sources import Source
from app.pipeline.stages import Stage
from tests.builders.auth import PASSWORD

pytestmark = pytest.mark.browser


def _sign_in(page, user, lands_on: str):
    db.session.flush()
    page.goto("/login")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lands_on)


def test_a_board_member_reads_the_dashboard_and_downloads_the_pack(
    page, make_user, make_opportunity, make_target, tmp_path
):
    year = current_fiscal_year()
    make_target(year, Source.FOUNDATIONS, "900000.00")
    make_opportunity(amount="400000.00", split={year: "400000.00"}, stage=Stage.VERBAL_COMMITMENT)
    board = make_user("board")
    _sign_in(page, board, "**/")

    assert page.get_by_role("heading", name="Board dashboard").is_visible()
    assert page.locator("svg[role=img]").count() == 4
    secured = page.locator(f'[data-total="secured-{year}"]').inner_text()
    weighted = page.locator(f'[data-total="weighted-{year}"]').inner_text()
    gap = page.locator(f'[data-total="gap-{year}"]').inner_text()
    assert (weighted, gap) == ("$320,000.00", "$580,000.00")  # 80% of 400000; 900000 - 320000
    assert page.get_by_role("button", name="Move").count() == 0
    assert page.locator("form[method=post]").count() == 1  # signing out is the only form that posts

    with page.expect_download() as download:
        page.get_by_role("button", name="Download the board pack (PDF)").click()
    pdf = tmp_path / "pack.pdf"
    download.value.save_as(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for figure in (secured, weighted, gap, "$900,000.00"):
        assert figure in text
    assert re.search(r"Board pack", text)


def test_a_fundraiser_moves_a_card_to_won_without_javascript_and_the_pledge_appears(
    page, make_user, make_opportunity
):
    year = current_fiscal_year()
    fundraiser = make_user("fundraising")
    opportunity = make_opportunity(
        amount="120000.00",
        split={year: "60000.00", year + 1: "60000.00"},
        stage=Stage.VERBAL_COMMITMENT,
        owner=fundraiser,
    )
    page.context.set_extra_http_headers({})
    _sign_in(page, fundraiser, "**/")
    page.goto("/pipeline/")
    card = page.locator(f"#opportunity-{opportunity.id}")
    card.get_by_label(re.compile("Move")).select_option("won")
    card.get_by_role("button", name="Move").click()
    page.wait_for_url("**/pipeline/pledges/*")
    assert page.get_by_text("Awarded $120,000.00").is_visible()
    assert page.locator("#instalments tbody tr").count() == 2
