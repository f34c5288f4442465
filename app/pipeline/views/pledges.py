"""Pledges: the list, one agreement with its instalments, gifts applied and deliverables; what is late."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...auth.permissions import Permission, requires
from ...common.errors import DomainError, ValidationFailed
from ...common.forms import apply_field_errors, choices
from ...common.money import format_money
from ...common.time import today
from ...donors.models import Gift
from ...extensions import db
from .. import bp
from ..forms.pledges import NEW_INSTALMENT_ROWS, ApplyGiftForm, DeliverableForm, ScheduleForm
from ..models import Deliverable, DeliverableKind, DeliverableStatus, GiftApplication, Pledge
from ..services import deadlines
from ..services import pledges as service


def _get(pledge_id: int) -> Pledge:
    return db.session.get(Pledge, pledge_id) or abort(404)


def _get_for_page(pledge_id: int) -> Pledge:
    return service.pledge_for_page(pledge_id) or abort(404)


@bp.route("/pledges")
@requires(Permission.PIPELINE_VIEW)
def list_pledges():
    """A page of pledges, latest agreement first."""
    page = service.pledge_page(today())
    return render_template("pipeline/pledges/list.html", pledges=page.items, page=page)


def _render_pledge(pledge, schedule_form=None, deliverable_form=None, gift_form=None, status=200):
    if schedule_form is None:
        schedule_form = ScheduleForm(
            formdata=None, awarded_amount=pledge.awarded_amount, agreed_on=pledge.agreed_on
        )
        for instalment in pledge.instalments:
            if instalment.received_amount == 0:
                schedule_form.instalments.append_entry(
                    {"amount": instalment.amount, "expected_on": instalment.expected_on}
                )
        for _ in range(NEW_INSTALMENT_ROWS):
            schedule_form.instalments.append_entry()
    every_gift = request.args.get("gifts") == "all"
    gifts, more_gifts = service.unapplied_gifts(pledge, limit=None if every_gift else service.GIFT_CHOICES)
    if gift_form is None:
        gift_form = ApplyGiftForm(formdata=None)
    gift_form.gift_id.choices = choices(
        (
            (
                gift.id,
                f"{gift.received_on.isoformat()}: {format_money(left, gift.currency)} unapplied "
                f"of {format_money(gift.amount, gift.currency)}",
            )
            for gift, left in gifts
        ),
        blank="Choose a gift",
    )
    return render_template(
        "pipeline/pledges/show.html",
        pledge=pledge,
        schedule_form=schedule_form,
        deliverable_form=deliverable_form or DeliverableForm(formdata=None),
        gift_form=gift_form,
        gifts=gifts,
        more_gifts=more_gifts,
        today=today(),
    ), status


@bp.route("/pledges/<int:pledge_id>")
@requires(Permission.PIPELINE_VIEW)
def show_pledge(pledge_id: int):
    return _render_pledge(_get_for_page(pledge_id))


@bp.route("/pledges/<int:pledge_id>/schedule", methods=["POST"])
@requires(Permission.PIPELINE_EDIT)
def reschedule_pledge(pledge_id: int):
    pledge = _get(pledge_id)
    form = ScheduleForm()
    if form.validate_on_submit():
        wanted = [
            (row.amount.data, row.expected_on.data)
            for row in form.instalments
            if row.amount.data is not None or row.expected_on.data is not None
        ]
        try:
            service.reschedule(pledge, form.awarded_amount.data, wanted, agreed_on=form.agreed_on.data)
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash("The schedule is saved; instalments that received money are unchanged.", "success")
            return redirect(url_for("pipeline.show_pledge", pledge_id=pledge.id))
    db.session.rollback()
    return _render_pledge(_get(pledge_id), schedule_form=form, status=422)


def _amounts_from_form(pledge: Pledge) -> dict[int, Decimal]:
    amounts = {}
    for instalment in pledge.instalments:
        raw = (request.form.get(f"apply_{instalment.id}") or "").strip().replace(",", "")
        if not raw:
            continue
        try:
            amounts[instalment.id] = Decimal(raw)
        except InvalidOperation:
            raise ValidationFailed(f"“{raw[:30]}” is not an amount.") from None
        if not amounts[instalment.id].is_finite():
            raise ValidationFailed(f"“{raw[:30]}” is not an amount.")
    return amounts


@bp.route("/pledges/<int:pledge_id>/gifts", methods=["POST"])
@requires(Permission.PIPELINE_EDIT)
def apply_gift_to_pledge(pledge_id: int):
    pledge = _get(pledge_id)
    form = ApplyGiftForm()
    if form.validate_on_submit():
        gift = db.session.get(Gift, int(form.gift_id.data)) if form.gift_id.data.isdigit() else None
        try:
            if gift is None:
                raise ValidationFailed("Choose one of the donor's gifts.")
            service.apply_gift(gift, _amounts_from_form(pledge), current_user)
        except DomainError as refused:
            db.session.rollback()
            flash(str(refused), "error")
        else:
            db.session.commit()
            flash(f"{gift} is applied.", "success")
            return redirect(url_for("pipeline.show_pledge", pledge_id=pledge.id, _anchor="instalments"))
    db.session.rollback()
    return _render_pledge(_get(pledge_id), gift_form=form, status=422)


@bp.route("/pledges/<int:pledge_id>/applications/<int:application_id>/delete", methods=["POST"])
@requires(Permission.PIPELINE_EDIT)
def remove_gift_application(pledge_id: int, application_id: int):
    application = db.session.get(GiftApplication, application_id)
    if application is None or application.instalment.pledge_id != pledge_id:
        abort(404)
    service.remove_application(application)
    db.session.commit()
    flash("The gift's part is taken off the instalment.", "success")
    return redirect(url_for("pipeline.show_pledge", pledge_id=pledge_id, _anchor="instalments"))


def _save_deliverable(pledge, form, deliverable=None):
    return service.save_deliverable(
        pledge,
        DeliverableKind(form.kind.data),
        form.due_on.data,
        title=form.title.data or "",
        requirements=form.requirements.data or "",
        status=DeliverableStatus(form.status.data),
        submitted_on=form.submitted_on.data,
        deliverable=deliverable,
    )


@bp.route("/pledges/<int:pledge_id>/deliverables", methods=["POST"])
@requires(Permission.PIPELINE_EDIT)
def add_deliverable(pledge_id: int):
    pledge = _get(pledge_id)
    form = DeliverableForm()
    if form.validate_on_submit():
        try:
            _save_deliverable(pledge, form)
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash("Deliverable added.", "success")
            return redirect(url_for("pipeline.show_pledge", pledge_id=pledge.id, _anchor="deliverables"))
    db.session.rollback()
    return _render_pledge(_get(pledge_id), deliverable_form=form, status=422)


@bp.route("/deliverables/<int:deliverable_id>")
@requires(Permission.PIPELINE_VIEW)
def edit_deliverable(deliverable_id: int):
    deliverable = db.session.get(Deliverable, deliverable_id) or abort(404)
    form = DeliverableForm(obj=deliverable if request.method == "GET" else None)
    if request.method == "GET":
        form.kind.data, form.status.data = deliverable.kind.value, deliverable.status.value
    return render_template("pipeline/pledges/deliverable.html", form=form, deliverable=deliverable)


@bp.route("/deliverables/<int:deliverable_id>", methods=["POST"])
@requires(Permission.PIPELINE_EDIT)
def save_deliverable(deliverable_id: int):
    deliverable = db.session.get(Deliverable, deliverable_id) or abort(404)
    form = DeliverableForm()
    if form.validate_on_submit():
        try:
            _save_deliverable(deliverable.pledge, form, deliverable)
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash("Deliverable saved.", "success")
            return redirect(
                url_for("pipeline.show_pledge", pledge_id=deliverable.pledge_id, _anchor="deliverables")
            )
    return render_template("pipeline/pledges/deliverable.html", form=form, deliverable=deliverable), 422


@bp.route("/deadlines")
@requires(Permission.PIPELINE_VIEW)
def list_deadlines():
    return render_template(
        "pipeline/deadlines.html",
        late=deadlines.late_instalments_page(today()),
        upcoming=deadlines.upcoming_deliverables_page(today()),
        today=today(),
        days=deadlines.UPCOMING_DAYS,
        links=True,
    )
