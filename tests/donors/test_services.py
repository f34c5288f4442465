"""Donor rules: people move and keep their history, erasure leaves no personal data but keeps gifts,
gifts refuse bad amounts, next steps complete once."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.common.audit import AuditEntry
from app.common.errors import ValidationFailed
from app.common.time import today
from app.donors import services
from app.donors.models import AcknowledgementStatus, Gift, Interaction
from app.donors.queries import who_can_introduce
from app.extensions import db


def test_a_person_who_moves_keeps_history_and_connections(make_organisation, make_contact, make_connector):
    ford = make_organisation(name="Ford Foundation")
    hewlett = make_organisation(name="Hewlett Foundation")
    officer = make_contact(name="Maya Chen", organisation=ford)
    make_connector(knows=[officer])
    services.move_contact(officer, hewlett, "Director", date(2026, 6, 1), None)
    positions = {(a.organisation.name, a.ended_on) for a in officer.affiliations}
    assert positions == {("Ford Foundation", date(2026, 6, 1)), ("Hewlett Foundation", None)}
    assert [c.contact.name for c in who_can_introduce(hewlett.id)] == ["Maya Chen"]
    assert who_can_introduce(ford.id) == []


def test_erasing_a_contact_leaves_no_personal_data_and_keeps_gifts(
    make_organisation, make_contact, make_gift, make_user
):
    fundraiser = make_user("fundraising")
    organisation = make_organisation()
    person = make_contact(
        name="Jan Kowalski", email="jan@example.org", organisation=organisation, notes="Likes jazz"
    )
    person.phone = "+48221234567"
    meeting = Interaction(
        kind="meeting", occurred_on=today(), organisation=organisation, summary="Jan said ..."
    )
    meeting.contacts.append(person)
    db.session.add(meeting)
    gift = make_gift(organisation=organisation, contact=person)
    db.session.flush()

    services.erase_contact(person, fundraiser)
    db.session.flush()

    assert person.is_erased and not services.contact_has_personal_data(person)
    assert "Jan" not in meeting.summary
    assert db.session.get(Gift, gift.id).contact_id == person.id
    history = db.session.scalars(
        sa.select(AuditEntry.changes).where(
            AuditEntry.record_type == "Contact", AuditEntry.record_id == str(person.id)
        )
    ).all()
    assert history and not any(
        "Kowalski" in str(changes) or "jan@example.org" in str(changes) for changes in history
    )
    with pytest.raises(services.AlreadyErased):
        services.erase_contact(person, fundraiser)


def test_a_gift_must_be_positive_and_in_a_real_currency(make_organisation, make_hub, make_user):
    details = services.GiftDetails(
        organisation_id=make_organisation().id,
        received_on=today(),
        amount=Decimal("0"),
        currency="XYZ",
        hub_id=make_hub().id,
        method="wire",
        is_restricted=True,
    )
    with pytest.raises(ValidationFailed) as failed:
        services.record_gift(details, make_user("fundraising"))
    assert set(failed.value.field_errors) == {"amount", "currency", "purpose"}


def test_acknowledging_records_when_and_how(make_gift, make_user):
    gift = make_gift(received_on=today() - timedelta(days=3))
    services.acknowledge_gift(gift, today(), "Call from the CEO", make_user("fundraising"))
    assert gift.acknowledgement_status is AcknowledgementStatus.ACKNOWLEDGED
    assert [event.kind.value for event in gift.events][-1] == "acknowledged"
    with pytest.raises(ValidationFailed):
        services.acknowledge_gift(gift, gift.received_on - timedelta(days=1), "Letter", None)


def test_a_next_step_completes_once(make_organisation, make_user):
    owner = make_user("fundraising")
    interaction = services.log_interaction(
        services.InteractionDetails(
            kind="call",
            occurred_on=today(),
            organisation_id=make_organisation().id,
            next_step="Send the report",
            next_step_owner_id=owner.id,
        ),
        owner,
    )
    services.complete_next_step(interaction, owner)
    with pytest.raises(services.NextStepAlreadyDone):
        services.complete_next_step(interaction, owner)


def test_a_next_step_needs_an_owner(make_organisation, make_user):
    with pytest.raises(ValidationFailed) as failed:
        services.log_interaction(
            services.InteractionDetails(
                kind="call",
                occurred_on=today(),
                organisation_id=make_organisation().id,
                next_step="Call back",
            ),
            make_user("fundraising"),
        )
    assert "next_step_owner_id" in failed.value.field_errors


def test_themes_are_tags_matched_without_case(make_user):
    first = services.create_organisation(
        services.OrganisationDetails(name="A", kind="company", themes="Civic space, gender"), None
    )
    second = services.create_organisation(
        services.OrganisationDetails(name="B", kind="company", themes="civic SPACE"), None
    )
    assert second.themes[0] is first.themes[0]
