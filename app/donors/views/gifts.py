"""Gifts: recording one, the gift list by acknowledgement status, the gift page and its acknowledgement."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from ...auth.permissions import Permission, requires
from ...common.errors import ValidationFailed
from ...common.forms import apply_field_errors
from ...common.pagination import paginate
from ...common.time import today
from ...extensions import db
from ...hubs.models import Hub, HubStatus
from .. import bp, queries
from .. import services as service
from ..forms import AcknowledgeForm, AcknowledgementStatusForm, GiftForm, LetterForm
from ..models import (
    AcknowledgementLetter,
    AcknowledgementStatus,
    Gift,
    Introduction,
    IntroductionStatus,
)
from ..sending import letter_messages, why_not_sendable
from .organisations import organisation_or_404


def receiving_hubs() -> list[Hub]:
    return list(db.session.scalars(sa.select(Hub).where(Hub.status != HubStatus.CLOSED).order_by(Hub.name)))


@bp.route("/organisations/<int:organisation_id>/gifts/new", methods=["GET", "POST"])
@requires(Permission.DONORS_EDIT)
def new_gift(organisation_id: int):
    organisation = organisation_or_404(organisation_id)
    contacts = sorted(
        (a.contact for a in db.session.scalars(queries.current_affiliations(organisation.id))),
        key=lambda contact: contact.name,
    )
    introductions = list(
        db.session.scalars(
            sa.select(Introduction)
            .where(
                Introduction.organisation_id == organisation.id,
                Introduction.status == IntroductionStatus.MADE,
            )
            .options(joinedload(Introduction.connector), joinedload(Introduction.target_contact))
        )
    )
    hubs = receiving_hubs()
    form = GiftForm(hubs, contacts, introductions)
    if request.method == "GET":
        headquarters = next((hub for hub in hubs if hub.kind == "headquarters"), hubs[0] if hubs else None)
        if headquarters is not None:
            form.hub_id.data = str(headquarters.id)
            form.currency.data = headquarters.base_currency
        if len(introductions) == 1:
            form.introduction_id.data = str(introductions[0].id)
    if form.validate_on_submit():
        details = service.GiftDetails(
            organisation_id=organisation.id,
            received_on=form.received_on.data,
            amount=form.amount.data,
            currency=form.currency.data,
            hub_id=int(form.hub_id.data),
            method=form.method.data,
            contact_id=int(form.contact_id.data) if form.contact_id.data else None,
            is_restricted=form.is_restricted.data,
            purpose=form.purpose.data or "",
            introduction_id=int(form.introduction_id.data) if form.introduction_id.data else None,
            goods_or_services=form.goods_or_services.data or "",
            goods_or_services_value=form.goods_or_services_value.data,
            acknowledgement_status=(
                AcknowledgementStatus.DO_NOT_ACKNOWLEDGE
                if form.do_not_acknowledge.data
                else AcknowledgementStatus.TO_BE_ACKNOWLEDGED
            ),
            notes=form.notes.data or "",
        )
        try:
            gift = service.record_gift(details, current_user)
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash("The gift was recorded.", "success")
            return redirect(url_for("donors.show_gift", gift_id=gift.id))
    status = 422 if request.method == "POST" else 200
    return render_template("donors/gifts/form.html", form=form, organisation=organisation), status


@bp.route("/gifts/")
@requires(Permission.DONORS_VIEW)
def list_gifts():
    status = request.args.get("status", "")
    statement = (
        sa.select(Gift)
        .options(joinedload(Gift.organisation), joinedload(Gift.hub))
        .order_by(Gift.received_on.desc(), Gift.id.desc())
    )
    if status in {s.value for s in AcknowledgementStatus}:
        statement = statement.where(Gift.acknowledgement_status == status)
    else:
        status = ""
    page = paginate(statement)
    return render_template(
        "donors/gifts/list.html",
        page=page,
        status=status,
        statuses=list(AcknowledgementStatus),
        today=today(),
    )


def gift_or_404(gift_id: int) -> Gift:
    return db.session.scalar(
        sa.select(Gift)
        .where(Gift.id == gift_id)
        .options(
            joinedload(Gift.organisation),
            joinedload(Gift.contact),
            joinedload(Gift.hub),
            joinedload(Gift.introduction).joinedload(Introduction.connector),
            selectinload(Gift.events),
        )
    ) or abort(404)


def _gift_page(gift: Gift, acknowledge_form=None, status: int = 200):
    letter = db.session.scalar(
        sa.select(AcknowledgementLetter).where(AcknowledgementLetter.gift_id == gift.id)
    )
    status_form = AcknowledgementStatusForm()
    status_form.status.data = (
        AcknowledgementStatus.DO_NOT_ACKNOWLEDGE.value
        if gift.acknowledgement_status is AcknowledgementStatus.TO_BE_ACKNOWLEDGED
        else AcknowledgementStatus.TO_BE_ACKNOWLEDGED.value
    )
    return render_template(
        "donors/gifts/show.html",
        gift=gift,
        letter=letter,
        acknowledge_form=acknowledge_form or AcknowledgeForm(),
        status_form=status_form,
        letter_form=LetterForm(),
        letter_problem=why_not_sendable(gift.contact),
        letter_messages=letter_messages(letter) if letter else [],
    ), status


@bp.route("/gifts/<int:gift_id>")
@requires(Permission.DONORS_VIEW)
def show_gift(gift_id: int):
    return _gift_page(gift_or_404(gift_id))


@bp.route("/gifts/<int:gift_id>/acknowledge", methods=["POST"])
@requires(Permission.DONORS_EDIT)
def acknowledge_gift(gift_id: int):
    gift = gift_or_404(gift_id)
    form = AcknowledgeForm()
    if form.validate_on_submit():
        try:
            service.acknowledge_gift(
                gift, form.acknowledged_on.data, form.acknowledged_how.data or "", current_user
            )
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash("The gift is acknowledged.", "success")
            return redirect(url_for("donors.show_gift", gift_id=gift.id))
    return _gift_page(gift, acknowledge_form=form, status=422)


@bp.route("/gifts/<int:gift_id>/acknowledgement-status", methods=["POST"])
@requires(Permission.DONORS_EDIT)
def set_acknowledgement_status(gift_id: int):
    gift = gift_or_404(gift_id)
    form = AcknowledgementStatusForm()
    if form.validate_on_submit():
        service.set_acknowledgement_status(gift, form.status.data, current_user)
        db.session.commit()
        flash(f"Acknowledgement: {gift.acknowledgement_status.label.lower()}.", "success")
    else:
        flash("Choose a status.", "error")
    return redirect(url_for("donors.show_gift", gift_id=gift.id))
