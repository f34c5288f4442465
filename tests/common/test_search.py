"""The common search: members, invoices, payments and the audit log are found accent- and case-insensitively
by a part of what they are searched by, through an index on both databases (pg_trgm on PostgreSQL, an FTS5
trigram table on SQLite), and the folded copy follows every change."""

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from app.admin.services import audit_query
from app.common import search
from app.common.audit import AuditEntry
from app.contributions.models import Invoice, Member, Payment, PaymentMethod
from app.contributions.services.invoicing import invoices_query
from app.contributions.services.members import member_query
from app.contributions.services.payments import matching_payment_ids
from app.extensions import db


def member_names(text: str) -> list[str]:
    return [member.name for member in db.session.scalars(member_query(fiscal_year=2027, text=text))]


def invoice_ids(text: str) -> list[int]:
    return [invoice.id for invoice in db.session.scalars(invoices_query(text=text)).unique()]


def payment_ids(text: str) -> set[int]:
    return set(db.session.scalars(matching_payment_ids(text)))


def make_payment(member, reference: str) -> Payment:
    payment = Payment(
        member=member,
        amount=Decimal("100.00"),
        currency="EUR",
        received_on=date(2027, 2, 1),
        method=PaymentMethod.WIRE,
        reference=reference,
    )
    db.session.add(payment)
    db.session.flush()
    return payment


def test_fold_removes_accents_case_and_extra_spaces():
    assert search.fold("  São  PAULO ") == "sao paulo"
    assert search.fold("Straße Øresund") == "strasse oresund"
    assert search.fold("a\x00b") == "ab"


def test_members_are_found_by_a_part_of_their_name_whatever_the_accents(make_member):
    make_member(name="Côte d'Ivoire", country_code="CI")
    make_member(name="Ghana", country_code="GH")
    assert member_names("cote d'IV") == ["Côte d'Ivoire"]
    assert member_names("CÔTE") == ["Côte d'Ivoire"]
    assert member_names("gh") == ["Ghana"]  # a country code, and a query too short for trigrams


def test_a_renamed_member_is_found_by_its_new_name_only(make_member):
    member = make_member(name="Old Name Republic")
    member.name = "República Nueva"
    db.session.flush()
    assert member_names("republica nueva") == ["República Nueva"]
    assert member_names("old name") == []


def test_invoices_are_found_by_number_or_by_their_members_name(make_issued_invoice, make_member):
    senegal = make_member(name="Sénégal", country_code="SN")
    by_member = make_issued_invoice(member=senegal)
    other = make_issued_invoice()
    assert invoice_ids("senegal") == [by_member.id]
    assert invoice_ids(other.number.lower()) == [other.id]
    assert invoice_ids(other.number[-5:]) == [other.id]


def test_an_invoice_number_given_at_issue_is_searchable(make_draft_invoice):
    invoice = make_draft_invoice()
    invoice.number = "ZZ-2027-0042"
    invoice.status = "issued"
    db.session.flush()
    assert invoice_ids("zz-2027-0042") == [invoice.id]


def test_payments_are_found_by_reference_or_by_their_members_name(make_member):
    malawi = make_member(name="Malawi", country_code="MW")
    kenya = make_member(name="Kenya", country_code="KE")
    by_reference = make_payment(kenya, "Transfer REF-Ünïque-77")
    by_member = make_payment(malawi, "")
    assert payment_ids("ref-unique-77") == {by_reference.id}
    assert payment_ids("MALAWI") == {by_member.id}


def test_the_audit_log_is_found_by_record_type_id_and_label(make_member):
    member = make_member(name="Bénin", country_code="BJ")
    found = list(db.session.scalars(audit_query(text=f"member {member.id}")))
    assert any(entry.record_id == str(member.id) for entry in found)
    assert all(entry.record_type == "Member" or "benin" in entry.search_text for entry in found)
    labelled = list(db.session.scalars(audit_query(text="BENIN")))
    assert [entry.record_label for entry in labelled] == ["Bénin"]


def test_a_search_through_a_related_table_finds_the_same_rows_with_many_related_matches(
    make_member, monkeypatch
):
    kenya = make_member(name="Kenya", country_code="KE")
    kenyan = make_payment(kenya, "")
    by_reference = make_payment(make_member(name="Malawi", country_code="MW"), "for kenya's office")
    assert payment_ids("kenya") == {kenyan.id, by_reference.id}
    # Beyond RELATED_IDS_LISTED matching members, their ids stay a subquery: the same payments.
    monkeypatch.setattr(search, "RELATED_IDS_LISTED", 0)
    assert payment_ids("kenya") == {kenyan.id, by_reference.id}


def test_like_characters_in_a_query_are_no_wildcards_on_postgresql(make_member):
    make_member(name="Province 100% Verte", country_code="FR", kind="local")
    make_member(name="Province 1000 Verte", country_code="FR", kind="local")
    names = member_names("100% verte")
    assert "Province 100% Verte" in names
    if db.session.get_bind().dialect.name == "postgresql":
        assert names == ["Province 100% Verte"]


def plan_of(statement: sa.Select) -> str:
    compiled = statement.compile(db.session.get_bind(), compile_kwargs={"literal_binds": True})
    if db.session.get_bind().dialect.name == "sqlite":
        return " ".join(str(row[-1]) for row in db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))
    # On a near-empty table the planner may prefer walking the primary key with a filter; without sequential
    # and plain index scans, only the trigram index (a bitmap scan) can answer the search.
    db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    db.session.execute(sa.text("SET LOCAL enable_indexscan = off"))
    return " ".join(row[0] for row in db.session.execute(sa.text(f"EXPLAIN {compiled}")))


def test_every_search_reads_its_index(make_member):
    make_member(name="Fundação São Paulo", country_code="BR")
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    for table in (Member.__table__, Invoice.__table__, Payment.__table__, AuditEntry.__table__):
        plan = plan_of(sa.select(table.c.id).where(table.c.id.in_(search.matching_ids(table, "paulo"))))
        if sqlite:
            assert "VIRTUAL TABLE INDEX" in plan and f"search_{table.name}" in plan, plan
        else:
            assert f"search_{table.name}_trgm" in plan, plan


def test_bulk_inserted_rows_get_the_folded_copy_the_model_would_give():
    rows = [{"name": "Türkiye"}, {"name": "Chile", "search_text": "given"}]
    search.add_search_text("members", rows)
    assert [row["search_text"] for row in rows] == ["turkiye", "given"]
