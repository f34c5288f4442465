"""What operations and the board see and can do on the hub pages."""

import io
import re
from datetime import date

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.hubs import services
from app.hubs.models import ChecklistItemStatus, ChecklistTemplate, Hub, HubStatus
from tests.conftest import count

from .conftest import hub_form, picture


def hub_named(name: str) -> Hub | None:
    return db.session.scalar(sa.select(Hub).where(Hub.name == name))


def error_beside(html: str, field: str) -> str:
    match = re.search(rf'id="{field}-error">([^<]*)<', html)
    return match.group(1) if match else ""


def test_operations_adds_a_hub_with_a_logo_and_a_checklist_from_a_template(login_as):
    template = services.create_template("Opening a hub", steps=[("Board approval", "Executive director")])
    client = login_as("operations")
    response = client.post(
        "/hubs/new",
        data=hub_form(checklist_template=str(template.id), logo=(io.BytesIO(picture()), "logo.png")),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    hub = hub_named("Antwerp hub")
    assert (hub.invoice_prefix, hub.iban, hub.logo_mime_type) == ("ANT", "BE22096001234547", "image/png")
    assert [item.description for item in hub.checklist.items] == ["Board approval"]

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Tributary Antwerp AISBL" in page and "BE22 0960 0123 4547" in page
    assert "0 of 1 done" in page
    logo = client.get(f"/hubs/{hub.id}/logo")
    assert logo.status_code == 200 and logo.mimetype == "image/png" and logo.data == picture()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("iban", "BE22096001234548", "Not a valid IBAN: the check digits do not match"),
        ("bic", "GKCCXXBB", "Not a valid BIC: characters 5 and 6 are not a country code."),
        ("vat_number", "BE0888776654", "Not a valid VAT number for Belgium"),
        ("registration_number", "0888.776.654", "Not a valid Belgian enterprise number"),
        ("invoice_prefix", "BE", "Brussels hub already uses the prefix BE"),
    ],
)
def test_a_bad_value_is_refused_beside_its_field_and_nothing_is_added(
    login_as, make_hub, field, value, message
):
    make_hub(name="Brussels hub", invoice_prefix="BE")
    response = login_as("operations").post("/hubs/new", data=hub_form(**{field: value}))
    assert response.status_code == 422
    assert message in error_beside(response.get_data(as_text=True), field)
    assert hub_named("Antwerp hub") is None


def test_a_file_that_is_not_a_picture_is_refused_as_a_logo(login_as, hub):
    legal_name = hub.legal_name
    response = login_as("operations").post(
        f"/hubs/{hub.id}/edit",
        data=hub_form(name=hub.name, invoice_prefix="BE", logo=(io.BytesIO(b"%PDF-1.7 ..."), "logo.png")),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "not a picture that can be read" in error_beside(response.get_data(as_text=True), "logo")
    assert hub.logo_bytes is None and hub.legal_name == legal_name


def test_editing_a_hub_with_issued_invoices_shows_currency_and_prefix_fixed(
    login_as, hub, make_issued_invoice
):
    make_issued_invoice()
    client = login_as("operations")
    page = client.get(f"/hubs/{hub.id}/edit").get_data(as_text=True)
    assert "Currency and prefix are fixed." in page
    assert re.search(
        r'<select[^>]*disabled[^>]*id="base_currency"|<select[^>]*id="base_currency"[^>]*disabled', page
    )

    # A disabled field is not sent: the rest of the form saves.
    data = hub_form(name=hub.name, legal_name="Tributary Europe AISBL")
    del data["base_currency"], data["invoice_prefix"]
    assert client.post(f"/hubs/{hub.id}/edit", data=data).status_code == 302
    assert hub.legal_name == "Tributary Europe AISBL" and hub.invoice_prefix == "BE"

    # A forged change is refused by the service, beside the field.
    response = client.post(f"/hubs/{hub.id}/edit", data=hub_form(name=hub.name, invoice_prefix="NEW"))
    assert response.status_code == 422
    assert "its prefix cannot change" in error_beside(response.get_data(as_text=True), "invoice_prefix")
    assert hub.invoice_prefix == "BE"


def test_a_hub_with_issued_invoices_is_closed_not_deleted(login_as, hub, make_issued_invoice):
    make_issued_invoice()
    client = login_as("operations")
    page = client.get(f"/hubs/{hub.id}").get_data(as_text=True)
    assert "Close hub" in page and ">Delete<" not in page

    response = client.post(f"/hubs/{hub.id}/delete", follow_redirects=True)
    assert "cannot be deleted; close it instead" in response.get_data(as_text=True)
    assert count(Hub) == 1

    client.post(f"/hubs/{hub.id}/close")
    assert hub.status == HubStatus.CLOSED


def test_a_hub_without_documents_can_be_deleted(login_as, make_hub):
    hub = make_hub(name="Short-lived")
    response = login_as("operations").post(f"/hubs/{hub.id}/delete", follow_redirects=True)
    assert "Short-lived is deleted." in response.get_data(as_text=True)
    assert count(Hub) == 0


def test_the_hub_page_lists_issued_invoices_and_whats_outstanding(login_as, hub, make_issued_invoice, app):
    make_issued_invoice(amount="1200.00")
    make_issued_invoice(amount="300.00", currency="USD")
    page = login_as("board").get(f"/hubs/{hub.id}").get_data(as_text=True)
    assert "2 invoices · 0 credit notes" in page
    assert "€1,200.00" in page and "$300.00" in page
    has_invoice_page = "contributions.show_invoice" in app.view_functions
    assert ('href="/contributions/invoices/' in page) == has_invoice_page


def test_the_checklist_status_changes_inline_and_dates_itself(login_as, hub):
    template = services.create_template("Opening", steps=[("Bank account", "Finance director")])
    item = services.start_checklist(hub, template).items[0]
    client = login_as("operations")

    response = client.post(f"/hubs/{hub.id}/checklist/items/{item.id}/status", data={"status": "done"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#item-{item.id}")
    assert item.status == ChecklistItemStatus.DONE and item.completed_on is not None

    client.post(f"/hubs/{hub.id}/checklist/items/{item.id}/status", data={"status": "in_progress"})
    assert item.completed_on is None
    client.post(f"/hubs/{hub.id}/checklist/items/{item.id}/status", data={"status": "finished"})
    assert item.status == ChecklistItemStatus.IN_PROGRESS


def test_a_checklist_step_is_edited_with_owner_due_date_and_notes(login_as, hub, make_user):
    owner = make_user(full_name="Olga Owner")
    item = services.add_checklist_item(hub, "Insurance")
    client = login_as("operations")
    assert "Olga Owner" in client.get(f"/hubs/{hub.id}/checklist/items/{item.id}").get_data(as_text=True)
    response = client.post(
        f"/hubs/{hub.id}/checklist/items/{item.id}",
        data={
            "description": "Insurance: civil liability",
            "owner_role": "Operations manager",
            "owner": str(owner.id),
            "due_on": "2027-02-01",
            "status": "in_progress",
            "notes": "Two quotes received.",
        },
    )
    assert response.status_code == 302
    assert (item.owner_id, item.due_on, item.notes) == (owner.id, date(2027, 2, 1), "Two quotes received.")


def test_a_hubs_checklist_is_saved_as_a_template(login_as, hub):
    services.add_checklist_item(hub, "Board approval", "Executive director")
    response = login_as("operations").post(
        f"/hubs/{hub.id}/checklist/save-as-template", data={"name": "The Brussels way", "description": ""}
    )
    template = db.session.scalar(
        sa.select(ChecklistTemplate).where(ChecklistTemplate.name == "The Brussels way")
    )
    assert response.headers["Location"].endswith(f"/hubs/templates/{template.id}")
    assert [(s.description, s.default_owner_role) for s in template.items] == [
        ("Board approval", "Executive director")
    ]


def test_templates_are_listed_viewed_and_edited(login_as):
    client = login_as("operations")
    response = client.post("/hubs/templates/new", data={"name": "Opening in Kenya", "description": "Nairobi"})
    template = db.session.scalar(
        sa.select(ChecklistTemplate).where(ChecklistTemplate.name == "Opening in Kenya")
    )
    assert response.headers["Location"].endswith(f"/hubs/templates/{template.id}")

    for step in ("Board approval", "Registration with the NGO Coordination Board", "Bank account"):
        client.post(
            f"/hubs/templates/{template.id}/items",
            data={"step-description": step, "step-default_owner_role": "Legal counsel"},
        )
    board, registration, bank = template.items
    client.post(f"/hubs/templates/{template.id}/items/{bank.id}/move", data={"direction": "up"})
    client.post(
        f"/hubs/templates/{template.id}/items/{board.id}",
        data={"description": "Board resolution", "default_owner_role": "Board secretary"},
    )
    client.post(f"/hubs/templates/{template.id}/items/{registration.id}/delete")
    db.session.expire_all()
    assert [(s.position, s.description) for s in template.items] == [
        (1, "Board resolution"),
        (2, "Bank account"),
    ]

    listing = client.get("/hubs/templates/?q=kenya").get_data(as_text=True)
    assert "Opening in Kenya" in listing
    assert "No template matches" in client.get("/hubs/templates/?q=peru").get_data(as_text=True)

    refused = client.post("/hubs/templates/new", data={"name": "opening in KENYA"})
    assert refused.status_code == 422
    assert "Another template has this name." in refused.get_data(as_text=True)


def test_the_hub_list_filters_by_status_and_search(login_as, make_hub):
    make_hub(name="Brussels hub", status=HubStatus.OPEN)
    make_hub(name="Nairobi hub", status=HubStatus.PLANNED, city="Nairobi")
    client = login_as("board")
    assert "Nairobi hub" not in client.get("/hubs/?status=open").get_data(as_text=True)
    page = client.get("/hubs/?q=nairobi").get_data(as_text=True)
    assert "Nairobi hub" in page and "Brussels hub" not in page
    assert "No hub matches" in client.get("/hubs/?q=lima").get_data(as_text=True)


def test_the_board_reads_hubs_but_every_change_is_refused(login_as, hub, app):
    template = services.create_template("Opening", steps=[("Board approval", "")])
    item = services.start_checklist(hub, template).items[0]
    client = login_as("board")
    page = client.get(f"/hubs/{hub.id}").get_data(as_text=True)
    assert hub.legal_name in page and "Edit" not in page and "<select" not in page
    assert client.get(f"/hubs/templates/{template.id}").status_code == 200

    ids = {"hub_id": hub.id, "item_id": item.id, "template_id": template.id}
    posts = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("hubs.") and "POST" in rule.methods
    ]
    assert len(posts) >= 15
    for rule in posts:
        url = rule.build({name: ids[name] for name in rule.arguments})[1]
        assert client.post(url, data={"status": "done", "name": "X"}).status_code == 403, url
    assert item.status == ChecklistItemStatus.TO_DO and hub.status == HubStatus.OPEN


def test_a_hub_page_for_nothing_is_a_404(login_as):
    client = login_as("operations")
    assert client.get("/hubs/999").status_code == 404
    assert client.get("/hubs/999/logo").status_code == 404
    assert client.post("/hubs/999/checklist/items/1/status", data={"status": "done"}).status_code == 404


def test_the_home_page_shows_unfinished_hub_setups(login_as, hub):
    services.add_checklist_item(hub, "Bank account", due_on=date(2020, 1, 1))
    page = login_as("board").get("/").get_data(as_text=True)
    assert "Hub setup" in page and "0 of 1 done, 1 overdue" in page


def test_the_hand_written_checklist_forms_carry_a_csrf_token(login_as, hub, app, monkeypatch):
    template = services.create_template("Opening", steps=[("Bank account", "")])
    item = services.start_checklist(hub, template).items[0]
    client = login_as("operations")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    page = client.get(f"/hubs/{hub.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    assert (
        client.post(f"/hubs/{hub.id}/checklist/items/{item.id}/status", data={"status": "done"}).status_code
        == 400
    )
    response = client.post(
        f"/hubs/{hub.id}/checklist/items/{item.id}/status", data={"status": "done", "csrf_token": token}
    )
    assert response.status_code == 302 and item.status == ChecklistItemStatus.DONE


def test_deleting_a_template_leaves_the_checklists_made_from_it(login_as, hub):
    template = services.create_template("Opening", steps=[("Bank account", "")])
    services.start_checklist(hub, template)
    client = login_as("operations")
    assert "used by" in client.get(f"/hubs/templates/{template.id}").get_data(as_text=True)
    client.post(f"/hubs/templates/{template.id}/delete")
    assert count(ChecklistTemplate) == 0
    db.session.expire_all()
    assert hub.checklist.source_template_id is None and hub.checklist.source_template_name == "Opening"
    assert [item.description for item in hub.checklist.items] == ["Bank account"]
