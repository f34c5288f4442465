"""Collection reports: statements of account, the ageing of open invoices and the arrears matrix."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, render_template, request, send_file
from flask_sqlalchemy.pagination import SelectPagination

from ...auth.permissions import Permission, requires
from ...common.exports import csv_response
from ...common.time import today
from ...extensions import db
from ...hubs.models import Hub
from .. import bp
from ..forms.reports import AgeingFilterForm, ArrearsFilterForm
from ..models import Member
from ..services import reports
from ..services.statements import build_statement, render_statement_pdf, statement_filename


def _member_or_404(member_id: int) -> Member:
    return db.session.get(Member, member_id) or abort(404)


def _hubs() -> list[Hub]:
    return list(db.session.scalars(sa.select(Hub).order_by(Hub.name)))


def _as_of():
    """The ?as_of= date of a statement, or today; a bad date falls back to today."""
    from datetime import date

    try:
        return date.fromisoformat(request.args.get("as_of", ""))
    except ValueError:
        return today()


# --- Statement of account ----------------------------------------------------------------------------------


@bp.route("/members/<int:member_id>/statement")
@requires(Permission.CONTRIBUTIONS_VIEW)
def member_statement(member_id: int):
    member = _member_or_404(member_id)
    as_of = _as_of()
    statement = build_statement(member, as_of)
    return render_template(
        "contributions/reports/statement.html",
        member=member,
        statement=statement,
        as_of=as_of,
        has_email=any(contact.email for contact in member.contacts),
    )


@bp.route("/members/<int:member_id>/statement.pdf")
@requires(Permission.CONTRIBUTIONS_VIEW)
def member_statement_pdf(member_id: int):
    member = _member_or_404(member_id)
    as_of = _as_of()
    pdf = render_statement_pdf(member, as_of)
    disposition = "attachment" if request.args.get("download") else "inline"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'{disposition}; filename="{statement_filename(member, as_of)}"'},
    )


# --- Ageing ------------------------------------------------------------------------------------------------


class _RowsPagination(SelectPagination):
    """db.paginate() for a select of plain columns (its items are rows, not the first column alone), with
    the total given when it is already known."""

    def _query_items(self) -> list:
        select = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return list(self._query_args["session"].execute(select))

    def _query_count(self) -> int:
        total = self._query_args.get("total")
        return super()._query_count() if total is None else total


@bp.route("/reports/ageing")
@requires(Permission.CONTRIBUTIONS_VIEW)
def ageing_report():
    overdue_buckets = [(key, label) for key, label, *_ in reports.BUCKETS]
    form = AgeingFilterForm(_hubs(), overdue_buckets, request.args)
    form.validate()
    as_of = form.as_of.data or today()
    form.as_of.data = as_of
    hub_id = int(form.hub.data) if form.hub.data and not form.hub.errors else None
    report = reports.ageing_report(as_of, hub_id)
    if request.args.get("format") == "csv":
        return Response(
            reports.ageing_csv(report),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="ageing-{as_of.isoformat()}.csv"'},
        )
    bucket = form.bucket.data if form.bucket.data in reports.BUCKET_KEYS else None
    page = _RowsPagination(
        select=reports.aged_invoices_query(as_of, hub_id, bucket),
        session=db.session,
        total=report.listed_count(bucket),
        per_page=current_app.config["ITEMS_PER_PAGE"],
        error_out=False,
    )
    page.items = [reports.aged_invoice(row, as_of) for row in page.items]
    return render_template(
        "contributions/reports/ageing.html",
        form=form,
        report=report,
        page=page,
        bucket=bucket,
        buckets=reports.BUCKETS,
        bucket_keys=reports.BUCKET_KEYS,
        bucket_labels=reports.BUCKET_LABELS,
    )


# --- Arrears -----------------------------------------------------------------------------------------------


@bp.route("/reports/arrears")
@requires(Permission.CONTRIBUTIONS_VIEW)
def arrears_report():
    form = ArrearsFilterForm(_hubs(), request.args)
    form.validate()
    default_first, default_last = reports.default_year_range()
    first_year = (
        form.first_year.data if not form.first_year.errors and form.first_year.data else default_first
    )
    last_year = form.last_year.data if not form.last_year.errors and form.last_year.data else default_last
    if first_year > last_year:
        first_year, last_year = last_year, first_year
    if last_year - first_year > 9:
        first_year = last_year - 9
        flash(f"The matrix shows at most ten fiscal years; it starts at FY{first_year}.", "info")
    form.first_year.data, form.last_year.data = first_year, last_year
    hub_id = int(form.hub.data) if form.hub.data and not form.hub.errors else None
    only_flagged = bool(form.flagged.data)
    export = request.args.get("format")
    stem = f"arrears-FY{first_year}-FY{last_year}"
    if export in ("csv", "xlsx"):
        records = reports.arrears_records_in_batches(first_year, last_year, hub_id, only_flagged)
        if export == "csv":
            return csv_response(reports.arrears_csv_rows(records), f'attachment; filename="{stem}.csv"')
        spreadsheet, size = reports.arrears_xlsx(records, f"Arrears FY{first_year}-FY{last_year}")
        response = send_file(
            spreadsheet, mimetype=reports.XLSX_MIMETYPE, as_attachment=True, download_name=f"{stem}.xlsx"
        )
        response.content_length = size
        return response
    flagged_ids = reports.flagged_member_ids(first_year, last_year, hub_id)
    listed = flagged_ids if only_flagged else None
    page = db.paginate(
        reports.arrears_members_query(hub_id, listed),
        per_page=current_app.config["ITEMS_PER_PAGE"],
        error_out=False,
    )
    return render_template(
        "contributions/reports/arrears.html",
        form=form,
        page=page,
        report=reports.ArrearsReport(
            first_year, last_year, reports.arrears_rows(page.items, first_year, last_year)
        ),
        totals=reports.arrears_totals(first_year, last_year, hub_id, listed),
        flagged_count=len(flagged_ids),
        only_flagged=only_flagged,
    )
