"""The main pages under gunicorn on loopback, against the floor app under the same gunicorn settings.

    .venv/bin/python -m bench.load --database-url URL [--seconds 5] [--concurrency 8] [--workers 2]

Runs on a database that `flask bench seed` (or bench.pages) filled, without changing it. Two gunicorn
servers on 127.0.0.1 (the app, and bench.floor's app) with the same workers; a small load generator of
`--concurrency` threads, each sending one request after another for `--seconds` per page (a new connection
each, as gunicorn's sync workers close them), signed in with a session cookie made with the servers' secret
key. Reported per page: requests a second, latency percentiles (ms), errors (non-200 answers or failed
connections), and the ratios to the floor's figures.
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
#: The pages loaded (labels of bench.pages.pages_for): a list, a search, a detail, a report, the dashboard.
LOADED_PAGES = [
    "home dashboard",
    "members",
    "invoices",
    "invoices, status",
    "invoices, member search",
    "invoice",
    "member (many invoices)",
    "payments",
    "ageing",
    "arrears",
    "statement",
]


@dataclass
class LoadResult:
    label: str
    url: str
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list, repr=False)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]

    def figures(self) -> dict:
        return {
            "label": self.label,
            "url": self.url,
            "requests": self.requests,
            "errors": self.errors,
            "per_second": self.per_second,
            "p50": self.percentile(0.50),
            "p90": self.percentile(0.90),
            "p99": self.percentile(0.99),
        }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(port: int, path: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn stopped (exit {process.returncode}) before serving {path}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", path)
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing served {path} on port {port} within {timeout:.0f} s")


@contextmanager
def gunicorn(target: str, environment: dict, workers: int, probe: str = "/healthz"):
    """Serve a WSGI app with gunicorn on a free loopback port; yields (port, process)."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
        "--log-level", "warning", "--timeout", "120", target,
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPOSITORY, env=os.environ | environment)
    try:
        wait_until_serving(port, probe, process)
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def session_cookie(database_url: str, secret_key: str, user_id: int) -> str:
    """A signed-in session cookie for `user_id`, signed with the servers' secret key."""
    from bench.pages import bench_app

    app = bench_app(database_url, outbox=str(REPOSITORY / "instance"))
    app.config["SECRET_KEY"] = secret_key
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
    return f"session={client.get_cookie('session').value}"


def load(port: int, url: str, label: str, cookie: str, seconds: float, concurrency: int) -> LoadResult:
    """`concurrency` threads requesting `url` one after another for `seconds`."""
    result = LoadResult(label, url)
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker():
        latencies, errors = [], 0
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                connection.request("GET", url, headers={"Cookie": cookie})
                response = connection.getresponse()
                response.read()
                connection.close()
                if response.status != 200:
                    errors += 1
            except OSError:
                errors += 1
            latencies.append((time.perf_counter() - started) * 1000)
        with lock:
            result.latencies_ms.extend(latencies)
            result.requests += len(latencies)
            result.errors += errors

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


def run(database_url: str, data, seconds: float, concurrency: int, workers: int, pages: list[str]) -> dict:
    """Load each page, then the floor; returns the figures with each page's ratios to the floor."""
    from bench.floor import ensure_floor
    from bench.pages import pages_for, role_user_ids

    ensure_floor(database_url)
    secret_key = secrets.token_hex(16)
    environment = {
        "DATABASE_URL": database_url,
        "FLOOR_DATABASE_URL": database_url,
        "SECRET_KEY": secret_key,
        "FLASK_APP": "wsgi",
        "TRIBUTARY_ENV": "development",
    }
    chosen = [page for page in pages_for(data) if page.label in pages]
    cookies = {
        role: session_cookie(database_url, secret_key, user) for role, user in role_user_ids(data).items()
    }
    results = []
    with gunicorn("bench.floor:create_floor_app()", environment, workers, probe="/floor") as (port, _):
        load(port, "/floor", "floor (warm-up)", "", 1.0, concurrency)
        floor = load(port, "/floor", "floor", "", seconds, concurrency)
    print(f"\nLoad: gunicorn, {workers} sync workers, {concurrency} client threads, {seconds:g} s per page")
    print(f"{'page':<28}{'req/s':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'errors':>8}{'× floor rps':>13}")
    print(_row(floor, floor), flush=True)
    with gunicorn("wsgi:app", environment, workers) as (port, _):
        for page in chosen:
            load(port, page.url, page.label, cookies[page.role], min(1.0, seconds), concurrency)  # warm-up
            result = load(port, page.url, page.label, cookies[page.role], seconds, concurrency)
            results.append(result)
            print(_row(result, floor), flush=True)
    return {
        "workers": workers,
        "concurrency": concurrency,
        "seconds": seconds,
        "floor": floor.figures(),
        "pages": [
            result.figures()
            | {
                "rps_ratio": result.per_second / floor.per_second if floor.per_second else None,
                "p50_ratio": result.percentile(0.5) / floor.percentile(0.5),
            }
            for result in results
        ],
    }


def _row(result: LoadResult, floor: LoadResult) -> str:
    ratio = result.per_second / floor.per_second if floor.per_second else float("nan")
    return (
        f"{result.label:<28}{result.per_second:>8.1f}{result.percentile(0.5):>9.1f}{result.percentile(0.9):>9.1f}"
        f"{result.percentile(0.99):>9.1f}{result.errors:>8}{ratio:>13.3f}"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a database filled by `flask bench seed`")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    arguments = parser.parse_args(argv)
    data = existing_data(arguments.database_url)
    run(
        arguments.database_url,
        data,
        arguments.seconds,
        arguments.concurrency,
        arguments.workers,
        LOADED_PAGES,
    )


def existing_data(database_url: str):
    """The ids bench.pages needs, read back from a database that bench.seed filled."""
    from bench.pages import bench_app
    from bench.seed import describe

    app = bench_app(database_url, outbox=str(REPOSITORY / "instance"))
    with app.app_context():
        from app.extensions import db

        return describe(db.session.connection())


if __name__ == "__main__":
    main()
