"""Acknowledgement letters: make a gift's thank-you, make a yearly summary, download, send by e-mail."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...auth.permissions import Permission, requires
from ...common import mail
from ...common.errors import DomainError
from ...common.exports import PDF_MIMETYPE, download_response
from ...extensions import db
from .. import bp, letters, queries, sending
from ..forms import LetterForm, YearlySummaryForm
from ..models import AcknowledgementLetter, Contact, LetterKind
from .gifts import gift_or_404, receiving_hubs
from .organisations import organisation_or_404


@bp.route("/gifts/<int:gift_id>/letter", methods=["POST"])
@requires(Permission.DONORS_EDIT)
def create_gift_letter(gift_id: int):
    gift = gift_or_404(gift_id)
    form = LetterForm()
    language = form.language.data if form.validate_on_submit() else None
    try:
        letters.create_gift_letter(gift, current_user, language=language)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash("The thank-you letter is ready: download it or send it.", "success")
    return redirect(url_for("donors.show_gift", gift_id=gift.id, _anchor="acknowledgement"))


def _letter_or_404(letter_id: int) -> AcknowledgementLetter:
    return db.session.get(AcknowledgementLetter, letter_id) or abort(404)


@bp.route("/letters/<int:letter_id>.pdf")
@requires(Permission.DONORS_VIEW)
def download_letter(letter_id: int):
    letter = _letter_or_404(letter_id)
    return download_response(letter.pdf_bytes, letter.filename, PDF_MIMETYPE, inline=True)


@bp.route("/letters/<int:letter_id>/send", methods=["POST"])
@requires(Permission.DONORS_EDIT)
def send_letter(letter_id: int):
    letter = _letter_or_404(letter_id)
    try:
        queued = sending.queue_letter(
            letter, current_user, mail.send_token(request.form.get(mail.SEND_TOKEN_FIELD))
        )
    except mail.RepeatedSend as repeat:
        db.session.rollback()
        flash(str(repeat), repeat.category)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        sending.deliver([queued])
        category, text = sending.outcome_message(queued)
        flash(text, category)
    if letter.kind is LetterKind.GIFT:
        return redirect(url_for("donors.show_gift", gift_id=letter.gift_id, _anchor="acknowledgement"))
    return redirect(url_for("donors.organisation_letters", organisation_id=letter.organisation_id))


def _summary_form(organisation):
    contacts = queries.current_contact_choices(organisation.id)
    return YearlySummaryForm(queries.gift_years(organisation.id), receiving_hubs(), contacts)


def _letters_page(organisation, form, status: int = 200):
    stored = list(
        db.session.scalars(
            sa.select(AcknowledgementLetter)
            .where(AcknowledgementLetter.organisation_id == organisation.id)
            .order_by(AcknowledgementLetter.created_at.desc(), AcknowledgementLetter.id.desc())
        )
    )
    contact_ids = {letter.contact_id for letter in stored if letter.contact_id}
    contacts = {c.id: c for c in db.session.scalars(sa.select(Contact).where(Contact.id.in_(contact_ids)))}
    return render_template(
        "donors/letters/organisation.html",
        organisation=organisation,
        form=form,
        letters=stored,
        contacts=contacts,
        problems={letter.id: sending.why_not_sendable(contacts.get(letter.contact_id)) for letter in stored},
    ), status


@bp.route("/organisations/<int:organisation_id>/letters")
@requires(Permission.DONORS_VIEW)
def organisation_letters(organisation_id: int):
    organisation = organisation_or_404(organisation_id)
    return _letters_page(organisation, _summary_form(organisation))


@bp.route("/organisations/<int:organisation_id>/letters/summary", methods=["POST"])
@requires(Permission.DONORS_EDIT)
def create_yearly_summary(organisation_id: int):
    organisation = organisation_or_404(organisation_id)
    form = _summary_form(organisation)
    if form.validate_on_submit():
        summary = letters.SummaryRequest(
            organisation_id=organisation.id,
            year=int(form.year.data),
            hub_id=int(form.hub_id.data),
            contact_id=int(form.contact_id.data) if form.contact_id.data else None,
            language=form.language.data or None,
        )
        try:
            letters.create_yearly_summary(summary, current_user)
        except DomainError as error:
            db.session.rollback()
            form.year.errors = [str(error)]
        else:
            db.session.commit()
            flash(f"The summary of {summary.year} is ready: download it or send it.", "success")
            return redirect(url_for("donors.organisation_letters", organisation_id=organisation.id))
    return _letters_page(organisation, form, 422)
