"""The board dashboard (the board's landing page, readable by every role) and the board pack PDF."""

from __future__ import annotations

from datetime import date

from flask import Response, render_template, request

from ...auth.permissions import Permission, requires
from ...common.money import format_money
from ...common.time import today
from .. import bp
from ..board_charts import board_charts
from ..services import board as service
from ..services import board_pack
from ..sources import Source


def _as_of() -> date:
    raw = (request.args.get("as_of") or "").strip()
    try:
        chosen = date.fromisoformat(raw) if raw else None
    except ValueError:
        chosen = None
    if chosen is None or not date(2000, 1, 1) <= chosen <= date(2100, 12, 31):
        return today()
    return chosen


@bp.route("/board")
@requires(Permission.PIPELINE_VIEW)
def board_dashboard():
    return render_board_dashboard()


def render_board_dashboard(panels: list[dict] | None = None) -> str:
    """The dashboard as of the date asked (default today); the board's home page adds its panels below."""
    report = service.board_report(_as_of())
    return render_template(
        "pipeline/board/dashboard.html",
        report=report,
        charts=board_charts(report),
        fmt=lambda value: format_money(value, report.reporting_currency),
        sources=list(Source),
        panels=panels or [],
    )


@bp.route("/board/pack.pdf")
@requires(Permission.PIPELINE_VIEW)
def download_board_pack():
    as_of = _as_of()
    pdf = board_pack.board_pack_pdf(as_of)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="board-pack-{as_of.isoformat()}.pdf"'},
    )
