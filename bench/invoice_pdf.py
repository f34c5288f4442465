"""Time the invoice PDF: the invoicing service's render against a bare WeasyPrint render of the same HTML.

    .venv/bin/python -m bench.invoice_pdf [--runs 15] [--cold-runs 5]

Warm: one process, after a first render, median of --runs renders. Cold: the first render in a fresh process
(fonts, Pango and WeasyPrint's caches empty), median over --cold-runs processes. Both on an in-memory SQLite
database with a French EUR invoice carrying the SEPA QR code.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal

MODES = ("service", "bare")


def _invoice():
    """A French invoice from the Brussels hub, issued once (its stored PDF is what the service renders)."""
    import sqlalchemy as sa

    from app.contributions.models import Language, Member, MemberContact, MemberKind
    from app.contributions.services.invoicing import create_draft_invoice, issue_invoice
    from app.extensions import db
    from app.hubs.models import Hub
    from app.hubs.seed import seed_demo as seed_demo_hubs

    db.create_all()
    seed_demo_hubs()  # the validated demo hubs, as `flask seed-demo` makes them
    hub = db.session.scalar(sa.select(Hub).where(Hub.invoice_prefix == "BE"))
    member = Member(
        kind=MemberKind.NATIONAL,
        name="Sénégal",
        country_code="SN",
        language=Language.FR,
        hub=hub,
        billing_address="Ministère des Finances\nAvenue Carde\nDakar",
    )
    member.contacts.append(MemberContact(name="Awa Diop", email="a.diop@finances.example", is_primary=True))
    db.session.add(member)
    db.session.flush()
    lines = [("Contribution annuelle, exercice 2027", Decimal("10000.00"))]
    invoice = create_draft_invoice(member, 2027, lines, None)
    return issue_invoice(invoice, None, issued_on=date(2027, 1, 15))


def _renderers(invoice):
    """(service render, bare render) as zero-argument callables producing PDF bytes."""
    from flask_babel import force_locale
    from weasyprint import HTML

    from app.contributions.services import documents

    with force_locale("fr"):
        html = _invoice_html(invoice)

    def service() -> bytes:
        return documents.render_invoice_pdf(invoice)

    def bare() -> bytes:
        return HTML(string=html).write_pdf()

    return {"service": service, "bare": bare}


def _invoice_html(invoice) -> str:
    """The exact HTML the service renders, captured by rendering once with the PDF step replaced."""
    from unittest import mock

    from app.contributions.services import documents

    captured = {}

    def capture(template, **context):
        from flask import render_template

        captured["html"] = render_template(template, **context)
        return b""

    with mock.patch.object(documents, "render_template_pdf", capture):
        documents.render_invoice_pdf(invoice)
    return captured["html"]


def _app():
    from app import create_app
    from config import TestConfig

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = "sqlite://"

    return create_app(BenchConfig)


def _time(render) -> float:
    started = time.perf_counter()
    pdf = render()
    elapsed = time.perf_counter() - started
    assert pdf.startswith(b"%PDF")
    return elapsed * 1000


def cold_once(mode: str) -> float:
    """In this fresh process: set up, then time the very first render (ms)."""
    app = _app()
    with app.app_context():
        from app.contributions.services import documents

        # Issuing renders a PDF; measure the first render in a process that has not rendered yet.
        with _no_pdf_rendering(documents):
            invoice = _invoice()
        return _time(_renderers(invoice)[mode])


class _no_pdf_rendering:
    """Issue without rendering, so that the timed render is the process's first."""

    def __init__(self, documents):
        from unittest import mock

        self._patch = mock.patch.object(documents, "render_template_pdf", lambda *a, **k: b"%PDF-placeholder")

    def __enter__(self):
        self._patch.start()

    def __exit__(self, *exc):
        self._patch.stop()


def warm(runs: int) -> dict[str, float]:
    app = _app()
    with app.app_context():
        invoice = _invoice()
        renderers = _renderers(invoice)
        timings: dict[str, list[float]] = {mode: [] for mode in MODES}
        for mode in MODES:
            _time(renderers[mode])  # warm-up
        for _ in range(runs):  # interleaved, so that a busy moment on the machine hits both alike
            for mode in MODES:
                timings[mode].append(_time(renderers[mode]))
        return {mode: statistics.median(values) for mode, values in timings.items()}


def cold(runs: int) -> dict[str, float]:
    results = {}
    for mode in MODES:
        timings = []
        for _ in range(runs):
            output = subprocess.run(
                [sys.executable, "-m", "bench.invoice_pdf", "--cold-one", mode],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            timings.append(float(output.strip().splitlines()[-1]))
        results[mode] = statistics.median(timings)
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="warm renders per mode (median)")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh processes per mode (median)")
    parser.add_argument("--cold-one", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cold_one:
        print(f"{cold_once(args.cold_one):.1f}")
        return

    from app.common.pdf import harfbuzz_subsetting_available

    warm_results = warm(args.runs)
    cold_results = cold(args.cold_runs)
    labels = {"service": "invoicing service (app.common.pdf)", "bare": "bare WeasyPrint, no fetcher"}
    print(f"Invoice PDF, one A4 page (median ms; warm n={args.runs}, cold n={args.cold_runs})")
    print(f"{'renderer':<38}{'warm':>10}{'cold':>10}")
    for mode in MODES:
        print(f"{labels[mode]:<38}{warm_results[mode]:>10.1f}{cold_results[mode]:>10.1f}")
    overhead = warm_results["service"] - warm_results["bare"]
    print(f"{'service overhead (warm)':<38}{overhead:>10.1f}")
    print(f"HarfBuzz subsetting: {'active' if harfbuzz_subsetting_available() else 'NOT active (fontTools)'}")


if __name__ == "__main__":
    main()
