"""The ageing report: open invoices by hub and currency, bucketed by days past due, and the invoices in it."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, render_template, request
from flask_sqlalchemy.pagination import SelectPagination

from ...auth.permissions import Permission, requires
from ...common.exports import csv_response
from ...common.time import today
from ...common.urls import page_arg
from ...extensions import db
from ...hubs.models import Hub
from .. import bp
from ..forms.ageing import AgeingFilterForm
from ..services import ageing


def _hubs() -> list[Hub]:
    return list(db.session.scalars(sa.select(Hub).order_by(Hub.name)))


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
    overdue_buckets = [(key, label) for key, label, *_ in ageing.BUCKETS]
    form = AgeingFilterForm(_hubs(), overdue_buckets, request.args)
    form.validate()
    as_of = form.as_of.data or today()
    form.as_of.data = as_of
    hub_id = int(form.hub.data) if form.hub.data and not form.hub.errors else None
    report = ageing.ageing_report(as_of, hub_id)
    if request.args.get("format") == "csv":
        return csv_response(ageing.ageing_csv_rows(report), f"ageing-{as_of.isoformat()}.csv")
    bucket = form.bucket.data if form.bucket.data in ageing.BUCKET_KEYS else None
    page = _RowsPagination(
        select=ageing.aged_invoices_query(as_of, hub_id, bucket, report.from_totals),
        session=db.session,
        total=report.listed_count(bucket),
        page=page_arg(),
        per_page=current_app.config["ITEMS_PER_PAGE"],
        error_out=False,
    )
    page.items = [ageing.aged_invoice(row, as_of) for row in page.items]
    return render_template(
        "contributions/reports/ageing.html",
        form=form,
        report=report,
        page=page,
        bucket=bucket,
        buckets=ageing.BUCKETS,
        bucket_keys=ageing.BUCKET_KEYS,
        bucket_labels=ageing.BUCKET_LABELS,
    )
