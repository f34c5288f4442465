"""Browser tests: the app served on a free loopback port, driven through Playwright in Debian's Chromium.

Playwright cannot download its own browser here, so it launches /usr/bin/chromium (installed by
scripts/system-packages.sh). The live server shares the test's database connection, so each test
still rolls back.

The server and the test take turns with that connection: the server handles a request only while the test's
thread waits on the browser inside a Playwright call, and the test's thread goes on only once the request in
hand is done. Otherwise the test reading an attribute (say `invoice.id` after a click) could run its query on
the connection, or have its objects expired, while the server is still answering the click.
"""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"Chromium is missing at {CHROMIUM}; CI must run the browser tests.")
    skip = pytest.mark.skip(reason=f"Chromium is not installed at {CHROMIUM}")
    for item in items:
        if "browser" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def server_turn():
    """Held by the test's thread except while it waits on the browser; the server takes it per request."""
    return threading.Lock()


@pytest.fixture(scope="session")
def live_server(app, server_turn):
    def serve_in_turn(environ, start_response):
        with server_turn:
            body = app(environ, start_response)
            try:
                # Read the whole body in turn: a streamed export queries as it goes.
                return [b"".join(body)]
            finally:
                if hasattr(body, "close"):
                    body.close()

    server = make_server("127.0.0.1", 0, serve_in_turn, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, db_session, server_turn, monkeypatch):
    _give_the_server_its_turn_while_waiting_on_the_browser(server_turn, monkeypatch)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
    server_turn.release()


def _give_the_server_its_turn_while_waiting_on_the_browser(server_turn, monkeypatch):
    """Every sync Playwright call (actions, expect(), downloads, events) waits in wait_for_future()."""
    from playwright._impl import _sync_base

    wait_for_future = _sync_base.wait_for_future
    depth = 0

    def waiting(*args, **kwargs):
        nonlocal depth
        depth += 1  # an event handler may call Playwright inside a call
        if depth == 1:
            server_turn.release()
        try:
            return wait_for_future(*args, **kwargs)
        finally:
            if depth == 1:
                server_turn.acquire()
            depth -= 1

    server_turn.acquire()
    monkeypatch.setattr(_sync_base, "wait_for_future", waiting)


@pytest.fixture
def sign_in_page(page, make_user):
    """sign_in_page("operations") -> a page signed in through the real login form (page.user is the user)."""
    from tests.builders.auth import PASSWORD

    def build(role="operations", **overrides):
        user = make_user(role, **overrides)
        from app.extensions import db

        db.session.flush()
        page.goto("/login")
        page.get_by_label("E-mail").fill(user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/")
        page.user = user
        return page

    return build
