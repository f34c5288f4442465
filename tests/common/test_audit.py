"""Who is acting: the acting_as() block's user or label, else the signed-in user, else the system."""

from __future__ import annotations

from flask_login import login_user

from app.common.audit import acting_as, current_actor


def test_outside_a_request_and_a_block_the_system_acts(app):
    assert current_actor() == (None, "system")


def test_an_acting_as_block_names_its_user_or_its_label(make_user):
    user = make_user(email="ops@example.org")
    with acting_as(user):
        assert current_actor() == (user.id, "ops@example.org")
        with acting_as(label="stripe"):
            assert current_actor() == (None, "stripe")
        assert current_actor() == (user.id, "ops@example.org")
    assert current_actor() == (None, "system")


def test_in_a_request_the_signed_in_user_acts(app, make_user):
    user = make_user(email="board@example.org")
    with app.test_request_context():
        login_user(user)
        assert current_actor() == (user.id, "board@example.org")
        with acting_as(label="cli"):
            assert current_actor() == (None, "cli")
