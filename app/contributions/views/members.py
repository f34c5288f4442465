"""The contributions overview, the member list and member pages (contacts, income groups, adjustments)."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy.orm import joinedload

from ...auth.permissions import Permission, requires
from ...common.errors import DomainError, ValidationFailed
from ...common.exports import csv_response
from ...common.fiscal import current_fiscal_year, fiscal_year_of
from ...common.forms import apply_field_errors
from ...common.money import format_money
from ...common.pagination import paginate
from ...common.panels import panel_provider
from ...common.time import today
from ...common.urls import fiscal_year_arg
from ...extensions import db
from ...hubs.models import Hub
from .. import bp
from ..forms.members import AdjustmentForm, ContactForm, IncomeGroupForm, MemberFilterForm, MemberForm
from ..models import ContributionAdjustment, Member, MemberContact, MemberKind, PaymentAllocation
from ..services import members as service
from ..services.assessments import assess_member_years, billing_amount
from .funders import funder_context
from .invoices import ListedInvoice, invoice_list_rows
from .payments import listed_payments, payment_list_rows

#: How many fiscal years back the member page shows assessments for, besides the current one.
ASSESSMENT_YEARS_BACK = 4


def _endpoint_url(endpoint: str, **values) -> str | None:
    """A link to a page another part of the app provides, or None while that page does not exist."""
    return url_for(endpoint, **values) if endpoint in current_app.view_functions else None


# --- Overview ----------------------------------------------------------------------------------------------


@bp.route("/")
@requires(Permission.CONTRIBUTIONS_VIEW)
def index():
    fiscal_year = current_fiscal_year()
    return render_template(
        "contributions/index.html",
        overview=service.overview(fiscal_year, today()),
        invoices_url=_endpoint_url("contributions.list_invoices"),
        overdue_url=_endpoint_url("contributions.ageing_report")
        or _endpoint_url("contributions.arrears_report"),
        run_url=_endpoint_url("contributions.list_runs"),
    )


@panel_provider(Permission.CONTRIBUTIONS_VIEW)
def contributions_panel() -> dict:
    totals = service.invoice_totals(today())
    active = service.active_members_by_kind()
    overview_url = url_for("contributions.index")
    invoices_url = _endpoint_url("contributions.list_invoices") or overview_url
    rows = [
        (f"Outstanding ({currency})", format_money(amount, currency), invoices_url)
        for currency, amount in totals.outstanding.items()
    ]
    if not rows:
        rows.append(("Outstanding", "Nothing open", invoices_url))
    rows.append(
        (
            "Overdue invoices",
            f"{totals.overdue_count:,}",
            _endpoint_url("contributions.ageing_report") or invoices_url,
        )
    )
    rows.append(
        (
            "Active members",
            f"{active[MemberKind.NATIONAL]:,} national · {active[MemberKind.LOCAL]:,} local",
            url_for("contributions.list_members", status="active"),
        )
    )
    return {"title": "Country contributions", "rows": rows, "link": ("Contributions overview", overview_url)}


# --- Members -----------------------------------------------------------------------------------------------


def _member_or_404(member_id: int) -> Member:
    return db.session.get(Member, member_id) or abort(404)


@bp.route("/members/")
@requires(Permission.CONTRIBUTIONS_VIEW)
def list_members():
    fiscal_year = current_fiscal_year()
    hubs = list(db.session.scalars(sa.select(Hub).order_by(Hub.name)))
    form = MemberFilterForm(hubs, fiscal_year, request.args)
    filters = {}
    if form.validate():
        filters = {
            "text": form.q.data or None,
            "kind": form.kind.data or None,
            "status": form.status.data or None,
            "hub_id": int(form.hub.data) if form.hub.data else None,
            "income_group": form.income_group.data or None,
        }
        query = service.member_query(fiscal_year=fiscal_year, **filters)
    else:  # a filter that does not validate shows its error and no rows
        query = service.member_query(fiscal_year=fiscal_year).where(sa.false())
    if request.args.get("format") == "csv":
        return _csv_response(query, fiscal_year)
    page = paginate(
        query,
        rows=service.member_list_rows(fiscal_year),
        row_type=service.ListedMember,
        searched=bool(filters.get("text")),
    )
    return render_template(
        "contributions/members/list.html",
        form=form,
        page=page,
        fiscal_year=fiscal_year,
        balances=service.outstanding_by_member(member.id for member in page.items),
        filtered=any(filters.values()),
        country_name=service.country_name,
    )


def _csv_response(query, fiscal_year: int) -> Response:
    return csv_response(service.member_csv_rows(query, fiscal_year), f"members-{today().isoformat()}.csv")


def _member_details(form: MemberForm) -> service.MemberDetails:
    return service.MemberDetails(
        kind=form.kind.data,
        country_code=form.country_code.data,
        name=form.name.data or "",
        joined_on=form.joined_on.data,
        status=form.status.data,
        language=form.language.data,
        hub_id=int(form.hub_id.data) if form.hub_id.data else None,
        budget_year_start_month=int(form.budget_year_start_month.data),
        budget_lead_days=form.budget_lead_days.data,
        billing_address=form.billing_address.data or "",
        notes=form.notes.data or "",
    )


@bp.route("/members/new", methods=["GET", "POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def new_member():
    hubs = service.issuing_hubs()
    form = MemberForm(hubs)
    if request.method == "GET":
        default_hub = service.default_issuing_hub()
        if default_hub is not None:
            form.hub_id.data = str(default_hub.id)
        form.kind.data = MemberKind.NATIONAL.value
        form.budget_year_start_month.data = "1"
    if not hubs:
        form.hub_id.errors = ["No hub can issue invoices yet: add or open a hub first."]
    elif form.validate_on_submit():
        try:
            member = service.create_member(_member_details(form))
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash(f"{member.name} is now a member.", "success")
            return redirect(url_for("contributions.show_member", member_id=member.id))
    status = 422 if request.method == "POST" else 200
    return render_template("contributions/members/form.html", form=form, member=None), status


@bp.route("/members/<int:member_id>/edit", methods=["GET", "POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def edit_member(member_id: int):
    member = _member_or_404(member_id)
    hubs = service.issuing_hubs()
    if member.hub not in hubs:
        hubs.append(member.hub)  # a closed hub stays visible for the member it still issues for
    form = MemberForm(hubs, obj=member if request.method == "GET" else None)
    if request.method == "GET":
        form.kind.data = member.kind.value
        form.status.data = member.status.value
        form.language.data = member.language.value
        form.hub_id.data = str(member.hub_id)
        form.budget_year_start_month.data = str(member.budget_year_start_month)
    if form.validate_on_submit():
        try:
            service.update_member(member, _member_details(form))
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash("Saved.", "success")
            return redirect(url_for("contributions.show_member", member_id=member.id))
    status = 422 if request.method == "POST" else 200
    return render_template("contributions/members/form.html", form=form, member=member), status


@bp.route("/members/<int:member_id>")
@requires(Permission.CONTRIBUTIONS_VIEW)
def show_member(member_id: int):
    # The page shows every income group and contact: read with the member, in its query.
    member = db.session.get(
        Member, member_id, options=[joinedload(Member.income_groups), joinedload(Member.contacts)]
    )
    return _render_member(member or abort(404))


@functools.cache
def _latest_payments_statement() -> sa.Select:
    """The member page's payments as the payment list shows them (its allocations joined, one row each), for
    any member (bound `member_id` and `limit`), built once per process."""
    return (
        payment_list_rows(service.latest_payment_ids())
        .order_by(None)
        .order_by(*service.LATEST_PAYMENTS_ORDER, PaymentAllocation.id)
    )


def _render_member(member: Member, income_group_form: IncomeGroupForm | None = None, status: int = 200):
    fiscal_year = current_fiscal_year()
    if income_group_form is None:
        current = next((r.income_group for r in member.income_groups if r.fiscal_year == fiscal_year), None)
        income_group_form = IncomeGroupForm(
            formdata=None, fiscal_year=fiscal_year, income_group=current.value if current else ""
        )
    # One more than shown, to know whether there are more; with their allocations, in one query.
    latest = {"member_id": member.id, "limit": service.MEMBER_PAGE_PAYMENTS + 1}
    payments = listed_payments(db.session.execute(_latest_payments_statement(), latest))
    more_payments = len(payments) > service.MEMBER_PAGE_PAYMENTS
    payments = payments[: service.MEMBER_PAGE_PAYMENTS]
    invoices = paginate(service.member_invoices_query(member), rows=invoice_list_rows, row_type=ListedInvoice)
    adjustments = service.adjustments_for(member)
    # The last years since the member joined and the current one, plus any later year adjusted in advance.
    first_year = fiscal_year - ASSESSMENT_YEARS_BACK
    if member.joined_on is not None:
        first_year = min(max(first_year, fiscal_year_of(member.joined_on)), fiscal_year)
    years = set(range(first_year, fiscal_year + 1))
    years |= {adjustment.fiscal_year for adjustment in adjustments if adjustment.fiscal_year > fiscal_year}
    assessments = assess_member_years(member, sorted(years, reverse=True), adjustments)
    # What the member's hub bills for each year, in its own currency at the year's budget rate.
    billings = [billing_amount(assessment, member.hub) for assessment in assessments]
    return render_template(
        "contributions/members/show.html",
        member=member,
        fiscal_year=fiscal_year,
        country_name=service.country_name(member.country_code),
        deadline=service.budget_deadline(member, today()),
        budget_month=service.month_name(member.budget_year_start_month),
        assessments=assessments,
        assessment_rows=list(zip(assessments, billings, strict=True)),
        adjustments=adjustments,
        today=today(),
        reporting_currency=current_app.config.get("REPORTING_CURRENCY") or "USD",
        invoices=invoices,
        outstanding=service.outstanding_by_member([member.id]).get(member.id, {}),
        payments=payments,
        more_payments=more_payments,
        payments_url=_endpoint_url("contributions.list_payments", q=member.name),
        credit=service.member_credit_on_account(member),
        income_group_form=income_group_form,
        invoice_links="contributions.show_invoice" in current_app.view_functions,
        statement_url=_endpoint_url("contributions.member_statement", member_id=member.id),
        funder=funder_context(member),
    ), status


# --- Income groups -----------------------------------------------------------------------------------------


@bp.route("/members/<int:member_id>/income-groups", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def set_member_income_group(member_id: int):
    member = _member_or_404(member_id)
    form = IncomeGroupForm()
    if form.validate_on_submit():
        try:
            record = service.set_income_group(member, form.fiscal_year.data, form.income_group.data)
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash(f"{member.name}: {record.income_group.label} for FY{record.fiscal_year}.", "success")
            return redirect(url_for("contributions.show_member", member_id=member.id) + "#income-groups")
    return _render_member(member, income_group_form=form, status=422)


# --- Contacts ----------------------------------------------------------------------------------------------


def _contact_or_404(member: Member, contact_id: int) -> MemberContact:
    contact = db.session.get(MemberContact, contact_id)
    if contact is None or contact.member_id != member.id:
        abort(404)
    return contact


def _contact_details(form: ContactForm) -> service.ContactDetails:
    return service.ContactDetails(
        name=form.name.data or "",
        title=form.title.data or "",
        office=form.office.data or "",
        email=form.email.data or "",
        phone=form.phone.data or "",
        is_primary=bool(form.is_primary.data),
    )


@bp.route("/members/<int:member_id>/contacts/new", methods=["GET", "POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def new_member_contact(member_id: int):
    member = _member_or_404(member_id)
    form = ContactForm()
    if request.method == "GET" and not member.contacts:
        form.is_primary.data = True
    if form.validate_on_submit():
        try:
            contact = service.add_contact(member, _contact_details(form))
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash(f"{contact.name} added to {member.name}'s billing contacts.", "success")
            return redirect(url_for("contributions.show_member", member_id=member.id) + "#contacts")
    status = 422 if request.method == "POST" else 200
    return render_template(
        "contributions/members/contact_form.html", form=form, member=member, contact=None
    ), status


@bp.route("/members/<int:member_id>/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def edit_member_contact(member_id: int, contact_id: int):
    member = _member_or_404(member_id)
    contact = _contact_or_404(member, contact_id)
    form = ContactForm(obj=contact if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            service.update_contact(contact, _contact_details(form))
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash("Contact saved.", "success")
            return redirect(url_for("contributions.show_member", member_id=member.id) + "#contacts")
    status = 422 if request.method == "POST" else 200
    return render_template(
        "contributions/members/contact_form.html", form=form, member=member, contact=contact
    ), status


@bp.route("/members/<int:member_id>/contacts/<int:contact_id>/primary", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def make_member_contact_primary(member_id: int, contact_id: int):
    member = _member_or_404(member_id)
    contact = _contact_or_404(member, contact_id)
    service.make_primary_contact(contact)
    db.session.commit()
    flash(f"{contact.name} is now the primary billing contact.", "success")
    return redirect(url_for("contributions.show_member", member_id=member.id) + "#contacts")


@bp.route("/members/<int:member_id>/contacts/<int:contact_id>/remove", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def remove_member_contact(member_id: int, contact_id: int):
    member = _member_or_404(member_id)
    contact = _contact_or_404(member, contact_id)
    name = contact.name
    service.remove_contact(contact)
    db.session.commit()
    flash(f"{name} removed from the billing contacts.", "success")
    return redirect(url_for("contributions.show_member", member_id=member.id) + "#contacts")


# --- Adjustments -------------------------------------------------------------------------------------------


def _adjustment_or_404(member: Member, adjustment_id: int) -> ContributionAdjustment:
    adjustment = db.session.get(ContributionAdjustment, adjustment_id)
    if adjustment is None or adjustment.member_id != member.id:
        abort(404)
    return adjustment


def _adjustment_details(form: AdjustmentForm) -> service.AdjustmentDetails:
    return service.AdjustmentDetails(
        fiscal_year=form.fiscal_year.data,
        kind=form.kind.data,
        amount=form.amount.data,
        reason=form.reason.data or "",
        approval_reference=form.approval_reference.data or "",
    )


@bp.route("/members/<int:member_id>/adjustments/new", methods=["GET", "POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def new_adjustment(member_id: int):
    member = _member_or_404(member_id)
    form = AdjustmentForm()
    if request.method == "GET":
        form.fiscal_year.data = fiscal_year_arg() or current_fiscal_year()
    if form.validate_on_submit():
        try:
            adjustment = service.add_adjustment(member, _adjustment_details(form))
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash(f"Adjustment for FY{adjustment.fiscal_year} recorded.", "success")
            return redirect(url_for("contributions.show_member", member_id=member.id) + "#assessments")
    status = 422 if request.method == "POST" else 200
    return render_template(
        "contributions/members/adjustment_form.html", form=form, member=member, adjustment=None
    ), status


@bp.route("/members/<int:member_id>/adjustments/<int:adjustment_id>/edit", methods=["GET", "POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def edit_adjustment(member_id: int, adjustment_id: int):
    member = _member_or_404(member_id)
    adjustment = _adjustment_or_404(member, adjustment_id)
    form = AdjustmentForm(obj=adjustment if request.method == "GET" else None)
    if request.method == "GET":
        form.kind.data = adjustment.kind.value
    if form.validate_on_submit():
        try:
            service.update_adjustment(adjustment, _adjustment_details(form))
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash(f"Adjustment for FY{adjustment.fiscal_year} saved.", "success")
            return redirect(url_for("contributions.show_member", member_id=member.id) + "#assessments")
    status = 422 if request.method == "POST" else 200
    return render_template(
        "contributions/members/adjustment_form.html", form=form, member=member, adjustment=adjustment
    ), status


@bp.route("/members/<int:member_id>/adjustments/<int:adjustment_id>/remove", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def remove_adjustment(member_id: int, adjustment_id: int):
    member = _member_or_404(member_id)
    adjustment = _adjustment_or_404(member, adjustment_id)
    year = adjustment.fiscal_year
    try:
        service.remove_adjustment(adjustment)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(f"Adjustment for FY{year} removed: the policy amount applies again.", "success")
    return redirect(url_for("contributions.show_member", member_id=member.id) + "#assessments")
