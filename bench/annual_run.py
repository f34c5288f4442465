"""Time the annual run: a thousand members invoiced by the resumable run, as the CLI does it.

    .venv/bin/python -m bench.annual_run [--database-url URL] [--members 1000] [--batch-size 50]
                                         [--workers N] [--tracemalloc] [--concurrent-issues 16]

Builds its data in the database given (its tables are dropped before and after: give a benchmark database,
e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench_runs; the default is a throwaway SQLite file) with
two hubs (Washington DC in USD, Brussels in EUR), a policy, and `--members` members:
about 200 national governments (one per country) and local governments for the rest, a few with problems, a
few waived and a few adjusted. Then it times the preview and the run, and prints the total time, invoices per
second, peak memory (the process's maximum resident set; with --tracemalloc also Python's own peak, which
slows the run down) and the queries per invoice. It checks that every planned member got exactly one invoice,
that the numbers have no gap and that every invoice has its PDF.

The PDFs render in `--workers` worker processes (default: one per core; 0 renders in this process, as a web
request does). CPU is reported for this process and for the workers (their own CPU, counted once they exit),
and memory as the sum over this process and its workers, sampled every 0.2 s: resident (RSS, which counts
pages the workers share with the fork server more than once) and proportional (PSS, shared pages split).

`--concurrent-issues N` then times N people issuing one invoice each at the same moment, as the issue
view does it (issue and commit, then render and store the PDF), served by 2 x cores + 1 worker processes
one at a time each, as gunicorn's sync workers would, each warmed by one invoice it issued before (a cold
worker spends about 300 ms more on its first): the median and the slowest wait, queueing included, and the
CPU per request; alternated twice with the same with the number's row lock held while the PDF renders (the
old way), for comparison in the same minute. On SQLite
(in WAL mode, as `flask db upgrade` leaves it) writers queue for the one write lock (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import threading
import time
import tracemalloc
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

FISCAL_YEAR = 2027


@dataclass
class Figures:
    database: str
    members: int
    planned: int
    issued: int
    preview_seconds: float
    preview_queries: int
    run_seconds: float
    cpu_seconds: float
    worker_cpu_seconds: float
    workers: int
    queries: int
    peak_rss_mb: float
    python_peak_mb: float | None
    gap_free: bool
    peak_total_rss_mb: float = 0.0
    peak_total_pss_mb: float = 0.0
    all_pdfs: bool = True
    concurrent: dict | None = None

    def report(self) -> str:
        per_second = self.issued / self.run_seconds if self.run_seconds else 0
        lines = [
            f"{self.database}: {self.members:,} members, {self.planned:,} to invoice, {self.issued:,} issued",
            f"  preview: {self.preview_seconds:.2f} s, {self.preview_queries} queries",
            f"  run: {self.run_seconds:.1f} s total, {per_second:.1f} invoices/s, "
            f"{1000 * self.run_seconds / max(self.issued, 1):.0f} ms per invoice "
            f"({1000 * self.cpu_seconds / max(self.issued, 1):.0f} ms of this process's CPU per invoice, "
            f"{1000 * self.worker_cpu_seconds / max(self.issued, 1):.0f} ms of its "
            f"{self.workers} PDF workers'; "
            f"{1000 * (self.cpu_seconds + self.worker_cpu_seconds) / max(self.issued, 1):.0f} ms in all)",
            f"  queries: {self.queries:,} in all, {self.queries / max(self.issued, 1):.1f} per invoice",
            f"  peak memory: {self.peak_rss_mb:.0f} MB resident in this process"
            + (f", {self.python_peak_mb:.0f} MB Python heap (tracemalloc)" if self.python_peak_mb else "")
            + f"; with its workers {self.peak_total_rss_mb:.0f} MB RSS, {self.peak_total_pss_mb:.0f} MB PSS",
            f"  one invoice per member, numbers without gaps: {'yes' if self.gap_free else 'NO'}; "
            f"every PDF stored: {'yes' if self.all_pdfs else 'NO'}",
        ]
        if self.concurrent:
            figures = self.concurrent
            line = (
                f"  {figures['people']} people issuing one invoice each at once ({figures['processes']} "
                f"worker processes, warm): p50 {figures['p50_ms']:.0f} ms, slowest "
                f"{figures['max_ms']:.0f} ms, {figures.get('cpu_ms', 0):.0f} ms of a worker's CPU per request"
            )
            if "lock_held_p50_ms" in figures:
                line += (
                    f"; with the number locked while the PDF renders (as before): p50 "
                    f"{figures['lock_held_p50_ms']:.0f} ms, slowest {figures['lock_held_max_ms']:.0f} ms, "
                    f"{figures.get('lock_held_cpu_ms', 0):.0f} ms CPU"
                )
            lines.append(line)
        return "\n".join(lines)


def build_membership(count: int) -> None:
    """Hubs, a FY2027 policy in USD, an operator, and `count` members with a few problems, waivers and
    adjustments."""
    import pycountry
    import sqlalchemy as sa

    from app.auth.models import User
    from app.auth.permissions import Role
    from app.contributions.models import (
        AdjustmentKind,
        ContributionAdjustment,
        ContributionPolicy,
        IncomeGroup,
        Language,
        Member,
        MemberContact,
        MemberIncomeGroup,
        MemberKind,
        PolicyExchangeRate,
    )
    from app.extensions import db
    from app.hubs.models import Hub
    from app.hubs.seed import seed_demo as seed_demo_hubs

    # The demo hubs: the same validated legal entities that `flask seed-demo` creates.
    seed_demo_hubs()
    headquarters = db.session.scalar(sa.select(Hub).where(Hub.invoice_prefix == "HQ"))
    brussels = db.session.scalar(sa.select(Hub).where(Hub.invoice_prefix == "BE"))
    db.session.add_all(
        [
            User(
                email="bench@example.org",
                full_name="Bench Operator",
                role=Role.OPERATIONS,
                password_hash="not-a-login",
            ),
            ContributionPolicy(
                fiscal_year=FISCAL_YEAR,
                currency="USD",
                high_amount=Decimal("50000.00"),
                upper_middle_amount=Decimal("25000.00"),
                lower_middle_amount=Decimal("10000.00"),
                low_amount=Decimal("5000.00"),
                local_amount=Decimal("2500.00"),
                # The Brussels hub invoices in EUR at the year's budget rate.
                exchange_rates=[PolicyExchangeRate(currency="EUR", rate=Decimal("0.92"))],
            ),
        ]
    )
    countries = sorted(country.alpha_2 for country in pycountry.countries)
    groups = list(IncomeGroup)
    languages = list(Language)
    members = []
    for index in range(count):
        national = index < min(200, count)
        country = countries[index % len(countries)]
        member = Member(
            kind=MemberKind.NATIONAL if national else MemberKind.LOCAL,
            name=f"Republic {country}" if national else f"City {index:04d}",
            country_code=country,
            language=languages[index % 3],
            hub=brussels if index % 3 == 0 else headquarters,
            billing_address=f"Ministry of Finance\n{index} Main Street\nCapital",
        )
        if index % 97 != 5:  # about one in a hundred has no billing contact: a problem
            member.contacts.append(
                MemberContact(name=f"Contact {index}", email=f"finance{index}@gov.example", is_primary=True)
            )
        if national and index % 50 != 7:  # a few national members lack this year's income group
            member.income_groups.append(
                MemberIncomeGroup(fiscal_year=FISCAL_YEAR, income_group=groups[index % len(groups)])
            )
        members.append(member)
    db.session.add_all(members)
    db.session.flush()
    for index in range(3, count, 150):
        waiver = index % 300 == 3
        db.session.add(
            ContributionAdjustment(
                member=members[index],
                fiscal_year=FISCAL_YEAR,
                kind=AdjustmentKind.WAIVER if waiver else AdjustmentKind.AMOUNT,
                amount=None if waiver else Decimal("1200.00"),
                reason="Natural disaster" if waiver else "Currency crisis",
                approval_reference=f"SC-2026-{index:02d}",
            )
        )
    db.session.commit()


def _count_queries(engine):
    statements = [0]

    def count(*args):
        statements[0] += 1

    return statements, count


class MemorySampler:
    """The summed memory of this process and its children (the PDF workers, the fork server), every 0.2 s."""

    def __init__(self):
        self.peak_rss_mb = 0.0
        self.peak_pss_mb = 0.0
        self._cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _descendants(pid: int) -> list[int]:
        found = [pid]
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            found.extend(MemorySampler._descendants(int(child)))
        return found

    @staticmethod
    def _kb(pid: int, field: str) -> int:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        except OSError:
            pass  # a process that just exited
        return 0

    @staticmethod
    def _cpu_seconds(pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    @property
    def children_cpu_seconds(self) -> float:
        """CPU of the workers and the fork server (grandchildren: not in RUSAGE_CHILDREN), last seen."""
        return sum(self._cpu.values())

    def sample(self) -> None:
        pids = self._descendants(os.getpid())
        for pid in pids[1:]:
            self._cpu[pid] = max(self._cpu.get(pid, 0.0), self._cpu_seconds(pid))
        self.peak_rss_mb = max(self.peak_rss_mb, sum(self._kb(pid, "Rss") for pid in pids) / 1024)
        self.peak_pss_mb = max(self.peak_pss_mb, sum(self._kb(pid, "Pss") for pid in pids) / 1024)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.sample()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


_issuer = {}


def _start_issuer(url: str, operator_id: int) -> None:
    """In a worker process (a stand-in for a gunicorn sync worker): the app on the benchmark database and a
    client signed in as the operator."""
    from bench.pages import bench_app

    app = _issuer["app"] = bench_app(url, outbox=tempfile.mkdtemp(prefix="bench-outbox-"))
    client = _issuer["client"] = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(operator_id)
        session["_fresh"] = True
    from app.common.pdf import render_pdf

    render_pdf("<p>Warm</p>")  # a worker that has served before has its fonts loaded


def _ready(_=None) -> int:
    time.sleep(0.5)  # every worker process takes one of these, so that all are started before the clock
    return os.getpid()


def _warm_up(invoice_id: int, operator_id: int) -> int:
    """Issue one invoice through the view, as a worker that has served before (its templates compiled, its
    fonts and styles loaded: about 300 ms of CPU the first time). Sleeps first, so that each worker takes
    one."""
    time.sleep(0.5)
    _issue_one(invoice_id, operator_id, False)
    return os.getpid()


def _issue_one(invoice_id: int, operator_id: int, lock_while_rendering: bool) -> tuple[float, float]:
    """Press "Issue" on one draft (the issue view), or, with `lock_while_rendering`, issue it the old way:
    the PDF rendered and stored in the transaction that took the number. Returns when it was done and the CPU
    this worker spent on it."""
    cpu_started = time.process_time()
    if not lock_while_rendering:
        response = _issuer["client"].post(f"/contributions/invoices/{invoice_id}/issue")
        if response.status_code != 302:
            raise RuntimeError(f"issuing invoice #{invoice_id} answered {response.status_code}")
        return time.time(), time.process_time() - cpu_started
    from app.auth.models import User
    from app.common import sqlite
    from app.contributions.models import Invoice
    from app.contributions.services import invoicing
    from app.extensions import db

    with _issuer["app"].app_context():
        sqlite.begin_writing(db.session)  # as the issue view's POST does on SQLite
        invoice = db.session.get(Invoice, invoice_id)
        invoicing.issue_invoice(invoice, db.session.get(User, operator_id))
        invoicing.store_invoice_pdf(invoice)
        db.session.commit()
        db.session.remove()
    return time.time(), time.process_time() - cpu_started


def concurrent_issues(url: str, people: int, processes: int) -> dict:
    """`people` press "Issue" on one draft each at the same moment, served by `processes` worker processes
    one request at a time each (gunicorn's sync workers), each of which has issued an invoice before: the
    time each waits for the answer, queueing included, and the CPU each request costs. Timed as the app
    issues (the number committed before the PDF renders) and, for comparison on the same machine, with the
    number's row lock held while the PDF renders (as before), the two alternated twice; the figures pool
    both rounds of each."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import sqlalchemy as sa

    from app.auth.models import User
    from app.common import sqlite
    from app.contributions.models import InvoiceKind, Member
    from app.contributions.services import invoicing
    from app.extensions import db

    operator = db.session.scalar(sa.select(User).where(User.email == "bench@example.org"))
    members = list(db.session.scalars(sa.select(Member).order_by(Member.id).limit(people)))
    figures = {"people": len(members), "processes": processes}

    def drafts_for(some_members) -> list[int]:
        db.session.rollback()
        sqlite.begin_writing(db.session)  # the workers write too: take SQLite's write lock first
        made = [
            invoicing.create_draft_invoice(
                member, FISCAL_YEAR, [("Peer-learning workshop", Decimal("950.00"))], operator,
                kind=InvoiceKind.OTHER,
            ).id
            for member in some_members
        ]  # fmt: skip
        db.session.commit()
        return made

    context = multiprocessing.get_context("forkserver")
    pool = ProcessPoolExecutor(
        processes, mp_context=context, initializer=_start_issuer, initargs=(url, operator.id)
    )
    with pool:
        list(pool.map(_ready, range(processes)))
        warm = drafts_for(members[:processes])
        list(pool.map(_warm_up, warm, [operator.id] * len(warm)))
        rounds = [("", False), ("lock_held_", True)] * 2
        if db.engine.dialect.name == "sqlite":
            # The old way holds SQLite's one write lock while each PDF renders: sixteen in a row can outlast
            # the busy timeout, and the last ones fail with "database is locked" rather than wait.
            rounds = [("", False)] * 2
        waits: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}
        for label, lock_while_rendering in rounds:
            drafts = drafts_for(members)
            pool.submit(_ready).result()  # the pool is idle
            started = time.time()
            futures = [pool.submit(_issue_one, draft, operator.id, lock_while_rendering) for draft in drafts]
            for future in futures:
                done, spent = future.result()
                waits.setdefault(label, []).append(done - started)
                cpu.setdefault(label, []).append(spent)
        for label in waits:
            figures[f"{label}p50_ms"] = 1000 * statistics.median(waits[label])
            figures[f"{label}max_ms"] = 1000 * max(waits[label])
            figures[f"{label}cpu_ms"] = 1000 * statistics.mean(cpu[label])
    return figures


def run_benchmark(
    url: str,
    label: str,
    members: int,
    batch_size: int,
    with_tracemalloc: bool,
    workers: int | None = None,
    concurrent: int = 0,
) -> Figures:
    import sqlalchemy as sa

    from app import create_app
    from app.auth.models import User
    from app.common import sqlite
    from app.common.audit import acting_as
    from app.common.pdf import default_worker_count, pdf_workers
    from app.contributions.models import Invoice, InvoiceKind
    from app.contributions.services import annual_run, annual_run_preview
    from app.extensions import db
    from config import Config

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(BenchConfig)
    with app.app_context():
        db.drop_all()
        db.create_all()
        sqlite.use_wal(db.engine)  # as `flask db upgrade` leaves a SQLite database
        try:
            build_membership(members)
            operator = db.session.scalar(sa.select(User).where(User.email == "bench@example.org"))
            statements, count = _count_queries(db.engine)
            sa.event.listen(db.engine, "before_cursor_execute", count)
            with acting_as(operator):
                started = time.perf_counter()
                preview = annual_run_preview.build_preview(FISCAL_YEAR)
                preview_seconds = time.perf_counter() - started
                preview_queries = statements[0]
                if with_tracemalloc:
                    tracemalloc.start()
                statements[0] = 0
                workers = default_worker_count() if workers is None else workers
                started, cpu_started = time.perf_counter(), time.process_time()
                planned = len(preview.to_invoice)
                with MemorySampler() as memory, pdf_workers(workers) as renderer:
                    run, _ = annual_run.start_run(FISCAL_YEAR, operator, preview)
                    db.session.commit()
                    # As the CLI does: the preview's members, kept, would be expired again at each commit.
                    preview = None
                    results = annual_run.run_to_completion(run.id, operator, batch_size, renderer=renderer)
                    run_seconds = time.perf_counter() - started
                    cpu_seconds = time.process_time() - cpu_started
                    memory.sample()
                worker_cpu = memory.children_cpu_seconds  # sampled every 0.2 s: the last 0.2 s may be missed
            sa.event.remove(db.engine, "before_cursor_execute", count)
            python_peak = tracemalloc.get_traced_memory()[1] / 2**20 if with_tracemalloc else None
            if with_tracemalloc:
                tracemalloc.stop()
            if results[-1].error:
                raise SystemExit(f"The run stopped: {results[-1].error}")
            invoices = db.session.execute(
                sa.select(Invoice.member_id, Invoice.number).where(
                    Invoice.kind == InvoiceKind.ANNUAL_CONTRIBUTION, Invoice.fiscal_year == FISCAL_YEAR
                )
            ).all()
            without_pdf = db.session.scalar(
                sa.select(sa.func.count(Invoice.id)).where(
                    Invoice.annual_run_id == run.id, Invoice.pdf_sha256.is_(None)
                )
            )
            concurrent_figures = None
            if concurrent:
                concurrent_figures = concurrent_issues(url, concurrent, 2 * default_worker_count() + 1)
            by_prefix: dict[str, list[int]] = {}
            for _, number in invoices:
                prefix, _, sequence = number.split("-")
                by_prefix.setdefault(prefix, []).append(int(sequence))
            gap_free = (
                len(invoices) == planned
                and len({member_id for member_id, _ in invoices}) == planned
                and all(sorted(numbers) == list(range(1, len(numbers) + 1)) for numbers in by_prefix.values())
            )
            return Figures(
                database=label,
                members=members,
                planned=planned,
                issued=sum(len(result.issued) for result in results),
                preview_seconds=preview_seconds,
                preview_queries=preview_queries,
                run_seconds=run_seconds,
                cpu_seconds=cpu_seconds,
                worker_cpu_seconds=worker_cpu,
                workers=workers,
                queries=statements[0],
                peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                python_peak_mb=python_peak,
                gap_free=gap_free,
                peak_total_rss_mb=memory.peak_rss_mb,
                peak_total_pss_mb=memory.peak_pss_mb,
                all_pdfs=without_pdf == 0,
                concurrent=concurrent_figures,
            )
        finally:
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def run(
    database_url: str | None,
    members: int,
    batch_size: int = 50,
    with_tracemalloc: bool = False,
    workers: int | None = None,
    concurrent: int = 0,
) -> Figures:
    """Time the run on `database_url` (default: a throwaway SQLite file) and print the figures."""
    from app.common.pdf import harfbuzz_subsetting_available

    print(f"HarfBuzz font subsetting: {'yes' if harfbuzz_subsetting_available() else 'no (slower PDFs)'}")
    with tempfile.TemporaryDirectory(prefix="bench-annual-run-") as directory:
        url = database_url or f"sqlite:///{Path(directory) / 'bench.sqlite'}"
        label = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        figures = run_benchmark(url, label, members, batch_size, with_tracemalloc, workers, concurrent)
    print(figures.report(), flush=True)
    return figures


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", help="a benchmark database (its tables are dropped); default SQLite"
    )
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=50, help="members per step (the CLI's default)")
    parser.add_argument("--tracemalloc", action="store_true", help="also measure Python's heap (slower)")
    parser.add_argument("--workers", type=int, help="PDF worker processes (default: one per core; 0: none)")
    parser.add_argument(
        "--concurrent-issues", type=int, default=0, metavar="N", help="then time N people issuing at once"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    arguments = parser.parse_args(argv)
    figures = run(
        arguments.database_url,
        arguments.members,
        arguments.batch_size,
        arguments.tracemalloc,
        arguments.workers,
        arguments.concurrent_issues,
    )
    if arguments.json:
        arguments.json.write_text(json.dumps(figures.__dict__ | {"report": figures.report()}))


if __name__ == "__main__":
    main()
