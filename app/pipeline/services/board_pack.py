"""The board pack: the dashboard as of a date, as a PDF in the common document base, from the same report."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import sqlalchemy as sa

from ...common.documents import render_document
from ...common.money import format_money
from ...common.pdf import render_template_pdf
from ...extensions import db
from ...hubs.models import Hub, HubKind
from ..board_charts import board_charts
from ..sources import Source
from .board import board_report


def _headquarters():
    return db.session.scalar(
        sa.select(Hub).order_by((Hub.kind == HubKind.HEADQUARTERS).desc(), Hub.id).limit(1)
    )


def _without_hub() -> dict:
    # Before any hub is set up the pack still renders, under the organisation's plain name.
    issuer = SimpleNamespace(legal_name="Tributary", registration_number="", vat_number="")
    return {
        "hub": issuer,
        "lang": "en",
        "logo_url": None,
        "hub_address": [],
        "tax_statement": "",
        "legal_mentions": "",
    }


def board_pack_pdf(as_of: date) -> bytes:
    """The board pack PDF for a date: the dashboard's figures and charts, top asks and the arrears list."""
    report = board_report(as_of)
    context = dict(
        report=report,
        charts=board_charts(report, links=False),
        fmt=lambda value: format_money(value, report.reporting_currency),
        sources=list(Source),
    )
    hub = _headquarters()
    if hub is None:
        return render_template_pdf(
            "pdf/board_pack.html", recipient=None, qr=None, **_without_hub(), **context
        )
    return render_document("pdf/board_pack.html", issuer=hub, lang="en", **context)
