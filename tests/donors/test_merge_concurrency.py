"""Two merges at once on PostgreSQL (two people cleaning duplicates at the same moment): no record is lost,
no merge deadlocks or fails with a server error; the second one either follows the first or is refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.common.time import today
from app.donors import merge
from app.donors.models import Contact, Gift, Interaction, Organisation, interaction_contacts
from app.extensions import db
from tests.helpers import at_once

pytestmark = [pytest.mark.postgres_only, pytest.mark.real_commits]


def _at_once(app, user_id: int, jobs: list) -> list[str]:
    """Run each job (a function of the session's user) in its own thread and transaction, all released at
    the same moment; returns how each ended: "done", "refused: ..." or "error: ..."."""
    from app.auth.models import User

    def with_user(job):
        return lambda: job(db.session.get(User, user_id))

    return at_once(app, [with_user(job) for job in jobs], refused=(merge.CannotMerge,))


def _organisation_merge(survivor_id: int, merged_id: int):
    def job(user):
        survivor, merged = db.session.get(Organisation, survivor_id), db.session.get(Organisation, merged_id)
        return lambda: merge.merge_organisations(survivor, merged, set(), user)

    return job


def _contact_merge(survivor_id: int, merged_id: int):
    def job(user):
        survivor, merged = db.session.get(Contact, survivor_id), db.session.get(Contact, merged_id)
        return lambda: merge.merge_contacts(survivor, merged, set(), user)

    return job


def _with_history(make_organisation, make_gift, name: str) -> Organisation:
    organisation = make_organisation(name=name)
    for number in range(3):
        db.session.add(
            Interaction(
                kind="call", occurred_on=today(), organisation=organisation, summary=f"{name} {number}"
            )
        )
    make_gift(organisation=organisation)
    return organisation


def _gifts_and_interactions_by_organisation() -> dict[int, tuple[int, int]]:
    gifts = dict(
        db.session.execute(
            sa.select(Gift.organisation_id, sa.func.count()).group_by(Gift.organisation_id)
        ).all()
    )
    interactions = dict(
        db.session.execute(
            sa.select(Interaction.organisation_id, sa.func.count()).group_by(Interaction.organisation_id)
        ).all()
    )
    return {key: (gifts.get(key, 0), interactions.get(key, 0)) for key in {*gifts, *interactions}}


def test_merging_a_into_b_while_b_is_merged_into_a_keeps_everything_in_one_survivor(
    app, make_organisation, make_gift, make_user
):
    first = _with_history(make_organisation, make_gift, "Ford Foundation")
    second = _with_history(make_organisation, make_gift, "The Ford Foundation")
    first_id, second_id, user_id = first.id, second.id, make_user("fundraising").id
    db.session.commit()
    db.session.remove()

    outcomes = _at_once(
        app, user_id, [_organisation_merge(first_id, second_id), _organisation_merge(second_id, first_id)]
    )

    assert sorted(outcome.split(":")[0] for outcome in outcomes) == ["done", "refused"], outcomes
    remaining = db.session.scalars(sa.select(Organisation.id)).all()
    assert len(remaining) == 1 and remaining[0] in (first_id, second_id)
    assert _gifts_and_interactions_by_organisation() == {remaining[0]: (2, 6)}


def test_two_merges_into_the_same_survivor_at_once_both_move_everything(
    app, make_organisation, make_gift, make_user
):
    survivor = _with_history(make_organisation, make_gift, "Ford Foundation")
    one = _with_history(make_organisation, make_gift, "Ford Foundation Inc")
    two = _with_history(make_organisation, make_gift, "The Ford Foundation")
    ids = survivor.id, one.id, two.id
    user_id = make_user("fundraising").id
    db.session.commit()
    db.session.remove()

    outcomes = _at_once(
        app, user_id, [_organisation_merge(ids[0], ids[1]), _organisation_merge(ids[0], ids[2])]
    )

    assert outcomes == ["done", "done"]
    assert db.session.scalars(sa.select(Organisation.id)).all() == [ids[0]]
    assert _gifts_and_interactions_by_organisation() == {ids[0]: (3, 9)}


def test_a_chain_of_merges_at_once_loses_no_participant(app, make_organisation, make_contact, make_user):
    organisation = make_organisation()
    people = [make_contact(name=f"Ana Ribeiro {n}", organisation=organisation) for n in range(3)]
    meetings = []
    for person in people:
        meeting = Interaction(kind="meeting", occurred_on=today(), organisation=organisation)
        meeting.contacts.append(person)
        db.session.add(meeting)
        meetings.append(meeting)
    first, second, third = (person.id for person in people)
    user_id = make_user("fundraising").id
    db.session.commit()
    db.session.remove()

    # The first into the second while the second goes into the third.
    outcomes = _at_once(app, user_id, [_contact_merge(second, first), _contact_merge(third, second)])

    assert not [outcome for outcome in outcomes if outcome.startswith("error")], outcomes
    remaining = set(db.session.scalars(sa.select(Contact.id)))
    assert third in remaining and len(remaining) == 3 - outcomes.count("done")
    participants = db.session.execute(sa.select(interaction_contacts)).all()
    assert len(participants) == 3 and {contact_id for _, contact_id in participants} <= remaining
