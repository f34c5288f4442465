"""The contributions overview and the home-page panel."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.common.fiscal import current_fiscal_year
from app.common.time import today
from app.contributions.models import Member, MemberStatus
from app.contributions.services import members as service
from app.extensions import db
from tests.contributions.test_members import counting_queries

FY = current_fiscal_year()


def test_the_overview_lists_active_members_that_the_annual_run_would_stop_at(login_as, make_member):
    make_member(name="Ready Republic", fiscal_year=FY)
    no_group = make_member(name="Groupless Republic", income_group=None)
    no_contact = make_member(name="Contactless Republic", fiscal_year=FY, with_contact=False)
    make_member(name="Asleep Republic", income_group=None, status=MemberStatus.INACTIVE)
    make_member(kind="local", name="Local Town")  # local members need no income group

    page = login_as("board").get("/contributions/").text

    assert f'href="/contributions/members/{no_group.id}#income-groups">No income group for FY{FY}' in page
    assert f'href="/contributions/members/{no_contact.id}#contacts">No primary billing contact' in page
    for name in ("Ready Republic", "Asleep Republic", "Local Town"):
        assert name not in page
    assert "1 national member without an income group" in page
    assert "/contributions/members/?status=active&amp;income_group=missing" in page


def test_the_overview_counts_members_and_says_which_policies_exist(login_as, make_member, make_policy):
    make_member(fiscal_year=FY)
    make_member(fiscal_year=FY)
    make_member(kind="local")
    make_member(fiscal_year=FY, status=MemberStatus.SUSPENDED)
    make_policy(FY)

    page = login_as("board").get("/contributions/").text

    assert '<p class="figure">3</p>' in page
    assert ">2 national</a>" in page and ">1 local</a>" in page
    assert f'FY{FY}:\n        \n          <span class="badge ok">set</span>' in page
    assert f'FY{FY + 1}:\n        \n          <span class="badge warn">missing</span>' in page
    assert "Every active member has a primary billing contact" in page


def test_the_overview_shows_open_and_overdue_invoices_per_currency(login_as, make_issued_invoice, make_hub):
    usd_hub = make_hub(name="HQ", invoice_prefix="HQ", base_currency="USD")
    make_issued_invoice(amount="1000.00", currency="EUR", issued_on=today(), due_in_days=30)
    make_issued_invoice(amount="500.00", currency="EUR", issued_on=today() - timedelta(days=60))
    make_issued_invoice(amount="750.00", currency="USD", hub=usd_hub, issued_on=today())

    totals = service.invoice_totals(today())
    assert totals.open_count == 3 and totals.overdue_count == 1
    page = login_as("board").get("/contributions/").text
    assert "€1,500.00" in page and "$750.00" in page
    assert "€500.00</span> past its due date" in page


def test_the_overview_issues_a_constant_number_of_queries(login_as, make_member, make_issued_invoice):
    client = login_as("board")
    for _ in range(3):
        make_issued_invoice(member=make_member(income_group=None, with_contact=False))
    with counting_queries() as few:
        client.get("/contributions/")
    for _ in range(20):
        make_issued_invoice(member=make_member(income_group=None, with_contact=False))
    with counting_queries() as many:
        client.get("/contributions/")
    assert db.session.scalar(sa.select(sa.func.count(Member.id))) == 23
    assert len(many) == len(few)


def test_the_home_page_has_a_contributions_panel(login_as, make_member, make_issued_invoice):
    make_issued_invoice(amount="2500.00", currency="EUR", issued_on=today() - timedelta(days=90))
    make_member(kind="local")

    page = login_as("board").get("/").text

    assert "Country contributions" in page
    assert "Outstanding (EUR)" in page and "€2,500.00" in page
    assert "Overdue invoices" in page
    assert "1 national · 1 local" in page
