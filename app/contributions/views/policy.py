"""The contribution policy per fiscal year: list, add, edit, and copy last year's forward."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from ...auth.permissions import Permission, requires
from ...common.errors import ValidationFailed
from ...common.fiscal import current_fiscal_year
from ...common.forms import apply_field_errors
from ...common.money import format_rate
from ...common.urls import fiscal_year_arg
from ...extensions import db
from .. import bp
from ..forms.policy import CopyPolicyForm, PolicyEditForm, PolicyForm, with_rate_fields
from ..services import policy as service


def _rate_currencies(policy_currency: str) -> list[str]:
    """The currencies the form asks a rate for: those of the hubs that are not closed, other than the policy's
    (taken from the form when it was posted, so that a change of currency asks for the right rates)."""
    if request.method == "POST":
        policy_currency = request.form.get("currency") or policy_currency
    policy_currency = (policy_currency or "").strip().upper()
    return [currency for currency in service.invoicing_currencies() if currency != policy_currency]


def _policy_form(form_class, policy_currency: str, **kwargs):
    form = with_rate_fields(form_class, _rate_currencies(policy_currency))(**kwargs)
    shown_currency = (form.currency.data or policy_currency or "").strip().upper()
    for currency, rate_field in form.rate_fields():
        rate_field.label.text = f"{currency} for 1 {shown_currency}"
    return form


def _show_rate(rate: Decimal) -> Decimal:
    """A stored rate as the form shows it: 0.92000000 becomes 0.9200, 1.08345000 becomes 1.08345."""
    plain = rate.normalize()
    return plain if plain.as_tuple().exponent < -4 else rate.quantize(Decimal("0.0001"))


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
        rates={currency: rate_field.data for currency, rate_field in form.rate_fields()},
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
        hubs_by_currency=service.hubs_by_currency(),
        format_rate=format_rate,
    ), status


@bp.route("/policy/new", methods=["GET", "POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def new_policy():
    reporting_currency = current_app.config.get("REPORTING_CURRENCY") or "USD"
    form = _policy_form(PolicyForm, reporting_currency)
    if request.method == "GET":
        existing = {policy.fiscal_year for policy in service.policies()}
        year = fiscal_year_arg() or current_fiscal_year()
        while year in existing:
            year += 1
        form.fiscal_year.data = year
        form.currency.data = reporting_currency
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
    return render_template(
        "contributions/policy/form.html",
        form=form,
        policy=None,
        issued_count=0,
        hubs_by_currency=service.hubs_by_currency(),
    ), status


@bp.route("/policy/<int:fiscal_year>", methods=["GET", "POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def edit_policy(fiscal_year: int):
    policy = service.get_policy(fiscal_year) or abort(404)
    form = _policy_form(PolicyEditForm, policy.currency, obj=policy if request.method == "GET" else None)
    if request.method == "GET":
        for field, column, _label in service.AMOUNT_FIELDS:
            getattr(form, field).data = getattr(policy, column)
        for currency, rate_field in form.rate_fields():
            rate = policy.rate_to(currency)
            rate_field.data = _show_rate(rate) if rate is not None else None
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
        hubs_by_currency=service.hubs_by_currency(),
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
                "check the amounts and the budget rates.",
                "success",
            )
            return redirect(url_for("contributions.edit_policy", fiscal_year=policy.fiscal_year))
    return _render_policies(copy_form=form, status=422)
