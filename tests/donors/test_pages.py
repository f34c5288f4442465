"""The donor pages as a fundraiser uses them: find a foundation, see who can introduce, ask, log the meeting,
set the next step, record the gift; and what readers may and may not do."""

from datetime import timedelta
from decimal import Decimal

import pytest

from app.common.time import today
from app.donors.models import (
    AcknowledgementStatus,
    ConnectorRole,
    Gift,
    Interaction,
    Introduction,
    IntroductionStatus,
)
from app.extensions import db
from tests.conftest import count


@pytest.fixture
def foundation(make_organisation, make_contact, make_connector):
    organisation = make_organisation(name="Fundação São Paulo", country_code="BR")
    officer = make_contact(name="Ana Ribeiro", email="ana@fsp.example", organisation=organisation)
    make_connector(
        name="Sir Kim", role=ConnectorRole.BOARD, knows=[officer], nature="Board member, ex-colleague"
    )
    return organisation


def test_search_finds_the_foundation_without_accents(login_as, foundation):
    page = login_as("fundraising").get("/donors/organisations/?q=sao+paulo")
    assert page.status_code == 200
    assert "Fundação São Paulo" in page.text


def test_the_organisation_page_shows_who_can_introduce(login_as, foundation):
    page = login_as("board").get(f"/donors/organisations/{foundation.id}")
    assert "Who can introduce us" in page.text
    assert "Sir Kim" in page.text and "Ana Ribeiro" in page.text
    assert "Ask for an introduction" not in page.text  # the board reads only


def test_past_contacts_do_not_count_for_introductions(login_as, foundation, make_organisation, db_session):
    from app.donors import services
    from app.donors.models import Contact

    ana = db.session.query(Contact).filter_by(name="Ana Ribeiro").one()
    services.move_contact(ana, make_organisation(name="Ford Foundation"), "Director", today(), None)
    page = login_as("fundraising").get(f"/donors/organisations/{foundation.id}")
    assert "Nobody we know is connected" in page.text
    assert "Past contacts (1)" in page.text


def test_fundraiser_walks_from_introduction_to_gift(login_as, foundation, make_hub):
    hub = make_hub(name="Washington DC", base_currency="USD")
    client = login_as("fundraising")
    connection = foundation.affiliations[0].contact.id
    form = client.get(f"/donors/organisations/{foundation.id}/introductions/new")
    assert form.status_code == 200
    from app.donors.models import Connector

    connector = db.session.query(Connector).one()
    response = client.post(
        f"/donors/organisations/{foundation.id}/introductions/new",
        data={
            "connector_id": connector.id,
            "target_contact_id": connection,
            "for_user_id": client.user.id,
            "purpose": "Governance programme",
            "requested_on": today().isoformat(),
        },
    )
    assert response.status_code == 302, response.text
    introduction = db.session.query(Introduction).one()
    assert introduction.organisation_id == foundation.id

    response = client.post(
        f"/donors/introductions/{introduction.id}/status",
        data={"status": "made", "on": today().isoformat(), "outcome": "Lunch arranged"},
    )
    assert response.status_code == 302
    assert db.session.get(Introduction, introduction.id).status is IntroductionStatus.MADE

    response = client.post(
        f"/donors/organisations/{foundation.id}/interactions/new",
        data={
            "kind": "meeting",
            "occurred_on": today().isoformat(),
            "contact_ids": [connection],
            "staff_ids": [client.user.id],
            "summary": "Interested in a two-year grant.",
            "next_step": "Send the concept note",
            "next_step_due_on": (today() + timedelta(days=7)).isoformat(),
            "next_step_owner_id": client.user.id,
        },
    )
    assert response.status_code == 302, response.text
    steps = client.get("/donors/next-steps")
    assert "Send the concept note" in steps.text

    response = client.post(
        f"/donors/organisations/{foundation.id}/gifts/new",
        data={
            "received_on": today().isoformat(),
            "amount": "25000.00",
            "currency": "USD",
            "hub_id": hub.id,
            "method": "wire",
            "contact_id": connection,
            "introduction_id": introduction.id,
        },
    )
    assert response.status_code == 302, response.text
    gift = db.session.query(Gift).one()
    assert gift.amount == Decimal("25000.00") and gift.introduction_id == introduction.id
    assert "$25,000.00" in client.get(f"/donors/gifts/{gift.id}").text


def test_completing_a_next_step_is_one_post(login_as, foundation):
    client = login_as("fundraising")
    interaction = Interaction(
        kind="call",
        occurred_on=today(),
        organisation=foundation,
        next_step="Call back",
        next_step_due_on=today() - timedelta(days=2),
        next_step_owner_id=client.user.id,
    )
    db.session.add(interaction)
    db.session.flush()
    page = client.get("/donors/next-steps")
    assert "Overdue (1)" in page.text
    response = client.post(f"/donors/interactions/{interaction.id}/complete", data={"next": "next_steps"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/donors/next-steps")
    assert "no open next steps" in client.get("/donors/next-steps").text


def test_gifts_not_thanked_for_after_seven_days_are_on_the_landing_page(login_as, make_gift):
    old = make_gift(received_on=today() - timedelta(days=8))
    make_gift(received_on=today() - timedelta(days=3))
    make_gift(
        received_on=today() - timedelta(days=30),
        acknowledgement_status=AcknowledgementStatus.DO_NOT_ACKNOWLEDGE,
    )
    page = login_as("fundraising").get("/donors/")
    assert page.text.count("days ago") == 1
    assert old.organisation.name in page.text


def test_bad_gift_input_is_refused_beside_the_field(login_as, foundation, make_hub):
    hub = make_hub()
    client = login_as("fundraising")
    before = count(Gift)
    response = client.post(
        f"/donors/organisations/{foundation.id}/gifts/new",
        data={
            "received_on": today().isoformat(),
            "amount": "-5",
            "currency": "USD",
            "hub_id": hub.id,
            "method": "wire",
            "is_restricted": "y",
        },
    )
    assert response.status_code == 422
    assert "more than zero" in response.text
    assert count(Gift) == before


def test_a_bad_email_or_phone_is_refused(login_as, foundation):
    response = login_as("fundraising").post(
        f"/donors/organisations/{foundation.id}/contacts/new",
        data={
            "name": "X",
            "email": "not-an-address",
            "phone": "12",
            "language": "en",
            "lawful_basis": "consent",
        },
    )
    assert response.status_code == 422
    assert "must have an @-sign" in response.text
    assert "does not exist in its country" in response.text or "Not a phone number" in response.text


def test_phones_are_stored_e164_and_shown_nationally(login_as, foundation):
    client = login_as("fundraising")
    response = client.post(
        f"/donors/organisations/{foundation.id}/contacts/new",
        data={
            "name": "Bruno Lima",
            "email": "bruno@fsp.example",
            "phone": "(11) 3091-1234",
            "language": "es",
            "lawful_basis": "legitimate_interest",
        },
    )
    assert response.status_code == 302, response.text
    from app.donors.models import Contact

    bruno = db.session.query(Contact).filter_by(name="Bruno Lima").one()
    assert bruno.phone == "+551130911234"
    assert "(11) 3091-1234" in client.get(f"/donors/contacts/{bruno.id}").text


def test_readers_cannot_change_anything(login_as, foundation):
    client = login_as("operations")
    assert client.get(f"/donors/organisations/{foundation.id}").status_code == 200
    assert client.post(f"/donors/organisations/{foundation.id}/gifts/new", data={}).status_code == 403


def test_a_long_history_is_paged_not_cut(login_as, foundation, make_gift, make_hub):
    """The organisation and contact pages show the newest interactions and gifts a page at a time, with a
    pager to the older ones, instead of the newest few and a count."""
    officer = foundation.affiliations[0].contact
    hub = make_hub(base_currency="USD")
    for number in range(25):
        interaction = Interaction(
            kind="call",
            occurred_on=today() - timedelta(days=number),
            organisation=foundation,
            summary=f"Call number {number}",
        )
        interaction.contacts.append(officer)
        db.session.add(interaction)
        make_gift(organisation=foundation, hub=hub, received_on=today() - timedelta(days=number))
    db.session.flush()
    client = login_as("fundraising")

    first = client.get(f"/donors/organisations/{foundation.id}")
    assert "Call number 0<" in first.text and "Call number 9<" in first.text
    assert "Call number 10<" not in first.text
    assert "1–10 of 25 interactions" in first.text and "1–10 of 25 gifts" in first.text
    last = client.get(f"/donors/organisations/{foundation.id}?interactions_page=3")
    assert "Call number 24<" in last.text and "Call number 19<" not in last.text

    person = client.get(f"/donors/contacts/{officer.id}")
    assert "1–20 of 25 interactions" in person.text
    assert "Call number 19<" in person.text and "Call number 20<" not in person.text
    older = client.get(f"/donors/contacts/{officer.id}?interactions_page=2")
    assert "Call number 20<" in older.text and "Call number 24<" in older.text


def test_a_row_of_the_organisation_list_shows_its_themes_owner_and_first_contacts(
    login_as, make_organisation, make_contact, make_affiliation
):
    from app.donors.models import Theme

    client = login_as("fundraising", full_name="Olive Owner")
    owner = client.user
    themes = [Theme(name="Justice"), Theme(name="Anti-corruption")]
    listed = make_organisation(name="Listed Foundation", owner_id=owner.id, themes=themes)
    for name in ("Zoe Adams", "Bea Cruz", "Ann Diaz", "Carl Evans", "Dan Fox"):
        make_contact(name=name, organisation=listed)
    moved_on = make_contact(name="Aaron Gone")
    make_affiliation(moved_on, listed, started_on=today() - timedelta(days=90), ended_on=today())
    bare = make_organisation(name="Listed Bare Trust")

    page = client.get("/donors/organisations/?q=listed")

    text = " ".join(page.text.split())
    assert f'<a href="/donors/organisations/{listed.id}">Listed Foundation</a>' in text
    assert '<small class="muted">Anti-corruption, Justice</small>' in text  # by name
    assert f"<td>{owner.full_name}</td>" in text
    # The first three current contacts by name, then how many more (a past one is not counted).
    assert '<td>Ann Diaz, Bea Cruz, Carl Evans <small class="muted">and 2 more</small></td>' in text
    bare_row = text[text.index(f'<a href="/donors/organisations/{bare.id}">') :].split("</tr>")[0]
    assert "<td>—</td>" in bare_row and "<td></td>" in bare_row and "muted" not in bare_row
