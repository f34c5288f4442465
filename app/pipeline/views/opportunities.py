"""Opportunities: the pipeline board, the list with filters and totals, one ask's page, its form and moves."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...auth.permissions import Permission, requires
from ...common.errors import DomainError, ValidationFailed
from ...common.forms import apply_field_errors
from ...common.money import format_money
from ...common.time import today
from ...common.urls import bounded_int
from ...donors.services import country_name
from ...extensions import db
from .. import bp
from ..forms.opportunities import OpportunityFilterForm, OpportunityForm, StageForm
from ..models import Opportunity
from ..services import opportunities as service
from ..services import pipeline_lists
from ..services.arithmetic import SplitRow
from ..stages import CLOSED_STAGES, OPEN_STAGES, Stage


@bp.route("/")
@requires(Permission.PIPELINE_VIEW)
def index():
    board = pipeline_lists.board_columns()
    return render_template(
        "pipeline/board.html",
        board=board,
        cards_per_column=pipeline_lists.CARDS_PER_COLUMN,
        stages=list(Stage),
        stage_form=StageForm(formdata=None),
        today=today(),
    )


@bp.route("/opportunities")
@requires(Permission.PIPELINE_VIEW)
def list_opportunities():
    form = OpportunityFilterForm(request.args)
    pipeline_lists.fill_filter_choices(form)
    filters = pipeline_lists.Filters.from_form(form) if form.validate() else pipeline_lists.Filters()
    listing = pipeline_lists.opportunity_list(filters)
    return render_template(
        "pipeline/opportunities/list.html",
        form=form,
        listing=listing,
        fmt=lambda value: format_money(value, listing.reporting_currency),
    )


def _details(form: OpportunityForm) -> service.OpportunityDetails:
    def as_int(value):
        # Ids beyond the column's range read as none, so the service says "choose ..." instead of a 500.
        return bounded_int(None if value is None else str(value))

    split = [
        SplitRow(row.fiscal_year.data, row.amount.data)
        for row in form.split
        if row.fiscal_year.data is not None and row.amount.data is not None
    ]
    contacts = [
        (contact_id, (row.role.data or "").strip())
        for row in form.contacts
        if (contact_id := as_int(row.contact_id.data)) is not None
    ]
    return service.OpportunityDetails(
        organisation_id=as_int(form.organisation_id.data),
        title=form.title.data or "",
        owner_id=as_int(form.owner_id.data),
        amount=form.amount.data,
        currency=form.currency.data or "",
        split=split,
        primary_contact_id=as_int(form.primary_contact_id.data),
        is_restricted=bool(form.is_restricted.data),
        purpose=form.purpose.data or "",
        expected_decision_on=form.expected_decision_on.data,
        proposal_due_on=form.proposal_due_on.data,
        next_step=form.next_step.data or "",
        next_step_due_on=form.next_step_due_on.data,
        introduction_id=as_int(form.introduction_id.data),
        probability=form.probability.data,
        contacts=contacts,
    )


def _incomplete_split(form: OpportunityForm) -> bool:
    """A split row with a year and no amount, or an amount and no year, is refused rather than dropped."""
    incomplete = [row for row in form.split if (row.fiscal_year.data is None) != (row.amount.data is None)]
    if incomplete:
        form.split.errors = ["Each row of the split needs both a fiscal year and an amount."]
    return bool(incomplete)


def _render_form(form, opportunity=None, status=200):
    return render_template("pipeline/opportunities/form.html", form=form, opportunity=opportunity), status


@bp.route("/opportunities/new", methods=["GET", "POST"])
@requires(Permission.PIPELINE_EDIT)
def new_opportunity():
    source = request.form if request.method == "POST" else request.args
    organisation_id = bounded_int(source.get("organisation_id"))
    if request.method == "GET" and organisation_id is None:
        query = (request.args.get("q") or "")[:200]
        return render_template(
            "pipeline/opportunities/choose_organisation.html",
            query=query,
            organisations=pipeline_lists.organisation_choices_for_new(query, current_user.id),
            limit=pipeline_lists.CHOOSER_LIMIT,
            country_name=country_name,
        )
    form = OpportunityForm()
    pipeline_lists.fill_opportunity_choices(form, organisation_id)
    if request.method == "GET":
        form.owner_id.data = str(current_user.id)
        form.organisation_id.data = str(organisation_id)
    if form.validate_on_submit() and not _incomplete_split(form):
        try:
            opportunity = service.create_opportunity(_details(form), current_user)
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash(f"Opportunity “{opportunity.title}” added at the identified stage.", "success")
            return redirect(url_for("pipeline.show_opportunity", opportunity_id=opportunity.id))
    return _render_form(form, status=422 if request.method == "POST" else 200)


def _get(opportunity_id: int) -> Opportunity:
    return db.session.get(Opportunity, opportunity_id) or abort(404)


@bp.route("/opportunities/<int:opportunity_id>")
@requires(Permission.PIPELINE_VIEW)
def show_opportunity(opportunity_id: int):
    opportunity = _get(opportunity_id)
    form = StageForm(formdata=None, stage=opportunity.stage.next_stage.value)
    return _render_show(opportunity, form)


def _render_show(opportunity, stage_form, status=200):
    return render_template(
        "pipeline/opportunities/show.html",
        opportunity=opportunity,
        stage_form=stage_form,
        today=today(),
        open_stages=OPEN_STAGES,
        closed_stages=CLOSED_STAGES,
        weighted=service.weighted_value(opportunity),
    ), status


@bp.route("/opportunities/<int:opportunity_id>/edit", methods=["GET", "POST"])
@requires(Permission.PIPELINE_EDIT)
def edit_opportunity(opportunity_id: int):
    opportunity = _get(opportunity_id)
    form = OpportunityForm(obj=opportunity if request.method == "GET" else None)
    pipeline_lists.fill_opportunity_choices(
        form,
        opportunity.organisation_id,
        keep_contact_ids=[link.contact_id for link in opportunity.contacts]
        + [opportunity.primary_contact_id],
    )
    if request.method == "GET":
        for field in ("organisation_id", "owner_id", "primary_contact_id", "introduction_id"):
            value = getattr(opportunity, field)
            form[field].data = str(value) if value else ""
        for row, split in zip(form.split, opportunity.splits, strict=False):
            row.fiscal_year.data, row.amount.data = split.fiscal_year, split.amount
        for row, link in zip(form.contacts, opportunity.contacts, strict=False):
            row.contact_id.data, row.role.data = str(link.contact_id), link.role
    if form.validate_on_submit() and not _incomplete_split(form):
        try:
            service.update_opportunity(opportunity, _details(form), current_user)
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash("Opportunity saved.", "success")
            return redirect(url_for("pipeline.show_opportunity", opportunity_id=opportunity.id))
    return _render_form(form, opportunity, status=422 if request.method == "POST" else 200)


@bp.route("/opportunities/<int:opportunity_id>/stage", methods=["POST"])
@requires(Permission.PIPELINE_EDIT)
def move_opportunity(opportunity_id: int):
    opportunity = _get(opportunity_id)
    form = StageForm()
    back = request.form.get("back") == "board"
    if form.validate_on_submit():
        try:
            service.move_stage(
                opportunity,
                Stage(form.stage.data),
                current_user,
                reason=form.reason.data or "",
                probability=form.probability.data,
                agreed_on=form.agreed_on.data,
            )
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
            flash(str(failed), "error")
        except DomainError as refused:
            db.session.rollback()
            flash(str(refused), "error")
            return redirect(url_for("pipeline.show_opportunity", opportunity_id=opportunity.id))
        else:
            db.session.commit()
            if opportunity.stage == Stage.WON:
                flash(f"Won: the pledge for “{opportunity.title}” is made with its instalments.", "success")
                return redirect(url_for("pipeline.show_pledge", pledge_id=opportunity.pledge.id))
            flash(f"“{opportunity.title}” is now at {opportunity.stage.label.lower()}.", "success")
            return redirect(
                url_for("pipeline.index")
                if back
                else url_for("pipeline.show_opportunity", opportunity_id=opportunity.id)
            )
    db.session.rollback()
    opportunity = _get(opportunity_id)
    return _render_show(opportunity, form, status=422)
