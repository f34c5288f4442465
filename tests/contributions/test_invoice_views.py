"""Invoice pages: what operations and the board see and can do."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.common.languages import Language
from app.common.pdf import sha256_hex
from app.common.time import today
from app.contributions.models import CreditNote, Invoice, InvoiceEventKind, InvoiceStatus
from app.contributions.services.invoicing import create_draft_invoice, issue_invoice, store_invoice_pdf
from app.extensions import db
from tests.conftest import count
from tests.helpers import get_counting_queries


def form_data(member, *lines, **overrides):
    data = {
        "member_id": str(member.id),
        "fiscal_year": "2027",
        "kind": "other",
        "currency": "",
        "language": "",
    }
    for index, (description, amount) in enumerate(lines):
        data[f"lines-{index}-description"] = description
        data[f"lines-{index}-amount"] = amount
    data.update(overrides)
    return data


@pytest.fixture
def operations(login_as):
    return login_as("operations", full_name="Olga Operations")


@pytest.fixture
def issued(make_member, make_user):
    user = make_user("operations")
    invoice = create_draft_invoice(make_member(), 2027, [("Contribution", Decimal("10000.00"))], user)
    issue_invoice(invoice, user, issued_on=date(2027, 1, 15))
    store_invoice_pdf(invoice)
    return invoice


# --- Drafts ------------------------------------------------------------------------------------------------


def test_operations_create_a_draft(operations, make_member):
    member = make_member(language=Language.FR)
    page = operations.get("/contributions/invoices/new")
    assert page.status_code == 200 and member.name in page.text

    response = operations.post(
        "/contributions/invoices/new", data=form_data(member, ("Conference fee", "1250.50"), ("", ""))
    )
    assert response.status_code == 302
    invoice = db.session.scalar(sa.select(Invoice).where(Invoice.member_id == member.id))
    assert invoice.is_draft and invoice.total == Decimal("1250.50")
    assert invoice.currency == "EUR" and invoice.language == Language.FR
    shown = operations.get(response.headers["Location"])
    assert "Draft invoice" in shown.text and "Conference fee" in shown.text and "Issue invoice" in shown.text
    assert "data-confirm" in shown.text


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "Add at least one line"),
        ([("Fee", "0.00")], "An amount must be more than zero."),
        ([("Fee", "10.005")], "Use at most 2 decimal places."),
        ([("Fee", "ten")], "Enter an amount in digits, with a point before the decimals"),
        ([("", "100.00")], "Describe what this amount is for."),
        ([("Fee", "")], "Give this line an amount."),
    ],
)
def test_bad_drafts_get_a_message_and_save_nothing(operations, make_member, lines, message):
    member = make_member()
    response = operations.post("/contributions/invoices/new", data=form_data(member, *lines))
    assert response.status_code == 422
    assert message in response.text
    assert count(Invoice) == 0


def test_a_missing_member_or_year_is_reported_beside_the_field(operations):
    response = operations.post(
        "/contributions/invoices/new", data={"member_id": "", "fiscal_year": "", "lines-0-description": "x"}
    )
    assert response.status_code == 422
    assert "Choose the member to bill." in response.text and "Enter the fiscal year." in response.text


def test_a_second_annual_invoice_for_the_same_year_is_refused(operations, make_member):
    member = make_member()
    data = form_data(member, ("Annual contribution", "10000.00"), kind="annual_contribution")
    assert operations.post("/contributions/invoices/new", data=data).status_code == 302
    response = operations.post("/contributions/invoices/new", data=data)
    assert response.status_code == 422 and "already has an annual contribution invoice" in response.text
    assert count(Invoice) == 1


def test_a_draft_is_edited(operations, make_draft_invoice):
    invoice = make_draft_invoice()
    page = operations.get(f"/contributions/invoices/{invoice.id}/edit")
    assert page.status_code == 200 and "Contribution" in page.text
    response = operations.post(
        f"/contributions/invoices/{invoice.id}/edit",
        data=form_data(invoice.member, ("Workshop", "300.00"), ("Travel", "200.00"), notes="Thanks"),
    )
    assert response.status_code == 302
    assert [line.description for line in invoice.lines] == ["Workshop", "Travel"]
    assert invoice.total == Decimal("500.00") and invoice.notes == "Thanks"


def test_a_draft_is_deleted(operations, make_draft_invoice):
    invoice = make_draft_invoice()
    response = operations.post(f"/contributions/invoices/{invoice.id}/delete")
    assert response.status_code == 302
    assert count(Invoice) == 0


def test_an_issued_invoice_cannot_be_edited_or_deleted(operations, issued):
    edit = operations.get(f"/contributions/invoices/{issued.id}/edit", follow_redirects=True)
    assert "cannot change" in edit.text
    operations.post(f"/contributions/invoices/{issued.id}/delete", follow_redirects=True)
    assert db.session.get(Invoice, issued.id).number == "BE-2027-0001"


# --- Issuing and PDFs --------------------------------------------------------------------------------------


def test_issuing_gives_the_number_and_the_pdf_downloads_byte_identical(operations, make_draft_invoice):
    invoice = make_draft_invoice()
    response = operations.post(f"/contributions/invoices/{invoice.id}/issue", follow_redirects=True)
    assert response.status_code == 200
    assert "Invoice BE-2027-0001 issued" in response.text
    assert invoice.number == "BE-2027-0001" and invoice.status == InvoiceStatus.ISSUED
    assert invoice.issued_by_id == operations.user.id

    first = operations.get(f"/contributions/invoices/{invoice.id}/pdf")
    second = operations.get(f"/contributions/invoices/{invoice.id}/pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert first.headers["Content-Disposition"] == 'attachment; filename="BE-2027-0001.pdf"'
    assert first.data.startswith(b"%PDF")
    assert first.data == second.data == invoice.pdf_bytes
    assert sha256_hex(first.data) == invoice.pdf_sha256


def test_the_invoice_page_shows_the_history_with_who_and_when(operations, make_draft_invoice):
    invoice = make_draft_invoice()
    operations.post(f"/contributions/invoices/{invoice.id}/issue")
    page = operations.get(f"/contributions/invoices/{invoice.id}")
    assert "History" in page.text and "Issued" in page.text and "Olga Operations" in page.text
    assert "Download PDF" in page.text and "New credit note" in page.text
    assert "Balance due" in page.text and "10,000.00" in page.text


def test_a_converted_invoice_shows_what_was_assessed_and_the_rate(
    operations, make_member, make_policy, make_user
):
    from app.contributions.models import InvoiceKind, PolicyExchangeRate
    from app.contributions.services.assessments import assess_member, billing_amount

    policy = make_policy(fiscal_year=2027, currency="USD", lower_middle="10000.00")
    policy.exchange_rates.append(PolicyExchangeRate(currency="EUR", rate=Decimal("0.92")))
    member = make_member()  # a Brussels member: billed in euros
    user = make_user("operations")
    billing = billing_amount(assess_member(member, 2027))
    invoice = create_draft_invoice(
        member, 2027, [("Annual contribution", billing.amount)], user,
        kind=InvoiceKind.ANNUAL_CONTRIBUTION, conversion=billing,
    )  # fmt: skip
    issue_invoice(invoice, user, issued_on=date(2027, 1, 15))
    plain = create_draft_invoice(member, 2027, [("Conference fee", Decimal("250.00"))], user)

    page = " ".join(operations.get(f"/contributions/invoices/{invoice.id}").text.split())

    assert "€9,200.00" in page
    assert "Assessed at $10,000.00, converted at 1 USD = 0.9200 EUR (FY2027 budget rate)" in page
    assert "converted at" not in operations.get(f"/contributions/invoices/{plain.id}").text


@pytest.mark.real_commits
@pytest.mark.postgres_only
def test_the_number_is_committed_and_its_counter_free_before_the_pdf_renders(
    operations, make_draft_invoice, monkeypatch
):
    from app.common import pdf
    from app.contributions.models import DocumentSequence

    invoice_id = make_draft_invoice().id
    db.session.commit()
    seen = {}
    real_render = pdf.render_pdf

    def render_and_look_from_another_connection(html):
        with db.engine.connect() as other:
            seen["number"] = other.scalar(sa.select(Invoice.number).where(Invoice.id == invoice_id))
            counter = sa.select(DocumentSequence.id).with_for_update(nowait=True)  # raises if locked
            seen["counter_free"] = other.execute(counter).first() is not None
            other.rollback()
        return real_render(html)

    monkeypatch.setattr(pdf, "render_pdf", render_and_look_from_another_connection)
    response = operations.post(f"/contributions/invoices/{invoice_id}/issue", follow_redirects=True)

    assert "Invoice BE-2027-0001 issued. Its PDF is stored" in response.text
    assert seen["number"] == "BE-2027-0001"  # committed: the next person can take a number meanwhile
    assert seen["counter_free"]
    db.session.expire_all()
    assert db.session.get(Invoice, invoice_id).pdf_bytes.startswith(b"%PDF")


def test_an_issued_invoice_whose_pdf_is_not_stored_yet_is_made_when_downloaded_and_kept(
    operations, make_draft_invoice
):
    invoice = issue_invoice(make_draft_invoice(), operations.user)  # its PDF still to come
    db.session.commit()
    first = operations.get(f"/contributions/invoices/{invoice.id}/pdf")
    assert first.status_code == 200 and first.data.startswith(b"%PDF")
    db.session.expire_all()
    stored = db.session.get(Invoice, invoice.id)
    assert stored.pdf_sha256 == sha256_hex(first.data)
    assert operations.get(f"/contributions/invoices/{invoice.id}/pdf").data == first.data


def test_an_invoice_whose_pdf_cannot_be_made_says_so_and_serves_nothing(
    operations, make_draft_invoice, monkeypatch
):
    invoice = issue_invoice(make_draft_invoice(), operations.user)
    db.session.commit()
    from app.common import pdf

    def broken(html):
        raise RuntimeError("renderer down")

    monkeypatch.setattr(pdf, "render_pdf", broken)
    response = operations.get(f"/contributions/invoices/{invoice.id}/pdf", follow_redirects=True)
    assert response.mimetype == "text/html"
    assert f"The PDF of invoice {invoice.number} could not be made; try again in a moment." in response.text
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).pdf_sha256 is None


def test_a_draft_has_no_stored_pdf(operations, make_draft_invoice):
    invoice = make_draft_invoice()
    response = operations.get(f"/contributions/invoices/{invoice.id}/pdf", follow_redirects=True)
    assert "A draft has no PDF yet" in response.text


def test_the_board_can_read_but_not_issue(login_as, make_draft_invoice, issued):
    board = login_as("board")
    draft = make_draft_invoice()
    assert board.post(f"/contributions/invoices/{draft.id}/issue").status_code == 403
    assert draft.is_draft and draft.number is None
    assert board.get("/contributions/invoices/").status_code == 200
    page = board.get(f"/contributions/invoices/{draft.id}")
    assert page.status_code == 200 and "Issue invoice" not in page.text
    assert board.get(f"/contributions/invoices/{issued.id}/pdf").status_code == 200


def test_a_missing_invoice_is_404(operations):
    assert operations.get("/contributions/invoices/999999").status_code == 404


# --- Pro-formas --------------------------------------------------------------------------------------------


def test_a_draft_pro_forma_is_a_pdf_and_the_draft_is_unchanged(operations, make_draft_invoice):
    invoice = make_draft_invoice()
    response = operations.get(f"/contributions/invoices/{invoice.id}/pro-forma.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert invoice.events == [] or all(event.kind != InvoiceEventKind.PRO_FORMA for event in invoice.events)
    assert invoice.pdf_bytes is None and invoice.is_draft


def test_a_planned_contribution_pro_forma(operations, make_member, make_policy):
    make_policy(fiscal_year=2028)
    member = make_member(income_group="high", fiscal_year=2028)
    response = operations.get(f"/contributions/pro-forma?member_id={member.id}&fiscal_year=2028")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert count(Invoice) == 0


def test_a_planned_pro_forma_without_a_policy_explains_why(operations, make_member):
    member = make_member()
    response = operations.get(
        f"/contributions/pro-forma?member_id={member.id}&fiscal_year=2035", follow_redirects=True
    )
    assert response.status_code == 200 and "There is no contribution policy for FY2035" in response.text


def test_a_pro_forma_for_nothing_is_404(operations):
    assert operations.get("/contributions/pro-forma?member_id=999999&fiscal_year=2027").status_code == 404
    assert operations.get("/contributions/pro-forma").status_code == 404


# --- Credit notes ------------------------------------------------------------------------------------------


def test_a_credit_note_is_issued_from_the_invoice(operations, issued):
    page = operations.get(f"/contributions/invoices/{issued.id}/credit-notes/new")
    assert page.status_code == 200 and "balance due" in page.text
    response = operations.post(
        f"/contributions/invoices/{issued.id}/credit-notes/new",
        data={"amount": "10000.00", "reason": "Member withdrew"},
        follow_redirects=True,
    )
    assert "Credit note BE-CN-2027-0001 issued" in response.text
    assert issued.status == InvoiceStatus.CREDITED
    note = db.session.scalar(sa.select(CreditNote))
    assert note.pdf_bytes.startswith(b"%PDF") and note.balance_after == Decimal("0.00")
    download = operations.get(f"/contributions/credit-notes/{note.id}/pdf")
    assert download.headers["Content-Disposition"] == 'attachment; filename="BE-CN-2027-0001.pdf"'
    assert download.data == note.pdf_bytes


def test_a_credit_note_whose_pdf_fails_is_issued_all_the_same_and_made_when_downloaded(
    operations, issued, monkeypatch
):
    from app.common import pdf

    real_render = pdf.render_pdf

    def broken(html):
        raise RuntimeError("renderer down")

    monkeypatch.setattr(pdf, "render_pdf", broken)
    response = operations.post(
        f"/contributions/invoices/{issued.id}/credit-notes/new",
        data={"amount": "2500.00", "reason": "Reduced"},
        follow_redirects=True,
    )
    assert "Credit note BE-CN-2027-0001 issued against BE-2027-0001, but its PDF could not be made" in (
        response.text
    )
    note = db.session.scalar(sa.select(CreditNote))
    assert note.number == "BE-CN-2027-0001" and note.pdf_sha256 is None  # the number is kept, not lost
    failed = operations.get(f"/contributions/credit-notes/{note.id}/pdf", follow_redirects=True)
    assert failed.mimetype == "text/html"
    assert "The PDF of credit note BE-CN-2027-0001 could not be made" in failed.text

    monkeypatch.setattr(pdf, "render_pdf", real_render)
    first = operations.get(f"/contributions/credit-notes/{note.id}/pdf")
    assert first.status_code == 200 and first.data.startswith(b"%PDF")
    db.session.expire_all()
    assert db.session.get(CreditNote, note.id).pdf_sha256 == sha256_hex(first.data)
    assert operations.get(f"/contributions/credit-notes/{note.id}/pdf").data == first.data
    # The next note takes the next number: the failed render held nothing up.
    operations.post(
        f"/contributions/invoices/{issued.id}/credit-notes/new", data={"amount": "100.00", "reason": "Again"}
    )
    assert count(CreditNote) == 2


@pytest.mark.real_commits
@pytest.mark.postgres_only
def test_a_credit_note_number_is_committed_and_its_counter_free_before_the_pdf_renders(
    operations, issued, monkeypatch
):
    from app.common import pdf
    from app.contributions.models import DocumentSequence

    db.session.commit()
    seen = {}
    real_render = pdf.render_pdf

    def render_and_look_from_another_connection(html):
        with db.engine.connect() as other:
            seen["number"] = other.scalar(sa.select(CreditNote.number))
            counter = sa.select(DocumentSequence.id).with_for_update(nowait=True)  # raises if locked
            seen["counter_free"] = other.execute(counter).first() is not None
            other.rollback()
        return real_render(html)

    monkeypatch.setattr(pdf, "render_pdf", render_and_look_from_another_connection)
    response = operations.post(
        f"/contributions/invoices/{issued.id}/credit-notes/new",
        data={"amount": "2500.00", "reason": "Reduced"},
        follow_redirects=True,
    )

    assert "Credit note BE-CN-2027-0001 issued against BE-2027-0001." in response.text
    assert seen["number"] == "BE-CN-2027-0001"
    assert seen["counter_free"]
    db.session.expire_all()
    assert db.session.scalar(sa.select(CreditNote)).pdf_bytes.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("10000.01", "At most €10,000.00, the balance due."),
        ("0", "An amount must be more than zero."),
        ("12.345", "Use at most 2 decimal places."),
        ("", "Enter the amount to credit."),
    ],
)
def test_bad_credit_notes_get_a_message_beside_the_field(operations, issued, amount, message):
    response = operations.post(
        f"/contributions/invoices/{issued.id}/credit-notes/new", data={"amount": amount, "reason": "Why"}
    )
    assert response.status_code == 422 and message in response.text
    assert count(CreditNote) == 0


def test_a_draft_cannot_be_credited(operations, make_draft_invoice):
    invoice = make_draft_invoice()
    response = operations.get(f"/contributions/invoices/{invoice.id}/credit-notes/new", follow_redirects=True)
    assert "not credited" in response.text


# --- The list ----------------------------------------------------------------------------------------------


@pytest.fixture
def several(make_member, make_hub, make_user, make_draft_invoice):
    user = make_user("operations")
    headquarters = make_hub(name="Washington DC", invoice_prefix="HQ", base_currency="USD")
    senegal = make_member(name="Senegal")
    overdue = issue_invoice(
        create_draft_invoice(senegal, 2026, [("Contribution", Decimal("5000.00"))], user),
        user,
        issued_on=today() - timedelta(days=90),
    )
    current = issue_invoice(
        create_draft_invoice(
            make_member(name="Peru", hub=headquarters), 2027, [("Fee", Decimal("10.00"))], user
        ),
        user,
    )
    draft = make_draft_invoice(member=make_member(name="Kenya"))
    return {"overdue": overdue, "current": current, "draft": draft, "hq": headquarters}


def test_the_list_filters_by_status_hub_year_member_and_overdue(operations, several):
    def numbers(query):
        page = operations.get(f"/contributions/invoices/?{query}")
        assert page.status_code == 200
        return [label for label in ("BE-2026-0001", "HQ-2027-0001", "Draft #") if label in page.text]

    assert numbers("") == ["BE-2026-0001", "HQ-2027-0001", "Draft #"]
    assert numbers("status=draft") == ["Draft #"]
    assert numbers(f"hub={several['hq'].id}") == ["HQ-2027-0001"]
    assert numbers("fiscal_year=2026") == ["BE-2026-0001"]
    assert numbers("q=seneg") == ["BE-2026-0001"]
    assert numbers("q=HQ-2027") == ["HQ-2027-0001"]
    assert numbers("overdue=y") == ["BE-2026-0001"]
    assert "Overdue" in operations.get("/contributions/invoices/").text


def test_the_overdue_filter_reads_a_page_of_ids_from_the_open_invoices_in_list_order(operations, several):
    """Not by sorting every overdue invoice: the ids come from the partial index in the list's order."""
    from app.contributions.services.invoicing import invoices_query

    ids = invoices_query(overdue=True).with_only_columns(Invoice.id).limit(50)
    bind = db.session.get_bind()
    compiled = ids.compile(bind, compile_kwargs={"literal_binds": True})
    if bind.dialect.name == "sqlite":
        plan = " ".join(str(row[-1]) for row in db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))
        assert "ix_invoices_open_list_order" in plan and "TEMP B-TREE" not in plan, plan
    else:
        # Whether the index *can* give the page in list order: on a near-empty table, or with statistics left
        # by earlier tests, a scan, or a bitmap scan of another index and a sort, costs the planner as little.
        for plan_kind in ("seqscan", "bitmapscan", "sort"):
            db.session.execute(sa.text(f"SET LOCAL enable_{plan_kind} = off"))
        plan = " ".join(row[0] for row in db.session.execute(sa.text(f"EXPLAIN {compiled}")))
        assert "ix_invoices_open_list_order" in plan and "Sort" not in plan, plan
    assert list(db.session.scalars(ids)) == [several["overdue"].id]
    for url in ("/contributions/invoices/?overdue=y&hub=", "/contributions/invoices/export.csv?overdue=y"):
        response = operations.get(url)
        assert response.status_code == 200 and "BE-2026-0001" in response.text
        assert "HQ-2027-0001" not in response.text


def test_an_empty_result_says_so(operations, several):
    page = operations.get("/contributions/invoices/?q=nothing-like-this")
    assert "No invoice matches these filters." in page.text


def test_bad_filters_do_not_fail(operations):
    page = operations.get("/contributions/invoices/?fiscal_year=abc&status=bogus")
    assert page.status_code == 200 and "Correct the filters" in page.text


def test_the_list_exports_to_csv_with_the_same_filters(operations, several):
    response = operations.get("/contributions/invoices/export.csv?status=issued")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {row["number"] for row in rows} == {"BE-2026-0001", "HQ-2027-0001"}
    senegal = next(row for row in rows if row["number"] == "BE-2026-0001")
    assert senegal["member"] == "Senegal" and senegal["total"] == "5000.00" and senegal["currency"] == "EUR"


def test_the_list_runs_a_constant_number_of_queries(operations, make_member, make_draft_invoice):
    def queries_for_list() -> int:
        statements = []

        def record(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert operations.get("/contributions/invoices/").status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        return len(statements)

    make_draft_invoice()
    few = queries_for_list()
    for _ in range(6):
        make_draft_invoice(member=make_member())
    assert queries_for_list() == few


def test_the_csv_export_streams_every_row_in_a_constant_number_of_queries(
    operations, make_member, make_draft_invoice, make_issued_invoice
):
    def export() -> tuple[list[dict], int]:
        response, queries = get_counting_queries(operations, "/contributions/invoices/export.csv")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert "Content-Length" not in response.headers  # written while it is read, never held whole
        return list(csv.DictReader(io.StringIO(response.text))), queries

    paid = make_issued_invoice(amount="1000.00")
    paid.amount_paid = Decimal("400.00")
    paid.status = InvoiceStatus.PARTIALLY_PAID
    make_draft_invoice(amount="250.00")
    rows, few = export()
    assert {row["balance_due"] for row in rows} == {"600.00", "250.00"}
    assert next(row for row in rows if row["number"] == paid.number)["paid"] == "400.00"
    assert next(row for row in rows if not row["number"])["status"] == "draft"

    for _ in range(8):
        make_issued_invoice(member=make_member())
    rows, many = export()
    assert len(rows) == 10 and many == few
