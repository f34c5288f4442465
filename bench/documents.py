"""Documents: each PDF through the app against a bare WeasyPrint render of the same HTML, and a gunicorn
worker's memory over many PDFs.

    .venv/bin/python -m bench.documents --database-url URL [--runs 15] [--cold-runs 3] [--renders 300]
                                        [--requests 1000]

On a database that `flask bench seed` filled (the Brussels hub has a logo; its invoices carry the SEPA QR
code). Per document (an invoice, a statement of account, a gift's thank-you letter, the board pack):
- warm: one process, after a first render, the median of --runs renders, the app's and the bare one
  interleaved (`weasyprint.HTML(string=html).write_pdf()` on the exact HTML the app renders);
- cold: the first render in a fresh process, median over --cold-runs processes;
- memory in one process: resident memory after 10 and after --renders renders, the app's way and the bare
  way (a fresh process each), and what each PDF added in between;
- under gunicorn (one sync worker): --requests pro-forma PDFs (rendered per request), the worker's resident
  memory sampled along the way, and the median request time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

REPOSITORY = Path(__file__).resolve().parent.parent
DOCUMENTS = ("invoice", "statement", "letter", "board pack")
MODES = ("app", "bare")
#: A member with an ordinary history (the first one, bench.seed's busy member, has hundreds of invoices).
STATEMENT_MEMBER_ID = 3
RSS_SAMPLES = (1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 750, 1000)


def _app(database_url: str):
    from bench.pages import bench_app

    return bench_app(database_url, outbox=str(REPOSITORY / "instance" / "bench-outbox"))


def _renderers(document: str):
    """(app render, HTML it renders) for one document of the seeded data set."""
    import sqlalchemy as sa

    from app.contributions.models import Invoice, InvoiceStatus, Member
    from app.contributions.services import documents, statements
    from app.extensions import db

    if document == "invoice":
        invoice = db.session.scalar(
            sa.select(Invoice)
            .where(Invoice.hub_id == 2, Invoice.status == InvoiceStatus.ISSUED, Invoice.currency == "EUR")
            .order_by(Invoice.id)
            .limit(1)
        )

        def render() -> bytes:
            return documents.render_invoice_pdf(invoice)

    elif document == "statement":
        member = db.session.get(Member, STATEMENT_MEMBER_ID)

        def render() -> bytes:
            return statements.render_statement_pdf(member)

    elif document == "letter":
        from app.donors.letters import letter_language, render_gift_letter
        from app.donors.models import Gift

        gift = db.session.scalar(
            sa.select(Gift).where(Gift.contact_id.is_not(None)).order_by(Gift.id).limit(1)
        )

        def render() -> bytes:
            return render_gift_letter(gift, letter_language(gift.contact))

    else:
        from app.common.time import today
        from app.pipeline.services.board_pack import board_pack_pdf

        def render() -> bytes:
            return board_pack_pdf(today())

    return render, _html_of(render)


def _html_of(render) -> str:
    """The exact HTML an app render hands to app.common.pdf, captured by rendering once."""
    from app.common import pdf

    captured = {}
    real = pdf.render_pdf

    def capture(html: str) -> bytes:
        captured["html"] = html
        return real(html)

    with mock.patch.object(pdf, "render_pdf", capture):
        render()
    return captured["html"]


def bare(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html).write_pdf()


def _time(render) -> float:
    started = time.perf_counter()
    pdf = render()
    elapsed = time.perf_counter() - started
    assert pdf.startswith(b"%PDF")
    return elapsed * 1000


def warm(database_url: str, runs: int) -> dict:
    app = _app(database_url)
    figures = {}
    with app.app_context():
        for document in DOCUMENTS:
            render, html = _renderers(document)
            modes = {"app": render, "bare": lambda html=html: bare(html)}
            timings = {mode: [] for mode in MODES}
            for mode in MODES:
                _time(modes[mode])
            for _ in range(runs):  # interleaved, so that a busy moment on the machine hits both alike
                for mode in MODES:
                    timings[mode].append(_time(modes[mode]))
            figures[document] = {mode: statistics.median(values) for mode, values in timings.items()}
    return figures


def _child(arguments: list[str]) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "bench.documents", *arguments],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPOSITORY,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def cold(database_url: str, runs: int) -> dict:
    figures = {}
    for document in DOCUMENTS:
        figures[document] = {}
        for mode in MODES:
            timings = [
                _child(["--database-url", database_url, "--cold-one", document, mode])["ms"]
                for _ in range(runs)
            ]
            figures[document][mode] = statistics.median(timings)
    return figures


def cold_once(database_url: str, document: str, mode: str) -> dict:
    """In this fresh process: time the very first PDF render (the HTML is captured without rendering)."""
    from app.common import pdf

    app = _app(database_url)
    with app.app_context():
        captured = {}
        with mock.patch.object(pdf, "render_pdf", lambda html: captured.setdefault("html", html) and b"%PDF"):
            render, _ = _renderers(document)
            render()
        html = captured["html"]
        return {"ms": _time(render if mode == "app" else lambda: bare(html))}


def resident_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def memory_once(database_url: str, mode: str, renders: int) -> dict:
    """In this fresh process: render the invoice `renders` times; resident memory after 10 and at the end."""
    app = _app(database_url)
    with app.app_context():
        render, html = _renderers("invoice")
        do = render if mode == "app" else lambda: bare(html)
        timings, after_ten = [], None
        for number in range(1, renders + 1):
            timings.append(_time(do))
            if number == 10:
                after_ten = resident_mb()
        end = resident_mb()
    return {
        "after_10_mb": after_ten,
        "end_mb": end,
        "kb_per_pdf": (end - after_ten) * 1024 / max(renders - 10, 1),
        "median_ms": statistics.median(timings),
    }


def memory(database_url: str, renders: int) -> dict:
    return {
        mode: _child(["--database-url", database_url, "--memory-one", mode, "--renders", str(renders)])
        for mode in MODES
    }


def worker_memory(database_url: str, requests: int) -> dict:
    """One gunicorn sync worker serving `requests` pro-forma PDFs; its resident memory along the way."""
    from bench.load import gunicorn, session_cookie
    from bench.seed import describe

    app = _app(database_url)
    with app.app_context():
        from app.extensions import db

        data = describe(db.session.connection())
    secret_key = os.urandom(16).hex()
    environment = {"DATABASE_URL": database_url, "SECRET_KEY": secret_key, "TRIBUTARY_ENV": "development"}
    cookie = session_cookie(database_url, secret_key, data.operations_id)
    url = f"/contributions/invoices/{data.draft_invoice_id}/pro-forma.pdf"
    samples, timings = {}, []
    with gunicorn("wsgi:app", environment, workers=1) as (port, master):
        children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
        worker = children[0]
        samples[0] = resident_mb(worker)
        for number in range(1, requests + 1):
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.request("GET", url, headers={"Cookie": cookie})
            response = connection.getresponse()
            body = response.read()
            connection.close()
            timings.append((time.perf_counter() - started) * 1000)
            if response.status != 200 or not body.startswith(b"%PDF"):
                raise RuntimeError(f"{url} answered {response.status}")
            if number in RSS_SAMPLES or number == requests:
                samples[number] = resident_mb(worker)
    return {"requests": requests, "rss_mb": samples, "median_ms": statistics.median(timings)}


def run(database_url: str, runs: int, cold_runs: int, renders: int, requests: int) -> dict:
    from app.common.pdf import harfbuzz_subsetting_available

    figures = {
        "harfbuzz": harfbuzz_subsetting_available(),
        "warm": warm(database_url, runs),
        "cold": cold(database_url, cold_runs),
        "memory": memory(database_url, renders),
        "worker": worker_memory(database_url, requests),
    }
    print(report(figures, runs, cold_runs, renders), flush=True)
    return figures


def report(figures: dict, runs: int, cold_runs: int, renders: int) -> str:
    lines = [f"\nDocuments (median ms; warm n={runs}, cold n={cold_runs})"]
    lines.append(
        f"{'document':<12}{'app warm':>10}{'bare warm':>11}{'app/bare':>10}{'app cold':>10}{'bare cold':>11}"
    )
    for document in DOCUMENTS:
        warm_figures, cold_figures = figures["warm"][document], figures["cold"][document]
        lines.append(
            f"{document:<12}{warm_figures['app']:>10.1f}{warm_figures['bare']:>11.1f}"
            f"{warm_figures['app'] / warm_figures['bare']:>10.2f}"
            f"{cold_figures['app']:>10.1f}{cold_figures['bare']:>11.1f}"
        )
    lines.append(f"Memory over {renders} invoice renders in one process (resident MB)")
    for mode in MODES:
        memory_figures = figures["memory"][mode]
        lines.append(
            f"  {mode:<5} after 10: {memory_figures['after_10_mb']:.0f}, "
            f"at the end: {memory_figures['end_mb']:.0f}, "
            f"{memory_figures['kb_per_pdf']:.0f} KB per PDF, {memory_figures['median_ms']:.0f} ms median"
        )
    worker = figures["worker"]
    samples = ", ".join(f"{number}: {mb:.0f}" for number, mb in worker["rss_mb"].items())
    lines.append(
        f"gunicorn worker, {worker['requests']} pro-forma PDFs ({worker['median_ms']:.0f} ms median): "
        f"{samples} MB"
    )
    lines.append(f"HarfBuzz subsetting: {'active' if figures['harfbuzz'] else 'NOT active (fontTools)'}")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a database filled by `flask bench seed`")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--renders", type=int, default=300)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--cold-one", nargs=2, metavar=("DOCUMENT", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--memory-one", choices=MODES, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.cold_one:
        print(json.dumps(cold_once(arguments.database_url, *arguments.cold_one)))
    elif arguments.memory_one:
        print(json.dumps(memory_once(arguments.database_url, arguments.memory_one, arguments.renders)))
    else:
        run(
            arguments.database_url, arguments.runs, arguments.cold_runs, arguments.renders, arguments.requests
        )


if __name__ == "__main__":
    main()
