"""PDFs for the app: one document in this thread, or many at once on every core.

The rendering itself (HTML -> PDF bytes, with WeasyPrint's per-process resources: fonts, parsed styles, shared
images) is `tributary_pdf.render_pdf`, outside the `app` package so that the worker processes import it and
WeasyPrint only; this module re-exports it with the app's helpers around it.

Many documents at once (the annual run, the demo data) render on every core: `pdf_workers()` gives a pool of
worker processes, each a pure HTML -> PDF function (`render_pdf`) with its own resources; the caller
builds the HTML and writes the results to the database. `IN_PROCESS` renders in the calling thread with the
same interface (`submit(html)` returns a future of the PDF bytes), for a web request or a test.
"""

from __future__ import annotations

import base64
import hashlib
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager

from flask import render_template

import tributary_pdf
from tributary_pdf import (  # noqa: F401 - re-exported: the app renders through this module
    RefusedURL,
    harfbuzz_subsetting_available,
    render_pdf,
)

# --- Many documents at once -------------------------------------------------------------------------------


class InProcessRenderer:
    """Renders in the calling thread: `submit(html)` returns a future that is already done."""

    processes = 0

    def submit(self, html: str) -> Future:
        future: Future = Future()
        try:
            future.set_result(render_pdf(html))
        except BaseException as error:  # noqa: BLE001 - handed to whoever reads the future, as a pool would
            future.set_exception(error)
        return future


IN_PROCESS = InProcessRenderer()


class PoolRenderer:
    """Renders in worker processes: `submit(html)` returns a future of the PDF bytes."""

    def __init__(self, executor: ProcessPoolExecutor, processes: int):
        self._executor = executor
        self.processes = processes

    def submit(self, html: str) -> Future:
        # By its own module's name: a worker unpickles `tributary_pdf.render_pdf`, importing nothing of `app`.
        return self._executor.submit(tributary_pdf.render_pdf, html)


def default_worker_count() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def pdf_workers(processes: int | None = None) -> Iterator[PoolRenderer | InProcessRenderer]:
    """A pool of PDF worker processes for the block (one per core by default; 0 renders in this process).

    Workers are forked from a fork server that has already imported WeasyPrint and `tributary_pdf` (so each
    starts in a moment and shares those pages), never from the caller, whose database connections and
    threads stay its own. They import nothing of `app` (no Flask, no models) and touch no database: they turn
    HTML into bytes and nothing else.
    """
    processes = default_worker_count() if processes is None else processes
    if processes <= 0:
        yield IN_PROCESS
        return
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([tributary_pdf.__name__])
    executor = ProcessPoolExecutor(max_workers=processes, mp_context=context)
    try:
        yield PoolRenderer(executor, processes)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def render_template_pdf(template_name: str, **context) -> bytes:
    """Render a Jinja template from templates/pdf/ to PDF bytes."""
    return render_pdf(render_template(template_name, **context))


def data_url(content: bytes, mime_type: str) -> str:
    """Embed bytes (a logo, a QR code) in a document."""
    return f"data:{mime_type};base64,{base64.b64encode(content).decode('ascii')}"


def sha256_hex(content: bytes) -> str:
    """The SHA-256 digest stored beside every issued document."""
    return hashlib.sha256(content).hexdigest()
