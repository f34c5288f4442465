"""The contribution policy per fiscal year: list, add, edit, and copy last year's forward."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from ...auth.permissions import Permission, requires
from ...common.errors import ValidationFailed
from ...common.fiscal import current_fiscal_year
from ...common.forms import apply_field_errors
from ...extensions import db
from .. import bp
from ..forms.policy import CopyPolicyForm, PolicyEditForm, PolicyForm
from ..services import policy as service


def _details(form, fiscal_year: int | None = None) -> service.PolicyDetails:
    return service.PolicyDetails(
        fiscal_year=fiscal_year if fiscal_year is not None else form.fiscal_year.data,
        currency=form.currency.data or "",
        high=form.high.data,
        upper_middle=form.upper_middle.data,
        lower_middle=form.lower_middle.data,
        low=form.low.data,
        local=form.local.data,
        notes=form.notes.data or "",
    )


def _next_year_to_copy(policies) -> int:
    latest = max((policy.fiscal_year for policy in policies), default=current_fiscal_year() - 1)
    return latest + 1


@bp.route("/policy/")
@requires(Permission.CONTRIBUTIONS_VIEW)
def list_policies():
    return _render_policies()


def _render_policies(copy_form: CopyPolicyForm | None = None, status: int = 200):
    policies = service.policies()
    if copy_form is None:
        copy_form = CopyPolicyForm(formdata=None, fiscal_year=_next_year_to_copy(policies))
    return render_template(
        "contributions/policy/list.html",
        policies=policies,
        fields=service.AMOUNT_FIELDS,
        fiscal_year=current_fiscal_year(),
        copy_form=copy_form,
    ), status


@bp.route("/policy/new", methods=["GET", "POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def new_policy():
    form = PolicyForm()
    if request.method == "GET":
        existing = {policy.fiscal_year for policy in service.policies()}
        year = request.args.get("fiscal_year", type=int) or current_fiscal_year()
        while year in existing:
            year += 1
        form.fiscal_year.data = year
        form.currency.data = current_app.config.get("REPORTING_CURRENCY") or "USD"
    if form.validate_on_submit():
        try:
            policy = service.create_policy(_details(form))
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash(f"The FY{policy.fiscal_year} policy is set.", "success")
            return redirect(url_for("contributions.list_policies"))
    status = 422 if request.method == "POST" else 200
    return render_template("contributions/policy/form.html", form=form, policy=None, issued_count=0), status


@bp.route("/policy/<int:fiscal_year>", methods=["GET", "POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def edit_policy(fiscal_year: int):
    policy = service.get_policy(fiscal_year) or abort(404)
    form = PolicyEditForm(obj=policy if request.method == "GET" else None)
    if request.method == "GET":
        for field, column, _label in service.AMOUNT_FIELDS:
            getattr(form, field).data = getattr(policy, column)
    if form.validate_on_submit():
        try:
            service.update_policy(policy, _details(form, fiscal_year=policy.fiscal_year))
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash(f"The FY{policy.fiscal_year} policy is saved.", "success")
            return redirect(url_for("contributions.list_policies"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "contributions/policy/form.html",
        form=form,
        policy=policy,
        issued_count=service.issued_annual_invoice_count(policy.fiscal_year),
    ), status


@bp.route("/policy/copy", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def copy_policy():
    form = CopyPolicyForm()
    if form.validate_on_submit():
        try:
            policy = service.copy_policy_forward(form.fiscal_year.data)
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash(
                f"FY{policy.fiscal_year - 1}'s policy was copied to FY{policy.fiscal_year}: "
                "check the amounts.",
                "success",
            )
            return redirect(url_for("contributions.edit_policy", fiscal_year=policy.fiscal_year))
    return _render_policies(copy_form=form, status=422)
