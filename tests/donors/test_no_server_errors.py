"""Every donor page with real ids, as every role, with nonsense query arguments and forms: never a 500."""

import re
from datetime import timedelta

import pytest

from app.common.time import today
from app.donors.letters import create_gift_letter
from app.donors.models import ConnectorRole, Interaction, Introduction
from app.extensions import db
from tests.test_no_server_errors import NONSENSE, is_server_error, status_of


@pytest.fixture
def donor_world(make_organisation, make_contact, make_connector, make_gift, make_user):
    organisation = make_organisation(name="Fondation Émile")
    contact = make_contact(organisation=organisation)
    connector = make_connector(role=ConnectorRole.BOARD, knows=[contact])
    user = make_user("fundraising")
    introduction = Introduction(
        connector=connector,
        target_contact=contact,
        organisation=organisation,
        requested_by_id=user.id,
        for_user_id=user.id,
        requested_on=today(),
    )
    interaction = Interaction(
        kind="meeting",
        occurred_on=today(),
        organisation=organisation,
        next_step="Follow up",
        next_step_owner_id=user.id,
        next_step_due_on=today() - timedelta(days=1),
    )
    interaction.contacts.append(contact)
    db.session.add_all([introduction, interaction])
    gift = make_gift(organisation=organisation, contact=contact, received_on=today() - timedelta(days=10))
    letter = create_gift_letter(gift, user)
    db.session.flush()
    return {
        "organisation_id": organisation.id,
        "contact_id": contact.id,
        "connector_id": connector.id,
        "introduction_id": introduction.id,
        "interaction_id": interaction.id,
        "gift_id": gift.id,
        "affiliation_id": contact.affiliations[0].id,
        "letter_id": letter.id,
        # The merge pages compare two records.
        "other_organisation_id": make_organisation(name="Fondation Emile").id,
        "other_contact_id": make_contact(name=contact.name).id,
    }


def donor_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("donors.")]


def fill(rule, ids) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda match: str(ids.get(match.group(1), 1)), rule.rule)


@pytest.mark.parametrize("role", ["admin", "fundraising", "operations", "board"])
def test_every_donor_page_answers(app, login_as, donor_world, role):
    client = login_as(role)
    errors = []
    for rule in donor_rules(app):
        if "GET" not in rule.methods:
            continue
        for query in [*NONSENSE, "?kind=x&owner=abc&country=ZZ&theme=q", "?q=%00", "?q=ab"]:
            status = status_of(client.get, fill(rule, donor_world) + query)
            if is_server_error(status) or status == 404:
                errors.append((fill(rule, donor_world) + query, status))
    assert errors == []


def test_no_donor_post_with_nonsense_ends_in_a_server_error(app, login_as, donor_world):
    client = login_as("admin")
    nonsense = {
        "amount": "abc",
        "currency": "XXX",
        "hub_id": "zz",
        "received_on": "2026-02-31",
        "status": "nope",
        "connector_id": "x",
        "target_contact_id": "999999",
        "for_user_id": "q",
        "contact_ids": "a",
        "staff_ids": "b",
        "next_step_owner_id": "c",
        "ended_on": "x",
        "moved_on": "",
        "organisation": "\x00",
        "name": "\x00",
        "email": "a@@b",
        "phone": "+999",
        "confirm": "erase",
        "kind": "x",
        "on": "y",
    }
    errors = []
    for rule in donor_rules(app):
        if "POST" not in rule.methods:
            continue
        for data in ({}, nonsense):
            status = status_of(client.post, fill(rule, donor_world), data=data)
            if is_server_error(status):
                errors.append((fill(rule, donor_world), status))
    assert errors == []
