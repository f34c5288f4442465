"""The list, search and detail pages run the same number of queries whatever the data size."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.common.time import today
from app.donors.models import ConnectorRole, Interaction, Introduction
from app.extensions import db


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, *args, **kwargs):
        self.count += 1


@pytest.fixture
def count_queries(app):
    def run(client, url) -> int:
        counter = QueryCounter()
        sa.event.listen(db.engine, "before_cursor_execute", counter)
        try:
            response = client.get(url)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", counter)
        assert response.status_code == 200, url
        return counter.count

    return run


@pytest.fixture
def grow(make_organisation, make_contact, make_connector, make_gift, make_hub):
    """grow(n): n more organisations named 'Fundação n', each with two contacts, connections, an interaction
    with an open step, an introduction and a gift. Returns the first organisation made."""
    hub = make_hub()
    made = []

    def build(n: int, owner):
        connector = make_connector(role=ConnectorRole.BOARD)
        for number in range(n):
            organisation = make_organisation(name=f"Fundação São Paulo {len(made)}", owner_id=owner.id)
            made.append(organisation)
            contacts = [make_contact(organisation=organisation) for _ in range(2)]
            for contact in contacts:
                db.session.add(
                    Introduction(
                        connector=connector,
                        target_contact=contact,
                        organisation=organisation,
                        requested_by_id=owner.id,
                        for_user_id=owner.id,
                        requested_on=today(),
                    )
                )
                from app.donors.models import Connection

                db.session.add(Connection(connector=connector, contact=contact, nature="Friend"))
            interaction = Interaction(
                kind="meeting",
                occurred_on=today(),
                organisation=organisation,
                next_step=f"Step {number}",
                next_step_owner_id=owner.id,
                next_step_due_on=today() - timedelta(days=number % 3),
            )
            interaction.contacts.extend(contacts)
            interaction.staff.append(owner)
            db.session.add(interaction)
            make_gift(organisation=organisation, hub=hub, contact=contacts[0])
        db.session.flush()
        return made[0], connector

    return build


PAGES = [
    "/donors/",
    "/donors/organisations/",
    "/donors/organisations/?q=sao+paulo",
    "/donors/organisations/?q=person",
    "/donors/organisations/{organisation}",
    "/donors/contacts/{contact}",
    "/donors/connectors/",
    "/donors/connectors/{connector}",
    "/donors/next-steps",
    "/donors/gifts/",
    "/donors/gifts/{gift}",
]


def test_pages_run_a_constant_number_of_queries(login_as, grow, count_queries):
    client = login_as("fundraising")
    organisation, connector = grow(3, client.user)

    def ids():
        return {
            "organisation": organisation.id,
            "contact": organisation.affiliations[0].contact_id,
            "connector": connector.id,
            "gift": db.session.scalar(
                sa.text(f"SELECT min(id) FROM gifts WHERE organisation_id = {organisation.id}")
            ),
        }

    small = {page: count_queries(client, page.format(**ids())) for page in PAGES}
    # More of everything, also on the pages of the first organisation, contact and connector.
    grow(12, client.user)
    from app.donors.models import Affiliation, Contact

    for extra in range(6):
        contact = Contact(name=f"Extra {extra}", email=f"extra{extra}@example.org")
        db.session.add(Affiliation(contact=contact, organisation=organisation))
    db.session.flush()
    large = {page: count_queries(client, page.format(**ids())) for page in PAGES}
    assert large == small
    assert min(small.values()) >= 3  # the counter counts: session, user, the page's own queries
