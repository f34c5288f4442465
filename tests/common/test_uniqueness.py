"""A unique constraint that fires becomes a message beside its field, and changes nothing."""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.common.errors import ValidationFailed
from app.common.uniqueness import UniqueField, reports_constraint, unique_as_field_errors
from app.extensions import db
from app.hubs import services as hub_services
from app.hubs.models import ChecklistTemplate
from tests.conftest import count

NAME_TAKEN = UniqueField("uq_checklist_templates_name", "name", "Another template has this name.")


@pytest.fixture
def office_template():
    template = ChecklistTemplate(name="Open an office", description="")
    db.session.add(template)
    db.session.flush()
    return template


@pytest.fixture
def no_early_check(monkeypatch):
    """Two people saving at the same moment both pass the service's own check: only the constraint is left."""
    monkeypatch.setattr(hub_services, "_unique_template_name", lambda name, template=None: name.strip())


def test_the_listed_constraint_becomes_a_field_error_and_the_session_stays_usable(office_template):
    with pytest.raises(ValidationFailed) as failed, unique_as_field_errors(NAME_TAKEN):
        db.session.add(ChecklistTemplate(name="Open an office", description="copy"))
        db.session.flush()
    assert failed.value.field_errors == {"name": ["Another template has this name."]}
    # The savepoint was rolled back: the page that shows the message can still read the database.
    names = db.session.scalars(sa.select(ChecklistTemplate.name)).all()
    assert names.count("Open an office") == 1


def test_an_unlisted_constraint_stays_an_integrity_error(office_template, make_user):
    existing = make_user("board")
    with pytest.raises(IntegrityError), unique_as_field_errors(NAME_TAKEN):
        db.session.add(User(email=existing.email, full_name="Twin", role=existing.role, password_hash="x"))
        db.session.flush()
    assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.email == existing.email)) == 1


def test_the_constraint_is_recognised_on_either_database(office_template):
    with pytest.raises(IntegrityError) as raised, db.session.begin_nested():
        db.session.add(ChecklistTemplate(name="Open an office", description=""))
        db.session.flush()
    assert reports_constraint(raised.value, "uq_checklist_templates_name")
    assert not reports_constraint(raised.value, "uq_hubs_name")


def test_creating_a_template_whose_name_was_just_taken_says_so_beside_the_name(
    login_as, office_template, no_early_check
):
    before = count(ChecklistTemplate)
    response = login_as("operations").post("/hubs/templates/new", data={"name": "Open an office"})
    assert response.status_code == 422
    assert "Another template has this name." in response.text
    assert count(ChecklistTemplate) == before


def test_saving_a_checklist_as_a_template_with_a_taken_name_saves_nothing(
    login_as, make_hub, office_template, no_early_check
):
    hub = make_hub()
    hub_services.start_checklist(hub, office_template)
    hub_services.add_checklist_item(hub, "Open a bank account")
    before = count(ChecklistTemplate)
    response = login_as("operations").post(
        f"/hubs/{hub.id}/checklist/save-as-template", data={"name": "Open an office"}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "Another template has this name." in response.text
    assert count(ChecklistTemplate) == before


def test_a_hub_name_taken_at_the_same_moment_is_a_field_error(make_hub, monkeypatch):
    taken = make_hub(name="Nairobi hub")
    details = hub_services.HubDetails.of(make_hub(name="Kampala hub"))
    details.name, details.invoice_prefix = taken.name, "NEW"
    # The service's own read finds nothing, as it would when the other hub is not yet committed.
    monkeypatch.setattr(hub_services.db.session, "scalar", _blind(hub_services.db.session.scalar))
    with pytest.raises(ValidationFailed) as failed:
        hub_services.create_hub(details)
    assert failed.value.field_errors == {"name": ["Another hub already has this name."]}


def _blind(scalar):
    def without_clash_checks(statement, *args, **kwargs):
        result = scalar(statement, *args, **kwargs)
        text = str(statement)
        if "lower(hubs.name)" in text or "upper(hubs.invoice_prefix)" in text:
            return None
        return result

    return without_clash_checks
