"""Members: creating national and local members, contacts, income-group history, adjustments, the list."""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from app.common.audit import AuditEntry
from app.common.errors import ValidationFailed
from app.common.fiscal import current_fiscal_year
from app.common.time import today
from app.contributions.models import (
    AdjustmentKind,
    ContributionAdjustment,
    IncomeGroup,
    InvoiceStatus,
    Member,
    MemberContact,
    MemberIncomeGroup,
    MemberKind,
    MemberStatus,
    Payment,
    PaymentMethod,
)
from app.contributions.services import members as service
from app.extensions import db
from app.hubs.models import HubStatus

FY = current_fiscal_year()


def member_form(hub, **overrides) -> dict:
    data = {
        "kind": "national",
        "country_code": "BO",
        "name": "",
        "joined_on": "2019-05-01",
        "status": "active",
        "language": "es",
        "hub_id": str(hub.id),
        "budget_year_start_month": "1",
        "budget_lead_days": "90",
        "billing_address": "Ministerio de Economía\nLa Paz",
        "notes": "",
    }
    data.update(overrides)
    return data


def find_member(**where) -> Member | None:
    return db.session.scalar(sa.select(Member).filter_by(**where))


# --- Creating members ---------------------------------------------------------------------------------------


def test_a_national_members_name_defaults_to_the_countrys_common_name(login_as, hub):
    response = login_as("operations").post("/contributions/members/new", data=member_form(hub))

    member = find_member(country_code="BO")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/contributions/members/{member.id}")
    assert (member.name, member.kind, member.language.value, member.hub_id) == (
        "Bolivia",
        MemberKind.NATIONAL,
        "es",
        hub.id,
    )


def test_a_local_member_has_its_own_name_and_a_country(login_as, hub):
    client = login_as("operations")
    response = client.post(
        "/contributions/members/new",
        data=member_form(hub, kind="local", country_code="CO", name="Bogotá D.C.", language="es"),
        follow_redirects=True,
    )
    assert "Bogotá D.C." in response.text and "Colombia" in response.text
    assert find_member(name="Bogotá D.C.").kind == MemberKind.LOCAL


def test_a_second_national_member_for_a_country_is_refused_beside_the_country(login_as, hub, make_member):
    make_member(country_code="KE", name="Kenya")
    response = login_as("operations").post(
        "/contributions/members/new", data=member_form(hub, country_code="KE")
    )
    assert response.status_code == 422
    assert 'id="country_code-error">Kenya is already a national member.' in response.text
    assert db.session.scalar(sa.select(sa.func.count(Member.id)).where(Member.country_code == "KE")) == 1


def test_a_local_member_needs_a_name_and_a_real_country(login_as, hub):
    response = login_as("operations").post(
        "/contributions/members/new", data=member_form(hub, kind="local", country_code="XX", name="")
    )
    assert response.status_code == 422
    assert 'id="country_code-error"' in response.text
    assert find_member(kind=MemberKind.LOCAL) is None

    response = login_as("operations").post(
        "/contributions/members/new", data=member_form(hub, kind="local", country_code="FR", name="")
    )
    assert 'id="name-error">Give the city or region&#39;s name.' in response.text


def test_the_hub_select_leaves_out_closed_hubs_and_starts_on_the_default_issuer(login_as, make_hub):
    make_hub(name="Old office", status=HubStatus.CLOSED, invoice_prefix="OLD")
    default = make_hub(name="Washington HQ", is_default_issuer=True, invoice_prefix="HQ")
    make_hub(name="Brussels", invoice_prefix="BE")

    page = login_as("operations").get("/contributions/members/new").text

    assert "Old office" not in page and "Brussels" in page
    assert f'<option selected value="{default.id}">' in page


def test_a_closed_hub_is_refused(login_as, make_hub, hub):
    closed = make_hub(status=HubStatus.CLOSED)
    with pytest.raises(ValidationFailed) as failed:
        service.create_member(service.MemberDetails(kind="national", country_code="PE", hub_id=closed.id))
    assert "hub_id" in failed.value.field_errors


def test_editing_a_member_keeps_the_checks(login_as, hub, make_member):
    make_member(country_code="GH", name="Ghana")
    member = make_member(country_code="SN", name="Senegal")
    client = login_as("operations")

    response = client.post(
        f"/contributions/members/{member.id}/edit", data=member_form(hub, country_code="GH")
    )
    assert response.status_code == 422 and "Ghana is already a national member." in response.text

    response = client.post(
        f"/contributions/members/{member.id}/edit",
        data=member_form(
            hub, country_code="SN", name="République du Sénégal", language="fr", status="suspended"
        ),
    )
    assert response.status_code == 302
    assert (member.name, member.status) == ("République du Sénégal", MemberStatus.SUSPENDED)


def test_the_budget_deadline_is_the_next_budget_year_start_less_the_lead_days(make_member):
    member = make_member(budget_year_start_month=7, budget_lead_days=90)

    deadline = service.budget_deadline(member, today=date(2026, 3, 1))
    assert (deadline.budget_year_starts_on, deadline.arrive_by, deadline.passed) == (
        date(2026, 7, 1),
        date(2026, 4, 2),
        False,
    )
    late = service.budget_deadline(member, today=date(2026, 5, 10))
    assert late.arrive_by == date(2026, 4, 2) and late.passed
    assert service.budget_deadline(member, today=date(2026, 8, 1)).budget_year_starts_on == date(2027, 7, 1)


def test_the_member_page_shows_the_deadline_and_details(login_as, make_member):
    member = make_member(name="Peru", country_code="PE", budget_year_start_month=1, budget_lead_days=120)
    page = login_as("board").get(f"/contributions/members/{member.id}").text
    deadline = service.budget_deadline(member, today())
    assert "Invoice must arrive by" in page
    assert f"{deadline.arrive_by:%b} {deadline.arrive_by.day}, {deadline.arrive_by.year}" in page
    assert "Ministry of Finance" in page


# --- Contacts -----------------------------------------------------------------------------------------------


def contact_form(**overrides) -> dict:
    data = {
        "name": "Ana Pérez",
        "title": "Director",
        "office": "Ministry of Finance",
        "email": "ana@mof.example",
    }
    data.update(overrides)
    return data


def test_a_bad_email_is_refused_beside_the_field(login_as, make_member):
    member = make_member(with_contact=False)
    response = login_as("operations").post(
        f"/contributions/members/{member.id}/contacts/new", data=contact_form(email="not-an-address")
    )
    assert response.status_code == 422
    assert 'id="email-error">Not a valid e-mail address.' in response.text
    assert member.contacts == []


def test_the_first_contact_is_primary_and_marking_another_unmarks_it(login_as, make_member):
    member = make_member(with_contact=False)
    client = login_as("operations")
    client.post(f"/contributions/members/{member.id}/contacts/new", data=contact_form(name="First"))
    client.post(
        f"/contributions/members/{member.id}/contacts/new", data=contact_form(name="Second", is_primary="y")
    )
    assert {contact.name: contact.is_primary for contact in member.contacts} == {
        "First": False,
        "Second": True,
    }

    first = next(contact for contact in member.contacts if contact.name == "First")
    client.post(f"/contributions/members/{member.id}/contacts/{first.id}/primary")
    assert {contact.name: contact.is_primary for contact in member.contacts} == {
        "First": True,
        "Second": False,
    }


def test_removing_the_primary_contact_makes_the_next_one_primary(login_as, make_member):
    member = make_member()
    service.add_contact(member, service.ContactDetails(name="Deputy"))
    primary = service.primary_contact(member)
    login_as("operations").post(f"/contributions/members/{member.id}/contacts/{primary.id}/remove")
    assert [(contact.name, contact.is_primary) for contact in member.contacts] == [("Deputy", True)]


def test_the_primary_contact_cannot_be_unmarked_directly(login_as, make_member):
    member = make_member()
    primary = service.primary_contact(member)
    response = login_as("operations").post(
        f"/contributions/members/{member.id}/contacts/{primary.id}/edit", data=contact_form(name="Renamed")
    )
    assert response.status_code == 422 and "mark another contact as primary instead" in response.text
    assert primary.is_primary and primary.name != "Renamed"


def test_a_contact_is_edited_and_shown_on_the_member_page(login_as, make_member):
    member = make_member()
    primary = service.primary_contact(member)
    client = login_as("operations")
    client.post(
        f"/contributions/members/{member.id}/contacts/{primary.id}/edit",
        data=contact_form(name="María Gómez", phone="+51 1 311 5930", is_primary="y"),
    )
    page = client.get(f"/contributions/members/{member.id}").text
    assert "María Gómez" in page and "+51 1 311 5930" in page and "Primary" in page


# --- Income groups ------------------------------------------------------------------------------------------


def test_the_income_group_is_kept_per_year_and_a_change_is_audited(login_as, make_member):
    member = make_member(income_group="lower_middle", fiscal_year=2025)
    client = login_as("operations")
    client.post(
        f"/contributions/members/{member.id}/income-groups",
        data={"ig-fiscal_year": "2026", "ig-income_group": "upper_middle"},
    )
    client.post(
        f"/contributions/members/{member.id}/income-groups",
        data={"ig-fiscal_year": "2026", "ig-income_group": "high"},
    )

    assert [(record.fiscal_year, record.income_group) for record in member.income_groups] == [
        (2026, IncomeGroup.HIGH),
        (2025, IncomeGroup.LOWER_MIDDLE),
    ]
    changes = db.session.scalars(
        sa.select(AuditEntry.changes).where(
            AuditEntry.record_type == "MemberIncomeGroup", AuditEntry.action == "update"
        )
    ).all()
    assert {"income_group": ["upper_middle", "high"]} in changes
    page = client.get(f"/contributions/members/{member.id}").text
    assert "FY2026</td><td>High income" in page and "FY2025</td><td>Lower-middle income" in page


def test_the_income_group_form_shows_errors_beside_its_fields(login_as, make_member):
    member = make_member()
    response = login_as("operations").post(
        f"/contributions/members/{member.id}/income-groups",
        data={"ig-fiscal_year": "", "ig-income_group": "rich"},
    )
    assert response.status_code == 422
    assert 'id="ig-fiscal_year-error"' in response.text and 'id="ig-income_group-error"' in response.text


def test_a_local_member_has_no_income_group(make_member):
    with pytest.raises(ValidationFailed):
        service.set_income_group(make_member(kind="local"), 2026, "high")


def test_the_amount_billed_for_a_year_follows_that_years_group(login_as, make_member, make_policy):
    make_policy(2025, currency="USD", high="50000.00", lower_middle="10000.00")
    make_policy(2026, currency="USD", high="52000.00", lower_middle="10400.00")
    member = make_member(income_group="lower_middle", fiscal_year=2025)
    service.set_income_group(member, 2026, "high")

    page = login_as("board").get(f"/contributions/members/{member.id}").text
    assert "$10,000.00" in page and "$52,000.00" in page


# --- Adjustments --------------------------------------------------------------------------------------------


def adjustment_form(**overrides) -> dict:
    data = {
        "fiscal_year": str(FY),
        "kind": "amount",
        "amount": "4000.00",
        "reason": "Currency crisis",
        "approval_reference": "Steering Committee decision SC-2026-04",
    }
    data.update(overrides)
    return data


def test_an_adjustment_is_shown_with_its_reason_and_approval(login_as, make_member, make_policy):
    make_policy(FY, currency="USD", lower_middle="10000.00")
    member = make_member(income_group="lower_middle", fiscal_year=FY)
    client = login_as("operations")
    response = client.post(f"/contributions/members/{member.id}/adjustments/new", data=adjustment_form())
    assert response.status_code == 302

    page = client.get(f"/contributions/members/{member.id}").text
    assert "$10,000.00" in page  # the policy amount
    assert "$4,000.00 instead" in page and "Currency crisis" in page
    assert "Steering Committee decision SC-2026-04" in page


def test_an_adjustment_needs_a_reason_and_an_approval_reference(login_as, make_member):
    member = make_member()
    response = login_as("operations").post(
        f"/contributions/members/{member.id}/adjustments/new",
        data=adjustment_form(reason="", approval_reference=""),
    )
    assert response.status_code == 422
    assert 'id="reason-error"' in response.text and 'id="approval_reference-error"' in response.text
    assert db.session.scalar(sa.select(sa.func.count(ContributionAdjustment.id))) == 0


def test_an_amount_adjustment_needs_a_non_negative_amount(login_as, make_member):
    member = make_member()
    client = login_as("operations")
    response = client.post(
        f"/contributions/members/{member.id}/adjustments/new", data=adjustment_form(amount="")
    )
    assert 'id="amount-error">Give the amount to bill instead' in response.text
    response = client.post(
        f"/contributions/members/{member.id}/adjustments/new", data=adjustment_form(amount="-5")
    )
    assert 'id="amount-error">An amount cannot be negative.' in response.text


def test_a_waiver_is_edited_and_removed(login_as, make_member, make_policy):
    make_policy(FY, currency="USD")
    member = make_member(fiscal_year=FY)
    client = login_as("operations")
    client.post(
        f"/contributions/members/{member.id}/adjustments/new",
        data=adjustment_form(kind="waiver", amount="100"),
    )
    adjustment = db.session.scalar(sa.select(ContributionAdjustment))
    assert (adjustment.kind, adjustment.amount) == (AdjustmentKind.WAIVER, None)
    assert "Waived" in client.get(f"/contributions/members/{member.id}").text

    response = client.post(f"/contributions/members/{member.id}/adjustments/new", data=adjustment_form())
    assert "already has an adjustment for FY" in response.text

    client.post(
        f"/contributions/members/{member.id}/adjustments/{adjustment.id}/edit",
        data=adjustment_form(amount="2500.00", reason="Partial relief"),
    )
    assert (adjustment.kind, adjustment.amount, adjustment.reason) == (
        AdjustmentKind.AMOUNT,
        Decimal("2500.00"),
        "Partial relief",
    )
    client.post(f"/contributions/members/{member.id}/adjustments/{adjustment.id}/remove")
    assert db.session.scalar(sa.select(ContributionAdjustment)) is None


# --- Invoices and payments on the member page ---------------------------------------------------------------


def test_the_member_page_lists_invoices_payments_and_credit(
    login_as, make_member, make_issued_invoice, make_draft_invoice
):
    member = make_member(name="Ghana", country_code="GH")
    issued = make_issued_invoice(member=member, amount="10000.00", currency="EUR")
    issued.amount_paid = Decimal("4000.00")
    issued.status = InvoiceStatus.PARTIALLY_PAID
    make_draft_invoice(member=member, amount="500.00")
    db.session.add(
        Payment(
            member=member,
            amount=Decimal("4500.00"),
            currency="EUR",
            received_on=date(2027, 2, 1),
            method=PaymentMethod.WIRE,
            reference="TRF-778",
        )
    )
    db.session.flush()

    page = login_as("board").get(f"/contributions/members/{member.id}").text
    assert issued.number in page and "Draft" in page and "Partially paid" in page
    assert "€6,000.00" in page  # balance due, and the outstanding total
    assert "TRF-778" in page and "€4,500.00" in page  # nothing allocated: all credit on account


# --- The member list ----------------------------------------------------------------------------------------


def test_the_list_searches_and_filters(login_as, make_member, make_hub):
    other_hub = make_hub(name="Washington HQ", invoice_prefix="HQ", base_currency="USD")
    make_member(name="Kenya", country_code="KE", income_group="lower_middle", fiscal_year=FY)
    make_member(name="Chile", country_code="CL", income_group="high", fiscal_year=FY, hub=other_hub)
    make_member(name="Nigeria", country_code="NG", income_group=None, status=MemberStatus.SUSPENDED)
    make_member(kind="local", name="Nairobi County", country_code="KE")
    client = login_as("board")

    def names(query: str) -> set[str]:
        page = client.get(f"/contributions/members/?{query}").text
        return {name for name in ("Kenya", "Chile", "Nigeria", "Nairobi County") if f">{name}</a>" in page}

    assert names("") == {"Kenya", "Chile", "Nigeria", "Nairobi County"}
    assert names("q=nai") == {"Nairobi County"}
    assert names("q=ke") == {"Kenya", "Nairobi County"}  # the name, or the country code
    assert names("kind=local") == {"Nairobi County"}
    assert names("status=suspended") == {"Nigeria"}
    assert names(f"hub={other_hub.id}") == {"Chile"}
    assert names("income_group=high") == {"Chile"}
    assert names("income_group=missing") == {"Nigeria"}
    assert "No member matches these filters" in client.get("/contributions/members/?q=zzz").text
    assert "Not a valid choice" in client.get("/contributions/members/?kind=planet").text


def test_the_list_shows_the_outstanding_balance_per_currency(
    login_as, make_member, make_issued_invoice, make_hub
):
    member = make_member(name="Mexico", country_code="MX")
    make_issued_invoice(member=member, amount="1000.00", currency="EUR")
    make_issued_invoice(member=member, amount="250.00", currency="USD", kind="other")
    paid = make_issued_invoice(member=member, amount="999.00", currency="EUR", kind="other")
    paid.status = InvoiceStatus.PAID
    paid.amount_paid = paid.total
    db.session.flush()

    page = login_as("board").get("/contributions/members/").text
    assert "€1,000.00" in page and "$250.00" in page and "€1,999.00" not in page


def test_the_csv_export_streams_every_filtered_row(login_as, make_member, make_issued_invoice):
    kenya = make_member(name="Kenya", country_code="KE", income_group="lower_middle", fiscal_year=FY)
    make_issued_invoice(member=kenya, amount="10000.00", currency="EUR")
    make_member(kind="local", name="Nairobi County", country_code="KE")
    make_member(name="Chile", country_code="CL")

    response = login_as("board").get("/contributions/members/?q=ke&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["name"] for row in rows] == ["Kenya", "Nairobi County"]
    assert rows[0]["income_group"] == "lower_middle" and rows[0]["outstanding"] == "10000.00 EUR"
    assert rows[0]["primary_contact_email"].endswith("@gov.example")


@contextmanager
def counting_queries():
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _make_members_with_invoices(make_member, make_issued_invoice, how_many: int) -> None:
    for number in range(how_many):
        member = make_member(fiscal_year=FY)
        if number % 2:
            make_issued_invoice(member=member, amount="100.00", kind="other")


@pytest.mark.parametrize("path", ["/contributions/members/", "/contributions/members/?format=csv"])
def test_the_member_list_issues_a_constant_number_of_queries(
    login_as, make_member, make_issued_invoice, path
):
    client = login_as("board")
    _make_members_with_invoices(make_member, make_issued_invoice, 5)
    with counting_queries() as few:
        assert client.get(path).status_code == 200
    _make_members_with_invoices(make_member, make_issued_invoice, 35)
    with counting_queries() as many:
        response = client.get(path)
        assert response.status_code == 200
        response.get_data()
    assert db.session.scalar(sa.select(sa.func.count(Member.id))) == 40
    assert len(many) == len(few)


# --- Permissions --------------------------------------------------------------------------------------------


def test_board_reads_member_pages_and_gets_403_on_every_change(login_as, make_member):
    member = make_member()
    contact = member.contacts[0]
    adjustment = ContributionAdjustment(
        member=member, fiscal_year=FY, kind=AdjustmentKind.WAIVER, reason="r", approval_reference="SC-1"
    )
    db.session.add(adjustment)
    db.session.flush()
    board = login_as("board")

    for path in ("/contributions/", "/contributions/members/", f"/contributions/members/{member.id}"):
        assert board.get(path).status_code == 200
    base = f"/contributions/members/{member.id}"
    for path in (
        "/contributions/members/new",
        f"{base}/edit",
        f"{base}/income-groups",
        f"{base}/contacts/new",
        f"{base}/contacts/{contact.id}/edit",
        f"{base}/contacts/{contact.id}/primary",
        f"{base}/contacts/{contact.id}/remove",
        f"{base}/adjustments/new",
        f"{base}/adjustments/{adjustment.id}/edit",
        f"{base}/adjustments/{adjustment.id}/remove",
    ):
        assert board.post(path, data={"name": "x"}).status_code == 403, path
    assert db.session.scalar(sa.select(sa.func.count(MemberContact.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(MemberIncomeGroup.id))) == 1
    assert "Edit" not in board.get(base).text.split("<main")[1].split("Billing contacts")[0]


def test_a_member_of_another_member_is_not_found(login_as, make_member):
    member, other = make_member(), make_member()
    contact = other.contacts[0]
    client = login_as("operations")
    assert client.post(f"/contributions/members/{member.id}/contacts/{contact.id}/remove").status_code == 404
    assert client.get("/contributions/members/999999").status_code == 404


# --- Demo data ----------------------------------------------------------------------------------------------


def test_demo_members_are_seeded_once_with_problems_for_the_annual_run(make_hub):
    from app.contributions.demo.members import seed_members
    from app.contributions.models import ContributionPolicy

    make_hub(
        name="Washington DC headquarters", invoice_prefix="HQ", base_currency="USD", is_default_issuer=True
    )
    brussels = make_hub(name="Brussels hub", invoice_prefix="BE", base_currency="EUR")

    assert seed_members() > 100
    assert seed_members() == 0

    members = db.session.scalars(sa.select(Member)).all()
    assert sum(m.kind == MemberKind.NATIONAL for m in members) == 80
    assert sum(m.kind == MemberKind.LOCAL for m in members) == 20
    assert all(sum(contact.is_primary for contact in m.contacts) == 1 for m in members)
    assert all(contact.email.endswith(".example") for m in members for contact in m.contacts)
    senegal = next(m for m in members if m.country_code == "SN" and m.kind == MemberKind.NATIONAL)
    assert (senegal.language.value, senegal.hub_id) == ("fr", brussels.id)
    missing = {m.name for m in service.members_to_fix(FY) if m.missing_income_group}
    assert len(missing) == 3
    years = db.session.scalars(
        sa.select(ContributionPolicy.fiscal_year).order_by(ContributionPolicy.fiscal_year)
    )
    assert list(years) == [FY - 3, FY - 2, FY - 1, FY]
    kinds = set(db.session.scalars(sa.select(ContributionAdjustment.kind)))
    assert kinds == {AdjustmentKind.AMOUNT, AdjustmentKind.WAIVER}


def test_demo_members_wait_for_the_hubs(capsys):
    from app.contributions.demo.members import seed_members

    assert seed_members() == 0
    assert "hubs with invoice prefixes BE and HQ do not exist yet" in capsys.readouterr().err
