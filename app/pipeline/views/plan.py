"""The fundraising plan: figures against targets, the targets per year, and the plan's exchange rates."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...auth.permissions import Permission, requires
from ...common.errors import ValidationFailed
from ...common.fiscal import current_fiscal_year
from ...common.forms import apply_field_errors
from ...common.money import format_money
from ...extensions import db
from .. import bp
from ..board_charts import plan_chart
from ..forms.plan import RateForm, TargetsForm
from ..models import PlanExchangeRate
from ..services import plan as service
from ..services import plan_report
from ..sources import Source


def _first_year() -> int:
    return _year_arg("from_year") or current_fiscal_year()


@bp.route("/plan")
@requires(Permission.PIPELINE_VIEW)
def show_plan():
    years = service.plan_years(_first_year())
    report = plan_report.plan_report(years)
    return render_template(
        "pipeline/plan/show.html",
        report=report,
        years=years,
        sources=list(Source),
        chart=plan_chart(report),
        fmt=lambda value: format_money(value, report.reporting_currency),
    )


@bp.route("/plan/<int:fiscal_year>/targets", methods=["GET", "POST"])
@requires(Permission.PIPELINE_EDIT)
def edit_targets(fiscal_year: int):
    if not 2000 <= fiscal_year <= 2100:
        abort(404)
    existing = service.targets([fiscal_year])
    form = TargetsForm()
    if request.method == "GET":
        for source in Source:
            target = existing.get((fiscal_year, source))
            form[source.value].data = target.amount if target else None
        form.notes.data = next((target.notes for target in existing.values() if target.notes), "")
    if form.validate_on_submit():
        try:
            service.set_targets(fiscal_year, form.amounts(), form.notes.data or "")
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash(f"The FY{fiscal_year} targets are saved.", "success")
            return redirect(url_for("pipeline.show_plan", from_year=fiscal_year, _anchor=f"fy{fiscal_year}"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "pipeline/plan/targets.html",
        form=form,
        fiscal_year=fiscal_year,
        currency=service.reporting_currency(),
    ), status


@bp.route("/plan/rates")
@requires(Permission.PIPELINE_VIEW)
def list_plan_rates():
    form = RateForm(formdata=None)
    form.fiscal_year.data = _year_arg("fiscal_year") or current_fiscal_year()
    form.currency.data = (request.args.get("currency") or "")[:3].upper()
    return _render_rates(form)


def _year_arg(name: str) -> int | None:
    year = request.args.get(name, type=int)
    return year if year is not None and 2000 <= year <= 2100 else None


def _render_rates(form: RateForm, status: int = 200):
    return render_template(
        "pipeline/plan/rates.html",
        form=form,
        rates=service.rates(),
        reporting_currency=service.reporting_currency(),
    ), status


@bp.route("/plan/rates", methods=["POST"])
@requires(Permission.PLAN_RATES_EDIT)
def save_plan_rate():
    form = RateForm()
    if form.validate_on_submit():
        try:
            rate = service.set_rate(form.fiscal_year.data, form.currency.data, form.rate.data, current_user)
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash(f"Saved: {rate}.", "success")
            return redirect(url_for("pipeline.list_plan_rates"))
    return _render_rates(form, 422)


@bp.route("/plan/rates/<int:rate_id>/delete", methods=["POST"])
@requires(Permission.PLAN_RATES_EDIT)
def delete_plan_rate(rate_id: int):
    rate = db.session.get(PlanExchangeRate, rate_id) or abort(404)
    label = str(rate)
    service.delete_rate(rate)
    db.session.commit()
    flash(f"Removed: {label}.", "success")
    return redirect(url_for("pipeline.list_plan_rates"))
