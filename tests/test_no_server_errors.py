"""No request ends in a 500, whatever it carries.

Every GET page in the url_map, as each role, with real ids and with nonsense query arguments; every id in a
URL beyond the integer column's range; every list filter and every form found on the app's own pages, each
field tried with hostile values of each class (huge and tiny numbers, exponents, non-finite numbers, ids
beyond range, NUL bytes, over-long and non-ASCII text, blank and unknown choices, duplicates of existing
unique values, malformed and extreme dates). None may answer 500, echo a script unescaped, or change money
with a value that must be refused. The forms are read from the rendered pages (tests/hostile.py), so pages
added later are covered without a line here.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from werkzeug.datastructures import MultiDict

from app.common.time import today
from app.common.urls import INTEGER_MAX
from app.contributions.models import (
    BankEntry,
    BankStatement,
    CreditNote,
    EntryStatus,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    StatementFormat,
    StripeEvent,
    StripeEventStatus,
)
from app.contributions.paylinks import pay_token
from app.extensions import db
from app.hubs import services as hub_services
from app.hubs.models import ChecklistTemplate, ChecklistTemplateItem
from tests import hostile

ROLES = ["admin", "operations", "board", "fundraising"]

NONSENSE = [
    "",
    "?page=abc",
    "?page=-1",
    "?page=99999",
    "?page=99999999999999999999",
    "?fiscal_year=abc",
    "?fiscal_year=99999",
    "?q=%27%22%3Cscript%3E",
    "?status=nonsense",
    "?hub=abc",
    "?hub=%20",
    "?hub_id=abc",
    "?format=csv",
    "?format=xlsx",
    "?format=nonsense",
    "?as_of=not-a-date",
    "?date_from=2026-13-45&date_to=x",
    "?member_id=abc",
    "?member_id=2147483648&invoice_id=99999999999999999999",
    "?from_year=1&to_year=99999",
]


@pytest.fixture
def world(make_member, make_policy, make_issued_invoice, make_draft_invoice, make_adjustment, make_user):
    """One of each record that has a page or a form, so that every URL can be filled with a real id."""
    member = make_member()
    make_policy(2027)
    invoice = make_issued_invoice(member=member, amount="1000.00", issued_on=today() - timedelta(days=45))
    draft = make_draft_invoice(member=member)
    adjustment = make_adjustment(member=member, fiscal_year=2028, kind="waiver")
    payment = Payment(
        member=member,
        amount=Decimal("400.00"),
        currency=invoice.currency,
        received_on=today(),
        method=PaymentMethod.WIRE,
    )
    payment.allocations.append(
        PaymentAllocation(invoice=invoice, amount=Decimal("300.00"), payment_amount=Decimal("300.00"))
    )
    credit_note = CreditNote(
        number="T-CN-1",
        invoice=invoice,
        hub=invoice.hub,
        currency=invoice.currency,
        amount=Decimal("100.00"),
        reason="test",
        language=invoice.language,
        issued_on=today(),
        pdf_bytes=b"%PDF-1.7",
        pdf_sha256="0" * 64,
    )
    statement = BankStatement(
        hub=invoice.hub, format=StatementFormat.CAMT_053, account="BE71096123456769", currency="EUR",
        file_sha256="0" * 64,
    )  # fmt: skip
    entry = BankEntry(
        hub=invoice.hub, statement=statement, dedupe_key="ref:1", booked_on=today(), is_credit=True,
        amount=Decimal("600.00"), currency=invoice.currency, status=EntryStatus.NEEDS_REVIEW,
        remittance_text=f"Invoice {invoice.number}",
    )  # fmt: skip
    review = StripeEvent(
        id="evt_waiting_for_review",
        type="checkout.session.completed",
        status=StripeEventStatus.NEEDS_REVIEW,
        problem="Paid €1.00, but the payment was started for €2.00.",
        payload={
            "id": "evt_waiting_for_review",
            "type": "checkout.session.completed",
            "data": {"object": {}},
        },
    )
    template = ChecklistTemplate(name="Open an office", description="The steps the first hub took")
    template.items.append(ChecklistTemplateItem(position=1, description="Register the entity"))
    db.session.add_all([payment, credit_note, statement, entry, review, template])
    db.session.flush()
    checklist = hub_services.start_checklist(invoice.hub, template)
    invoice.refresh_balance()
    db.session.flush()
    return {
        "member_id": member.id,
        "invoice_id": invoice.id,
        "payment_id": payment.id,
        "credit_note_id": credit_note.id,
        "hub_id": invoice.hub_id,
        "user_id": make_user("board").id,
        "fiscal_year": 2027,
        "token": pay_token(invoice),
        "contact_id": member.contacts[0].id,
        "adjustment_id": adjustment.id,
        "event_id": review.id,
        "template_id": template.id,
        "draft_id": draft.id,
        "statement_id": statement.id,
        "entry_id": entry.id,
        # item_id means a template's step under /templates/ and a checklist's item elsewhere.
        "template item_id": template.items[0].id,
        "item_id": checklist.items[0].id,
    }


def status_of(send, url, **kwargs):
    # In tests exceptions propagate instead of becoming a 500 page: count them as the 500 they would be.
    try:
        return send(url, **kwargs).status_code
    except Exception as error:  # noqa: BLE001
        return f"500 {type(error).__name__}: {error}"[:200]


def is_server_error(status) -> bool:
    # 503 is a deliberate answer (online payment not configured or Stripe unreachable), not a crash.
    return isinstance(status, str) or (status >= 500 and status != 503)


def fill(rule, ids, **overrides) -> str:
    def value(match):
        name = match.group(1)
        if name in overrides:
            return str(overrides[name])
        if name == "item_id" and "/templates/" in rule.rule:
            return str(ids["template item_id"])
        return str(ids.get(name, 1))

    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", value, rule.rule)


@pytest.mark.parametrize("role", ["admin", "operations", "board"])
def test_no_get_page_ends_in_a_server_error(app, login_as, world, role):
    client = login_as(role)
    errors = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        url = fill(rule, world)
        for query in NONSENSE:
            status = status_of(client.get, url + query)
            if is_server_error(status):
                errors.append((url + query, status))
    assert errors == []


def test_no_post_with_nonsense_ends_in_a_server_error(app, login_as, world):
    client = login_as("admin")
    nonsense = {
        "amount": "abc",
        "fiscal_year": "x",
        "member_id": "zz",
        "rate": "-1",
        "active": "maybe",
        "page": "q",
    }
    errors = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint == "stripe.webhook":
            continue
        url = fill(rule, world)
        for data in ({}, nonsense):
            status = status_of(client.post, url, data=data)
            if is_server_error(status):
                errors.append((url, status))
    assert errors == []


# --- Ids beyond range --------------------------------------------------------------------------------------

BEYOND_RANGE = [INTEGER_MAX + 1, 2**63, 10**30]


@pytest.mark.hostile
@pytest.mark.parametrize("role", [*ROLES, None])
def test_every_id_in_a_url_beyond_the_integer_column_is_not_found(app, login_as, client, world, role):
    """Ids are 32-bit integers on PostgreSQL: a larger one matches no route, so it is 404 for everyone."""
    sender = login_as(role) if role else client
    answers = []
    for rule in app.url_map.iter_rules():
        for name in re.findall(r"<int:(\w+)>", rule.rule):
            for beyond in BEYOND_RANGE:
                url = fill(rule, world, **{name: beyond})
                for method in sorted(rule.methods & {"GET", "POST"}):
                    status = status_of(getattr(sender, method.lower()), url)
                    # 405 when another rule has the same shape for other methods: routing refused it too.
                    if status not in (404, 405):
                        answers.append((method, url, status))
    assert answers == []


# --- Hostile values in every filter and every form ----------------------------------------------------------


@contextmanager
def undone():
    """Whatever a request changes is rolled back after it, so every attempt starts from the same world."""
    savepoint = db.session.begin_nested()
    try:
        yield
    finally:
        if savepoint.is_active:
            savepoint.rollback()
        db.session.expire_all()


class Site:
    """The app as a person finds it: the pages reachable from the url_map and their links, read once."""

    def __init__(self, app, client, ids):
        self.app = app
        self.forms: dict[tuple, hostile.HtmlForm] = {}
        self.reached: set[str] = set()
        seen: set[str] = set()
        to_read = []
        for rule in app.url_map.iter_rules():
            if "GET" in rule.methods and rule.endpoint != "static":
                to_read.append(fill(rule, ids))
                # A draft's pages (edit, delete) differ from an issued invoice's.
                if "<int:invoice_id>" in rule.rule:
                    to_read.append(fill(rule, ids, invoice_id=ids["draft_id"]))
        while to_read:
            url = to_read.pop()
            if url in seen:
                continue
            seen.add(url)
            with undone():
                response = client.get(url)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            forms, links = hostile.read_page(url, response.text)
            for form in forms:
                self.forms.setdefault(form.key, form)
                self.reached.add(hostile.endpoint_of(app, form.action, form.method.upper()) or "")
            # Pages whose form needs a query argument (a new payment for a member) are found by their links.
            for link in links:
                path = link.split("#")[0]
                if "?" in path and path not in seen and self._has_a_form(path):
                    to_read.append(path)

    def _has_a_form(self, url: str) -> bool:
        endpoint = hostile.endpoint_of(self.app, url, "POST")
        return endpoint is not None and endpoint not in self.reached

    def forms_of(self, method: str) -> list[hostile.HtmlForm]:
        return [form for form in self.forms.values() if form.method == method]


@pytest.fixture
def site(app, login_as, client, world):
    pages = Site(app, login_as("admin"), world)
    anonymous = Site(app, client, world)  # the login form and the public pay page
    for key, form in anonymous.forms.items():
        pages.forms.setdefault(key, form)
    pages.reached |= anonymous.reached
    return pages


def _check(findings, response, label, money_before=None):
    if isinstance(response, str):
        findings.server_errors.append(f"{label}: {response}")
        return
    if is_server_error(response.status_code):
        findings.server_errors.append(f"{label}: {response.status_code}")
    if response.mimetype == "text/html" and hostile.SCRIPT in response.get_data(as_text=True):
        findings.echoed_scripts.append(label)
    if money_before is not None and hostile.money_totals() != money_before:
        findings.money_changed.append(f"{label}: {response.status_code}")


def _send(send, url, **kwargs):
    try:
        return send(url, **kwargs)
    except Exception as error:  # noqa: BLE001 - counted as the 500 it would be
        return f"500 {type(error).__name__}: {error}"[:300]


def _label(role, method, form, attempt) -> str:
    value = attempt.value if len(attempt.value) < 30 else attempt.value[:27] + "..."
    who = role or "anonymous"
    return f"{who}: {method} {form.action} {attempt.field}={value!r} ({attempt.hostile_class})"


def _attempts(item, duplicates, thorough: bool):
    # Admin tries every value; the other roles one value of each class (the same code reads them).
    attempts = list(hostile.attempts_for(item, duplicates))
    if thorough:
        return attempts
    return list({attempt.hostile_class: attempt for attempt in reversed(attempts)}.values())


@pytest.mark.hostile
def test_every_list_filter_takes_hostile_values_as_every_role(login_as, world, site):
    duplicates = hostile.unique_text_values()
    findings = hostile.Findings()
    for role in ROLES:
        client = login_as(role)
        for form in site.forms_of("get"):
            baseline = form.baseline(lambda item: "")
            for item in form.fields:
                for attempt in _attempts(item, duplicates, thorough=role == "admin"):
                    url = hostile.with_query(form.action, hostile.substituted(baseline, attempt))
                    with undone():
                        _check(findings, _send(client.get, url), _label(role, "GET", form, attempt))
    assert not findings, findings.report()


@pytest.mark.hostile
def test_every_form_takes_hostile_values_as_every_role_and_refused_numbers_change_no_money(
    app, login_as, client, world, site
):
    """Every field of every form, one at a time, the others filled as a person would fill them.

    Admin, who may submit every form, tries every value in every field; the other roles, and a visitor who
    is not signed in, one value of each class in the forms they may submit (the others refuse them before
    reading any field). A refused number must leave every money column as it was."""
    duplicates = hostile.unique_text_values()
    sane = hostile.sane_value(world["fiscal_year"], today().isoformat())
    findings = hostile.Findings()
    for role in [*ROLES, None]:
        sender = login_as(role) if role else client
        for form in site.forms_of("post"):
            if hostile.endpoint_of(app, form.action, "POST") in ("auth.logout", None):
                continue  # signing out would end the sweep; it reads no field
            baseline = form.baseline(sane)
            with undone():
                first = _send(sender.post, form.action, data=MultiDict(baseline))
            _check(findings, first, f"{role or 'anonymous'}: POST {form.action} as filled on its page")
            if role != "admin" and _refused_before_reading(first):
                continue
            for item in form.fields:
                for attempt in _attempts(item, duplicates, thorough=role == "admin"):
                    with undone():
                        before = hostile.money_totals() if attempt.refused_number else None
                        data = MultiDict(hostile.substituted(baseline, attempt))
                        response = _send(sender.post, form.action, data=data)
                        _check(findings, response, _label(role, "POST", form, attempt), before)
    assert not findings, findings.report()


def _refused_before_reading(response) -> bool:
    # A role without the permission is answered 403 (or sent to sign in) before any field is read.
    if isinstance(response, str):
        return False
    return response.status_code == 403 or "/login" in response.headers.get("Location", "")


@pytest.mark.hostile
def test_the_sweep_reaches_the_forms_that_move_money(site):
    """The sweep is only as good as the forms it finds: the money forms must be among them."""
    expected = {
        "contributions.new_payment",
        "contributions.allocate_payment",
        "contributions.new_invoice",
        "contributions.edit_invoice",
        "contributions.new_credit_note",
        "contributions.write_off_invoice",
        "contributions.new_policy",
        "contributions.edit_policy",
        "contributions.new_adjustment",
        "hubs.save_checklist_as_template",
        "hubs.new_template",
        "hubs.new_hub",
        "admin.create_user",
        "auth.login",
    }
    assert expected - site.reached == set()
