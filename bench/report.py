"""bench/RESULTS.md from the figures `python -m bench` saved (one JSON file per database)."""

from __future__ import annotations

import json
from pathlib import Path

#: The targets of issue 12, at the larger scale.
LIST_FLOOR_RATIO = 3.0
REPORT_FLOOR_RATIO = 5.0
SEARCH_FLOOR_RATIO = 5.0
GROWTH = 1.25
MAX_QUERIES = 15
CSV_ROWS_PER_SECOND = 50_000
XLSX_ROWS_PER_SECOND = 20_000
WORKER_MB = 200
RUN_SECONDS = 60
RUN_MB = 300


def _mark(ok: bool) -> str:
    return "ok" if ok else "**miss**"


def floor_target(kind: str) -> float | None:
    return {"list": LIST_FLOOR_RATIO, "detail": LIST_FLOOR_RATIO, "report": REPORT_FLOOR_RATIO,
            "search": SEARCH_FLOOR_RATIO}.get(kind)  # fmt: skip


def page_rows(figures: dict) -> tuple[list[str], dict]:
    """The pages table, and per target the pages that miss it."""
    sizes = figures["pages"]["sizes"]
    small, large = sizes[0], sizes[-1]
    small_by_label = {result["label"]: result for result in small["results"]}
    growth = figures["pages"].get("growth", {})
    misses: dict[str, list[str]] = {"queries": [], "floor": [], "growth": [], "exports": [], "failed": []}
    lines = [
        f"| page | kind | median ms (scale {small['scale']:g} / {large['scale']:g}) | p95 ms | queries "
        "| × floor "
        f"| growth (median / × floor) | rows/s | peak MB | target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in large["results"]:
        label, kind = result["label"], result["kind"]
        before = small_by_label.get(label)
        if not result["timings_ms"] or not before or not before["timings_ms"]:
            misses["failed"].append(label)
            lines.append(f"| {label} | {kind} | failed ({result['status']}) | | | | | | | **miss** |")
            continue
        queries_small, queries_large = set(before["queries"]), set(result["queries"])
        same_queries = len(queries_small | queries_large) == 1
        ratio = result["median"] / large["floor_ms"]
        grown = growth.get(label, {})
        rows_per_second = (
            result["rows"] / (result["median"] / 1000) if result.get("rows") is not None else None
        )
        ok = True
        if not same_queries or max(queries_large) > MAX_QUERIES and kind != "export":
            misses["queries"].append(label)
            ok = False
        target = floor_target(kind)
        if target is not None and ratio > target:
            misses["floor"].append(f"{label} ({ratio:.0f}×)")
            ok = False
        if kind != "export" and grown.get("median", 0) > GROWTH:
            misses["growth"].append(f"{label} ({grown['median']:.2f}×)")
            ok = False
        if kind == "export" and rows_per_second is not None:
            needed = XLSX_ROWS_PER_SECOND if "XLSX" in label else CSV_ROWS_PER_SECOND
            if rows_per_second < needed:
                misses["exports"].append(f"{label} ({rows_per_second:,.0f} rows/s)")
                ok = False
        queries = "/".join(_span(values) for values in (before["queries"], result["queries"]))
        rates = "" if rows_per_second is None else f"{rows_per_second:,.0f}"
        peaks = ""
        if result.get("peak_mb") is not None:
            peaks = f"{before.get('peak_mb') or 0:.1f} / {result['peak_mb']:.1f}"
        lines.append(
            f"| {label} | {kind} | {before['median']:.0f} / {result['median']:.0f} | {result['p95']:.0f} "
            f"| {queries} | {ratio:.1f} "
            f"| {grown.get('median', float('nan')):.2f} / {grown.get('floor_ratio', float('nan')):.2f} "
            f"| {rates} | {peaks} | {_mark(ok)} |"
        )
    return lines, misses


def _span(values: list[int]) -> str:
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}-{high}"


#: A 1-minute load average at the start above this means other jobs shared the cores.
BUSY_LOAD = 1.0


def _what_else_ran(figures: dict) -> str:
    if figures["load_average"]["start"][0] > BUSY_LOAD:
        return (
            "other jobs were running on the same cores, so absolute times are inflated and noisy; the ratios "
            "to the floor, timed in the same moments, are the steadier figures."
        )
    return "nothing else was running when it started (the load at the end is the benchmark's own)."


def section(figures: dict) -> list[str]:
    database = figures["database"]
    sizes = figures["pages"]["sizes"]
    lines = [f"## {database}", ""]
    lines.append(
        f"Measured {figures['date']} in {figures['seconds'] / 60:.1f} min; {database} "
        f"{figures['machine']['database_version']}. Load average (1, 5, 15 min) at the start "
        f"{figures['load_average']['start']}, at the end {figures['load_average']['end']}: "
        + _what_else_ran(figures)
    )
    lines.append("")
    for size in sizes:
        lines.append(f"- {size['summary']}; floor median {size['floor_ms']:.1f} ms")
    lines.append("")
    table, misses = page_rows(figures)
    lines += ["### Pages (test client, one process)", "", *table, ""]
    lines += ["### Search query plans (larger scale)", ""]
    for result in sizes[-1]["results"]:
        for plan in result.get("plans", []):
            lines += [f"{result['label']}:", "```", plan, "```"]
    lines.append("")
    if "load" in figures:
        lines += load_section(figures["load"])
    if "documents" in figures:
        lines += documents_section(figures["documents"])
    if "annual_run" in figures:
        lines += ["### Annual run", "", "```", figures["annual_run"]["report"], "```", ""]
    lines += reading(figures, misses)
    return lines


def load_section(load: dict) -> list[str]:
    floor = load["floor"]
    lines = [
        f"### Under gunicorn ({load['workers']} sync workers, {load['concurrency']} client threads, "
        f"{load['seconds']:g} s a page)",
        "",
        "| page | req/s | p50 ms | p90 ms | p99 ms | errors | req/s ÷ floor | p50 × floor |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| floor | {floor['per_second']:.1f} | {floor['p50']:.1f} | {floor['p90']:.1f} | {floor['p99']:.1f} "
        f"| {floor['errors']} | 1 | 1 |",
    ]
    for page in load["pages"]:
        lines.append(
            f"| {page['label']} | {page['per_second']:.1f} | {page['p50']:.0f} | {page['p90']:.0f} "
            f"| {page['p99']:.0f} "
            f"| {page['errors']} | {page['rps_ratio']:.3f} | {page['p50_ratio']:.1f} |"
        )
    return [*lines, ""]


def documents_section(documents: dict) -> list[str]:
    lines = [
        "### Documents",
        "",
        "| document | app warm ms | bare WeasyPrint warm ms | app ÷ bare | app cold ms | bare cold ms |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for document, warm in documents["warm"].items():
        cold = documents["cold"][document]
        lines.append(
            f"| {document} | {warm['app']:.0f} | {warm['bare']:.0f} | {warm['app'] / warm['bare']:.2f} "
            f"| {cold['app']:.0f} | {cold['bare']:.0f} |"
        )
    lines += ["", "Invoice rendered again and again in one process (resident memory):", ""]
    for mode, memory in documents["memory"].items():
        lines.append(
            f"- {mode}: {memory['after_10_mb']:.0f} MB after 10, {memory['end_mb']:.0f} MB at the end, "
            f"{memory['kb_per_pdf']:.0f} KB per PDF in between, {memory['median_ms']:.0f} ms median"
        )
    worker = documents["worker"]
    samples = ", ".join(f"{number}: {mb:.0f}" for number, mb in worker["rss_mb"].items())
    lines += [
        "",
        f"One gunicorn worker serving {worker['requests']} pro-forma PDFs "
        f"({worker['median_ms']:.0f} ms median a "
        f"request), resident MB after so many: {samples}.",
        "",
    ]
    return lines


def reading(figures: dict, misses: dict) -> list[str]:
    lines = ["### Reading (against the targets of issue 12)", ""]
    for name, text in (
        ("failed", "pages that did not answer 200"),
        ("queries", f"pages whose queries differ between the sizes (or exceed {MAX_QUERIES})"),
        ("floor", f"pages over their floor ratio ({LIST_FLOOR_RATIO:g}× lists and details, "
                  f"{REPORT_FLOOR_RATIO:g}× reports and searches)"),
        ("growth", f"pages whose median grew more than {GROWTH}×"),
        ("exports", f"exports under {CSV_ROWS_PER_SECOND:,} rows/s (CSV) or {XLSX_ROWS_PER_SECOND:,} (XLSX)"),
    ):  # fmt: skip
        found = misses[name]
        lines.append(f"- {text}: {len(found)}" + (f": {', '.join(found)}" if found else ""))
    missing = [part for part in ("load", "documents", "annual_run") if part not in figures]
    if missing:
        lines.append(f"- not measured in this run (interrupted): {', '.join(missing)}")
    if "documents" in figures:
        lines += _documents_reading(figures["documents"])
    if "annual_run" in figures:
        run = figures["annual_run"]
        # The run's memory is its own and its PDF workers' (shared pages split between them: PSS).
        run_mb = run.get("peak_total_pss_mb") or run["peak_rss_mb"]
        lines.append(
            f"- annual run, {run['issued']} invoices: {run['run_seconds']:.0f} s "
            f"({_mark(run['run_seconds'] < RUN_SECONDS)}, under {RUN_SECONDS} s), "
            f"{run_mb:.0f} MB with its workers ({_mark(run_mb < RUN_MB)}, under {RUN_MB} MB)"
        )
        if run.get("concurrent"):
            concurrent = run["concurrent"]
            lines.append(
                f"- {concurrent['people']} people issuing one invoice each at once: p50 "
                f"{concurrent['p50_ms']:.0f} ms ({_mark(concurrent['p50_ms'] < 1000)}, under 1 s)"
            )
    return [*lines, ""]


def _documents_reading(documents: dict) -> list[str]:
    worker = documents["worker"]["rss_mb"]
    last = worker[max(worker, key=int)]
    invoice = documents["warm"]["invoice"]
    lines = []
    lines.append(
        f"- invoice PDF: the app {invoice['app']:.0f} ms against bare WeasyPrint {invoice['bare']:.0f} ms "
        f"({_mark(invoice['app'] <= invoice['bare'] * 1.05)}, within 5% counts as no slower)"
    )
    lines.append(
        f"- gunicorn worker after {documents['worker']['requests']} PDFs: {last:.0f} MB "
        f"({_mark(last < WORKER_MB)}, under {WORKER_MB} MB)"
    )
    return lines


def write_results(folder: Path, target: Path) -> Path:
    """Rewrite `target` from every <database>.json in `folder`."""
    sections = []
    machines = []
    for path in sorted(folder.glob("*.json")):
        figures = json.loads(path.read_text())
        sections += section(figures)
        machines.append(figures["machine"])
    header = ["# Benchmark results", ""]
    if machines:
        machine = machines[0]
        header.append(
            f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB; Python "
            f"{machine['python']}, Flask {machine['flask']}, SQLAlchemy {machine['sqlalchemy']}, WeasyPrint "
            f"{machine['weasyprint']}, gunicorn {machine['gunicorn']}. Made by `make bench` "
            "(`python -m bench`); "
            "each database's figures are in bench/results/. The floor is a minimal Flask route running one "
            "indexed query and rendering a 50-row table (bench/floor.py), timed in the same run."
        )
        header.append("")
    target.write_text("\n".join(header + sections))
    return target
