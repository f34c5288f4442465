"""`make bench`: every benchmark on one database, then bench/RESULTS.md.

    .venv/bin/python -m bench [--database-url URL] [--scales 4 10] [--smoke] [--output DIR]

1. pages (bench.pages) at each scale, against the floor;
2. load (bench.load): the main pages under gunicorn against the floor app, on the largest scale's data;
3. documents (bench.documents): PDFs through the app against bare WeasyPrint, a worker's memory;
4. the annual run for 1,000 members (bench.annual_run), in a database of its own.

The default database is a SQLite file in a temporary folder. A PostgreSQL URL names a benchmark database
whose tables are dropped (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench_pages); it and
`<name>_runs` for the annual run are created when missing. The figures go to `<output>/<database>.json`
(default bench/results/) and bench/RESULTS.md is rewritten from every such file, so a SQLite run and a
PostgreSQL run end up side by side. `--smoke` runs each bench once at a tiny size in a few minutes at most
(CI: nothing asserted but that each runs) and writes to a temporary folder unless --output is given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import sqlalchemy as sa

BENCH_DIR = Path(__file__).resolve().parent
FULL = dict(scales=[4.0, 10.0], runs=8, load_seconds=4.0, concurrency=8, doc_runs=8, cold_runs=2,
            renders=150, requests=1000, members=1000)  # fmt: skip
SMOKE = dict(scales=[0.05, 0.1], runs=1, load_seconds=0.5, concurrency=2, doc_runs=1, cold_runs=1,
             renders=12, requests=12, members=12)  # fmt: skip


def ensure_postgres_database(url: str) -> None:
    """Create the PostgreSQL database `url` names unless it exists (asked through the bench database)."""
    target = sa.make_url(url)
    for candidate in (target, target.set(database="template1")):
        engine = sa.create_engine(candidate, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                exists = connection.scalar(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
                )
                if not exists:
                    connection.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
                return
        except sa.exc.OperationalError:
            continue
        finally:
            engine.dispose()
    raise SystemExit(f"Cannot reach or create {target.render_as_string(hide_password=True)}")


def machine(database_url: str) -> dict:
    """What the figures were measured on."""
    import sqlite3

    import gunicorn
    import weasyprint

    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    database_version = sqlite3.sqlite_version
    if database_url.startswith("postgresql"):
        engine = sa.create_engine(database_url)
        with engine.connect() as connection:
            database_version = connection.scalar(sa.text("SHOW server_version"))
        engine.dispose()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 2**20, 1),
        "python": platform.python_version(),
        "flask": metadata.version("flask"),
        "sqlalchemy": sa.__version__,
        "weasyprint": weasyprint.__version__,
        "gunicorn": gunicorn.__version__,
        "database_version": database_version,
    }


def load_average() -> list[float]:
    return [round(value, 1) for value in os.getloadavg()]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", help="a benchmark database (its tables are dropped); default SQLite"
    )
    parser.add_argument("--scales", type=float, nargs="+", help="data sizes (default 4 10)")
    parser.add_argument("--smoke", action="store_true", help="each bench once, tiny sizes (CI)")
    parser.add_argument("--output", type=Path, help="folder for the JSON figures (default bench/results)")
    arguments = parser.parse_args(argv)
    settings = dict(SMOKE if arguments.smoke else FULL)
    if arguments.scales:
        settings["scales"] = arguments.scales

    from bench import documents, load, pages
    from bench.report import write_results
    from bench.seed import describe

    started = time.perf_counter()
    output = arguments.output or (Path(tempfile.mkdtemp(prefix="bench-smoke-")) if arguments.smoke else None)
    output = output or BENCH_DIR / "results"
    output.mkdir(parents=True, exist_ok=True)
    report_path = BENCH_DIR / "RESULTS.md" if output == BENCH_DIR / "results" else output / "RESULTS.md"
    with tempfile.TemporaryDirectory(prefix="bench-") as directory:
        url = arguments.database_url or f"sqlite:///{Path(directory) / 'bench.sqlite'}"
        runs_url = None
        if url.startswith("postgresql"):
            runs_url = sa.make_url(url)
            runs_url = runs_url.set(database=f"{runs_url.database}_runs").render_as_string(
                hide_password=False
            )
            ensure_postgres_database(url)
            ensure_postgres_database(runs_url)
        figures = {
            "database": pages.database_label(url),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(url),
            "settings": settings,
            "smoke": arguments.smoke,
            "load_average": {"start": load_average()},
        }
        path = output / f"{figures['database'].lower()}.json"

        def save(part: str) -> None:
            # After every part, so that an interrupted run still reports what it measured.
            figures["load_average"][f"after {part}"] = figures["load_average"]["end"] = load_average()
            figures["seconds"] = time.perf_counter() - started
            path.write_text(json.dumps(figures, indent=1, default=str))
            write_results(output, report_path)

        figures["pages"] = pages.run(url, settings["scales"], settings["runs"])
        save("pages")
        app = pages.bench_app(url, outbox=directory)
        with app.app_context():
            from app.extensions import db

            data = describe(db.session.connection())
            db.session.remove()
            db.engine.dispose()
        figures["load"] = load.run(
            url, data, settings["load_seconds"], settings["concurrency"], 2, load.LOADED_PAGES
        )
        save("load")
        figures["documents"] = documents.run(
            url, settings["doc_runs"], settings["cold_runs"], settings["renders"], settings["requests"]
        )
        save("documents")
        # In a process of its own: its peak resident memory must not include the pages' and documents'.
        run_json = Path(directory) / "annual_run.json"
        command = [sys.executable, "-m", "bench.annual_run", "--members", str(settings["members"])]
        command += ["--concurrent-issues", "16"]
        command += ["--json", str(run_json)] + (["--database-url", runs_url] if runs_url else [])
        subprocess.run(command, check=True, cwd=BENCH_DIR.parent)
        figures["annual_run"] = json.loads(run_json.read_text())
        save("annual run")
        if arguments.smoke:  # the donor import at a tiny size, on a throwaway SQLite file or `<name>_imports`
            from bench import donors_import

            imports_url = None
            if runs_url:
                imports_url = sa.make_url(url).set(database=f"{sa.make_url(url).database}_imports")
                imports_url = imports_url.render_as_string(hide_password=False)
                ensure_postgres_database(imports_url)
            figures["donors_import"] = donors_import.run(imports_url, contacts=2000, rows=200).__dict__
            save("donors import")
    print(
        f"\nAll benchmarks in {figures['seconds'] / 60:.1f} min; figures in {path}, report in {report_path}"
    )


if __name__ == "__main__":
    main()
