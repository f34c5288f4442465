"""Payments: the list, recording a payment and allocating it, credit on account, and write-offs."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from ...auth.models import User
from ...auth.permissions import Permission, requires
from ...common import search
from ...common.errors import DomainError, ValidationFailed
from ...common.exports import as_stored, csv_response, streamed_rows
from ...common.forms import apply_field_errors
from ...common.money import format_money
from ...common.pagination import paginate
from ...common.time import today
from ...common.urls import int_arg
from ...extensions import db
from .. import bp
from ..forms.payments import AllocateCreditForm, PaymentFilterForm, PaymentForm, WriteOffForm
from ..models import (
    ZERO,
    Invoice,
    Member,
    MemberStatus,
    Payment,
    PaymentAllocation,
    PaymentMethod,
)
from ..services import payments as service

COMMON_CURRENCIES = ["USD", "EUR", "GBP", "CHF"]


def link(endpoint: str, **values) -> str | None:
    """A link to a page another part of the app provides, or None while that page does not exist."""
    return url_for(endpoint, **values) if endpoint in current_app.view_functions else None


def _member_or_404(member_id) -> Member:
    return db.session.get(Member, member_id) or abort(404)


def _invoice_or_404(invoice_id) -> Invoice:
    return db.session.get(Invoice, invoice_id) or abort(404)


def _back_to_invoice(invoice: Invoice) -> str:
    return link("contributions.show_invoice", invoice_id=invoice.id) or url_for("contributions.list_payments")


# --- The invoice page's panel ------------------------------------------------------------------------------


@bp.context_processor
def inject_invoice_payment_panel():
    return {"invoice_payment_panel": invoice_payment_panel, "contribution_link": link}


def invoice_payment_panel(invoice: Invoice) -> dict:
    """What templates/contributions/payments/_invoice_payments.html shows about an invoice (three queries)."""
    allocations = db.session.scalars(
        sa.select(PaymentAllocation)
        .where(PaymentAllocation.invoice_id == invoice.id)
        .options(joinedload(PaymentAllocation.payment))
        .order_by(PaymentAllocation.created_at, PaymentAllocation.id)
    ).all()
    limit = service.write_off_limit(invoice) if invoice.status.is_open else ZERO
    return {
        "allocations": allocations,
        "write_offs": list(invoice.write_offs),
        "write_off_possible": invoice.status.is_open and ZERO < invoice.balance_due <= limit,
        "write_off_limit": limit,
    }


# --- Payments list -----------------------------------------------------------------------------------------


def _payments_query(form: PaymentFilterForm):
    # The filters read the payments table alone (the member's name through the search's ids), so that the
    # page's ids come from an index in the list's order.
    query = (
        sa.select(Payment)
        .options(selectinload(Payment.allocations).joinedload(PaymentAllocation.invoice))
        .order_by(Payment.received_on.desc(), Payment.id.desc())
    )
    # A filter that is not acceptable is ignored (its message shows beside it); the others still apply.
    if (text := form.value("q")) and search.is_searchable(text):
        query = query.where(service.matching_payments(text))
    if method := form.value("method"):
        query = query.where(Payment.method == PaymentMethod(method))
    if date_from := form.value("date_from"):
        query = query.where(Payment.received_on >= date_from)
    if date_to := form.value("date_to"):
        query = query.where(Payment.received_on <= date_to)
    return query


@bp.route("/payments/")
@requires(Permission.CONTRIBUTIONS_VIEW)
def list_payments():
    form = PaymentFilterForm(request.args)
    form.validate()
    query = _payments_query(form)
    if request.args.get("format") == "csv":
        return _payments_csv(query)
    searched = search.is_searchable(form.value("q"))
    page = paginate(query, rows=payment_list_rows, searched=searched)
    page.items = listed_payments(page.items)
    filtered = any(request.args.get(name) for name in ("q", "method", "date_from", "date_to"))
    return render_template("contributions/payments/list.html", page=page, form=form, filtered=filtered)


def payment_list_rows(page_ids: sa.Subquery) -> sa.Select:
    """What the payment list shows of the page's payments: one row per allocation (one for a payment with
    none), with the member's name and the invoice's number, in the allocations' order."""
    return (
        sa.select(
            Payment.id,
            Payment.received_on,
            Member.name,
            Payment.method,
            Payment.reference,
            Payment.amount,
            Payment.currency,
            Payment.refunded_amount,
            PaymentAllocation.payment_amount,
            Invoice.number,
        )
        .join(page_ids, page_ids.c.id == Payment.id)
        .join(Member, Member.id == Payment.member_id)
        .outerjoin(PaymentAllocation, PaymentAllocation.payment_id == Payment.id)
        .outerjoin(Invoice, Invoice.id == PaymentAllocation.invoice_id)
        .order_by(PaymentAllocation.id)
    )


@dataclass(frozen=True, slots=True)
class ListedPayment:
    """A row of the payment list (and the member page's), folded from its allocation rows."""

    id: int
    received_on: date
    member_name: str
    method: PaymentMethod
    reference: str
    amount: Decimal
    currency: str
    refunded_amount: Decimal
    #: What the allocations take from the payment, and the numbers of the invoices they pay.
    allocated_amount: Decimal
    invoice_numbers: list[str]

    @property
    def unallocated_amount(self) -> Decimal:
        # As Payment.unallocated_amount.
        return self.amount - self.refunded_amount - self.allocated_amount


def listed_payments(rows) -> list[ListedPayment]:
    """The page's rows folded into one item per payment (its allocation rows come together)."""
    listed = []
    for _id, group in itertools.groupby(rows, key=lambda row: row[0]):
        group = list(group)
        first = group[0]
        allocations = [(row[8], row[9]) for row in group if row[8] is not None]
        listed.append(
            ListedPayment(
                *first[:8],
                allocated_amount=sum((amount for amount, _ in allocations), ZERO),
                invoice_numbers=[number for _, number in allocations],
            )
        )
    return listed


PAYMENTS_CSV_HEADER = [
    "Payment",
    "Received on",
    "Member",
    "Method",
    "Reference",
    "Amount",
    "Currency",
    "Allocated",
    "Refunded",
    "Credit on account",
    "Invoices",
]


def _payments_csv(query) -> Response:
    filename = f"payments-{today().isoformat()}.csv"
    return csv_response(_payment_csv_rows(query), filename)


def _payment_csv_rows(query):
    """The filtered payments as CSV cells, from one streamed query: each payment joined to its allocations
    (amount taken from the payment, invoice number), one row per allocation (in the payments' order, so a
    payment's rows come together), folded into one line per payment here (cells read by position and the
    method as stored: this loop runs once per allocation)."""
    yield PAYMENTS_CSV_HEADER
    rows = streamed_rows(
        query.with_only_columns(
            Payment.id,
            as_stored(Payment.received_on),
            Member.name.label("member"),
            as_stored(Payment.method),
            Payment.reference,
            Payment.amount,
            Payment.currency,
            Payment.refunded_amount,
            PaymentAllocation.payment_amount,
            Invoice.number,
        )
        .join(Member, Member.id == Payment.member_id)
        .outerjoin(PaymentAllocation, PaymentAllocation.payment_id == Payment.id)
        .outerjoin(Invoice, Invoice.id == PaymentAllocation.invoice_id)
        .order_by(PaymentAllocation.id)
    )
    labels = {method.value: method.label for method in PaymentMethod}
    payment, allocated, numbers = None, ZERO, []
    for row in rows:
        if payment is not None and row[0] == payment[0]:  # another allocation of the same payment
            allocated += row[8]
            numbers.append(row[9])
            continue
        if payment is not None:
            yield _payment_line(payment, labels, allocated, numbers)
        payment = row
        allocated, numbers = (ZERO, []) if row[8] is None else (row[8], [row[9]])
    if payment is not None:
        yield _payment_line(payment, labels, allocated, numbers)


def _payment_line(row, labels, allocated: Decimal, numbers: list[str]) -> list:
    payment_id, received_on, member, method, reference, amount, currency, refunded = row[:8]
    return [
        payment_id,
        received_on,
        member,
        labels[method],
        reference,
        amount,
        currency,
        allocated,
        refunded,
        # As Payment.unallocated_amount.
        amount - refunded - allocated,
        " ".join(numbers),
    ]


# --- Recording a payment -----------------------------------------------------------------------------------


def _currencies(member: Member, invoices) -> list[str]:
    codes = {member.hub.base_currency, current_app.config["REPORTING_CURRENCY"], *COMMON_CURRENCIES}
    codes |= {invoice.currency for invoice in invoices}
    return sorted(codes)


def _choose_member():
    q = (request.args.get("q") or "").strip()
    query = sa.select(Member).where(Member.status != MemberStatus.INACTIVE).order_by(Member.name)
    if q:
        query = query.where(Member.name.ilike(f"%{q}%"))
    members = db.session.scalars(query.limit(500)).all()
    return render_template("contributions/payments/choose_member.html", members=members, q=q)


@bp.route("/payments/new", methods=["GET", "POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def new_payment():
    member_id = int_arg("member_id", values=request.values)
    if not member_id:
        return _choose_member()
    member = _member_or_404(member_id)
    invoices = service.open_invoices(member)
    by_id = {invoice.id: invoice for invoice in invoices}
    focus = by_id.get(int_arg("invoice_id"))
    form = PaymentForm(_currencies(member, invoices))
    if request.method == "GET":
        form.currency.data = focus.currency if focus else member.hub.base_currency
        if focus:
            form.amount.data = focus.balance_due
        for invoice in invoices:
            prefill = invoice.balance_due if focus is not None and invoice.id == focus.id else None
            form.allocations.append_entry({"invoice_id": str(invoice.id), "amount": prefill})
    status = 200
    if request.method == "POST":
        if form.validate():
            allocations, rows_ok = _allocations_from(form, by_id)
            if rows_ok:
                try:
                    payment = service.record_payment(
                        member,
                        form.amount.data,
                        form.currency.data,
                        form.received_on.data,
                        PaymentMethod(form.method.data),
                        current_user,
                        reference=form.reference.data or "",
                        notes=form.notes.data or "",
                        allocations=allocations,
                    )
                except ValidationFailed as failed:
                    db.session.rollback()
                    apply_field_errors(form, failed.field_errors)
                    form.form_errors.append(str(failed))
                except DomainError as error:
                    db.session.rollback()
                    form.form_errors.append(str(error))
                else:
                    db.session.commit()
                    flash(_recorded_message(payment), "success")
                    return redirect(url_for("contributions.show_payment", payment_id=payment.id))
        status = 422
    rows = [(row, by_id.get(_int(row.invoice_id.data))) for row in form.allocations]
    rows = [(row, invoice) for row, invoice in rows if invoice is not None]
    return (
        render_template(
            "contributions/payments/form.html",
            form=form,
            member=member,
            rows=rows,
            credit=service.credit_on_account(member),
            today=today(),
            focus=focus,
        ),
        status,
    )


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _allocations_from(form: PaymentForm, by_id: dict[int, Invoice]):
    """The (invoice, amount, rate) rows with an amount, and whether all rows were right; errors go beside the
    row's fields."""
    allocations: list[tuple[Invoice, Decimal, Decimal | None]] = []
    ok = True
    total_same_currency = ZERO
    for row in form.allocations:
        amount = row.amount.data
        if not amount:
            continue
        invoice = by_id.get(_int(row.invoice_id.data))
        if invoice is None:
            form.form_errors.append("One of the invoices is no longer open for this member. Reload the page.")
            ok = False
            continue
        rate = None
        if invoice.currency != form.currency.data:
            rate = row.rate.data
            if not rate:
                row.rate.errors = [
                    f"The payment is in {form.currency.data}: give the rate ({invoice.currency} for 1 "
                    f"{form.currency.data})."
                ]
                ok = False
                continue
        else:
            total_same_currency += amount
        if amount > invoice.balance_due:
            row.amount.errors = [f"More than the balance due ({invoice.balance_due} {invoice.currency})."]
            ok = False
            continue
        allocations.append((invoice, amount, rate))
    if total_same_currency > (form.amount.data or ZERO):
        form.form_errors.append(
            f"The amounts applied ({total_same_currency} {form.currency.data}) are more than the payment "
            f"({form.amount.data} {form.currency.data})."
        )
        ok = False
    return allocations, ok


def _recorded_message(payment: Payment) -> str:
    text = f"Payment of {format_money(payment.amount, payment.currency)} from {payment.member.name} recorded"
    if payment.allocations:
        numbers = ", ".join(a.invoice.number for a in payment.allocations)
        text += f" and applied to {numbers}"
    if payment.unallocated_amount > ZERO:
        text += f"; {format_money(payment.unallocated_amount, payment.currency)} stays as credit on account"
    return text + "."


# --- One payment, allocating its credit ---------------------------------------------------------------------


def _payment_or_404(payment_id: int) -> Payment:
    payment = db.session.scalar(
        sa.select(Payment)
        .where(Payment.id == payment_id)
        .options(
            selectinload(Payment.allocations).joinedload(PaymentAllocation.invoice),
            selectinload(Payment.refunds),
        )
    )
    return payment or abort(404)


def _render_payment(payment: Payment, form: AllocateCreditForm | None = None, status: int = 200):
    invoices = service.open_invoices(payment.member) if payment.unallocated_amount > ZERO else []
    if form is None:
        form = AllocateCreditForm(invoices)
        same = [invoice for invoice in invoices if invoice.currency == payment.currency]
        if same:
            form.invoice_id.data = str(same[0].id)
            form.amount.data = min(same[0].balance_due, payment.unallocated_amount)
    recorded_by = None
    if payment.recorded_by_id:
        recorded_by = db.session.get(User, payment.recorded_by_id)
    return (
        render_template(
            "contributions/payments/show.html",
            payment=payment,
            form=form,
            open_invoices=invoices,
            recorded_by=recorded_by,
        ),
        status,
    )


@bp.route("/payments/<int:payment_id>")
@requires(Permission.CONTRIBUTIONS_VIEW)
def show_payment(payment_id: int):
    return _render_payment(_payment_or_404(payment_id))


@bp.route("/payments/<int:payment_id>/allocate", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def allocate_payment(payment_id: int):
    payment = _payment_or_404(payment_id)
    form = AllocateCreditForm(service.open_invoices(payment.member))
    if not form.validate():
        return _render_payment(payment, form, 422)
    invoice = db.session.get(Invoice, int(form.invoice_id.data))
    if invoice is None:
        abort(404)
    try:
        allocation = service.allocate_payment(
            payment, invoice, form.amount.data, current_user, form.rate.data
        )
    except ValidationFailed as failed:
        db.session.rollback()
        apply_field_errors(form, failed.field_errors)
        form.form_errors.append(str(failed))
        return _render_payment(_payment_or_404(payment_id), form, 422)
    except DomainError as error:
        db.session.rollback()
        form.form_errors.append(str(error))
        return _render_payment(_payment_or_404(payment_id), form, 422)
    db.session.commit()
    flash(
        f"{format_money(allocation.amount, invoice.currency)} of the credit applied to {invoice.number}, "
        f"which is now {invoice.status.label.lower()}.",
        "success",
    )
    return redirect(url_for("contributions.show_payment", payment_id=payment.id))


# --- Write-off ---------------------------------------------------------------------------------------------


@bp.route("/invoices/<int:invoice_id>/write-off", methods=["GET", "POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def write_off_invoice(invoice_id: int):
    invoice = _invoice_or_404(invoice_id)
    form = WriteOffForm(currency=invoice.currency)
    limit = service.write_off_limit(invoice) if invoice.status.is_open else ZERO
    status = 200
    if request.method == "GET" and invoice.status.is_open:
        form.amount.data = invoice.balance_due if invoice.balance_due <= limit else None
    if form.validate_on_submit():
        try:
            service.write_off(
                invoice, form.amount.data, form.reason.data, current_user, form.written_off_on.data
            )
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
            status = 422
        except DomainError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
            status = 422
        else:
            db.session.commit()
            flash(
                f"Written off on {invoice.number}; the invoice is now {invoice.status.label.lower()}.",
                "success",
            )
            return redirect(_back_to_invoice(invoice))
    elif request.method == "POST":
        status = 422
    invoice = _invoice_or_404(invoice_id)
    return (
        render_template(
            "contributions/payments/write_off.html",
            form=form,
            invoice=invoice,
            limit=limit,
            share=service.WRITE_OFF_SHARE_TEXT,
            back_url=_back_to_invoice(invoice),
        ),
        status,
    )
