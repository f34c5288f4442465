"""The pipeline as its users meet it: moving an ask to won, applying a gift, the dashboard and its pack, the
calendar feed, and constant query counts."""

import subprocess
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from app.common.fiscal import current_fiscal_year
from app.common.time import today
from app.extensions import db
from app.pipeline.models import Opportunity, Pledge
from app.pipeline.services import calendar_feed, pipeline_lists
from app.pipeline.sources import Source
from app.pipeline.stages import Stage
from tests.helpers import count_queries, visible_text

D = Decimal


def test_a_fundraiser_moves_an_ask_from_the_board_to_won_and_its_pledge_appears(login_as, make_opportunity):
    client = login_as("fundraising")
    year = current_fiscal_year()
    opportunity = make_opportunity(
        amount="80000.00", split={year: "50000.00", year + 1: "30000.00"}, owner=client.user
    )
    board = client.get("/pipeline/").get_data(as_text=True)
    assert opportunity.title in board
    for stage in ("qualified", "proposal", "won"):
        response = client.post(
            f"/pipeline/opportunities/{opportunity.id}/stage", data={"stage": stage, "back": "board"}
        )
        assert response.status_code == 302
    pledge = db.session.scalar(db.select(Pledge).where(Pledge.opportunity_id == opportunity.id))
    assert response.headers["Location"].endswith(f"/pipeline/pledges/{pledge.id}")
    page = visible_text(client.get(f"/pipeline/pledges/{pledge.id}").get_data(as_text=True))
    assert "Awarded $80,000.00" in page
    assert "$50,000.00" in page and "$30,000.00" in page
    history = visible_text(client.get(f"/pipeline/opportunities/{opportunity.id}").get_data(as_text=True))
    assert "Proposal Won" in history and "Identified Qualified" in history


def test_a_lost_ask_needs_a_reason_from_the_form(login_as, make_opportunity):
    client = login_as("fundraising")
    opportunity = make_opportunity()
    response = client.post(f"/pipeline/opportunities/{opportunity.id}/stage", data={"stage": "lost"})
    assert response.status_code == 422
    assert "Say why it was lost." in response.get_data(as_text=True)
    db.session.refresh(opportunity)
    assert opportunity.stage == Stage.IDENTIFIED


def test_a_gift_applied_to_an_instalment_moves_the_plan(login_as, make_pledge, make_gift, make_target):
    year = current_fiscal_year()
    client = login_as("fundraising")
    make_target(year, Source.FOUNDATIONS, "100000.00")
    pledge = make_pledge(amount="40000.00", split={year: "40000.00"})
    gift = make_gift(organisation=pledge.organisation, amount=D("15000.00"), received_on=date(year, 1, 20))
    (instalment,) = pledge.instalments
    before = client.get("/pipeline/plan").get_data(as_text=True)
    # Secured: the won pledge's 40000 instalment; the gift is not yet applied, so it counts on its own too.
    assert f'data-total="secured-{year}">$55,000.00' in before
    response = client.post(
        f"/pipeline/pledges/{pledge.id}/gifts",
        data={"gift_id": str(gift.id), f"apply_{instalment.id}": "15000.00"},
    )
    assert response.status_code == 302
    after = client.get("/pipeline/plan").get_data(as_text=True)
    assert (
        f'data-total="secured-{year}">$40,000.00' in after
    )  # the gift now pays the instalment: no double count
    assert f'data-total="gap-{year}">$60,000.00' in after
    page = visible_text(client.get(f"/pipeline/pledges/{pledge.id}").get_data(as_text=True))
    assert "received so far $15,000.00" in page
    assert "Part paid" in page


def test_the_calendar_feed_lists_the_users_dates_until_the_address_is_renewed(
    app, login_as, make_opportunity
):
    client = login_as("fundraising")
    opportunity = make_opportunity(owner=client.user, proposal_due_on=date(2027, 3, 1))
    page = client.get("/pipeline/calendar").get_data(as_text=True)
    token = calendar_feed.token_for(client.user)
    assert token in page
    anonymous = app.test_client()
    feed = anonymous.get(f"/pipeline/calendar/{token}.ics")
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    (event,) = Calendar.from_ical(feed.data).walk("VEVENT")
    assert str(event["uid"]) == f"opportunity-proposal-{opportunity.id}@tributary"
    assert event.decoded("dtstart") == date(2027, 3, 1)
    assert client.post("/pipeline/calendar/renew").status_code == 302
    assert anonymous.get(f"/pipeline/calendar/{token}.ics").status_code == 404
    assert anonymous.get(f"/pipeline/calendar/{calendar_feed.token_for(client.user)}.ics").status_code == 200


def test_the_board_lands_on_the_dashboard_with_the_areas_panels_below(login_as):
    page = login_as("board").get("/").get_data(as_text=True)
    assert "<h1>Board dashboard</h1>" in page
    assert "Across the areas" in page and "Download the board pack (PDF)" in page
    assert "<h1>Board dashboard</h1>" not in login_as("operations").get("/").get_data(as_text=True)


def test_every_dashboard_number_has_a_link_to_its_records(login_as, make_opportunity, make_rate):
    year = current_fiscal_year()
    make_rate(year, "EUR", "0.80")
    opportunity = make_opportunity(
        amount="8000.00", currency="EUR", split={year: "8000.00"}, stage=Stage.PROPOSAL
    )
    page = login_as("board").get("/pipeline/board").get_data(as_text=True)
    assert f'href="/pipeline/opportunities/{opportunity.id}"' in page
    assert 'href="/pipeline/opportunities?stage=proposal"' in page
    assert f'href="/pipeline/opportunities?fiscal_year={year}"' in page
    assert "$10,000.00" in page  # 8000 EUR / 0.80


@pytest.mark.skipif(
    subprocess.run(["which", "pdftotext"], capture_output=True).returncode != 0, reason="poppler"
)
def test_the_board_pack_shows_the_dashboards_totals_for_the_same_date(
    login_as, make_opportunity, make_target, tmp_path
):
    year = current_fiscal_year()
    make_target(year, Source.FOUNDATIONS, "500000.00")
    make_opportunity(amount="250000.00", split={year: "250000.00"}, stage=Stage.PROPOSAL)
    client = login_as("board")
    as_of = today().isoformat()
    page = visible_text(client.get(f"/pipeline/board?as_of={as_of}").get_data(as_text=True))
    response = client.get(f"/pipeline/board/pack.pdf?as_of={as_of}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = tmp_path / "pack.pdf"
    pdf.write_bytes(response.data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for figure in ("$500,000.00", "$150,000.00", "$350,000.00"):  # target, weighted (60%), gap
        assert figure in page
        assert figure in text
    assert "Board pack" in text and "Top open opportunities" in text and "Members in arrears" in text


def _many(make_opportunity, make_pledge, count):
    year = current_fiscal_year()
    for index in range(count):
        make_opportunity(
            amount="1000.00", split={year: "1000.00"}, stage=[Stage.QUALIFIED, Stage.PROPOSAL][index % 2]
        )
        make_pledge(amount="2000.00", split={year: "1000.00", year + 1: "1000.00"})


@pytest.mark.parametrize(
    "url", ["/pipeline/", "/pipeline/opportunities", "/pipeline/board", "/pipeline/plan", "/pipeline/pledges"]
)
def test_pages_run_the_same_number_of_queries_whatever_the_data_size(
    login_as, make_opportunity, make_pledge, url
):
    client = login_as("board")
    _many(make_opportunity, make_pledge, 2)
    few = count_queries(client, url)
    _many(make_opportunity, make_pledge, 8)
    many = count_queries(client, url)
    assert many == few, (url, few, many)


def test_the_board_can_read_but_not_change_the_pipeline(login_as, make_opportunity):
    opportunity = make_opportunity()
    client = login_as("board")
    assert client.get(f"/pipeline/opportunities/{opportunity.id}").status_code == 200
    assert (
        client.post(f"/pipeline/opportunities/{opportunity.id}/stage", data={"stage": "won"}).status_code
        == 403
    )
    assert db.session.get(Opportunity, opportunity.id).stage == Stage.IDENTIFIED


def test_an_organisations_donor_page_shows_its_asks_and_pledges(login_as, make_opportunity, make_pledge):
    opportunity = make_opportunity(amount="25000.00")
    pledge = make_pledge(amount="9000.00", organisation=opportunity.organisation)
    page = (
        login_as("board").get(f"/donors/organisations/{opportunity.organisation_id}").get_data(as_text=True)
    )
    assert f'href="/pipeline/opportunities/{opportunity.id}"' in page
    assert f'href="/pipeline/pledges/{pledge.id}"' in page
    assert "$0.00 of $9,000.00" in page
    assert "New opportunity" not in page  # the board reads, it does not add asks


def test_the_donor_pages_pipeline_panel_lists_the_newest_asks_then_pledges_in_one_query(
    app, make_organisation, make_opportunity, make_pledge
):
    from app.pipeline import panels

    organisation = make_organisation()
    for n in range(panels.PANEL_ROWS + 2):
        make_opportunity(organisation=organisation, title=f"Ask {n:02}", stage=Stage.PROPOSAL)
    pledge = make_pledge(amount="9000.00", organisation=organisation, title="The grant")
    statements = []
    listener = lambda *args, **kwargs: statements.append(1)  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    with app.test_request_context():
        from flask_login import login_user

        login_user(pledge.opportunity.owner)
        statements.clear()
        rows = panels.organisation_pipeline_panel(organisation)["rows"]
    sa.event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 1
    labels = [label for label, _amount, _url in rows]
    # The won ask is the newest; then the others newest first, PANEL_ROWS in all; then the pledge.
    assert labels[0] == "The grant (won)" and labels[1] == "Ask 11 (proposal)"
    assert len(labels) == panels.PANEL_ROWS + 1
    assert rows[-1][1] == "$0.00 of $9,000.00" and rows[-1][2] == f"/pipeline/pledges/{pledge.id}"


def test_the_feed_holds_interaction_next_steps_deliverables_and_instalments(
    app, login_as, make_organisation, make_pledge
):
    from app.donors.models import Interaction
    from app.pipeline.models import DeliverableKind
    from app.pipeline.services import pledges as pledge_service
    from app.pipeline.services.calendar_items import calendar_items

    client = login_as("fundraising")
    user = client.user
    interaction = Interaction(
        kind="meeting",
        occurred_on=date(2026, 11, 2),
        organisation=make_organisation(),
        next_step="Send the budget",
        next_step_owner_id=user.id,
        next_step_due_on=date(2026, 12, 15),
    )
    db.session.add(interaction)
    pledge = make_pledge(amount="5000.00", split={2027: "5000.00"}, owner=user)
    deliverable = pledge_service.save_deliverable(pledge, DeliverableKind.FINANCIAL_REPORT, date(2027, 6, 30))
    with app.test_request_context():
        uids = {item.uid for item in calendar_items(user)}
    assert {
        f"interaction-next-step-{interaction.id}@tributary",
        f"deliverable-{deliverable.id}@tributary",
        f"instalment-{pledge.instalments[0].id}@tributary",
    } <= uids


def test_the_board_shows_each_stages_largest_asks_and_counts_and_totals_them_all(
    login_as, make_opportunity, monkeypatch
):
    monkeypatch.setattr(pipeline_lists, "CARDS_PER_COLUMN", 2)
    asks = [make_opportunity(amount=f"{amount}.00", stage=Stage.PROPOSAL) for amount in (1000, 3000, 2000)]
    page = login_as("fundraising").get("/pipeline/").get_data(as_text=True)
    assert f'id="opportunity-{asks[1].id}"' in page and f'id="opportunity-{asks[2].id}"' in page
    assert f'id="opportunity-{asks[0].id}"' not in page
    assert "1 smaller ask in this stage: see them all" in page
    assert 'href="/pipeline/opportunities?stage=proposal"' in page
    assert "$6,000.00" in page


def test_a_new_opportunity_starts_by_finding_its_organisation(login_as, make_organisation):
    client = login_as("fundraising")
    wanted = make_organisation(name="Fundação São Paulo")
    make_organisation(name="Ford Foundation")
    page = client.get("/pipeline/opportunities/new?q=sao+paulo").get_data(as_text=True)
    assert f'href="/pipeline/opportunities/new?organisation_id={wanted.id}"' in page
    assert "Ford Foundation" not in page
    missing = client.get("/pipeline/opportunities/new?q=nobody+like+this").get_data(as_text=True)
    assert "No organisation matches “nobody like this”" in missing


def test_the_opportunity_form_offers_only_the_organisations_own_people(
    login_as, make_organisation, make_contact
):
    client = login_as("fundraising")
    foundation = make_organisation(name="Hewlett Foundation")
    other = make_organisation(name="Elsewhere Trust")
    officer = make_contact(name="Ana Officer", organisation=foundation)
    stranger = make_contact(name="Zed Stranger", organisation=other)
    page = client.get(f"/pipeline/opportunities/new?organisation_id={foundation.id}").get_data(as_text=True)
    assert f'<option selected value="{foundation.id}">Hewlett Foundation</option>' in page
    assert "Elsewhere Trust" not in page
    assert officer.name in page and stranger.name not in page


def test_a_fundraiser_adds_an_ask_for_an_organisation_with_its_contact(
    login_as, make_organisation, make_contact
):
    client = login_as("fundraising")
    foundation = make_organisation(name="Hewlett Foundation")
    officer = make_contact(name="Ana Officer", organisation=foundation)
    year = current_fiscal_year()
    response = client.post(
        "/pipeline/opportunities/new",
        data={
            "organisation_id": str(foundation.id),
            "title": "Core support",
            "owner_id": str(client.user.id),
            "primary_contact_id": str(officer.id),
            "amount": "50000.00",
            "currency": "USD",
            "split-0-fiscal_year": str(year),
            "split-0-amount": "50000.00",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    opportunity = db.session.scalar(db.select(Opportunity).where(Opportunity.title == "Core support"))
    assert opportunity.organisation_id == foundation.id and opportunity.primary_contact_id == officer.id


def test_the_pledge_offers_the_latest_gifts_with_money_left_and_all_of_them_on_request(
    login_as, make_pledge, make_gift, monkeypatch
):
    from app.pipeline.services import pledges as pledge_service

    monkeypatch.setattr(pledge_service, "GIFT_CHOICES", 2)
    client = login_as("fundraising")
    pledge = make_pledge(amount="40000.00")
    for day in (1, 2, 3):
        make_gift(organisation=pledge.organisation, amount=D("100.00"), received_on=date(2026, 5, day))
    spent = make_gift(organisation=pledge.organisation, amount=D("50.00"), received_on=date(2026, 5, 4))
    (first, *_rest) = pledge.instalments
    pledge_service.apply_gift(spent, {first.id: D("50.00")}, pledge.opportunity.owner)
    page = client.get(f"/pipeline/pledges/{pledge.id}").get_data(as_text=True)
    assert "2026-05-03: $100.00 unapplied" in page and "2026-05-02: $100.00 unapplied" in page
    assert "2026-05-01" not in page and "2026-05-04:" not in page  # the older one, and the one fully applied
    assert "Offer every older gift too" in page
    everything = client.get(f"/pipeline/pledges/{pledge.id}?gifts=all").get_data(as_text=True)
    assert "2026-05-01: $100.00 unapplied" in everything and "Offer every older gift" not in everything
