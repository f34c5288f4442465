"""Bank pages: the statements and their import, one statement, the review queue and one entry's decision."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ...auth.permissions import Permission, requires
from ...common.errors import DomainError, ValidationFailed
from ...common.forms import apply_field_errors
from ...common.money import format_money
from ...common.pagination import paginate
from ...common.urls import int_arg
from ...extensions import db
from ...hubs.models import Hub
from .. import bp
from ..forms.bank import (
    MAX_STATEMENT_BYTES,
    ConfirmEntryForm,
    IgnoreEntryForm,
    SplitEntryForm,
    StatementUploadForm,
)
from ..models import BankEntry, BankStatement, EntryStatus, Invoice
from ..services import bank_import, bank_matching
from ..services import payments as payment_service
from ..services.bank_statements import StatementRefused
from ..services.payment_references import display_reference, normalize_number


def _user():
    return current_user._get_current_object()


def _statement_or_404(statement_id: int) -> BankStatement:
    return db.session.get(BankStatement, statement_id) or abort(404)


def _entry_or_404(entry_id: int) -> BankEntry:
    return db.session.get(BankEntry, entry_id) or abort(404)


def _per_page() -> int:
    return current_app.config["ITEMS_PER_PAGE"]


@bp.context_processor
def inject_bank_helpers():
    return {"display_reference": display_reference}


# --- Statements --------------------------------------------------------------------------------------------


def _statements_page(form: StatementUploadForm, problem: str | None = None, status: int = 200):
    hub_id = int_arg("hub")
    query = (
        sa.select(BankStatement)
        .options(joinedload(BankStatement.imported_by))
        .order_by(BankStatement.imported_at.desc(), BankStatement.id.desc())
    )
    if hub_id:
        query = query.where(BankStatement.hub_id == hub_id)
    page = paginate(query, per_page=_per_page())
    hubs = db.session.scalars(sa.select(Hub).order_by(Hub.name)).all()
    return (
        render_template(
            "contributions/bank/statements.html",
            page=page,
            form=form,
            problem=problem,
            hubs=hubs,
            hub_id=hub_id,
            waiting=bank_matching.waiting_count(),
        ),
        status,
    )


@bp.route("/bank/")
@requires(Permission.CONTRIBUTIONS_VIEW)
def list_bank_statements():
    return _statements_page(StatementUploadForm())[0]


@bp.route("/bank/statements", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def import_bank_statement():
    form = StatementUploadForm()
    if not form.validate_on_submit():
        return _statements_page(form, status=422)
    upload = form.file.data
    data = upload.read(MAX_STATEMENT_BYTES + 1)
    if len(data) > MAX_STATEMENT_BYTES:
        form.file.errors = [
            "The file is larger than 5 MB; a bank statement is far smaller. Nothing was imported."
        ]
        return _statements_page(form, status=422)
    try:
        result = bank_import.import_statement_file(data, upload.filename or "", _user())
    except StatementRefused as refused:
        db.session.rollback()
        return _statements_page(form, problem=f"Nothing was imported: {refused}", status=422)
    except (bank_import.StatementAlreadyImported, bank_import.NothingNewInStatement) as nothing:
        return nothing_imported(nothing)
    return commit_import(result)


def nothing_imported(nothing: DomainError):
    """A file with nothing new (imported before, or no booked entry): say so on the statements page."""
    db.session.rollback()
    flash(str(nothing), "info")
    return redirect(url_for("contributions.list_bank_statements"))


def commit_import(result: bank_import.ImportResult):
    """Commit an imported statement (a file or a confirmed CSV preview) and show it."""
    try:
        db.session.commit()
    except IntegrityError:
        # Someone imported an overlapping statement at the same moment: the unique key kept each entry once.
        db.session.rollback()
        flash(
            "Another import of the same entries ran at the same moment; nothing was added. Try again.",
            "warning",
        )
        return redirect(url_for("contributions.list_bank_statements"))
    flash(result.summary(), "success")
    return redirect(url_for("contributions.show_bank_statement", statement_id=result.statement.id))


@bp.route("/bank/statements/<int:statement_id>")
@requires(Permission.CONTRIBUTIONS_VIEW)
def show_bank_statement(statement_id: int):
    statement = _statement_or_404(statement_id)
    query = (
        sa.select(BankEntry)
        .where(BankEntry.statement_id == statement.id)
        .options(joinedload(BankEntry.payment), joinedload(BankEntry.resolved_by))
        .order_by(BankEntry.booked_on, BankEntry.id)
    )
    page = paginate(query, per_page=_per_page())
    counts = dict(
        db.session.execute(
            sa.select(BankEntry.status, sa.func.count())
            .where(BankEntry.statement_id == statement.id)
            .group_by(BankEntry.status)
        ).all()
    )
    return render_template(
        "contributions/bank/statement.html",
        statement=statement,
        page=page,
        counts=counts,
        waiting=counts.get(EntryStatus.NEEDS_REVIEW, 0),
        balance_warning=bank_import.balance_check(statement),
    )


# --- The review queue --------------------------------------------------------------------------------------


@bp.route("/bank/queue")
@requires(Permission.CONTRIBUTIONS_VIEW)
def bank_review_queue():
    hub_id = int_arg("hub")
    page = paginate(bank_matching.review_queue_query(hub_id), per_page=_per_page())
    open_invoices = bank_matching.OpenInvoices()
    proposals = {entry.id: bank_matching.proposals_for(entry, open_invoices, limit=3) for entry in page.items}
    hubs = db.session.scalars(sa.select(Hub).order_by(Hub.name)).all()
    return render_template(
        "contributions/bank/queue.html",
        page=page,
        proposals=proposals,
        hubs=hubs,
        hub_id=hub_id,
        write_off_limit=payment_service.write_off_limit,
    )


def _entry_page(entry: BankEntry, forms: dict | None = None, problem: str | None = None, status: int = 200):
    forms = forms or {}
    confirm_form = forms.get("confirm") or ConfirmEntryForm(formdata=None)
    split_form = forms.get("split") or SplitEntryForm(formdata=None)
    ignore_form = forms.get("ignore") or IgnoreEntryForm(formdata=None)
    proposals = bank_matching.proposals_for(entry) if entry.status == EntryStatus.NEEDS_REVIEW else []
    if not forms and proposals:
        confirm_form.invoice_number.data = proposals[0].invoice.number
    payout_payments = [line.payment for line in entry.payout_lines]
    return (
        render_template(
            "contributions/bank/entry.html",
            entry=entry,
            proposals=proposals,
            confirm_form=confirm_form,
            split_form=split_form,
            ignore_form=ignore_form,
            problem=problem,
            payout_payments=payout_payments,
            write_off_limit=payment_service.write_off_limit,
            next_url=_next_in_queue(entry),
        ),
        status,
    )


def _next_in_queue(entry: BankEntry) -> str | None:
    following = db.session.scalar(
        bank_matching.review_queue_query()
        .where(BankEntry.id != entry.id)
        .with_only_columns(BankEntry.id)
        .limit(1)
    )
    return url_for("contributions.show_bank_entry", entry_id=following) if following else None


@bp.route("/bank/entries/<int:entry_id>")
@requires(Permission.CONTRIBUTIONS_VIEW)
def show_bank_entry(entry_id: int):
    return _entry_page(_entry_or_404(entry_id))[0]


def _invoice_by_number(text: str | None) -> Invoice | None:
    """The invoice a person typed: exactly, or ignoring case, spaces and dashes."""
    text = (text or "").strip()
    if not text:
        return None
    found = db.session.scalar(sa.select(Invoice).where(sa.func.upper(Invoice.number) == text.upper()))
    if found is not None:
        return found
    return bank_matching.OpenInvoices().by_number.get(normalize_number(text))


def _after_decision(entry: BankEntry, message: str):
    db.session.commit()
    flash(message, "success")
    following = _next_in_queue(entry)
    return redirect(following or url_for("contributions.bank_review_queue"))


def _refused(entry: BankEntry, error: DomainError, forms: dict):
    db.session.rollback()
    if isinstance(error, bank_matching.EntryAlreadyResolved):
        flash(str(error), "warning")
        return redirect(url_for("contributions.show_bank_entry", entry_id=entry.id))
    return _entry_page(entry, forms, problem=str(error), status=422)


@bp.route("/bank/entries/<int:entry_id>/confirm", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def confirm_bank_entry(entry_id: int):
    entry = _entry_or_404(entry_id)
    form = ConfirmEntryForm()
    if not form.validate_on_submit():
        return _entry_page(entry, {"confirm": form}, status=422)
    invoice = _invoice_by_number(form.invoice_number.data)
    if invoice is None:
        form.invoice_number.errors = [f"No invoice is numbered {form.invoice_number.data.strip()!r}."]
        return _entry_page(entry, {"confirm": form}, status=422)
    try:
        payment = bank_matching.confirm_entry(
            entry,
            invoice,
            _user(),
            exchange_rate=form.exchange_rate.data,
            write_off_difference=form.write_off_difference.data,
        )
    except ValidationFailed as failed:
        apply_field_errors(form, failed.field_errors)
        return _refused(entry, failed, {"confirm": form})
    except DomainError as error:
        return _refused(entry, error, {"confirm": form})
    message = (
        f"{format_money(payment.amount, payment.currency)} from {payment.member.name} recorded as payment "
        f"#{payment.id}: {entry.resolution}"
    )
    return _after_decision(entry, message)


@bp.route("/bank/entries/<int:entry_id>/split", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def split_bank_entry(entry_id: int):
    entry = _entry_or_404(entry_id)
    form = SplitEntryForm()
    if not form.validate_on_submit():
        return _entry_page(entry, {"split": form}, status=422)
    parts, ok = [], True
    for row in form.rows:
        number, amount = (row.invoice_number.data or "").strip(), row.amount.data
        if not number and amount is None:
            continue
        invoice = _invoice_by_number(number)
        if invoice is None:
            row.invoice_number.errors = [
                f"No invoice is numbered {number!r}." if number else "Give the invoice."
            ]
            ok = False
        if amount is None:
            row.amount.errors = ["Give the amount this invoice receives."]
            ok = False
        if invoice is not None and amount is not None:
            parts.append((invoice, amount))
    if not ok or not parts:
        if not parts and ok:
            form.form_errors.append("Give at least one invoice and the amount it receives.")
        return _entry_page(entry, {"split": form}, status=422)
    try:
        payment = bank_matching.split_entry(entry, parts, _user(), exchange_rate=form.exchange_rate.data)
    except ValidationFailed as failed:
        apply_field_errors(form, failed.field_errors)
        return _refused(entry, failed, {"split": form})
    except DomainError as error:
        return _refused(entry, error, {"split": form})
    return _after_decision(entry, f"Payment #{payment.id} recorded: {entry.resolution}")


@bp.route("/bank/entries/<int:entry_id>/ignore", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def ignore_bank_entry(entry_id: int):
    entry = _entry_or_404(entry_id)
    form = IgnoreEntryForm()
    if not form.validate_on_submit():
        return _entry_page(entry, {"ignore": form}, status=422)
    try:
        bank_matching.ignore_entry(entry, form.note.data, _user())
    except ValidationFailed as failed:
        apply_field_errors(form, failed.field_errors)
        return _refused(entry, failed, {"ignore": form})
    except DomainError as error:
        return _refused(entry, error, {"ignore": form})
    amount = format_money(entry.amount, entry.currency)
    return _after_decision(entry, f"Entry of {amount} ignored; no money was recorded.")
