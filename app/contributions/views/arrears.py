"""The arrears matrix: members by fiscal year, assessed, invoiced, paid and outstanding, and its exports."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, render_template, request

from ...auth.permissions import Permission, requires
from ...common.exports import csv_response, xlsx_response
from ...common.pagination import paginate
from ...extensions import db
from ...hubs.models import Hub
from .. import bp
from ..forms.arrears import ArrearsFilterForm
from ..services import arrears, payment_blockers


def _hubs() -> list[Hub]:
    return list(db.session.scalars(sa.select(Hub).order_by(Hub.name)))


@bp.route("/reports/arrears")
@requires(Permission.CONTRIBUTIONS_VIEW)
def arrears_report():
    form = ArrearsFilterForm(_hubs(), request.args)
    form.validate()
    default_first, default_last = arrears.default_year_range()
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
        records = arrears.arrears_records(first_year, last_year, hub_id, only_flagged)
        if export == "csv":
            return csv_response(arrears.arrears_csv_rows(records), f"{stem}.csv")
        sheet = arrears.arrears_sheet(records, f"Arrears FY{first_year}-FY{last_year}")
        return xlsx_response(f"{stem}.xlsx", sheet)
    # Read once: the flagged page, its count and its totals restrict to them, and every page counts them.
    flagged_ids = arrears.flagged_member_ids(first_year, last_year, hub_id)
    listed = flagged_ids if only_flagged else None
    page = paginate(arrears.arrears_members_query(hub_id, listed), exact_total=True)
    policies = arrears.year_policies(first_year, last_year)
    report = arrears.ArrearsReport(
        first_year, last_year, arrears.arrears_rows(page.items, first_year, last_year, policies)
    )
    return render_template(
        "contributions/reports/arrears.html",
        form=form,
        page=page,
        report=report,
        totals=arrears.arrears_totals(first_year, last_year, hub_id, listed, policies),
        flagged_count=len(flagged_ids),
        only_flagged=only_flagged,
        arrears_rule=arrears.ARREARS_RULE,
        # A row is flagged by the same rule as the query (`ArrearsRow.flagged`, its Python twin).
        blockers=payment_blockers.blockers_by_member(row.member.id for row in report.rows if row.flagged),
    )
