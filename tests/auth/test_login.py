from datetime import timedelta

import sqlalchemy as sa

from app.auth.models import User
from app.common.time import utcnow
from app.extensions import db
from tests.builders.auth import PASSWORD

GENERIC = b"Those details did not work"


def post_login(client, email, password):
    return client.post("/login", data={"email": email, "password": password})


def test_signing_in_shows_the_users_name_and_signing_out_ends_the_session(client, make_user):
    make_user("fundraising", email="fay@example.org", full_name="Fay Fundraiser")

    response = post_login(client, "FAY@example.org", PASSWORD)
    assert response.status_code == 302
    assert b"Fay Fundraiser" in client.get("/").data

    client.post("/logout")
    assert client.get("/").status_code == 302


def test_wrong_password_and_unknown_account_get_the_same_generic_message(client, make_user):
    make_user(email="known@example.org")

    wrong_password = post_login(client, "known@example.org", "not the password")
    unknown_account = post_login(client, "nobody@example.org", "not the password")

    assert wrong_password.status_code == unknown_account.status_code == 401
    assert GENERIC in wrong_password.data and GENERIC in unknown_account.data


def test_five_failures_lock_the_account_even_for_the_right_password(app, client, make_user):
    user = make_user(email="target@example.org")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        post_login(client, "target@example.org", "guess")

    response = post_login(client, "target@example.org", PASSWORD)

    assert response.status_code == 401 and GENERIC in response.data
    assert user.locked_until is not None


def test_the_lock_ends_after_its_time(client, make_user):
    user = make_user(email="later@example.org")
    user.locked_until = utcnow() - timedelta(minutes=1)
    db.session.flush()

    assert post_login(client, "later@example.org", PASSWORD).status_code == 302


def test_a_deactivated_user_cannot_sign_in_and_loses_an_open_session(client, make_user):
    user = make_user(email="gone@example.org")
    user.is_active_account = False
    db.session.flush()

    assert post_login(client, "gone@example.org", PASSWORD).status_code == 401


def test_next_parameter_only_leads_within_the_site(client, make_user):
    make_user(email="next@example.org")
    response = client.post(
        "/login?next=https://evil.example.com/", data={"email": "next@example.org", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"


def test_change_own_password_checks_the_current_one(login_as):
    client = login_as("board")

    refused = client.post(
        "/account/password",
        data={
            "current_password": "wrong",
            "password": "a brand new password",
            "confirm": "a brand new password",
        },
    )
    assert b"The current password is not right." in refused.data

    accepted = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "password": "a brand new password",
            "confirm": "a brand new password",
        },
    )
    assert accepted.status_code == 302


def test_short_new_password_is_refused_beside_the_field(login_as):
    client = login_as("operations")
    response = client.post(
        "/account/password", data={"current_password": PASSWORD, "password": "short", "confirm": "short"}
    )
    assert b"Use at least 12 characters." in response.data
    assert b'aria-invalid="true"' in response.data


def test_passwords_are_stored_as_argon2id_hashes(make_user):
    user = make_user(password="a long enough password")
    stored = db.session.scalar(sa.select(User.password_hash).where(User.id == user.id))
    assert stored.startswith("$argon2id$")
