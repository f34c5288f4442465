"""Shared fixtures: one app per run, each test inside a transaction that is rolled back.

Set TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run on PostgreSQL.
"""

from __future__ import annotations

import email
import smtplib
import socket
from email import policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import request_started, request_tearing_down
from flask.globals import _cv_app
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSession

from app import create_app
from app.auth.models import User
from app.auth.permissions import Role
from app.extensions import db
from config import TestConfig

# Every area's builders, available to every test directory (see tests/builders/__init__.py).
pytest_plugins = [
    "tests.builders.auth",
    "tests.builders.hubs",
    "tests.builders.donors",
    "tests.builders.contributions",
    "tests.builders.pipeline",
]


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    class Config(TestConfig):
        TRIBUTARY_OUTBOX = str(tmp_path_factory.mktemp("outbox"))

    app = create_app(Config)
    app.test_client_class = FreshContextClient
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


class _BoundSession(FlaskSession):
    """A Flask-SQLAlchemy session that always uses the test's connection (and so its transaction)."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return self.bind


class FreshContextClient(FlaskClient):
    """Runs every request in an app context of its own, as production does.

    Without this, a request would reuse the test's app context, and with it `g` (Flask-Login's cached user)
    and the test's database session.
    """

    def open(self, *args, **kwargs):
        # Read streamed responses (CSV exports) inside the request's own context, before it is swapped back.
        kwargs.setdefault("buffered", True)
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)


@pytest.fixture(autouse=True)
def db_session(request, app):
    """Run the test inside a transaction; commits become savepoint releases, and all is rolled back.

    Before each request the test's pending changes are flushed, so that the request sees them; after it,
    the test's session is expired, so that the test sees what the request did.
    """
    if request.node.get_closest_marker("postgres_only") and db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (set TEST_DATABASE_URL): concurrent transactions and row locks")
    if request.node.get_closest_marker("real_commits"):
        yield db.session
        _delete_all_rows()
        return
    connection = db.engine.connect()
    transaction = connection.begin()
    original = db.session
    db.session = db._make_scoped_session(
        {
            "bind": connection,
            "class_": _BoundSession,
            "join_transaction_mode": "create_savepoint",
        }
    )
    test_session = db.session()

    def before_request(sender, **extra):
        test_session.flush()

    def after_request(sender, **extra):
        test_session.expire_all()

    request_started.connect(before_request, app)
    request_tearing_down.connect(after_request, app)
    try:
        yield db.session
    finally:
        request_started.disconnect(before_request, app)
        request_tearing_down.disconnect(after_request, app)
        db.session.remove()
        db.session = original
        if transaction.is_active:
            transaction.rollback()
        connection.close()


def _delete_all_rows():
    db.session.remove()
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


def pytest_configure(config):
    config.addinivalue_line("markers", "real_commits: the test commits for real; tables are emptied after it")


@pytest.fixture
def small_pages(app, monkeypatch):
    """Two items per page, so that a handful of rows makes several pages."""
    monkeypatch.setitem(app.config, "ITEMS_PER_PAGE", 2)


@pytest.fixture
def client(app):
    return app.test_client()


def sign_in(client, user: User) -> None:
    """Sign a test client in as this user without going through the login form."""
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True


@pytest.fixture
def login_as(app, make_user):
    """login_as("board") -> a test client signed in as a new user with that role (client.user is the user)."""

    def build(role: Role | str = Role.OPERATIONS, **overrides):
        user = make_user(role, **overrides)
        test_client = app.test_client()
        sign_in(test_client, user)
        test_client.user = user
        return test_client

    return build


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- Mail: real SMTP conversations with a local test server, and never with any other ----------------------


@pytest.fixture(autouse=True)
def no_real_smtp(monkeypatch):
    """Fail any test that opens an SMTP connection other than to a local test server it asked for.

    Gives the set of (host, port) the test may talk to; `smtp_server` and `unreachable_smtp_server` add to it.
    """
    allowed: set[tuple[str, int]] = set()
    connect = smtplib.SMTP.connect

    def guarded_connect(self, host="localhost", port=0, source_address=None):
        if not port and host.count(":") == 1:
            host, _, port = host.partition(":")
        if (host, int(port or smtplib.SMTP_PORT)) not in allowed:
            pytest.fail(
                f"The test opened a real SMTP connection to {host}:{port}; use the smtp_server fixture"
            )
        return connect(self, host, port, source_address)

    monkeypatch.setattr(smtplib.SMTP, "connect", guarded_connect)
    return allowed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self):
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


def _point_mail_at(app, monkeypatch, port: int) -> None:
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    monkeypatch.setitem(app.config, "MAIL_USE_TLS", False)
    monkeypatch.setitem(app.config, "MAIL_USE_SSL", False)
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 5)


@pytest.fixture
def smtp_server(app, monkeypatch, no_real_smtp):
    """A real SMTP server on 127.0.0.1 and a free port; the app is pointed at it for this test only."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    no_real_smtp.add(("127.0.0.1", port))
    _point_mail_at(app, monkeypatch, port)
    yield inbox
    controller.stop()


@pytest.fixture
def unreachable_smtp_server(app, monkeypatch, no_real_smtp):
    """The app pointed at a loopback port where nothing listens: every send fails as if the server is down."""
    port = free_port()
    no_real_smtp.add(("127.0.0.1", port))
    _point_mail_at(app, monkeypatch, port)
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 2)
    return port
