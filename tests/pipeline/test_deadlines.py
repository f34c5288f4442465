"""Late instalments and deliverables due: the deadlines page pages through them all; the board dashboard and
the board pack show the first few, how many there are, and where the rest are."""

from datetime import date, timedelta

import pytest

from app.common.time import today
from app.extensions import db
from app.pipeline.services import deadlines
from tests.helpers import count_queries, visible_text


def _late_pledges(make_pledge, count: int) -> list:
    """Pledges whose one instalment fell due in 2020, a day apart, and is unpaid: one late instalment each."""
    pledges = []
    for n in range(count):
        pledge = make_pledge(amount="1000.00", split={2020: "1000.00"}, title=f"Late grant {n:02}")
        (instalment,) = pledge.instalments
        instalment.expected_on = date(2020, 1, 1) + timedelta(days=n)
        instalment.fiscal_year = 2020
        pledges.append(pledge)
    db.session.flush()
    return pledges


def test_the_board_shows_the_first_late_instalments_and_links_to_all_of_them(login_as, make_pledge):
    _late_pledges(make_pledge, deadlines.SHORTLIST + 2)
    html = login_as("board").get("/pipeline/board").get_data(as_text=True)
    page = visible_text(html)
    assert page.count("Late grant") == deadlines.SHORTLIST
    assert "Late grant 00" in page and "Late grant 11" not in page  # the oldest first
    assert f"The first {deadlines.SHORTLIST} of 12 late instalments." in page
    assert 'href="/pipeline/deadlines#late-instalments">See all 12 on the deadlines page' in html


def test_a_short_list_says_nothing_more(login_as, make_pledge):
    _late_pledges(make_pledge, 2)
    page = visible_text(login_as("board").get("/pipeline/board").get_data(as_text=True))
    assert page.count("Late grant") == 2
    assert "The first" not in page


def test_the_deadlines_page_pages_through_every_late_instalment(login_as, make_pledge, small_pages):
    _late_pledges(make_pledge, 5)
    client = login_as("fundraising")
    first = visible_text(client.get("/pipeline/deadlines").get_data(as_text=True))
    assert "Late grant 00" in first and "Late grant 01" in first and "Late grant 02" not in first
    assert "1–2 of 5 late instalments" in first
    last = visible_text(client.get("/pipeline/deadlines?late_page=3").get_data(as_text=True))
    assert "Late grant 04" in last and "Late grant 03" not in last


def test_the_shortlist_counts_them_all_and_loads_each_row_with_its_pledge(app, make_pledge):
    _late_pledges(make_pledge, deadlines.SHORTLIST + 3)
    shortlist = deadlines.late_shortlist(today())
    assert (len(shortlist), shortlist.total, shortlist.more) == (deadlines.SHORTLIST, 13, 3)
    assert [row.pledge.opportunity.title for row in shortlist][:2] == ["Late grant 00", "Late grant 01"]
    assert len(deadlines.late_instalments(today())) == 13


@pytest.mark.parametrize("url", ["/pipeline/deadlines", "/pipeline/board"])
def test_the_deadline_lists_cost_the_same_whatever_their_length(login_as, make_pledge, url):
    client = login_as("board")
    _late_pledges(make_pledge, 3)
    few = count_queries(client, url)
    _late_pledges(make_pledge, 60)
    assert count_queries(client, url) == few
