import sqlalchemy as sa

from app.auth.models import User
from app.auth.permissions import Role
from app.common.audit import AuditEntry, AuditLogIsAppendOnly
from app.extensions import db


def audit_entries_for(user):
    return db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.record_type == "User", AuditEntry.record_id == str(user.id))
    ).all()


def test_admin_creates_a_user_who_can_then_sign_in(login_as, client):
    admin = login_as("admin")
    response = admin.post(
        "/admin/users/new",
        data={
            "email": "New.Person@Example.org",
            "full_name": "New Person",
            "role": "operations",
            "password": "a very good password",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "new.person@example.org"))
    assert user.role == Role.OPERATIONS
    assert (
        client.post("/login", data={"email": user.email, "password": "a very good password"}).status_code
        == 302
    )


def test_duplicate_email_is_refused_beside_the_field(login_as, make_user):
    make_user(email="taken@example.org")
    response = login_as("admin").post(
        "/admin/users/new",
        data={
            "email": "TAKEN@example.org",
            "full_name": "X",
            "role": "board",
            "password": "a very good password",
        },
    )
    assert response.status_code == 200
    assert b"Already in use." in response.data


def test_role_change_and_deactivation_are_audited_with_old_and_new_values(login_as, make_user):
    admin = login_as("admin")
    user = make_user("board", full_name="Bo Board")

    admin.post(f"/admin/users/{user.id}", data={"full_name": "Bo Board", "role": "fundraising"})
    admin.post(f"/admin/users/{user.id}/active", data={"active": "0"})

    changes = [entry.changes for entry in audit_entries_for(user) if entry.action == "update"]
    assert {"role": ["board", "fundraising"]} in changes
    assert {"is_active_account": [True, False]} in changes
    assert all(
        entry.actor_id == admin.user.id for entry in audit_entries_for(user) if entry.action == "update"
    )


def test_the_audit_page_shows_changes_and_filters_by_record_type(login_as, make_user):
    admin = login_as("admin")
    user = make_user("board", full_name="Filtered Person")
    admin.post(f"/admin/users/{user.id}", data={"full_name": "Renamed Person", "role": "board"})

    page = admin.get("/admin/audit?record_type=User")
    assert b"Filtered Person" in page.data and b"Renamed Person" in page.data
    assert b"No entries match" in admin.get("/admin/audit?record_type=Nothing").data


def test_password_hashes_never_reach_the_audit_log(make_user):
    user = make_user()
    assert all("password_hash" not in entry.changes for entry in audit_entries_for(user))


def test_audit_entries_cannot_be_edited_or_deleted(make_user):
    user = make_user()
    entry = audit_entries_for(user)[0]
    entry.action = "forged"
    try:
        db.session.flush()
    except AuditLogIsAppendOnly:
        db.session.rollback()
    else:
        raise AssertionError("an audit entry was changed")


def test_the_last_administrator_cannot_be_deactivated(login_as):
    admin = login_as("admin")
    db.session.execute(
        sa.update(User).where(User.id != admin.user.id, User.role == Role.ADMIN).values(role="board")
    )
    response = admin.post(f"/admin/users/{admin.user.id}/active", data={"active": "0"}, follow_redirects=True)
    assert b"last active administrator" in response.data
    assert db.session.get(User, admin.user.id).is_active_account


def test_admin_sets_a_password_that_unlocks_the_account(login_as, make_user):
    from app.common.time import utcnow

    user = make_user()
    user.locked_until = utcnow()
    db.session.flush()
    response = login_as("admin").post(
        f"/admin/users/{user.id}/password", data={"pw-password": "another long one!"}
    )
    assert response.status_code == 302
    assert user.locked_until is None
