"""Every pipeline page with real ids, as every role, with nonsense query arguments and forms: never a 500."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from app.common.time import today
from app.pipeline.models import DeliverableKind
from app.pipeline.services import calendar_feed, pledges
from app.pipeline.stages import Stage
from tests.test_no_server_errors import NONSENSE, is_server_error, status_of

MORE_NONSENSE = [
    "?as_of=2026-02-30",
    "?as_of=99999-01-01",
    "?stage=won&fiscal_year=abc&kind=nonsense&restricted=maybe&owner=x",
    "?owner=99999&page=0",
    "?from_year=-5",
]


@pytest.fixture
def pipeline_world(make_opportunity, make_pledge, make_gift, make_rate, make_user, fundraiser):
    year = today().year
    opportunity = make_opportunity(
        amount="50000.00", currency="EUR", split={year: "50000.00"}, stage=Stage.PROPOSAL
    )
    pledge = make_pledge(amount="20000.00", split={year: "10000.00", year + 1: "10000.00"})
    gift = make_gift(organisation=pledge.organisation, amount=Decimal("5000.00"), received_on=today())
    (application,) = pledges.apply_gift(gift, {pledge.instalments[0].id: Decimal("5000.00")}, fundraiser)
    deliverable = pledges.save_deliverable(
        pledge, DeliverableKind.NARRATIVE_REPORT, today() + timedelta(days=20)
    )
    rate = make_rate(year, "EUR", "0.92")
    user = make_user("board")
    return {
        "opportunity_id": opportunity.id,
        "pledge_id": pledge.id,
        "application_id": application.id,
        "deliverable_id": deliverable.id,
        "rate_id": rate.id,
        "fiscal_year": year,
        "token": calendar_feed.token_for(user),
    }


def pipeline_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("pipeline.")]


def fill(rule, ids) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda match: str(ids.get(match.group(1), 1)), rule.rule)


@pytest.mark.parametrize("role", ["admin", "fundraising", "operations", "board"])
def test_every_pipeline_page_answers(app, login_as, pipeline_world, role):
    client = login_as(role)
    errors = []
    for rule in pipeline_rules(app):
        if "GET" not in rule.methods:
            continue
        url = fill(rule, pipeline_world)
        # The board pack renders a PDF per request: one nonsense date is enough to show it copes.
        queries = (
            ["?as_of=not-a-date"]
            if rule.endpoint == "pipeline.download_board_pack"
            else NONSENSE + MORE_NONSENSE
        )
        for query in queries:
            status = status_of(client.get, url + query)
            if is_server_error(status):
                errors.append((url + query, status))
    assert errors == []


def test_every_pipeline_form_takes_nonsense_without_a_server_error(app, login_as, pipeline_world):
    client = login_as("admin")
    nonsense = {
        "amount": "abc",
        "awarded_amount": "1e999",
        "fiscal_year": "x",
        "currency": "€€€",
        "rate": "NaN",
        "stage": "nonsense",
        "probability": "200",
        "gift_id": "zz",
        "apply_1": "Infinity",
        "due_on": "2026-02-30",
        "status": "lost",
        "kind": "x",
        "split-0-fiscal_year": "2027",
        "split-0-amount": "-1",
        "instalments-0-amount": "abc",
        "organisation_id": "99999",
        "owner_id": "abc",
    }
    errors = []
    for rule in pipeline_rules(app):
        if "POST" not in rule.methods:
            continue
        url = fill(rule, pipeline_world)
        for data in ({}, nonsense):
            status = status_of(client.post, url, data=data)
            if is_server_error(status):
                errors.append((url, status))
    assert errors == []
