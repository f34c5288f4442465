"""Time every main page through the WSGI app, at two data sizes, against the floor timed in the same run.

    .venv/bin/python -m bench.pages [--database-url URL] [--scales 4 10] [--runs 15] [--page TEXT ...]

For each scale the database is recreated and filled by `bench.seed` (the tables of URL are dropped: give a
benchmark database, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench_pages; the default is a SQLite
file in a temporary folder). A Flask test client signed in as each role requests every page once to warm up,
then up to --runs times (at least three, then until PAGE_TIME_BUDGET seconds), each request followed by one
of the floor (bench.floor), so that a busy moment on the machine weighs on both alike. Reported per page:
median and p95 (ms), SQL queries per request, the median's ratio to the floor's and its growth from the
smaller scale to the larger; for exports the rows a second and the peak Python memory of a request; for
searches the query plan of their statements (EXPLAIN / EXPLAIN QUERY PLAN). Nothing fails because a page is
slow: the figures are for RESULTS.md and the targets of issue 12.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import tempfile
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from pathlib import Path

import sqlalchemy as sa

#: Stop repeating a page once this many seconds were spent on it (after at least three timed requests).
PAGE_TIME_BUDGET = 3.0
#: Statements that open or close transactions are not counted as queries.
TRANSACTION_STATEMENTS = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")

# --- The pages ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    label: str
    url: str
    #: list, detail, report, search or export: which target of issue 12 applies.
    kind: str
    role: str = "operations"


def pages_for(data) -> list[Page]:
    """Every main page, with ids from the seeded data set (bench.seed.DataSet)."""
    current = data.fiscal_years[-1]
    member = data.busy_member_id
    return [
        Page("home dashboard", "/", "report"),
        Page("contributions overview", "/contributions/", "report"),
        Page("members", "/contributions/members/", "list"),
        Page("members, page 5", "/contributions/members/?page=5", "list"),
        Page("members, filter", "/contributions/members/?kind=national&income_group=low&status=active",
             "list"),
        Page("members, search", "/contributions/members/?q=City+of+F", "search"),
        Page("member (many invoices)", f"/contributions/members/{member}", "detail"),
        Page("members CSV", "/contributions/members/?format=csv", "export"),
        Page("invoices", "/contributions/invoices/", "list"),
        Page("invoices, page 300", "/contributions/invoices/?page=300", "list"),
        Page("invoices, status", "/contributions/invoices/?status=issued", "list"),
        Page("invoices, overdue", "/contributions/invoices/?overdue=y", "list"),
        Page("invoices, hub", f"/contributions/invoices/?hub={data.brussels_id}", "list"),
        Page("invoices, FY", f"/contributions/invoices/?fiscal_year={current - 1}", "list"),
        Page("invoices, number search", f"/contributions/invoices/?q={data.invoice_number}", "search"),
        Page("invoices, member search", "/contributions/invoices/?q=City+of+F", "search"),
        Page("invoices CSV", "/contributions/invoices/export.csv", "export"),
        Page("invoice", f"/contributions/invoices/{data.invoice_id}", "detail"),
        Page("draft invoice", f"/contributions/invoices/{data.draft_invoice_id}", "detail"),
        Page("payments", "/contributions/payments/", "list"),
        Page("payments, page 300", "/contributions/payments/?page=300", "list"),
        Page("payments, search", "/contributions/payments/?q=City+of+F", "search"),
        Page("payments CSV", "/contributions/payments/?format=csv", "export"),
        Page("payment", f"/contributions/payments/{data.payment_id}", "detail"),
        Page("ageing", "/contributions/reports/ageing", "report"),
        Page("ageing, over 90 days", "/contributions/reports/ageing?bucket=over_90", "report"),
        Page("ageing CSV", "/contributions/reports/ageing?format=csv", "export"),
        Page("arrears", "/contributions/reports/arrears", "report"),
        Page("arrears, flagged", "/contributions/reports/arrears?flagged=y", "report"),
        Page("arrears CSV", "/contributions/reports/arrears?format=csv", "export"),
        Page("arrears XLSX", "/contributions/reports/arrears?format=xlsx", "export"),
        Page("statement", f"/contributions/members/{member}/statement", "report"),
        Page("income groups", "/contributions/income-groups/", "list"),
        Page("messages", "/contributions/messages/", "list"),
        Page("runs", "/contributions/runs/", "list"),
        Page("run preview, next year", f"/contributions/runs/{current + 1}/preview", "report"),
        Page("run preview CSV", f"/contributions/runs/{current + 1}/preview?format=csv", "export"),
        Page("run", "/contributions/runs/1", "detail"),
        Page("online payments", "/contributions/online-payments/", "list"),
        Page("policies", "/contributions/policy/", "list"),
        Page("hubs", "/hubs/", "list"),
        Page("hub", f"/hubs/{data.brussels_id}", "detail"),
        Page("donors", "/donors/", "list", role="fundraising"),
        Page("pipeline", "/pipeline/", "report", role="board"),
        Page("board dashboard", "/pipeline/board", "report", role="board"),
        Page("plan", "/pipeline/plan", "report", role="board"),
        Page("plan rates", "/pipeline/plan/rates", "list"),
        Page("audit log", "/admin/audit", "list", role="admin"),
        Page("audit log, page 500", "/admin/audit?page=500", "list", role="admin"),
        Page("audit log, type", "/admin/audit?record_type=Invoice", "list", role="admin"),
        Page("audit log, text", "/admin/audit?q=Payment+123", "search", role="admin"),
        *donors_pages(data),
    ]  # fmt: skip


def donors_pages(data) -> list[Page]:
    """The donors and pipeline pages (bench.seed's donors and opportunities data)."""
    organisation = data.big_organisation_id
    return [
        Page("donors landing", "/donors/", "report", role="fundraising"),
        Page("organisations", "/donors/organisations/", "list", role="fundraising"),
        Page("organisations, page 200", "/donors/organisations/?page=200", "list", role="fundraising"),
        Page("organisations, filter",
             "/donors/organisations/?kind=private_foundation&status=active&country=BR",
             "list", role="fundraising"),
        Page("organisations, theme", "/donors/organisations/?theme=3", "list", role="fundraising"),
        Page("organisations, name search", "/donors/organisations/?q=Fundaci%C3%B3n+Ribeiro", "search",
             role="fundraising"),
        Page("organisations, contact search", "/donors/organisations/?q=Ingrid+Okafor", "search",
             role="fundraising"),
        Page("organisations, e-mail search", "/donors/organisations/?q=maria.nunez.4", "search",
             role="fundraising"),
        Page("organisations, sao paulo", "/donors/organisations/?q=sao+paulo", "search", role="fundraising"),
        Page("organisation (biggest)", f"/donors/organisations/{organisation}", "detail", role="fundraising"),
        Page("organisation letters", f"/donors/organisations/{organisation}/letters", "detail",
             role="fundraising"),
        Page("contact", f"/donors/contacts/{data.contact_id}", "detail", role="fundraising"),
        Page("contact who moved", f"/donors/contacts/{data.moved_contact_id}", "detail", role="fundraising"),
        Page("connectors", "/donors/connectors/", "list", role="fundraising"),
        Page("connector (busiest)", f"/donors/connectors/{data.busy_connector_id}", "detail",
             role="fundraising"),
        Page("my next steps", "/donors/next-steps", "list", role="fundraising"),
        Page("gifts", "/donors/gifts/", "list", role="fundraising"),
        Page("gifts, to thank for", "/donors/gifts/?status=to_be_acknowledged", "list", role="fundraising"),
        Page("gift", f"/donors/gifts/{data.gift_id}", "detail", role="fundraising"),
        Page("organisations CSV", "/donors/organisations/?format=csv&country=BR", "export",
             role="fundraising"),
        Page("pipeline board", "/pipeline/", "report", role="fundraising"),
        Page("opportunities", "/pipeline/opportunities", "list", role="fundraising"),
        Page("opportunities, page 50", "/pipeline/opportunities?page=50", "list", role="fundraising"),
        Page("opportunities, stage", "/pipeline/opportunities?stage=proposal", "list", role="fundraising"),
        Page("opportunities, owner", f"/pipeline/opportunities?owner={data.fundraising_id}", "list",
             role="fundraising"),
        Page("opportunity", f"/pipeline/opportunities/{data.opportunity_id}", "detail", role="fundraising"),
        Page("pledges", "/pipeline/pledges", "list", role="fundraising"),
        Page("pledge", f"/pipeline/pledges/{data.pledge_id}", "detail", role="fundraising"),
        Page("deadlines", "/pipeline/deadlines", "list", role="fundraising"),
    ]  # fmt: skip


def role_user_ids(data) -> dict[str, int]:
    return {
        "operations": data.operations_id,
        "admin": data.admin_id,
        "board": data.board_id,
        "fundraising": 4,
    }


# --- Counting and timing -----------------------------------------------------------------------------------


class QueryRecorder:
    """Counts the SQL statements an engine runs (transaction statements left out); keeps them if asked."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.count = 0
        self.keep = False
        self.statements: list[tuple[str, object]] = []

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(TRANSACTION_STATEMENTS):
            self.count += 1
            if self.keep:
                self.statements.append((statement, parameters))


def signed_in_clients(app, user_ids: dict[str, int]) -> dict:
    clients = {}
    for role, user_id in user_ids.items():
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = str(user_id)
            session["_fresh"] = True
        clients[role] = client
    return clients


def fetch(client, url: str, keep_body: bool = False) -> tuple[int, int, bytes]:
    """One GET, read to the end (exports stream); returns (status, bytes read, body if asked)."""
    response = client.get(url, buffered=False)
    size, chunks = 0, []
    try:
        for chunk in response.iter_encoded():
            size += len(chunk)
            if keep_body:
                chunks.append(chunk)
    finally:
        response.close()
    return response.status_code, size, b"".join(chunks)


def export_rows(url: str, body: bytes) -> int:
    """Data rows in an exported file (the header row left out)."""
    if "xlsx" in url:
        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(body), read_only=True)
        rows = sum(max(sum(1 for _ in sheet.iter_rows()) - 1, 0) for sheet in workbook.worksheets)
        workbook.close()
        return rows
    return max(sum(1 for _ in csv.reader(io.StringIO(body.decode("utf-8-sig")))) - 1, 0)


@dataclass
class Result:
    label: str
    url: str
    kind: str
    status: int
    timings_ms: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    floor_ms: list[float] = field(default_factory=list)
    rows: int | None = None
    peak_mb: float | None = None
    plans: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.timings_ms) if self.timings_ms else float("nan")

    @property
    def p95(self) -> float:
        ordered = sorted(self.timings_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else float("nan")

    @property
    def query_count(self) -> str:
        if not self.queries:
            return "-"
        low, high = min(self.queries), max(self.queries)
        return str(low) if low == high else f"{low}-{high}"

    @property
    def rows_per_second(self) -> float | None:
        return None if self.rows is None or not self.timings_ms else self.rows / (self.median / 1000)


def time_floor(floor_client) -> float:
    started = time.perf_counter()
    status, _, _ = fetch(floor_client, "/floor?category=7")
    assert status == 200
    return (time.perf_counter() - started) * 1000


def measure(clients: dict, floor_client, recorder: QueryRecorder, page: Page, runs: int) -> Result:
    client = clients[page.role]
    status, _, body = fetch(client, page.url, keep_body=page.kind == "export")  # warm-up
    result = Result(page.label, page.url, page.kind, status)
    if status != 200:
        return result
    if page.kind == "export":
        result.rows = export_rows(page.url, body)
    spent = 0.0
    while len(result.timings_ms) < runs and (len(result.timings_ms) < 3 or spent < PAGE_TIME_BUDGET):
        before = recorder.count
        started = time.perf_counter()
        fetch(client, page.url)
        elapsed = time.perf_counter() - started
        result.queries.append(recorder.count - before)
        result.timings_ms.append(elapsed * 1000)
        result.floor_ms.append(time_floor(floor_client))
        spent += elapsed
    if page.kind == "export":
        tracemalloc.start()
        fetch(client, page.url)
        result.peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    if page.kind == "search":
        result.plans = search_plans(client, recorder, page.url)
    return result


def search_plans(client, recorder: QueryRecorder, url: str) -> list[str]:
    """The query plans of a search request's statements that filter on text (LIKE, trigram, full text)."""
    recorder.statements.clear()
    recorder.keep = True
    try:
        fetch(client, url)
    finally:
        recorder.keep = False
    markers = ("LIKE", "MATCH", "%>", "<%", "SIMILARITY", "@@")
    plans = []
    with recorder.engine.connect() as connection:
        for statement, parameters in recorder.statements:
            if not any(marker in statement.upper() for marker in markers):
                continue
            explain = "EXPLAIN QUERY PLAN " if connection.dialect.name == "sqlite" else "EXPLAIN "
            rows = connection.exec_driver_sql(explain + statement, parameters).all()
            plan = "\n".join(" | ".join(str(value) for value in row) for row in rows)
            verdict = plan_verdict(plan)
            plans.append(f"{verdict}: {' '.join(statement.split())[:300]}\n{plan}")
    return plans


#: What a plan line says when a whole table is read (PostgreSQL, SQLite) rather than an index.
FULL_SCAN_MARKERS = ("Seq Scan on ", "SCAN ")
INDEX_MARKERS = ("Index Scan", "Index Only Scan", "Bitmap Index Scan", "USING INDEX", "USING COVERING INDEX",
                 "VIRTUAL TABLE INDEX", "USING INTEGER PRIMARY KEY", "USING ROWID")  # fmt: skip


def plan_verdict(plan: str) -> str:
    """'index' when every table in the plan is read through an index, else 'FULL SCAN of ...' naming them.
    (SQLite's "SCAN x USING INDEX" walks an index in its order, which counts as using it; the floor's own
    small tables and subquery scans are not tables.)"""
    scanned = []
    for line in plan.splitlines():
        text = line.split(" | ")[-1].strip().lstrip("->").strip()
        if any(marker in text for marker in INDEX_MARKERS):
            continue
        for marker in FULL_SCAN_MARKERS:
            if text.startswith(marker) or f" {marker}" in text:
                name = text.split(marker, 1)[1].split()[0] if text.split(marker, 1)[1].split() else "?"
                if not name.startswith(("anon_", "names", "(subquery")) and "CO-ROUTINE" not in text:
                    scanned.append(name)
    return "index" if not scanned else "FULL SCAN of " + ", ".join(dict.fromkeys(scanned))


# --- One database, one scale -------------------------------------------------------------------------------


def bench_app(url: str, outbox: str):
    """The app as production runs it (no TESTING, no debug), on `url`, CSRF off for the test client."""
    from app import create_app
    from config import Config

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = url
        WTF_CSRF_ENABLED = False
        TRIBUTARY_OUTBOX = outbox

    return create_app(BenchConfig)


def reseed(app, scale: float):
    """Recreate the app's tables and fill them at `scale`; returns the data set."""
    from app.extensions import db
    from bench.floor import prepare_floor
    from bench.seed import analyze, seed

    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.create_all()
        with db.engine.begin() as connection:
            data = seed(connection, scale)
        prepare_floor(db.engine)
        analyze(db.engine)
        return data


def described(app):
    """The data set of a database that bench.seed filled earlier (--reuse), read back."""
    from app.extensions import db
    from bench.floor import prepare_floor
    from bench.seed import describe

    with app.app_context():
        data = describe(db.session.connection())
        db.session.rollback()
        prepare_floor(db.engine)
    return data


def run_scale(
    url: str, scale: float, runs: int, only: list[str] | None, outbox: str, reuse: bool = False
) -> dict:
    """Seed at one scale and time every page; returns {"data": ..., "floor_ms": ..., "results": [...]}."""
    from app.extensions import db
    from bench.floor import create_floor_app

    app = bench_app(url, outbox)
    data = described(app) if reuse else reseed(app, scale)
    print(f"\n{database_label(url)}, {data.summary()}", flush=True)
    floor_app = create_floor_app(url)
    floor_client = floor_app.test_client()
    for _ in range(20):
        time_floor(floor_client)
    clients = signed_in_clients(app, role_user_ids(data))
    with app.app_context():
        engine = db.engine
    results = []
    print(HEADER, flush=True)
    with QueryRecorder(engine) as recorder:
        for page in pages_for(data):
            if only and not any(text in page.label for text in only):
                continue
            result = measure(clients, floor_client, recorder, page, runs)
            results.append(result)
            print(table_row(result), flush=True)
            for plan in result.plans:
                print("    plan: " + plan.replace("\n", "\n          "), flush=True)
    floor = [value for result in results for value in result.floor_ms]
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    floor_app.extensions["bench_floor_engine"].dispose()
    return {
        "scale": scale,
        "summary": data.summary(),
        "rows": data.rows,
        "skipped": data.skipped,
        "floor_ms": statistics.median(floor) if floor else float("nan"),
        "results": [asdict(result) | {"median": result.median, "p95": result.p95} for result in results],
    }


HEADER = (
    f"{'page':<32}{'status':>7}{'n':>4}{'median ms':>11}{'p95 ms':>9}{'queries':>9}{'× floor':>9}"
    f"{'rows/s':>10}{'peak MB':>9}"
)


def table_row(result: Result) -> str:
    if not result.timings_ms:
        return f"{result.label:<32}{result.status:>7}   failed: {result.url}"
    floor = statistics.median(result.floor_ms)
    rows = f"{result.rows_per_second:,.0f}" if result.rows_per_second is not None else ""
    peak = f"{result.peak_mb:.1f}" if result.peak_mb is not None else ""
    return (
        f"{result.label:<32}{result.status:>7}{len(result.timings_ms):>4}{result.median:>11.1f}"
        f"{result.p95:>9.1f}{result.query_count:>9}{result.median / floor:>9.1f}{rows:>10}{peak:>9}"
    )


def database_label(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


def run(
    url: str | None, scales: list[float], runs: int, only: list[str] | None = None, reuse: bool = False
) -> dict:
    """Time the pages at each scale; returns the figures (as JSON-ready dicts) with the growth of each."""
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as directory:
        database = url or f"sqlite:///{Path(directory) / 'bench.sqlite'}"
        sizes = [run_scale(database, scale, runs, only, directory, reuse) for scale in scales]
    figures = {"database": database_label(database), "sizes": sizes}
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        small_by_label = {result["label"]: result for result in small["results"]}
        print(
            f"\nGrowth from scale {small['scale']:g} to {large['scale']:g}: medians, and ratios to each floor"
        )
        growth = {}
        for result in large["results"]:
            before = small_by_label.get(result["label"])
            if before and before["timings_ms"] and result["timings_ms"]:
                raw = result["median"] / before["median"]
                relative = (result["median"] / large["floor_ms"]) / (before["median"] / small["floor_ms"])
                growth[result["label"]] = {"median": raw, "floor_ratio": relative}
                print(f"  {result['label']:<32}{raw:>6.2f}×{relative:>8.2f}×")
        figures["growth"] = growth
    return figures


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", help="a benchmark database (its tables are dropped); default SQLite"
    )
    parser.add_argument("--scales", type=float, nargs="+", default=[4, 10])
    parser.add_argument(
        "--runs", type=int, default=15, help="timed requests per page at most (after a warm-up)"
    )
    parser.add_argument("--page", action="append", help="only pages whose label contains this (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the database as bench.seed filled it earlier (one scale, nothing dropped)",
    )
    arguments = parser.parse_args(argv)
    figures = run(arguments.database_url, arguments.scales, arguments.runs, arguments.page, arguments.reuse)
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=1, default=str))


if __name__ == "__main__":
    main()
