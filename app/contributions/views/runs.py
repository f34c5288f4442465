"""The annual run: choose a fiscal year, preview every member's invoice, issue them all and follow the run.

The run page issues in small steps (`run_step`, one POST per batch) that its script repeats until the run is
done; without the script, each "Continue issuing" press does one step. No state lives in the process.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import (
    Response,
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
from flask_sqlalchemy.pagination import Pagination
from werkzeug.routing import BuildError

from ...auth.permissions import Permission, requires
from ...common.errors import DomainError
from ...common.exports import csv_response
from ...common.fiscal import current_fiscal_year
from ...common.time import as_utc, utcnow
from ...extensions import db
from .. import bp
from ..forms.runs import FiscalYearForm, PreviewFilterForm
from ..models import AnnualRun, AnnualRunStatus, ContributionPolicy
from ..services import annual_run as service

#: A running run whose last step is older than this is shown as paused (its tab was closed).
PAUSED_AFTER = timedelta(minutes=2)
FIRST_YEAR, LAST_YEAR = 2000, 2100


def _link(endpoint: str, **values) -> str | None:
    """A link to a page another part of the app provides, or None while that page does not exist."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _member_url(member_id: int) -> str | None:
    return _link("contributions.show_member", member_id=member_id)


def _invoice_url(invoice_id: int) -> str | None:
    return _link("contributions.show_invoice", invoice_id=invoice_id)


def _actor():
    return current_user._get_current_object()


def _run_or_404(run_id: int) -> AnnualRun:
    return db.session.get(AnnualRun, run_id) or abort(404)


def _check_year(fiscal_year: int) -> None:
    if not FIRST_YEAR <= fiscal_year <= LAST_YEAR:
        abort(404)


class _ListPagination(Pagination):
    """db.paginate()'s page object for rows computed in Python (the preview), for the pager macro."""

    def _query_items(self) -> list:
        items = self._query_args["items"]
        return items[self._query_offset : self._query_offset + self.per_page]

    def _query_count(self) -> int:
        return len(self._query_args["items"])


def _paginate_list(items: list) -> Pagination:
    return _ListPagination(
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["ITEMS_PER_PAGE"],
        max_per_page=None,
        error_out=False,
        items=items,
    )


# --- Runs list ---------------------------------------------------------------------------------------------


def _years() -> tuple[list[int], int]:
    """Fiscal years worth offering (those with a policy or a run, this one and the next) and the default."""
    current = current_fiscal_year()
    years = set(db.session.scalars(sa.select(ContributionPolicy.fiscal_year)))
    years |= set(db.session.scalars(sa.select(AnnualRun.fiscal_year).distinct()))
    years |= {current, current + 1}
    # The annual run usually goes out before the year starts, once next year's policy is set.
    default = current + 1 if service.policy_for(current + 1) is not None else current
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
    page = db.paginate(service.runs_query(), per_page=current_app.config["ITEMS_PER_PAGE"], error_out=False)
    return render_template("contributions/runs/list.html", form=form, page=page)


# --- Preview -----------------------------------------------------------------------------------------------


def _filtered(rows, form: PreviewFilterForm):
    if not form.validate():
        return []
    text = (form.q.data or "").strip().lower()
    if text:
        rows = [
            row for row in rows if text in row.member.name.lower() or text == row.member.country_code.lower()
        ]
    if form.status.data:
        rows = [row for row in rows if row.status.value == form.status.data]
    if form.hub.data:
        rows = [row for row in rows if row.member.hub.name == form.hub.data]
    return rows


def _note(row) -> str:
    """What the run does with this member, in words, for the table and the CSV."""
    if row.status == service.RowStatus.ALREADY_INVOICED:
        return f"Already invoiced: {row.invoice.number}"
    if row.status == service.RowStatus.PROBLEM:
        return " ".join(row.problems)
    if row.status == service.RowStatus.WAIVED:
        return row.waived_because
    if row.adjustment is not None:
        return f"Adjusted: {row.adjustment.reason} ({row.adjustment.approval_reference})"
    return ""


@bp.route("/runs/<int:fiscal_year>/preview")
@requires(Permission.CONTRIBUTIONS_VIEW)
def preview_run(fiscal_year: int):
    _check_year(fiscal_year)
    preview = service.build_preview(fiscal_year)
    hub_names = sorted({row.member.hub.name for row in preview.rows})
    form = PreviewFilterForm(hub_names, request.args)
    rows = _filtered(preview.rows, form)
    if request.args.get("format") == "csv":
        return _preview_csv(preview, rows)
    filtered = any(request.args.get(name) for name in ("q", "status", "hub"))
    return render_template(
        "contributions/runs/preview.html",
        preview=preview,
        form=form,
        page=_paginate_list(rows),
        filtered=filtered,
        open_run=service.open_run(fiscal_year),
        member_url=_member_url,
        invoice_url=_invoice_url,
        note=_note,
        policy_url=_link("contributions.list_policies"),
        csv_url=url_for(
            "contributions.preview_run",
            fiscal_year=fiscal_year,
            format="csv",
            **{name: request.args[name] for name in ("q", "status", "hub") if request.args.get(name)},
        ),
    )


def _plain_rate(rate) -> str:
    """0.92000000 as 0.92 (10.00000000 as 10), or empty when the amount was not converted."""
    return "" if rate is None else f"{rate.normalize():f}"


PREVIEW_CSV_HEADER = [
    "Member",
    "Kind",
    "Country",
    "Hub",
    "Income group",
    "Language",
    "What the run does",
    "Amount",
    "Currency",
    "Policy amount",
    "Assessed in policy currency",
    "Policy currency",
    "Exchange rate",
    "Adjustment",
    "Reason",
    "Approval reference",
    "Invoice number",
    "Notes",
]


def _preview_csv(preview: service.Preview, rows) -> Response:
    filename = f"annual-run-preview-FY{preview.fiscal_year}.csv"
    return csv_response(_preview_csv_rows(rows), filename)


def _preview_csv_rows(rows):
    yield PREVIEW_CSV_HEADER
    for row in rows:
        adjustment = row.adjustment
        yield [
            row.member.name,
            row.member.kind.label,
            row.member.country_code,
            row.member.hub.name,
            row.group_label,
            row.member.language.label,
            row.status.label,
            "" if row.amount is None else str(row.amount),
            row.currency or "",
            "" if row.policy_amount is None else str(row.policy_amount),
            "" if row.assessed_amount is None else str(row.assessed_amount),
            row.assessed_currency or "",
            _plain_rate(row.exchange_rate),
            adjustment.kind.label if adjustment else "",
            adjustment.reason if adjustment else "",
            adjustment.approval_reference if adjustment else "",
            (row.invoice.number or "") if row.invoice else "",
            " ".join(row.problems) if row.problems else row.waived_because,
        ]


# --- Starting and following a run --------------------------------------------------------------------------


@bp.route("/runs/<int:fiscal_year>/start", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def start_run(fiscal_year: int):
    _check_year(fiscal_year)
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
    invoices = db.paginate(
        service.run_invoices_query(run), per_page=current_app.config["ITEMS_PER_PAGE"], error_out=False
    )
    return render_template(
        "contributions/runs/show.html",
        run=run,
        progress=service.progress(run),
        paused=paused,
        totals=service.run_totals(run),
        page=invoices,
        member_url=_member_url,
        invoice_url=_invoice_url,
        batch_size=service.DEFAULT_BATCH_SIZE,
    )


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
