"""The annual run preview: every member's invoice for a fiscal year before the run issues it, and its CSV."""

from __future__ import annotations

from flask import Response, render_template, request, url_for

from ...auth.permissions import Permission, requires
from ...common.exports import csv_response
from ...common.pagination import paginate_counted
from .. import bp
from ..forms.annual_run_preview import PreviewFilterForm
from ..services import annual_run, annual_run_preview
from ..services.annual_run_preview import PreviewFigures, PreviewFilter, PreviewRow, RowStatus
from .annual_run import check_year, invoice_url, link_if_exists, member_url


def _chosen(form: PreviewFilterForm) -> PreviewFilter:
    """The members to list, as the form chooses them (none when it is in error)."""
    if not form.validate():
        return PreviewFilter(nothing=True)
    return PreviewFilter(text=form.q.data or "", status=form.status.data or "", hub_name=form.hub.data or "")


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
    figures = annual_run_preview.preview_figures(fiscal_year)
    form = PreviewFilterForm(figures.hub_names, request.args)
    chosen = _chosen(form)
    if request.args.get("format") == "csv":
        return _preview_csv(figures, chosen)
    filtered = any(request.args.get(name) for name in ("q", "status", "hub"))
    page, problems, adjusted = _pages(figures, chosen)
    return render_template(
        "contributions/runs/preview.html",
        preview=figures,
        form=form,
        page=page,
        # Problems and adjustments can be many (every member without a billing e-mail): a page of each.
        problems=problems,
        adjusted=adjusted,
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


def _pages(figures: PreviewFigures, chosen: PreviewFilter):
    """The page of members shown, of problems and of adjustments: their ids first (a query each), then their
    rows, classified together."""
    problems = PreviewFilter(status=RowStatus.PROBLEM.value)
    pages = [
        paginate_counted(
            annual_run_preview.listed_members(figures, chosen),
            annual_run_preview.listed_count(figures, chosen),
        ),
        paginate_counted(
            annual_run_preview.listed_members(figures, problems), figures.problem_count, arg="problems_page"
        ),
        paginate_counted(
            annual_run_preview.adjusted_members(figures), figures.adjusted_count, arg="adjustments_page"
        ),
    ]
    rows = annual_run_preview.page_rows(figures, [member_id for page in pages for member_id in page.items])
    for page in pages:
        page.items = [rows[member_id] for member_id in page.items if member_id in rows]
    return pages


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


def _preview_csv(figures: PreviewFigures, chosen: PreviewFilter) -> Response:
    filename = f"annual-run-preview-FY{figures.fiscal_year}.csv"
    return csv_response(_preview_csv_rows(annual_run_preview.streamed_preview(figures, chosen)), filename)


def _preview_csv_rows(members):
    """The CSV's rows: each set of alike members' cells made once (`streamed_preview`), beside each member's
    own name, country and language."""
    yield PREVIEW_CSV_HEADER
    cells_of = {}
    for key, name, country_code, language, row in members:
        cells = cells_of.get(key) if key is not None else None
        if cells is None:
            cells = _row_cells(row)
            if key is not None:
                cells_of[key] = cells
        yield [name, cells[0], country_code, cells[1], cells[2], language.label, *cells[3:]]


def _row_cells(row: PreviewRow) -> list:
    """A row's cells but the member's name, country and language: its kind, hub, group, what the run does,
    the amounts, the adjustment and the notes."""
    adjustment = row.adjustment
    return [
        row.member.kind.label,
        row.member.hub.name,
        row.group_label,
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
