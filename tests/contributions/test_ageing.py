"""The ageing of open invoices, its list of invoices and its export."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.contributions.models import PaymentMethod
from app.contributions.services.ageing import ageing_report
from app.contributions.services.payments import record_payment
from tests.helpers import count_queries, visible_text

D = Decimal
AS_OF = date(2027, 6, 1)


@pytest.fixture
def actor(make_user):
    return make_user("operations")


def invoice_due(make_issued_invoice, days_past_due: int, **overrides):
    """An invoice whose due date is `days_past_due` days before AS_OF, for 100 + days (to tell them apart)."""
    issued_on = AS_OF - timedelta(days=120)
    return make_issued_invoice(
        issued_on=issued_on,
        due_in_days=120 - days_past_due,
        amount=overrides.pop("amount", f"{100 + days_past_due}.00"),
        **overrides,
    )


def test_ageing_buckets_at_their_boundaries(make_member, make_issued_invoice):
    member = make_member()
    for days in (0, 1, 30, 31, 60, 61, 90, 91):
        invoice_due(make_issued_invoice, days, member=member)

    report = ageing_report(AS_OF)

    (row,) = report.rows
    assert row.currency == "EUR"
    assert row.invoice_count == 8
    assert row.buckets == {
        "current": D("100.00"),  # due today: not yet late
        "days_1_30": D("101.00") + D("130.00"),
        "days_31_60": D("131.00") + D("160.00"),
        "days_61_90": D("161.00") + D("190.00"),
        "over_90": D("191.00"),
    }
    assert report.totals[0].total == sum(row.buckets.values())


def test_ageing_counts_what_was_owed_on_the_date(make_member, make_issued_invoice, actor):
    member = make_member()
    invoice = invoice_due(make_issued_invoice, 45, member=member, amount="1000.00")
    record_payment(
        member, D("400.00"), "EUR", AS_OF - timedelta(days=1), PaymentMethod.WIRE, actor,
        allocations=[(invoice, D("400.00"), None)],
    )  # fmt: skip
    record_payment(
        member, D("600.00"), "EUR", AS_OF + timedelta(days=5), PaymentMethod.WIRE, actor,
        allocations=[(invoice, D("600.00"), None)],
    )  # fmt: skip

    assert ageing_report(AS_OF).rows[0].buckets["days_31_60"] == D("600.00")
    assert ageing_report(AS_OF + timedelta(days=5)).rows == []


def test_ageing_keeps_hubs_and_currencies_apart(make_hub, make_member, make_issued_invoice):
    washington = make_hub(name="Washington", base_currency="USD", invoice_prefix="US")
    invoice_due(make_issued_invoice, 10, member=make_member())
    invoice_due(make_issued_invoice, 10, member=make_member(hub=washington), amount="50.00")

    report = ageing_report(AS_OF)

    assert sorted((row.hub_name, row.currency) for row in report.rows) == [
        ("Brussels hub", "EUR"),
        ("Washington", "USD"),
    ]
    assert [(total.currency, total.total) for total in report.totals] == [
        ("EUR", D("110.00")),
        ("USD", D("50.00")),
    ]
    assert [row.hub_name for row in ageing_report(AS_OF, hub_id=washington.id).rows] == ["Washington"]


def test_ageing_page_and_csv(login_as, make_member, make_issued_invoice):
    invoice = invoice_due(make_issued_invoice, 95, member=make_member(name="Late Republic"))
    client = login_as("board")

    page = client.get(f"/contributions/reports/ageing?as_of={AS_OF.isoformat()}")
    assert page.status_code == 200
    assert "Over 90 days" in page.text
    assert invoice.number in page.text and "Late Republic" in page.text

    export = client.get(f"/contributions/reports/ageing?as_of={AS_OF.isoformat()}&format=csv")
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[1] == ["Hub", "Currency", "Invoices", "Current (not yet due)", "1-30 days", "31-60 days",
                       "61-90 days", "Over 90 days", "Total"]  # fmt: skip
    assert rows[2][:3] == ["Brussels hub", "EUR", "1"]
    assert rows[2][7] == "195.00"


def test_the_ageing_list_pages_overdue_invoices_in_a_constant_number_of_queries(
    login_as, make_member, make_issued_invoice, small_pages
):
    member = make_member(name="Slow Payer")
    not_due = invoice_due(make_issued_invoice, 0, member=member)
    overdue = [invoice_due(make_issued_invoice, days, member=member) for days in (120, 95, 40)]
    client = login_as("board")
    url = f"/contributions/reports/ageing?as_of={AS_OF.isoformat()}"

    first = client.get(url).text
    second = client.get(url + "&page=2").text

    # Most overdue first; not yet due is not overdue.
    assert overdue[0].number in first and overdue[1].number in first and overdue[2].number not in first
    assert overdue[2].number in second and not_due.number not in first + second
    assert "1–2 of 3 invoices" in visible_text(first) and "3–3 of 3 invoices" in visible_text(second)
    current = client.get(url + "&bucket=current").text
    assert not_due.number in current and "1–1 of 1 invoices" in visible_text(current)

    queries = count_queries(client, url)
    for days in (10, 20, 30, 50, 70):
        invoice_due(make_issued_invoice, days, member=make_member())
    assert count_queries(client, url) == queries
    assert count_queries(client, url + "&page=3") == queries
