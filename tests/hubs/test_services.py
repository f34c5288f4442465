"""Hub rules: valid identifiers, unique prefixes, one default issuer, and no rewriting of issued documents."""

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.common.audit import AuditEntry
from app.common.errors import DomainError, ValidationFailed
from app.common.languages import Language
from app.contributions.models import CreditNote, InvoiceStatus
from app.extensions import db
from app.hubs import services, uses
from app.hubs.models import ChecklistItemStatus, Hub, HubStatus
from app.hubs.seed import BELGIAN_STEPS, BELGIAN_TEMPLATE_NAME, seed_demo
from tests.conftest import count

from .conftest import picture


def details(**overrides) -> services.HubDetails:
    values = dict(
        name="Antwerp hub",
        kind="hub_office",
        legal_name="Tributary Antwerp AISBL",
        country_code="BE",
        base_currency="EUR",
        invoice_prefix="ant",
        registration_number="0888776653",
        vat_number="BE 0888 776 653",
        iban="BE22 0960 0123 4547",
        bic="GKCCBEBB",
    )
    values.update(overrides)
    return services.HubDetails(**values)


def _with(hub, **changes) -> services.HubDetails:
    current = services.HubDetails.of(hub)
    for name, value in changes.items():
        setattr(current, name, value)
    return current


def test_a_new_hub_keeps_its_identifiers_in_their_written_form():
    hub = services.create_hub(details())
    assert (hub.registration_number, hub.vat_number) == ("0888.776.653", "BE0888776653")
    assert (hub.iban, hub.invoice_prefix) == ("BE22096001234547", "ANT")


def test_every_wrong_identifier_is_reported_beside_its_field_and_nothing_is_added():
    with pytest.raises(ValidationFailed) as refused:
        services.create_hub(
            details(
                registration_number="0888.776.654",
                vat_number="BE0888776654",
                iban="BE22096001234548",
                bic="GKCC",
                base_currency="XYZ",
                invoice_prefix="B-E",
            )
        )
    assert set(refused.value.field_errors) == {
        "registration_number",
        "vat_number",
        "iban",
        "bic",
        "base_currency",
        "invoice_prefix",
    }
    assert count(Hub) == 0


def test_a_belgian_vat_number_must_be_the_enterprise_number(make_hub):
    with pytest.raises(ValidationFailed) as refused:
        services.create_hub(details(vat_number="BE0403170701"))
    assert refused.value.field_errors["vat_number"] == [
        "A Belgian VAT number is BE followed by the enterprise number: BE0888776653."
    ]


def test_bank_details_come_in_pairs_and_us_routing_numbers_are_checked():
    with pytest.raises(ValidationFailed) as refused:
        services.create_hub(details(bic="", account_number="12ab", routing_number="054000992"))
    errors = refused.value.field_errors
    assert errors["bic"] == ["Give the BIC that goes with the IBAN; payers abroad need it."]
    assert "4 to 17 digits" in errors["account_number"][0]
    assert "ABA routing number" in errors["routing_number"][0]


def test_an_open_hub_needs_bank_details():
    with pytest.raises(ValidationFailed) as refused:
        services.create_hub(details(status="open", iban="", bic=""))
    assert "bank details" in refused.value.field_errors["status"][0]


def test_prefixes_and_names_are_unique_whatever_their_case(make_hub):
    make_hub(name="Brussels hub", invoice_prefix="BE")
    with pytest.raises(ValidationFailed) as refused:
        services.create_hub(details(name="brussels HUB", invoice_prefix="be"))
    assert refused.value.field_errors["invoice_prefix"] == [
        "Brussels hub already uses the prefix BE; each hub has its own."
    ]
    assert refused.value.field_errors["name"] == ["Another hub already has this name."]


def test_the_first_hub_is_the_default_issuer_and_another_can_take_its_place():
    first = services.create_hub(details())
    second = services.create_hub(
        details(
            name="Paris hub", invoice_prefix="FR", country_code="FR", vat_number="", registration_number=""
        )
    )
    assert services.default_issuer() is first and not second.is_default_issuer

    services.make_default_issuer(second)
    assert services.default_issuer() is second
    assert not first.is_default_issuer


def test_the_default_issuer_cannot_be_closed_or_deleted(make_hub):
    hub = make_hub(is_default_issuer=True)
    with pytest.raises(services.DefaultIssuerRequired):
        services.close_hub(hub)
    with pytest.raises(services.DefaultIssuerRequired):
        services.delete_hub(hub)
    with pytest.raises(ValidationFailed) as refused:
        services.update_hub(hub, _with(hub, status="closed"))
    assert "default issuer" in refused.value.field_errors["status"][0]


def test_a_hub_without_documents_can_change_currency_and_prefix_and_be_deleted(hub):
    services.update_hub(hub, _with(hub, base_currency="USD", invoice_prefix="BRU"))
    assert (hub.base_currency, hub.invoice_prefix) == ("USD", "BRU")
    services.delete_hub(hub)
    assert count(Hub) == 0


def test_a_draft_invoice_does_not_lock_the_hub_but_stops_its_deletion(hub, make_draft_invoice):
    make_draft_invoice(member=None)
    assert not uses.has_issued_documents(hub)
    services.update_hub(hub, _with(hub, invoice_prefix="BRU"))
    with pytest.raises(services.HubInUse, match="draft invoice"):
        services.delete_hub(hub)


def test_an_issued_invoice_fixes_the_currency_and_prefix_and_the_hub_can_only_be_closed(
    hub, make_issued_invoice
):
    make_issued_invoice()
    assert uses.has_issued_documents(hub)

    with pytest.raises(services.HubHasIssuedDocuments) as refused:
        services.update_hub(hub, _with(hub, base_currency="USD", invoice_prefix="BRU"))
    assert set(refused.value.field_errors) == {"base_currency", "invoice_prefix"}
    assert isinstance(refused.value, DomainError)
    with pytest.raises(services.HubHasIssuedDocuments, match="close it instead"):
        services.delete_hub(hub)

    services.update_hub(hub, _with(hub, legal_name="Tributary Europe AISBL", bank_name="Other Bank"))
    services.close_hub(hub)
    assert (hub.status, hub.base_currency, hub.invoice_prefix) == (HubStatus.CLOSED, "EUR", "BE")


def test_a_credit_note_alone_also_locks_the_hub(hub, make_issued_invoice, make_hub):
    other = make_hub(name="Other", invoice_prefix="OT")
    invoice = make_issued_invoice()
    db.session.add(
        CreditNote(
            number="OT-CN-2027-0001",
            invoice=invoice,
            hub_id=other.id,
            currency="EUR",
            amount=Decimal("10.00"),
            reason="Bank fee",
            language=Language.EN,
            issued_on=date(2027, 2, 1),
        )
    )
    db.session.flush()
    assert uses.has_issued_documents(other)


def test_outstanding_is_summed_per_currency_over_open_invoices_only(hub, make_issued_invoice):
    make_issued_invoice(amount="1000.00")
    make_issued_invoice(amount="250.50", currency="USD")
    partly = make_issued_invoice(amount="400.00")
    partly.amount_paid = Decimal("100.00")
    partly.status = InvoiceStatus.PARTIALLY_PAID
    paid = make_issued_invoice(amount="999.00")
    paid.amount_paid = Decimal("999.00")
    paid.status = InvoiceStatus.PAID
    db.session.flush()

    documents = uses.issued_documents(hub)
    assert documents.outstanding == {"EUR": Decimal("1300.00"), "USD": Decimal("250.50")}
    assert documents.invoice_count == 4 and documents.credit_note_count == 0
    assert len(documents.latest_invoices) == 4


def test_a_logo_is_stored_and_offered_as_a_data_url(hub):
    assert services.hub_logo_data_url(hub) is None
    services.set_logo(hub, picture("JPEG"))
    assert hub.logo_mime_type == "image/jpeg"
    assert services.hub_logo_data_url(hub).startswith("data:image/jpeg;base64,/9j/")
    with pytest.raises(ValidationFailed) as refused:
        services.set_logo(hub, b"GIF89a not really")
    assert "logo" in refused.value.field_errors
    assert hub.logo_mime_type == "image/jpeg"


# --- Checklists --------------------------------------------------------------------------------------------


@pytest.fixture
def template():
    return services.create_template(
        "Opening a hub",
        steps=[("Board approval", "Executive director"), ("Bank account", "Finance director")],
    )


def test_a_new_hub_starts_from_a_template_and_its_checklist_saves_back_as_a_new_one(template, make_user):
    hub = services.create_hub(details(), template=template)
    steps = hub.checklist.items
    assert [(s.description, s.owner_role, s.status) for s in steps] == [
        ("Board approval", "Executive director", ChecklistItemStatus.TO_DO),
        ("Bank account", "Finance director", ChecklistItemStatus.TO_DO),
    ]
    assert hub.checklist.source_template_name == "Opening a hub"

    services.add_checklist_item(hub, "Register with the social security office", "HR lead")
    services.remove_checklist_item(steps[0])
    again = services.save_checklist_as_template(hub, "Opening a hub, as Antwerp did", user=make_user())
    assert [(s.position, s.description, s.default_owner_role) for s in again.items] == [
        (1, "Bank account", "Finance director"),
        (2, "Register with the social security office", "HR lead"),
    ]
    assert [s.description for s in template.items] == ["Board approval", "Bank account"]

    with pytest.raises(ValidationFailed):
        services.save_checklist_as_template(hub, "opening a HUB")


def test_a_hub_has_one_checklist(hub, template):
    services.start_checklist(hub, template)
    with pytest.raises(services.ChecklistAlreadyStarted):
        services.start_checklist(hub, template)


def test_done_dates_itself_and_reopening_clears_the_date(hub, template):
    item = services.start_checklist(hub, template).items[0]
    services.set_item_status(item, "in_progress", on=date(2027, 1, 2))
    assert item.completed_on is None
    services.set_item_status(item, "done", on=date(2027, 1, 5))
    services.set_item_status(item, "done", on=date(2027, 1, 9))
    assert item.completed_on == date(2027, 1, 5)
    services.set_item_status(item, "to_do")
    assert item.completed_on is None


def test_progress_counts_done_not_needed_and_overdue_steps_in_one_query(hub, template, make_hub):
    checklist = services.start_checklist(hub, template)
    services.add_checklist_item(hub, "Insurance", due_on=date(2027, 1, 1))
    services.add_checklist_item(hub, "Payroll", due_on=date(2027, 6, 1))
    first, second, insurance, _payroll = checklist.items
    services.set_item_status(first, "done")
    services.set_item_status(second, "not_needed")
    empty = make_hub(name="No checklist", invoice_prefix="NO")

    progress = services.checklist_progress([hub.id, empty.id], on=date(2027, 3, 1))
    assert progress.keys() == {hub.id}
    mine = progress[hub.id]
    assert (mine.total, mine.done, mine.not_needed, mine.overdue, mine.applicable) == (4, 1, 1, 1, 3)
    assert insurance.is_overdue(date(2027, 3, 1))


def test_template_steps_move_and_close_ranks(template):
    services.add_template_item(template, "Lease", "Operations manager")
    board, bank, lease = template.items
    services.move_template_item(lease, -1)
    assert [s.description for s in template.items] == ["Board approval", "Lease", "Bank account"]
    services.move_template_item(board, -1)  # already first: nothing moves
    services.remove_template_item(template.items[1])
    assert [(s.position, s.description) for s in template.items] == [
        (1, "Board approval"),
        (2, "Bank account"),
    ]


def test_checklist_steps_and_hub_bank_details_are_in_the_audit_log(hub, template):
    item = services.start_checklist(hub, template).items[0]
    services.set_item_status(item, "done", on=date(2027, 1, 5))
    services.update_hub(hub, _with(hub, iban="BE65096999999996"))

    def changes(record_type, record_id):
        return [
            entry.changes
            for entry in db.session.scalars(
                sa.select(AuditEntry).where(
                    AuditEntry.record_type == record_type,
                    AuditEntry.record_id == str(record_id),
                    AuditEntry.action == "update",
                )
            )
        ]

    assert {"status": ["to_do", "done"], "completed_on": [None, "2027-01-05"]} in changes(
        "HubChecklistItem", item.id
    )
    assert {"iban": ["BE71096123456769", "BE65096999999996"]} in changes("Hub", hub.id)


# --- Demo data ---------------------------------------------------------------------------------------------


def test_demo_hubs_pass_their_own_validation_and_seeding_twice_adds_nothing():
    first = seed_demo()
    assert first > 0
    assert seed_demo() == 0

    headquarters = db.session.scalar(sa.select(Hub).where(Hub.invoice_prefix == "HQ"))
    brussels = db.session.scalar(sa.select(Hub).where(Hub.invoice_prefix == "BE"))
    assert services.default_issuer() is headquarters
    assert (headquarters.base_currency, brussels.base_currency) == ("USD", "EUR")
    for hub in (headquarters, brussels):
        services.update_hub(hub, services.HubDetails.of(hub))  # raises if any identifier were invalid
        assert set(hub.tax_statement) == set(hub.legal_mentions) == {"en", "fr", "es"}

    progress = services.checklist_progress([brussels.id])[brussels.id]
    assert progress.total == len(BELGIAN_STEPS)
    assert progress.percent == 50  # half done
    assert [s.description for s in brussels.checklist.items] == [text for text, _ in BELGIAN_STEPS]
    assert brussels.checklist.source_template_name == BELGIAN_TEMPLATE_NAME
