"""The Stripe reconciliation page (/contributions/online-payments/): Stripe payments and refunds, and the
events waiting for review (attach one to an invoice, or dismiss it)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from ...auth.permissions import Permission, requires
from ...common.errors import DomainError, ValidationFailed
from ...common.forms import apply_field_errors
from ...common.pagination import paginate
from ...extensions import db
from .. import bp, stripe_gateway
from ..forms.stripe_reconciliation import AttachEventForm, DismissEventForm
from ..models import StripeEvent
from ..services import bank_matching, stripe_reconciliation


def _event_or_404(event_id: str) -> StripeEvent:
    return db.session.get(StripeEvent, event_id) or abort(404)


def _attach_form(summary, formdata=None) -> AttachEventForm:
    form = AttachEventForm(formdata=formdata, prefix=f"attach-{summary.record.id}")
    if formdata is None and summary.named_invoice:
        form.invoice_number.data = summary.named_invoice
    return form


def _dismiss_form(record: StripeEvent, formdata=None) -> DismissEventForm:
    return DismissEventForm(formdata=formdata, prefix=f"dismiss-{record.id}")


def _page(bound_forms: dict | None = None, status: int = 200):
    text = request.args.get("q", "").strip()
    queue = stripe_reconciliation.review_queue()
    bound_forms = bound_forms or {}
    forms = {
        item.record.id: (
            bound_forms.get(("attach", item.record.id)) or _attach_form(item),
            bound_forms.get(("dismiss", item.record.id)) or _dismiss_form(item.record),
        )
        for item in queue
    }
    page = paginate(stripe_reconciliation.stripe_payments_query(text))
    return (
        render_template(
            "contributions/stripe_reconciliation/reconciliation.html",
            queue=queue,
            forms=forms,
            page=page,
            q=text,
            totals=stripe_reconciliation.stripe_totals(text),
            payouts=bank_matching.payouts_of(page.items),
            last_event_at=stripe_reconciliation.last_event_received_at(),
            configured=stripe_gateway.is_configured(),
        ),
        status,
    )


@bp.route("/online-payments/")
@requires(Permission.CONTRIBUTIONS_VIEW)
def reconciliation():
    return _page()


@bp.route("/online-payments/events/<event_id>/attach", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def attach_stripe_event(event_id: str):
    record = _event_or_404(event_id)
    summary = stripe_reconciliation.summarize(record)
    form = _attach_form(summary, formdata=request.form)
    if not form.validate_on_submit():
        return _page({("attach", record.id): form}, 422)
    try:
        payment, allocated = stripe_reconciliation.attach_event(
            record, form.invoice_number.data, actor=_user()
        )
    except ValidationFailed as failed:
        db.session.rollback()
        apply_field_errors(form, failed.field_errors or {"invoice_number": [str(failed)]})
        return _page({("attach", record.id): form}, 422)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("contributions.reconciliation"))
    try:
        db.session.commit()
    except IntegrityError:
        # A late webhook delivery recorded the same session meanwhile: it wins, nothing is counted twice.
        db.session.rollback()
        flash("Stripe's own event recorded this payment meanwhile; nothing was added.", "warning")
        return redirect(url_for("contributions.reconciliation"))
    if allocated:
        flash(f"Payment #{payment.id} recorded and allocated to the invoice.", "success")
    else:
        flash(
            f"Payment #{payment.id} recorded as credit on account: it is more than the invoice still owes.",
            "warning",
        )
    return redirect(url_for("contributions.reconciliation"))


@bp.route("/online-payments/events/<event_id>/dismiss", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def dismiss_stripe_event(event_id: str):
    record = _event_or_404(event_id)
    form = _dismiss_form(record, formdata=request.form)
    if not form.validate_on_submit():
        return _page({("dismiss", record.id): form}, 422)
    try:
        stripe_reconciliation.dismiss_event(record, form.note.data, actor=_user())
    except ValidationFailed as failed:
        db.session.rollback()
        apply_field_errors(form, failed.field_errors)
        return _page({("dismiss", record.id): form}, 422)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("contributions.reconciliation"))
    db.session.commit()
    flash(f"Event {record.id} dismissed.", "success")
    return redirect(url_for("contributions.reconciliation"))


def _user():
    return current_user._get_current_object()
