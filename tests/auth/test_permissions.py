"""Walks every endpoint in the url_map, so that future endpoints are held to the same rules."""

import re

import pytest

from app.auth.permissions import ROLE_PERMISSIONS, Permission, Role

PUBLIC_ENDPOINTS = {
    "auth.login",
    "main.healthz",
    "static",
    "stripe.webhook",
    "public.pay_invoice",
    "public.start_payment",
    "pipeline.calendar_feed",
}
#: Changes that every signed-in user may make to their own session or account.
SELF_SERVICE = {"auth.logout", "auth.change_password", "pipeline.renew_calendar_feed"}
CHANGING_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def concrete_url(rule) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", "1", rule.rule)


def endpoints(app):
    return [rule for rule in app.url_map.iter_rules()]


def test_every_endpoint_is_public_or_declares_a_permission(app):
    undeclared = []
    for rule in endpoints(app):
        view = app.view_functions[rule.endpoint]
        if getattr(view, "is_public", False) or rule.endpoint in SELF_SERVICE | {"static"}:
            continue
        if not isinstance(getattr(view, "required_permission", None), Permission):
            undeclared.append(rule.endpoint)
    assert undeclared == []


def test_only_the_known_public_endpoints_are_public(app):
    public = {
        rule.endpoint
        for rule in endpoints(app)
        if getattr(app.view_functions[rule.endpoint], "is_public", False)
    }
    assert public <= PUBLIC_ENDPOINTS


def test_anonymous_requests_to_non_public_pages_go_to_login(app, client):
    for rule in endpoints(app):
        view = app.view_functions[rule.endpoint]
        if getattr(view, "is_public", False) or rule.endpoint == "static":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(concrete_url(rule), method=method)
            assert response.status_code == 302, (rule.rule, method)
            assert response.headers["Location"].startswith("/login"), (rule.rule, method)


def test_endpoints_that_change_data_need_a_changing_permission(app):
    wrong = []
    for rule in endpoints(app):
        view = app.view_functions[rule.endpoint]
        if rule.endpoint in SELF_SERVICE or getattr(view, "is_public", False):
            continue
        if rule.methods & CHANGING_METHODS and not view.required_permission.changes_data:
            wrong.append(rule.endpoint)
    assert wrong == []


def test_board_holds_no_permission_that_changes_data_except_its_own_password():
    assert {p for p in ROLE_PERMISSIONS[Role.BOARD] if p.changes_data} == {Permission.ACCOUNT_EDIT}


def test_board_gets_403_on_every_change(app, login_as):
    client = login_as("board")
    for rule in endpoints(app):
        view = app.view_functions[rule.endpoint]
        if rule.endpoint in SELF_SERVICE or getattr(view, "is_public", False):
            continue
        for method in rule.methods & CHANGING_METHODS:
            response = client.open(concrete_url(rule), method=method, data={})
            assert response.status_code == 403, (rule.rule, method)


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("board", "/admin/users", 403),
        ("operations", "/admin/users", 403),
        ("admin", "/admin/users", 200),
        ("board", "/contributions/", 200),
        ("fundraising", "/admin/audit", 403),
    ],
)
def test_pages_by_role(login_as, role, path, status):
    assert login_as(role).get(path).status_code == status
