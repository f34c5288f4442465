"""The preview page and its CSV count, total and list the members per set of alike inputs
(`preview_figures`, `listed_members`, `streamed_preview`): on a varied membership they give exactly what the
per-member computation (`build_preview`, which the run uses) gives: counts, totals per currency, problems,
every filtered page's rows and every CSV row."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.contributions.models import (
    AdjustmentKind,
    IncomeGroup,
    InvoiceKind,
    InvoiceStatus,
    Language,
    MemberStatus,
    PolicyExchangeRate,
)
from app.contributions.services import annual_run_preview
from app.contributions.services.annual_run_preview import PreviewFilter, RowStatus
from app.contributions.views.annual_run_preview import PREVIEW_CSV_HEADER, _preview_csv_rows
from app.extensions import db
from app.hubs.models import HubStatus

GROUPS = [IncomeGroup.HIGH, IncomeGroup.UPPER_MIDDLE, IncomeGroup.LOWER_MIDDLE, IncomeGroup.LOW, None]


@pytest.fixture
def varied(hub, headquarters, make_hub, make_member, make_policy, make_adjustment, make_issued_invoice,
           make_draft_invoice):  # fmt: skip
    """Four hubs (EUR, USD at a budget rate, GBP without a rate, a closed one), both kinds of member in every
    income group or none, with and without a billing e-mail, adjustments of every kind, invoices issued in two
    currencies, a draft, a credited one, and members outside the run."""
    policy = make_policy(2027, currency="EUR", high="50000.00", upper_middle="25000.00", low="0.00")
    policy.exchange_rates.append(PolicyExchangeRate(currency="USD", rate=Decimal("1.0833")))
    london = make_hub(name="London hub", base_currency="GBP", invoice_prefix="LON")
    closed = make_hub(name="Old office", base_currency="EUR", status=HubStatus.CLOSED, invoice_prefix="OLD")
    members = []
    number = 0
    for each_hub in (hub, headquarters, london, closed):
        for group in GROUPS:
            for kind in ("national", "local"):
                for with_contact in (True, False):
                    number += 1
                    members.append(
                        make_member(
                            name=f"{'Republic' if kind == 'national' else 'City'} {number:03d}",
                            kind=kind,
                            income_group=group,
                            hub=each_hub,
                            with_contact=with_contact or number % 4 == 0,
                            language=Language.FR if number % 3 == 0 else Language.EN,
                        )
                    )
    adjustments = [("20000.00", AdjustmentKind.AMOUNT), ("0.00", AdjustmentKind.AMOUNT),
                   (None, AdjustmentKind.WAIVER), ("12345.67", AdjustmentKind.AMOUNT)]  # fmt: skip
    for index, member in enumerate(members[1::7]):
        amount, kind = adjustments[index % len(adjustments)]
        make_adjustment(member=member, amount=amount, kind=kind, reason=f"Decision {index}")
    for member in members[2::9]:
        make_issued_invoice(
            member=member,
            kind=InvoiceKind.ANNUAL_CONTRIBUTION,
            amount="10833.00" if member.hub == headquarters else "10000.00",
            assessed_amount=Decimal("10000.00"),
            assessed_currency="EUR",
            exchange_rate=Decimal("1.0833") if member.hub == headquarters else None,
        )
    make_draft_invoice(member=members[5], kind=InvoiceKind.ANNUAL_CONTRIBUTION)
    credited = make_issued_invoice(member=members[6], kind=InvoiceKind.ANNUAL_CONTRIBUTION)
    credited.status = InvoiceStatus.CREDITED
    make_issued_invoice(member=members[7], kind=InvoiceKind.OTHER)  # not an annual invoice
    make_member(name="Republic Asleep", status=MemberStatus.INACTIVE)
    make_member(name="Republic Latecomer", joined_on=date(2028, 2, 1))
    db.session.commit()
    return members


def _old_filter(rows, text="", status="", hub_name=""):
    """The preview's filter as it was, on every member's row in memory."""
    text = text.strip().lower()
    if text:
        rows = [
            row for row in rows if text in row.member.name.lower() or text == row.member.country_code.lower()
        ]
    if status:
        rows = [row for row in rows if row.status.value == status]
    if hub_name:
        rows = [row for row in rows if row.member.hub.name == hub_name]
    return rows


def _old_csv_row(row):
    """A CSV row as the preview wrote it from each member's row."""
    adjustment = row.adjustment
    rate = row.exchange_rate
    return [
        row.member.name,
        row.member.kind.label,
        row.member.country_code,
        row.member.hub.name,
        row.group_label,
        row.member.language.label,
        row.status.label,
        "" if row.amount is None else str(row.amount),
        row.currency or "",
        "" if row.policy_amount is None else str(row.policy_amount),
        "" if row.assessed_amount is None else str(row.assessed_amount),
        row.assessed_currency or "",
        "" if rate is None else f"{rate.normalize():f}",
        adjustment.kind.label if adjustment else "",
        adjustment.reason if adjustment else "",
        adjustment.approval_reference if adjustment else "",
        (row.invoice.number or "") if row.invoice else "",
        " ".join(row.problems) if row.problems else row.waived_because,
    ]


def _shown(row) -> tuple:
    """All that the page and the run read of a row."""
    member, adjustment = row.member, row.adjustment
    return (
        (member.id, member.name, member.country_code, member.hub, member.language, member.kind),
        row.status,
        row.amount,
        row.currency,
        row.income_group,
        row.group_label,
        row.policy_amount,
        row.assessed_policy_amount,
        row.billing,
        row.converted,
        (row.assessed_amount, row.assessed_currency, row.exchange_rate),
        row.problems,
        row.waived_because,
        row.invoice,
        adjustment and (adjustment.kind, adjustment.amount, adjustment.reason, adjustment.approval_reference),
    )


def _filters(old) -> list[PreviewFilter]:
    hubs = sorted({row.member.hub.name for row in old.rows})
    statuses = [status.value for status in RowStatus]
    return [
        PreviewFilter(),
        *(PreviewFilter(status=status) for status in statuses),
        *(PreviewFilter(hub_name=name) for name in hubs),
        *(PreviewFilter(status=status, hub_name=name) for status in statuses for name in hubs),
        PreviewFilter(text="city 0"),
        PreviewFilter(text="Republic 01", status=RowStatus.PROBLEM.value),
        PreviewFilter(text=old.rows[3].member.country_code.lower()),
        PreviewFilter(text="nobody at all"),
    ]


def test_the_figures_are_those_of_every_members_row(varied):
    old = annual_run_preview.build_preview(2027)
    new = annual_run_preview.preview_figures(2027)

    assert {status: len(old.with_status(status)) for status in RowStatus} == {
        status: new.count(status) for status in RowStatus
    }
    assert all(len(old.with_status(status)) for status in RowStatus)  # the data set has rows of each
    assert new.member_count == len(old.rows) and new.adjusted_count == len(old.adjusted)
    assert new.total_to_invoice == old.total_to_invoice and len(new.total_to_invoice) == 2
    assert new.totals_by_group == old.totals_by_group
    assert new.totals_by_hub == old.totals_by_hub
    assert any(total.invoiced_count for total in new.totals_by_hub)
    assert new.hub_currencies == old.hub_currencies and new.rate_missing == old.rate_missing
    assert [hub.hub for hub in new.rate_missing] == ["London hub"]
    assert new.not_in_run_count == old.not_in_run_count == 2
    assert new.summary() == old.summary()
    assert new.hub_names == sorted({row.member.hub.name for row in old.rows})
    assert len(new.groups) < len(old.rows)  # members are classified per set of alike ones


def test_every_filtered_list_and_its_rows_are_those_of_every_members_row(varied):
    old = annual_run_preview.build_preview(2027)
    new = annual_run_preview.preview_figures(2027)
    old_rows = {row.member.id: row for row in old.rows}

    for chosen in _filters(old):
        expected = [
            row.member.id for row in _old_filter(old.rows, chosen.text, chosen.status, chosen.hub_name)
        ]
        listed = list(db.session.scalars(annual_run_preview.listed_members(new, chosen)))
        assert listed == expected, chosen
        assert annual_run_preview.listed_count(new, chosen) == len(expected), chosen
    assert list(db.session.scalars(annual_run_preview.adjusted_members(new))) == [
        row.member.id for row in old.adjusted
    ]
    rows = annual_run_preview.page_rows(new, [row.member.id for row in old.rows])
    assert {member_id: _shown(row) for member_id, row in rows.items()} == {
        member_id: _shown(row) for member_id, row in old_rows.items()
    }
    assert annual_run_preview.listed_count(new, PreviewFilter(nothing=True)) == 0


def test_every_csv_row_is_that_of_every_members_row(varied):
    old = annual_run_preview.build_preview(2027)
    new = annual_run_preview.preview_figures(2027)

    for chosen in _filters(old):
        expected = [
            _old_csv_row(row) for row in _old_filter(old.rows, chosen.text, chosen.status, chosen.hub_name)
        ]
        written = list(_preview_csv_rows(annual_run_preview.streamed_preview(new, chosen)))
        assert written[0] == PREVIEW_CSV_HEADER
        assert written[1:] == expected, chosen


def test_the_page_lists_every_member_and_every_problem_a_page_at_a_time(varied, login_as, app, monkeypatch):
    monkeypatch.setitem(app.config, "ITEMS_PER_PAGE", 7)
    old = annual_run_preview.build_preview(2027)
    client = login_as("operations")

    def listed(section: str, arg: str, count: int) -> list[int]:
        found = []
        for number in range(1, -(-count // 7) + 1):
            page = client.get(f"/contributions/runs/2027/preview?{arg}={number}").get_data(as_text=True)
            part = page.split(f'id="{section}"')[1].split("</section>")[0]
            found += [
                int(member_id) for member_id in re.findall(r'href="/contributions/members/(\d+)"', part)
            ]
        return found

    assert listed("members", "page", len(old.rows)) == [row.member.id for row in old.rows]
    assert listed("problems", "problems_page", len(old.problems)) == [row.member.id for row in old.problems]
    assert listed("adjustments", "adjustments_page", len(old.adjusted)) == [
        row.member.id for row in old.adjusted
    ]

    response = client.get("/contributions/runs/2027/preview?format=csv&status=problem&hub=London+hub")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[1:] == [
        _old_csv_row(row) for row in _old_filter(old.rows, status="problem", hub_name="London hub")
    ]
    assert client.get("/contributions/runs/2027/preview?status=nonsense").status_code == 200


def test_the_figures_read_a_constant_number_of_queries(varied, make_member):
    def queries() -> int:
        statements = []

        def seen(*args):
            statements.append(1)

        sa.event.listen(db.engine, "before_cursor_execute", seen)
        try:
            figures = annual_run_preview.preview_figures(2027)
            annual_run_preview.page_rows(
                figures, list(db.session.scalars(annual_run_preview.listed_members(figures)))
            )
            list(annual_run_preview.streamed_preview(figures))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", seen)
        return len(statements)

    queries()  # the first call after a commit also reloads what it expired
    before = queries()
    for _ in range(5):
        make_member()
    db.session.commit()
    queries()
    assert queries() == before
