"""The annual run preview: every member's invoice for a fiscal year before the run issues it, and its CSV."""

from __future__ import annotations

from flask import Response, render_template, request, url_for

from ...auth.permissions import Permission, requires
from ...common.exports import csv_response
from ...common.pagination import paginate_list
from .. import bp
from ..forms.annual_run_preview import PreviewFilterForm
from ..services import annual_run, annual_run_preview
from ..services.annual_run_preview import Preview, RowStatus
from .annual_run import check_year, invoice_url, link_if_exists, member_url


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
    if row.status == RowStatus.ALREADY_INVOICED:
        return f"Already invoiced: {row.invoice.number}"
    if row.status == RowStatus.PROBLEM:
        return " ".join(row.problems)
    if row.status == RowStatus.WAIVED:
        return row.waived_because
    if row.adjustment is not None:
        return f"Adjusted: {row.adjustment.reason} ({row.adjustment.approval_reference})"
    return ""


@bp.route("/runs/<int:fiscal_year>/preview")
@requires(Permission.CONTRIBUTIONS_VIEW)
def preview_run(fiscal_year: int):
    check_year(fiscal_year)
    preview = annual_run_preview.build_preview(fiscal_year)
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
        page=paginate_list(rows),
        # Problems and adjustments can be many (every member without a billing e-mail): a page of each.
        problems=paginate_list(preview.problems, arg="problems_page"),
        adjusted=paginate_list(preview.adjusted, arg="adjustments_page"),
        filtered=filtered,
        open_run=annual_run.open_run(fiscal_year),
        member_url=member_url,
        invoice_url=invoice_url,
        note=_note,
        policy_url=link_if_exists("contributions.list_policies"),
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


def _preview_csv(preview: Preview, rows) -> Response:
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
