"""Invoice pages: list, drafts, issuing, PDFs, pro-formas and credit notes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import selectinload

from ...auth.permissions import Permission, requires
from ...common import pdf as pdf_rendering
from ...common import search, sqlite
from ...common.errors import DomainError, ValidationFailed
from ...common.exports import (
    PDF_MIMETYPE,
    as_stored,
    csv_response,
    download_response,
    money_text,
    streamed_rows,
)
from ...common.filters import day
from ...common.fiscal import current_fiscal_year
from ...common.forms import apply_field_errors
from ...common.languages import Language
from ...common.pagination import paginate
from ...common.time import today
from ...common.urls import fiscal_year_arg, int_arg
from ...extensions import db
from ...hubs.models import Hub
from .. import bp
from ..forms.invoices import EXTRA_LINE_ROWS, CreditNoteForm, InvoiceFilterForm, InvoiceForm
from ..models import (
    CreditNote,
    Invoice,
    InvoiceEvent,
    InvoiceKind,
    InvoiceStatus,
    Member,
    MemberStatus,
)
from ..services import invoicing, payment_blockers
from ..services.invoicing import NothingToBill, planned_contribution


def _invoice_or_404(invoice_id: int) -> Invoice:
    return db.session.get(Invoice, invoice_id) or abort(404)


def _billable_members() -> list[Member]:
    return list(
        db.session.scalars(
            sa.select(Member).where(Member.status != MemberStatus.INACTIVE).order_by(Member.name)
        ).unique()
    )


def _apply_service_errors(form: InvoiceForm | CreditNoteForm, failed: ValidationFailed) -> None:
    """Put a service's field errors beside the fields, including the rows of the lines table."""
    plain: dict[str, list[str]] = {}
    for name, messages in failed.field_errors.items():
        parts = name.split("-")
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit() and hasattr(form, "lines"):
            entries = form.lines.entries
            # Service rows count only the filled rows; map them back to the form's rows.
            filled = [
                entry
                for entry in entries
                if entry.form.amount.data is not None or (entry.form.description.data or "").strip()
            ]
            index = int(parts[1])
            if index < len(filled):
                field = getattr(filled[index].form, parts[2])
                field.errors = [*field.errors, *messages]
                continue
        plain[name] = messages
    if "lines" in plain and hasattr(form, "lines"):
        form.lines.errors = [*form.lines.errors, *plain.pop("lines")]
    apply_field_errors(form, plain)
    if not any(failed.field_errors.values()):
        form.form_errors.append(str(failed))


# --- List --------------------------------------------------------------------------------------------------


def _filtered_query(form: InvoiceFilterForm):
    if not form.validate():
        return None
    return invoicing.invoices_query(
        text=form.q.data or None,
        status=InvoiceStatus(form.status.data) if form.status.data else None,
        hub_id=int(form.hub.data) if form.hub.data else None,
        fiscal_year=form.fiscal_year.data,
        overdue=bool(form.overdue.data),
        blocked=bool(form.blocked.data),
    )


def _hubs() -> list[Hub]:
    return list(db.session.scalars(sa.select(Hub).order_by(Hub.name)))


class ListedInvoice(NamedTuple):
    """A row of the invoice list (and the member page's): the columns of `invoice_list_rows`, in its order."""

    id: int
    number: str | None
    kind: InvoiceKind
    status: InvoiceStatus
    fiscal_year: int
    issued_on: date | None
    due_on: date | None
    currency: str
    total: Decimal
    amount_paid: Decimal
    amount_credited: Decimal
    amount_written_off: Decimal
    member_name: str
    hub_prefix: str
    held_up: bool

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT

    @property
    def balance_due(self) -> Decimal:
        # As Invoice.balance_due, in Decimals (SQLite's REAL arithmetic would leave -0.00 on a paid invoice).
        if self.status == InvoiceStatus.DRAFT:
            return self.total
        return Invoice.owed(self.total, self.amount_paid, self.amount_credited, self.amount_written_off)


def invoice_list_rows(page_ids: sa.Subquery) -> sa.Select:
    """What each row of the invoice list shows, for the page's ids: plain columns, no invoice objects."""
    return (
        sa.select(
            Invoice.id,
            Invoice.number,
            Invoice.kind,
            Invoice.status,
            Invoice.fiscal_year,
            Invoice.issued_on,
            Invoice.due_on,
            Invoice.currency,
            Invoice.total,
            Invoice.amount_paid,
            Invoice.amount_credited,
            Invoice.amount_written_off,
            Member.name.label("member_name"),
            Hub.invoice_prefix.label("hub_prefix"),
            # Among the page's invoices only: SQLite would otherwise list every open invoice's blocker.
            Invoice.id.in_(
                payment_blockers.blocked_invoice_ids().where(Invoice.id.in_(sa.select(page_ids.c.id)))
            ).label("held_up"),
        )
        .join(page_ids, page_ids.c.id == Invoice.id)
        .join(Member, Member.id == Invoice.member_id)
        .join(Hub, Hub.id == Invoice.hub_id)
    )


@bp.route("/invoices/")
@requires(Permission.CONTRIBUTIONS_VIEW)
def list_invoices():
    form = InvoiceFilterForm(_hubs(), request.args)
    query = _filtered_query(form)
    page = None
    if query is not None:
        searched = search.is_searchable(form.q.data)
        page = paginate(query, rows=invoice_list_rows, row_type=ListedInvoice, searched=searched)
    return render_template("contributions/invoices/list.html", form=form, page=page, today=today())


@bp.app_template_global()
def invoice_status_badge(status: InvoiceStatus, due_on, today, due_title: bool = True) -> Markup:
    """An invoice's status badge, with "Overdue" beside it when it is open and past its due date (saying
    the due date on hover unless `due_title` is false; a list shows one per row: a function, cheaper than a
    macro)."""
    badge = _STATUS_BADGES[status]
    if status.is_open and due_on and due_on < today:
        if not due_title:
            return badge + _OVERDUE
        return badge + Markup(' <span class="badge bad" title="Due {}">Overdue</span>').format(day(due_on))
    return badge


_STATUS_BADGE_CLASSES = {InvoiceStatus.ISSUED: "info", InvoiceStatus.PARTIALLY_PAID: "warn",
                         InvoiceStatus.PAID: "ok"}  # fmt: skip
_OVERDUE = Markup(' <span class="badge bad">Overdue</span>')
_STATUS_BADGES = {
    status: Markup('<span class="badge {}">{}</span>').format(
        _STATUS_BADGE_CLASSES.get(status, ""), status.label
    )
    for status in InvoiceStatus
}


@bp.route("/invoices/export.csv")
@requires(Permission.CONTRIBUTIONS_VIEW)
def export_invoices():
    form = InvoiceFilterForm(_hubs(), request.args)
    query = _filtered_query(form)
    if query is None:
        flash("The filters need correcting before an export.", "error")
        return redirect(url_for("contributions.list_invoices", **request.args))
    filename = f"invoices-{today().isoformat()}.csv"
    return csv_response(_invoice_csv_rows(query), filename)


INVOICE_CSV_HEADER = [
    "number",
    "status",
    "kind",
    "member",
    "hub",
    "fiscal_year",
    "issued_on",
    "due_on",
    "currency",
    "total",
    "paid",
    "credited",
    "written_off",
    "balance_due",
]


def _invoice_csv_rows(query: sa.Select):
    """The filtered invoices as CSV cells, from one streamed query of plain columns: statuses, dates and
    amounts read as the text the file holds (no invoice objects, no Decimal built per cell)."""
    yield INVOICE_CSV_HEADER
    yield from streamed_rows(
        query.with_only_columns(
            Invoice.number,
            as_stored(Invoice.status),
            as_stored(Invoice.kind),
            Member.name.label("member"),
            Hub.name.label("hub"),
            Invoice.fiscal_year,
            as_stored(Invoice.issued_on),
            as_stored(Invoice.due_on),
            Invoice.currency,
            money_text(Invoice.total),
            money_text(Invoice.amount_paid),
            money_text(Invoice.amount_credited),
            money_text(Invoice.amount_written_off),
            money_text(Invoice.balance_due),
        )
        .join(Member, Member.id == Invoice.member_id)
        .join(Hub, Hub.id == Invoice.hub_id)
    )


# --- Drafts ------------------------------------------------------------------------------------------------


@bp.route("/invoices/new", methods=["GET", "POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def new_invoice():
    form = InvoiceForm(_billable_members())
    if request.method == "GET":
        form.member_id.data = request.args.get("member_id", "")
        form.fiscal_year.data = fiscal_year_arg() or current_fiscal_year()
    if form.validate_on_submit():
        member = db.session.get(Member, int(form.member_id.data))
        try:
            invoice = invoicing.create_draft_invoice(
                member,
                form.fiscal_year.data,
                form.line_pairs(),
                current_user,
                kind=InvoiceKind(form.kind.data),
                currency=(form.currency.data or "").strip().upper() or None,
                language=form.language.data or None,
                notes=form.notes.data or "",
            )
        except ValidationFailed as failed:
            db.session.rollback()
            _apply_service_errors(form, failed)
        except DomainError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Draft invoice for {member.name} saved. Check it, then issue it.", "success")
            return redirect(url_for("contributions.show_invoice", invoice_id=invoice.id))
    status = 422 if request.method == "POST" else 200
    return render_template("contributions/invoices/form.html", form=form, invoice=None), status


@bp.route("/invoices/<int:invoice_id>/edit", methods=["GET", "POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def edit_invoice(invoice_id: int):
    invoice = _invoice_or_404(invoice_id)
    if not invoice.is_draft:
        flash(
            f"Invoice {invoice.number} is issued and cannot change. Issue a credit note to correct it.",
            "error",
        )
        return redirect(url_for("contributions.show_invoice", invoice_id=invoice.id))
    form = InvoiceForm(_billable_members())
    if request.method == "GET":
        form.member_id.data = str(invoice.member_id)
        form.fiscal_year.data = invoice.fiscal_year
        form.kind.data = invoice.kind.value
        form.currency.data = invoice.currency
        form.language.data = invoice.language.value
        form.notes.data = invoice.notes
        while len(form.lines.entries):
            form.lines.pop_entry()
        for line in invoice.lines:
            form.lines.append_entry({"description": line.description, "amount": line.amount})
        for _ in range(EXTRA_LINE_ROWS):
            form.lines.append_entry()
    if form.validate_on_submit():
        try:
            invoicing.update_draft_invoice(
                invoice,
                current_user,
                member=db.session.get(Member, int(form.member_id.data)),
                fiscal_year=form.fiscal_year.data,
                lines=form.line_pairs(),
                kind=InvoiceKind(form.kind.data),
                currency=(form.currency.data or "").strip().upper() or None,
                language=Language(form.language.data) if form.language.data else None,
                notes=form.notes.data or "",
            )
        except ValidationFailed as failed:
            db.session.rollback()
            _apply_service_errors(form, failed)
        except DomainError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash("Draft saved.", "success")
            return redirect(url_for("contributions.show_invoice", invoice_id=invoice.id))
    status = 422 if request.method == "POST" else 200
    return render_template("contributions/invoices/form.html", form=form, invoice=invoice), status


@bp.route("/invoices/<int:invoice_id>/delete", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def delete_invoice(invoice_id: int):
    invoice = _invoice_or_404(invoice_id)
    label = f"Draft invoice for {invoice.member.name}"
    try:
        invoicing.delete_draft_invoice(invoice, current_user)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("contributions.show_invoice", invoice_id=invoice_id))
    db.session.commit()
    flash(f"{label} deleted.", "success")
    return redirect(url_for("contributions.list_invoices"))


# --- One invoice -------------------------------------------------------------------------------------------


@bp.route("/invoices/<int:invoice_id>")
@requires(Permission.CONTRIBUTIONS_VIEW)
def show_invoice(invoice_id: int):
    invoice = db.session.scalar(
        sa.select(Invoice)
        .where(Invoice.id == invoice_id)
        .options(
            selectinload(Invoice.lines),
            selectinload(Invoice.events).joinedload(InvoiceEvent.actor),
            selectinload(Invoice.credit_notes),
        )
    )
    if invoice is None:
        abort(404)
    return render_template(
        "contributions/invoices/show.html",
        invoice=invoice,
        today=today(),
        history=list(reversed(invoice.events)),
    )


@bp.route("/invoices/<int:invoice_id>/issue", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def issue_invoice(invoice_id: int):
    invoice = _invoice_or_404(invoice_id)
    try:
        invoicing.issue_invoice(invoice, current_user)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("contributions.show_invoice", invoice_id=invoice_id))
    db.session.commit()  # the number is taken: the hub's numbering row is free again for the next person
    number = invoice.number
    if not _make_stored_pdf(invoice_id):
        flash(
            f"Invoice {number} issued, but its PDF could not be made yet: it is not sent until it is. "
            "Downloading the invoice makes it again.",
            "error",
        )
        return redirect(url_for("contributions.show_invoice", invoice_id=invoice_id))
    flash(f"Invoice {number} issued. Its PDF is stored and will not change.", "success")
    return redirect(url_for("contributions.show_invoice", invoice_id=invoice_id))


def _make_stored_pdf(invoice_id: int) -> bool:
    """Render an issued invoice's missing PDF with nothing held, then store it once and commit (one stored by
    someone else meanwhile is kept). Returns False, having logged why, when it could not be made."""
    sqlite.begin_reading(db.session)  # the HTML is read without SQLite's write lock, even in a POST
    invoice = _invoice_or_404(invoice_id)
    return _render_then_store(invoice, invoicing.invoice_pdf_html, invoicing.store_invoice_pdf, "invoice")


def _render_then_store(document, html_of, store, kind: str) -> bool:
    """The HTML of an issued document read, the transaction ended so that nothing is held while it renders,
    then the PDF stored once and committed. False, having logged why, when it could not be made: the
    document stays issued and its PDF is made on the next try."""
    number = document.number
    try:
        html = html_of(document)
        db.session.rollback()  # nothing held while it renders (on SQLite, an open read holds off writers)
        pdf = pdf_rendering.render_pdf(html)
        sqlite.begin_writing(db.session)  # also from a download (GET): it stores what it made
        store(document, pdf)
        db.session.commit()
    except Exception:  # noqa: BLE001 - reported to the user by the caller, logged here
        db.session.rollback()
        current_app.logger.exception("The PDF of %s %s could not be rendered", kind, number)
        return False
    return True


def _pdf_response(content: bytes, filename: str, attachment: bool = True) -> Response:
    return download_response(content, filename, PDF_MIMETYPE, inline=not attachment)


@bp.route("/invoices/<int:invoice_id>/pdf")
@requires(Permission.CONTRIBUTIONS_VIEW)
def download_invoice_pdf(invoice_id: int):
    invoice = _invoice_or_404(invoice_id)
    if invoice.is_draft:
        flash("A draft has no PDF yet: download a pro-forma, or issue the invoice.", "error")
        return redirect(url_for("contributions.show_invoice", invoice_id=invoice_id))
    if not invoice.pdf_bytes:  # issued, its PDF not made yet (a render failed, or a stopped run): make it now
        if not _make_stored_pdf(invoice_id):
            flash(f"The PDF of invoice {invoice.number} could not be made; try again in a moment.", "error")
            return redirect(url_for("contributions.show_invoice", invoice_id=invoice_id))
        invoice = _invoice_or_404(invoice_id)
    return _pdf_response(invoice.pdf_bytes, f"{invoice.number}.pdf")


@bp.route("/pro-forma", defaults={"invoice_id": None})
@bp.route("/invoices/<int:invoice_id>/pro-forma.pdf")
@requires(Permission.CONTRIBUTIONS_VIEW)
def pro_forma_pdf(invoice_id: int | None):
    """A draft's pro-forma, or a planned contribution's (?member_id=..&fiscal_year=..)."""
    if invoice_id is None:
        return _planned_pro_forma()
    invoice = _invoice_or_404(invoice_id)
    try:
        content = invoicing.render_pro_forma(invoice)
    except DomainError as error:
        flash(str(error), "error")
        return redirect(url_for("contributions.show_invoice", invoice_id=invoice_id))
    return _pdf_response(content, _slug(f"pro-forma-{invoice.member.name}-FY{invoice.fiscal_year}") + ".pdf")


def _slug(text: str) -> str:
    return "".join(char if char.isalnum() or char in "-_" else "-" for char in text)


def _planned_pro_forma():
    member = db.session.get(Member, int_arg("member_id") or 0)
    fiscal_year = fiscal_year_arg()
    if member is None or fiscal_year is None:
        abort(404)
    try:
        content = invoicing.render_pro_forma(planned_contribution(member, fiscal_year))
    except NothingToBill as error:
        flash(f"No pro-forma for {member.name}, FY{fiscal_year}: {error}", "error")
        return redirect(url_for("contributions.list_invoices"))
    return _pdf_response(content, _slug(f"pro-forma-{member.name}-FY{fiscal_year}") + ".pdf")


# --- Credit notes ------------------------------------------------------------------------------------------


@bp.route("/invoices/<int:invoice_id>/credit-notes/new", methods=["GET", "POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def new_credit_note(invoice_id: int):
    invoice = _invoice_or_404(invoice_id)
    if invoice.is_draft:
        flash("A draft is edited or deleted, not credited.", "error")
        return redirect(url_for("contributions.show_invoice", invoice_id=invoice_id))
    form = CreditNoteForm(currency=invoice.currency)
    if request.method == "GET":
        form.amount.data = invoice.balance_due
    if form.validate_on_submit():
        try:
            credit_note = invoicing.issue_credit_note(
                invoice, form.amount.data, form.reason.data, current_user
            )
        except ValidationFailed as failed:
            db.session.rollback()
            _apply_service_errors(form, failed)
        except DomainError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()  # the number is taken: the hub's numbering row is free again
            number, credit_note_id = credit_note.number, credit_note.id
            if not _make_stored_credit_note_pdf(credit_note_id):
                flash(
                    f"Credit note {number} issued against {invoice.number}, but its PDF could not be made "
                    "yet. Downloading the credit note makes it again.",
                    "error",
                )
            else:
                flash(f"Credit note {number} issued against {invoice.number}.", "success")
            return redirect(url_for("contributions.show_invoice", invoice_id=invoice_id))
    status = 422 if request.method == "POST" else 200
    return render_template("contributions/invoices/credit_note_form.html", form=form, invoice=invoice), status


@bp.route("/credit-notes/<int:credit_note_id>/pdf")
@requires(Permission.CONTRIBUTIONS_VIEW)
def download_credit_note_pdf(credit_note_id: int):
    credit_note = db.session.get(CreditNote, credit_note_id) or abort(404)
    if not credit_note.pdf_bytes:  # its render failed after the issuing commit: make it now
        number, invoice_id = credit_note.number, credit_note.invoice_id
        if not _make_stored_credit_note_pdf(credit_note_id):
            flash(f"The PDF of credit note {number} could not be made; try again in a moment.", "error")
            return redirect(url_for("contributions.show_invoice", invoice_id=invoice_id))
        credit_note = db.session.get(CreditNote, credit_note_id) or abort(404)
    return _pdf_response(credit_note.pdf_bytes, f"{credit_note.number}.pdf")


def _make_stored_credit_note_pdf(credit_note_id: int) -> bool:
    """As `_make_stored_pdf`, for a credit note."""
    sqlite.begin_reading(db.session)
    credit_note = db.session.get(CreditNote, credit_note_id) or abort(404)
    return _render_then_store(
        credit_note, invoicing.credit_note_pdf_html, invoicing.store_credit_note_pdf, "credit note"
    )
