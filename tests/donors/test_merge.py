"""Merging duplicates keeps every record: what the merged one held moves to the survivor, pairs that would be
held twice collapse into one, the survivor's values stay unless picked, and the audit log says what moved."""

import pytest
import sqlalchemy as sa

from app.common.audit import AuditEntry
from app.common.errors import ValidationFailed
from app.common.time import today
from app.donors import merge, services
from app.donors.models import (
    AcknowledgementLetter,
    Affiliation,
    Connection,
    Contact,
    Gift,
    Interaction,
    Introduction,
    Language,
    LetterKind,
    Organisation,
    interaction_contacts,
    organisation_themes,
)
from app.extensions import db


def count(table) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(table))


def merge_entries(record_type: str, record_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry).where(
                AuditEntry.action == "merge",
                AuditEntry.record_type == record_type,
                AuditEntry.record_id == str(record_id),
            )
        )
    )


@pytest.fixture
def two_fords(make_organisation, make_contact, make_gift, make_user):
    """'Ford Foundation' and its duplicate 'The Ford Foundation', each with a contact, a gift, a meeting."""
    fundraiser = make_user("fundraising")
    ford = make_organisation(name="Ford Foundation", country_code="US", website="https://fordfoundation.org")
    duplicate = make_organisation(name="The Ford Foundation", country_code=None, notes="From the 2025 list")
    ford.themes = services.themes_from_text("Civic space, Gender")
    duplicate.themes = services.themes_from_text("Civic space, Open data")
    maya = make_contact(name="Maya Chen", organisation=ford)
    omar = make_contact(name="Omar Haddad", organisation=duplicate)
    for organisation, person in ((ford, maya), (duplicate, omar)):
        meeting = Interaction(kind="meeting", occurred_on=today(), organisation=organisation, summary="Met")
        meeting.contacts.append(person)
        db.session.add(meeting)
        make_gift(organisation=organisation, contact=person)
    db.session.flush()
    return ford, duplicate, fundraiser


def test_merging_organisations_moves_everything_and_keeps_every_record(two_fords):
    ford, duplicate, fundraiser = two_fords
    duplicate_id = duplicate.id
    before = {model: count(model.__table__) for model in (Gift, Interaction, Affiliation, Contact)}

    merge.merge_organisations(ford, duplicate, {"notes"}, fundraiser)

    assert db.session.get(Organisation, duplicate_id) is None
    assert {model: count(model.__table__) for model in before} == before
    assert db.session.scalar(sa.select(sa.func.count(Gift.id)).where(Gift.organisation_id == ford.id)) == 2
    assert {a.contact.name for a in ford.affiliations} == {"Maya Chen", "Omar Haddad"}
    assert sorted(theme.name for theme in ford.themes) == ["Civic space", "Gender", "Open data"]
    assert count(organisation_themes) == 3
    # The survivor keeps its own values, except the one picked from the duplicate.
    assert (ford.name, ford.country_code, ford.notes) == ("Ford Foundation", "US", "From the 2025 list")


def test_the_merge_is_in_the_audit_log_with_what_moved_and_the_old_values(two_fords):
    ford, duplicate, fundraiser = two_fords
    duplicate_id = duplicate.id
    gift_id = db.session.scalar(sa.select(Gift.id).where(Gift.organisation_id == duplicate_id))

    merge.merge_organisations(ford, duplicate, {"notes"}, fundraiser)

    [entry] = merge_entries("Organisation", ford.id)
    assert entry.changes["merged_in"][0] == f"#{duplicate_id} The Ford Foundation"
    assert entry.changes["gifts.organisation_id"][1] == f"1 moved (ids {gift_id})"
    assert "1 already on the survivor" in entry.changes["organisation_themes.organisation_id"][1]
    assert entry.changes["fields_taken_from_merged"] == [None, "notes"]
    update = db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.action == "update",
            AuditEntry.record_type == "Organisation",
            AuditEntry.record_id == str(ford.id),
        )
    )
    assert update.changes["notes"] == ["", "From the 2025 list"]
    deletion = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "delete", AuditEntry.record_id == str(duplicate_id))
    )
    assert deletion.changes["name"] == ["The Ford Foundation", None]


@pytest.fixture
def two_anas(make_organisation, make_contact, make_connector, make_user):
    """One person recorded twice, known to the same connector under both records, in one meeting twice."""
    fundraiser = make_user("fundraising")
    organisation = make_organisation(name="Fundação São Paulo")
    ana = make_contact(name="Ana Ribeiro", email="ana@fsp.example", organisation=organisation)
    twin = make_contact(name="Ana Ribeiro", email="", phone="+5511987654321", do_not_contact=True)
    both = make_connector(name="Sir Kim", knows=[ana, twin])
    make_connector(name="Lady Lee", knows=[twin])
    meeting = Interaction(kind="meeting", occurred_on=today(), organisation=organisation, summary="Met")
    meeting.contacts.extend([ana, twin])
    db.session.add(meeting)
    db.session.add(
        Introduction(
            connector=both,
            target_contact=twin,
            requested_by_id=fundraiser.id,
            for_user_id=fundraiser.id,
            requested_on=today(),
        )
    )
    db.session.flush()
    return ana, twin, fundraiser


def test_merging_contacts_collapses_pairs_held_twice(two_anas):
    ana, twin, fundraiser = two_anas
    twin_id = twin.id

    merge.merge_contacts(ana, twin, {"phone"}, fundraiser)

    assert db.session.get(Contact, twin_id) is None
    assert sorted(c.connector.name for c in db.session.scalars(sa.select(Connection))) == [
        "Lady Lee",
        "Sir Kim",
    ]
    assert all(c.contact_id == ana.id for c in db.session.scalars(sa.select(Connection)))
    assert db.session.execute(sa.select(interaction_contacts)).all() == [
        (db.session.scalar(sa.select(Interaction.id)), ana.id)
    ]
    assert db.session.scalar(sa.select(Introduction.target_contact_id)) == ana.id
    assert (ana.email, ana.phone) == ("ana@fsp.example", "+5511987654321")
    # Asking not to be contacted survives the merge whichever record said it.
    assert ana.do_not_contact
    [entry] = merge_entries("Contact", ana.id)
    assert "1 already on the survivor" in entry.changes["connections.contact_id"][1]


def test_a_record_is_never_merged_into_itself(two_fords):
    ford, _, fundraiser = two_fords
    with pytest.raises(merge.CannotMerge):
        merge.merge_organisations(ford, ford, set(), fundraiser)


def test_an_erased_record_takes_no_personal_data_back_in(two_anas):
    ana, twin, fundraiser = two_anas
    services.erase_contact(twin, fundraiser)
    with pytest.raises(merge.CannotMerge, match="erased"):
        merge.merge_contacts(twin, ana, set(), fundraiser)
    with pytest.raises(merge.CannotMerge, match="erased"):
        merge.merge_contacts(ana, twin, {"name"}, fundraiser)
    # Merging the erased record into the live one, taking nothing from it, is how such a duplicate goes.
    merge.merge_contacts(ana, twin, set(), fundraiser)
    assert ana.name == "Ana Ribeiro"


def test_consent_to_e_mail_needs_the_address_it_was_given_for(two_anas, make_contact):
    ana, _, fundraiser = two_anas
    consenting = make_contact(name="Ana R.", email="ana.r@example.org", email_consent=True)
    no_address = make_contact(name="Ana R", email="")
    with pytest.raises(ValidationFailed) as failed:
        merge.merge_contacts(no_address, consenting, {"email_consent"}, fundraiser)
    assert "email_consent" in failed.value.field_errors


def test_an_organisation_with_issued_letters_is_kept_as_the_survivor(two_fords, make_hub):
    ford, duplicate, fundraiser = two_fords
    gift = db.session.scalar(sa.select(Gift).where(Gift.organisation_id == duplicate.id))
    db.session.add(
        AcknowledgementLetter(
            kind=LetterKind.GIFT,
            organisation=duplicate,
            gift=gift,
            hub_id=gift.hub_id,
            language=Language.EN,
            pdf_bytes=b"%PDF",
            pdf_sha256="0" * 64,
        )
    )
    db.session.flush()
    with pytest.raises(merge.CannotMerge, match="letters"):
        merge.merge_organisations(ford, duplicate, set(), fundraiser)
    merge.merge_organisations(duplicate, ford, set(), fundraiser)
    assert (
        db.session.scalar(sa.select(sa.func.count(Gift.id)).where(Gift.organisation_id == duplicate.id)) == 2
    )


def test_unknown_fields_are_refused(two_fords):
    ford, duplicate, fundraiser = two_fords
    with pytest.raises(ValidationFailed):
        merge.merge_organisations(ford, duplicate, {"id"}, fundraiser)
    assert db.session.get(Organisation, duplicate.id) is not None


def test_the_compare_page_offers_only_the_fields_that_differ(two_fords):
    ford, duplicate, _ = two_fords
    names = [field.name for field in merge.differing_fields(ford, duplicate)]
    assert names == ["name", "country_code", "website", "notes"]


# --- The pages ---------------------------------------------------------------------------------------------


def test_a_fundraiser_finds_the_duplicate_compares_and_merges(login_as, two_fords):
    ford, duplicate, _ = two_fords
    ford_id, duplicate_id = ford.id, duplicate.id
    client = login_as("fundraising")
    assert "Merge with…" in client.get(f"/donors/organisations/{ford_id}").text

    found = client.get(f"/donors/organisations/{ford_id}/merge?q=ford")
    assert found.status_code == 200
    assert f"/donors/organisations/{ford_id}/merge/{duplicate_id}" in found.text
    assert f'/merge/{ford_id}"' not in found.text  # not offered to merge with itself

    compare = client.get(f"/donors/organisations/{ford_id}/merge/{duplicate_id}")
    assert compare.status_code == 200
    assert 'name="pick_website"' in compare.text and 'name="pick_kind"' not in compare.text
    assert "Gifts: 1" in compare.text

    done = client.post(
        f"/donors/organisations/{ford_id}/merge/{duplicate_id}",
        data={"pick_notes": "other", "pick_name": "survivor"},
        follow_redirects=True,
    )
    assert "The Ford Foundation was merged into Ford Foundation." in done.text
    assert db.session.get(Organisation, duplicate_id) is None
    assert db.session.get(Organisation, ford_id).notes == "From the 2025 list"


def test_contacts_merge_from_the_contact_page(login_as, two_anas):
    ana, twin, _ = two_anas
    ana_id, twin_id = ana.id, twin.id
    client = login_as("admin")
    assert "Merge with…" in client.get(f"/donors/contacts/{ana_id}").text
    found = client.get(f"/donors/contacts/{ana_id}/merge?q=ribeiro")
    assert f"/donors/contacts/{ana_id}/merge/{twin_id}" in found.text
    done = client.post(f"/donors/contacts/{ana_id}/merge/{twin_id}", data={"pick_phone": "other"})
    assert done.status_code == 302
    assert db.session.get(Contact, twin_id) is None
    assert db.session.get(Contact, ana_id).phone == "+5511987654321"


def test_a_refused_merge_says_why_and_changes_nothing(login_as, two_anas):
    ana, twin, fundraiser = two_anas
    services.erase_contact(twin, fundraiser)
    ana_id, twin_id = ana.id, twin.id
    page = login_as("fundraising").post(f"/donors/contacts/{twin_id}/merge/{ana_id}", data={})
    assert page.status_code == 422
    assert "merging would bring personal data back in" in page.text
    assert db.session.get(Contact, ana_id) is not None and db.session.get(Contact, twin_id) is not None


@pytest.mark.parametrize("role", ["operations", "board"])
def test_only_fundraising_and_admin_may_merge(login_as, two_fords, role):
    ford, duplicate, _ = two_fords
    client = login_as(role)
    assert "Merge with…" not in client.get(f"/donors/organisations/{ford.id}").text
    assert client.get(f"/donors/organisations/{ford.id}/merge").status_code == 403
    assert client.post(f"/donors/organisations/{ford.id}/merge/{duplicate.id}").status_code == 403
    assert db.session.get(Organisation, duplicate.id) is not None


def test_bad_ids_answer_404_and_change_nothing(login_as, two_fords, two_anas):
    ford, duplicate, _ = two_fords
    client = login_as("fundraising")
    before = (count(Organisation.__table__), count(Contact.__table__), count(Gift.__table__))
    for url in (
        f"/donors/organisations/{ford.id}/merge/999999",
        f"/donors/organisations/999999/merge/{duplicate.id}",
        "/donors/organisations/999999/merge",
        "/donors/contacts/999999/merge/1",
    ):
        assert client.post(url).status_code in (404, 405), url
        assert client.get(url).status_code == 404, url
    assert (count(Organisation.__table__), count(Contact.__table__), count(Gift.__table__)) == before


def test_merging_a_record_into_itself_is_refused_on_the_page(login_as, two_fords):
    ford, _, _ = two_fords
    client = login_as("fundraising")
    assert "This is the same record" in client.get(f"/donors/organisations/{ford.id}/merge/{ford.id}").text
    refused = client.post(f"/donors/organisations/{ford.id}/merge/{ford.id}")
    assert refused.status_code == 422 and "cannot be merged into itself" in refused.text
    assert db.session.get(Organisation, ford.id) is not None
