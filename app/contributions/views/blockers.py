"""What holds an invoice's payment up: its page, and the panel on the invoice page."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from ...auth.permissions import Permission, requires
from ...common.errors import DomainError, ValidationFailed
from ...common.forms import apply_field_errors
from ...extensions import db
from .. import bp
from ..forms.blockers import BlockerForm, DocumentSentForm, RequestDocumentForm
from ..models import BlockerDocument, Invoice
from ..services import payment_blockers


def _user():
    return current_user._get_current_object()


def _invoice_or_404(invoice_id: int) -> Invoice:
    return db.session.get(Invoice, invoice_id) or abort(404)


@bp.context_processor
def inject_blocker_panel():
    return {"invoice_blocker_panel": payment_blockers.blocker_of, "blocker_summary": payment_blockers.summary}


def _page(invoice: Invoice, forms: dict | None = None, problem: str | None = None, status: int = 200):
    forms = forms or {}
    blocker = payment_blockers.blocker_of(invoice)
    blocker_form = forms.get("blocker") or BlockerForm(formdata=None, obj=blocker)
    return (
        render_template(
            "contributions/blockers/show.html",
            invoice=invoice,
            blocker=blocker,
            blocker_form=blocker_form,
            document_form=forms.get("document") or RequestDocumentForm(formdata=None),
            sent_forms={
                document.id: forms.get(("sent", document.id))
                or DocumentSentForm(formdata=None, prefix=f"sent-{document.id}")
                for document in (blocker.documents if blocker else [])
            },
            problem=problem,
        ),
        status,
    )


def _back(invoice: Invoice, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("contributions.show_invoice_blocker", invoice_id=invoice.id))


def _refused(invoice: Invoice, error: DomainError, forms: dict):
    db.session.rollback()
    return _page(invoice, forms, problem=str(error), status=422)


@bp.route("/invoices/<int:invoice_id>/blocker")
@requires(Permission.CONTRIBUTIONS_VIEW)
def show_invoice_blocker(invoice_id: int):
    return _page(_invoice_or_404(invoice_id))[0]


@bp.route("/invoices/<int:invoice_id>/blocker", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def save_invoice_blocker(invoice_id: int):
    invoice = _invoice_or_404(invoice_id)
    form = BlockerForm()
    if not form.validate_on_submit():
        return _page(invoice, {"blocker": form}, status=422)
    try:
        payment_blockers.save_blocker(
            invoice, _user(), purchase_order_number=form.purchase_order_number.data, note=form.note.data
        )
    except ValidationFailed as failed:
        apply_field_errors(form, failed.field_errors)
        return _refused(invoice, failed, {"blocker": form})
    except DomainError as error:
        return _refused(invoice, error, {"blocker": form})
    return _back(invoice, f"Saved what holds up invoice {invoice}.")


@bp.route("/invoices/<int:invoice_id>/blocker/documents", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def request_blocker_document(invoice_id: int):
    invoice = _invoice_or_404(invoice_id)
    form = RequestDocumentForm()
    if not form.validate_on_submit():
        return _page(invoice, {"document": form}, status=422)
    try:
        document = payment_blockers.request_document(
            invoice,
            form.kind.data,
            _user(),
            requested_on=form.requested_on.data,
            description=form.description.data or "",
        )
    except ValidationFailed as failed:
        apply_field_errors(form, failed.field_errors)
        return _refused(invoice, failed, {"document": form})
    except DomainError as error:
        return _refused(invoice, error, {"document": form})
    return _back(invoice, f"{document} recorded as asked for on {document.requested_on:%d %b %Y}.")


@bp.route("/blocker-documents/<int:document_id>/sent", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def mark_blocker_document_sent(document_id: int):
    document = db.session.get(BlockerDocument, document_id) or abort(404)
    invoice = document.blocker.invoice
    form = DocumentSentForm(prefix=f"sent-{document.id}")
    if not form.validate_on_submit():
        return _page(invoice, {("sent", document.id): form}, status=422)
    try:
        payment_blockers.mark_document_sent(document, _user(), sent_on=form.sent_on.data)
    except ValidationFailed as failed:
        apply_field_errors(form, failed.field_errors)
        return _refused(invoice, failed, {("sent", document.id): form})
    return _back(invoice, f"{document} marked as sent on {document.sent_on:%d %b %Y}.")


@bp.route("/invoices/<int:invoice_id>/blocker/clear", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def clear_invoice_blocker(invoice_id: int):
    invoice = _invoice_or_404(invoice_id)
    try:
        payment_blockers.clear_blocker(invoice, _user())
    except DomainError as error:
        return _refused(invoice, error, {})
    return _back(invoice, f"Nothing holds up invoice {invoice} any more.")
