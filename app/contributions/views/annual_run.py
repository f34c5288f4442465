"""The annual run: choose a fiscal year, start the run and follow it (the preview is `annual_run_preview`).

The run page issues in small steps (`run_step`, one POST per batch) that its script repeats until the run is
done; without the script, each "Continue issuing" press does one step. No state lives in the process.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.routing import BuildError

from ...auth.permissions import Permission, requires
from ...common.errors import DomainError
from ...common.fiscal import current_fiscal_year
from ...common.pagination import paginate
from ...common.time import as_utc, utcnow
from ...common.urls import row_url
from ...extensions import db
from ...hubs.models import Hub
from .. import bp
from ..forms.annual_run import FiscalYearForm
from ..models import AnnualRun, AnnualRunStatus, ContributionPolicy, Invoice, Member
from ..services import annual_run as service
from ..services.assessments import policy_for

#: A running run whose last step is older than this is shown as paused (its tab was closed).
PAUSED_AFTER = timedelta(minutes=2)
FIRST_YEAR, LAST_YEAR = 2000, 2100


def link_if_exists(endpoint: str, **values) -> str | None:
    """A link to a page another part of the app provides, or None while that page does not exist."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def member_url(member_id: int) -> str | None:
    return link_if_exists("contributions.show_member", member_id=member_id)


def invoice_url(invoice_id: int) -> str | None:
    return link_if_exists("contributions.show_invoice", invoice_id=invoice_id)


def _actor():
    return current_user._get_current_object()


def _run_or_404(run_id: int) -> AnnualRun:
    return db.session.get(AnnualRun, run_id) or abort(404)


def check_year(fiscal_year: int) -> None:
    if not FIRST_YEAR <= fiscal_year <= LAST_YEAR:
        abort(404)


# --- Runs list ---------------------------------------------------------------------------------------------


def _years() -> tuple[list[int], int]:
    """Fiscal years worth offering (those with a policy or a run, this one and the next) and the default."""
    current = current_fiscal_year()
    years = set(db.session.scalars(sa.select(ContributionPolicy.fiscal_year)))
    years |= set(db.session.scalars(sa.select(AnnualRun.fiscal_year).distinct()))
    years |= {current, current + 1}
    # The annual run usually goes out before the year starts, once next year's policy is set.
    default = current + 1 if policy_for(current + 1) is not None else current
    return sorted(years, reverse=True), default


@bp.route("/runs/")
@requires(Permission.CONTRIBUTIONS_VIEW)
def list_runs():
    years, default = _years()
    form = FiscalYearForm(years, request.args)
    if "fiscal_year" in request.args and form.validate():
        return redirect(url_for("contributions.preview_run", fiscal_year=int(form.fiscal_year.data)))
    if "fiscal_year" not in request.args:
        form.fiscal_year.data = str(default)
    page = paginate(service.runs_query())
    return render_template("contributions/runs/list.html", form=form, page=page)


# --- Starting and following a run --------------------------------------------------------------------------


@bp.route("/runs/<int:fiscal_year>/start", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def start_run(fiscal_year: int):
    check_year(fiscal_year)
    try:
        run, resumed = service.start_run(fiscal_year, _actor())
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("contributions.preview_run", fiscal_year=fiscal_year))
    db.session.commit()
    if resumed:
        flash(f"The FY{fiscal_year} run was already started: it carries on where it stopped.", "info")
    else:
        flash(f"The FY{fiscal_year} run has started: {run.planned_count:,} invoices to issue.", "success")
    return redirect(url_for("contributions.show_run", run_id=run.id))


@bp.route("/runs/<int:run_id>")
@requires(Permission.CONTRIBUTIONS_VIEW)
def show_run(run_id: int):
    run = _run_or_404(run_id)
    heartbeat = as_utc(run.heartbeat_at)
    paused = (
        run.status == AnnualRunStatus.RUNNING
        and heartbeat is not None
        and utcnow() - heartbeat > PAUSED_AFTER
    )
    invoices = paginate(service.run_invoices_query(run), rows=_run_invoice_rows)
    return render_template(
        "contributions/runs/show.html",
        run=run,
        progress=service.progress(run),
        paused=paused,
        totals=service.run_totals(run),
        page=invoices,
        member_url=_row_link("contributions.show_member", "member_id"),
        invoice_url=_row_link("contributions.show_invoice", "invoice_id"),
        batch_size=service.DEFAULT_BATCH_SIZE,
    )


def _run_invoice_rows(page_ids: sa.Subquery) -> sa.Select:
    """What the run page lists of each invoice on the page: plain columns, no invoice objects."""
    return (
        sa.select(
            Invoice.id,
            Invoice.number,
            Invoice.member_id,
            Member.name.label("member_name"),
            Hub.name.label("hub_name"),
            Invoice.language,
            Invoice.total,
            Invoice.currency,
            Invoice.issued_on,
        )
        .join(page_ids, page_ids.c.id == Invoice.id)
        .join(Member, Member.id == Invoice.member_id)
        .join(Hub, Hub.id == Invoice.hub_id)
    )


def _row_link(endpoint: str, arg: str):
    """As member_url and invoice_url, built once for a list's rows (row_url): None while the page does not
    exist."""
    if endpoint not in current_app.view_functions:
        return lambda value: None
    return row_url(endpoint, arg)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.route("/runs/<int:run_id>/step", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def run_step(run_id: int):
    run = _run_or_404(run_id)
    try:
        result = service.run_step(run.id, _actor(), service.DEFAULT_BATCH_SIZE)
    except DomainError as error:
        db.session.rollback()
        if _wants_json():
            return jsonify({"error": str(error), "finished": False}), 409
        flash(str(error), "error")
        return redirect(url_for("contributions.show_run", run_id=run_id))
    run = _run_or_404(run_id)
    data = service.progress(run, result.remaining)
    data["issued_now"] = len(result.issued)
    if _wants_json():
        return jsonify(data)
    if result.error:
        flash(f"The run stopped: {result.error}", "error")
    elif result.finished:
        flash(f"Done: {run.issued_count:,} invoices issued for FY{run.fiscal_year}.", "success")
    else:
        flash(f"Issued {len(result.issued)} more; {result.remaining:,} still to issue.", "info")
    return redirect(url_for("contributions.show_run", run_id=run_id))
