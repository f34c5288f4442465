"""Time the annual run: a thousand members invoiced by the resumable run, as the CLI does it.

    .venv/bin/python -m bench.annual_run [--database-url URL] [--members 1000] [--batch-size 50]
                                         [--tracemalloc]

Builds its data in the database given (its tables are dropped before and after: give a benchmark database,
e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench_runs; the default is a throwaway SQLite file) with
two hubs (Washington DC in USD, Brussels in EUR), a policy, and `--members` members:
about 200 national governments (one per country) and local governments for the rest, a few with problems, a
few waived and a few adjusted. Then it times the preview and the run, and prints the total time, invoices per
second, peak memory (the process's maximum resident set; with --tracemalloc also Python's own peak, which
slows the run down) and the queries per invoice. It checks that every planned member got exactly one invoice
and that the numbers have no gap.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
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
    queries: int
    peak_rss_mb: float
    python_peak_mb: float | None
    gap_free: bool

    def report(self) -> str:
        per_second = self.issued / self.run_seconds if self.run_seconds else 0
        lines = [
            f"{self.database}: {self.members:,} members, {self.planned:,} to invoice, {self.issued:,} issued",
            f"  preview: {self.preview_seconds:.2f} s, {self.preview_queries} queries",
            f"  run: {self.run_seconds:.1f} s total, {per_second:.1f} invoices/s, "
            f"{1000 * self.run_seconds / max(self.issued, 1):.0f} ms per invoice "
            f"({1000 * self.cpu_seconds / max(self.issued, 1):.0f} ms of this process's CPU per invoice)",
            f"  queries: {self.queries:,} in all, {self.queries / max(self.issued, 1):.1f} per invoice",
            f"  peak memory: {self.peak_rss_mb:.0f} MB resident"
            + (f", {self.python_peak_mb:.0f} MB Python heap (tracemalloc)" if self.python_peak_mb else ""),
            f"  one invoice per member, numbers without gaps: {'yes' if self.gap_free else 'NO'}",
        ]
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


def run_benchmark(url: str, label: str, members: int, batch_size: int, with_tracemalloc: bool) -> Figures:
    import sqlalchemy as sa

    from app import create_app
    from app.auth.models import User
    from app.common.audit import acting_as
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
                started, cpu_started = time.perf_counter(), time.process_time()
                run, _ = annual_run.start_run(FISCAL_YEAR, operator, preview)
                db.session.commit()
                results = annual_run.run_to_completion(run.id, operator, batch_size)
                run_seconds = time.perf_counter() - started
                cpu_seconds = time.process_time() - cpu_started
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
            planned = len(preview.to_invoice)
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
                queries=statements[0],
                peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                python_peak_mb=python_peak,
                gap_free=gap_free,
            )
        finally:
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def run(
    database_url: str | None, members: int, batch_size: int = 50, with_tracemalloc: bool = False
) -> Figures:
    """Time the run on `database_url` (default: a throwaway SQLite file) and print the figures."""
    from app.common.pdf import harfbuzz_subsetting_available

    print(f"HarfBuzz font subsetting: {'yes' if harfbuzz_subsetting_available() else 'no (slower PDFs)'}")
    with tempfile.TemporaryDirectory(prefix="bench-annual-run-") as directory:
        url = database_url or f"sqlite:///{Path(directory) / 'bench.sqlite'}"
        label = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        figures = run_benchmark(url, label, members, batch_size, with_tracemalloc)
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
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    arguments = parser.parse_args(argv)
    figures = run(arguments.database_url, arguments.members, arguments.batch_size, arguments.tracemalloc)
    if arguments.json:
        arguments.json.write_text(json.dumps(figures.__dict__ | {"report": figures.report()}))


if __name__ == "__main__":
    main()
