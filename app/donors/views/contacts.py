"""Contacts: adding one at an organisation, the contact page (positions, connections, interactions, data
protection), moving to another organisation, erasing personal data."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ...auth.permissions import Permission, requires
from ...common.errors import DomainError, ValidationFailed
from ...common.forms import apply_field_errors
from ...common.pagination import paginate, paginate_counted
from ...extensions import db
from .. import bp, duplicates, queries
from .. import services as service
from ..forms import ConnectionForm, ContactForm, EndAffiliationForm, MoveContactForm, NewContactForm
from ..models import (
    Affiliation,
    Connection,
    Connector,
    Contact,
    Interaction,
    Introduction,
    Organisation,
    interaction_contacts,
)
from ..text import name_key
from .organisations import organisation_or_404

#: Interactions per page of the contact's history.
HISTORY_ROWS = 20


def contact_or_404(contact_id: int) -> Contact:
    return db.session.get(Contact, contact_id) or abort(404)


def _details(form: ContactForm) -> service.ContactDetails:
    return service.ContactDetails(
        name=form.name.data or "",
        title=form.title.data or "",
        email=form.email.data or "",
        phone=form.phone.data or "",
        language=form.language.data,
        do_not_contact=form.do_not_contact.data,
        notes=form.notes.data or "",
        lawful_basis=form.lawful_basis.data,
        source=form.source.data or "",
        privacy_notice_sent_on=form.privacy_notice_sent_on.data,
        email_consent=form.email_consent.data,
    )


@bp.route("/organisations/<int:organisation_id>/contacts/new", methods=["GET", "POST"])
@requires(Permission.DONORS_EDIT)
def new_contact(organisation_id: int):
    organisation = organisation_or_404(organisation_id)
    form = NewContactForm()
    if form.validate_on_submit():
        try:
            contact = service.create_contact(
                _details(form), current_user, organisation, form.role.data or "", form.started_on.data
            )
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash(f"{contact.name} was added at {organisation.name}.", "success")
            return redirect(url_for("donors.show_contact", contact_id=contact.id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "donors/contacts/form.html", form=form, contact=None, organisation=organisation
    ), status


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@requires(Permission.DONORS_EDIT)
def edit_contact(contact_id: int):
    contact = contact_or_404(contact_id)
    if contact.is_erased:
        flash("This person's data was erased; there is nothing to edit.", "error")
        return redirect(url_for("donors.show_contact", contact_id=contact.id))
    form = ContactForm(obj=contact if request.method == "GET" else None)
    if request.method == "GET":
        form.language.data = contact.language.value
        form.lawful_basis.data = contact.lawful_basis.value
    if form.validate_on_submit():
        try:
            service.update_contact(contact, _details(form), current_user)
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash("Saved.", "success")
            return redirect(url_for("donors.show_contact", contact_id=contact.id))
    status = 422 if request.method == "POST" else 200
    return render_template("donors/contacts/form.html", form=form, contact=contact, organisation=None), status


def _contact_page(contact: Contact, connection_form=None, move_form=None, status: int = 200):
    affiliations = list(
        db.session.scalars(
            sa.select(Affiliation)
            .where(Affiliation.contact_id == contact.id)
            .options(joinedload(Affiliation.organisation))
            .order_by(
                Affiliation.ended_on.is_not(None), Affiliation.ended_on.desc(), Affiliation.started_on.desc()
            )
        )
    )
    connections = paginate(
        sa.select(Connection)
        .where(Connection.contact_id == contact.id)
        .options(joinedload(Connection.connector))
        .order_by(Connection.id),
        per_page=queries.SECTION_ROWS,
        arg="connections_page",
    )
    counts = queries.contact_counts(contact.id)
    # A contact's whole history, paged: the newest first, a page at a time, with the pager's "more".
    interactions = paginate_counted(
        sa.select(Interaction)
        .join(interaction_contacts, interaction_contacts.c.interaction_id == Interaction.id)
        .where(interaction_contacts.c.contact_id == contact.id)
        .options(joinedload(Interaction.organisation))
        .order_by(Interaction.occurred_on.desc(), Interaction.id.desc()),
        counts.interactions,
        per_page=HISTORY_ROWS,
        arg="interactions_page",
    )
    introductions = paginate_counted(
        sa.select(Introduction)
        .where(Introduction.target_contact_id == contact.id)
        .options(joinedload(Introduction.connector), joinedload(Introduction.for_user))
        .order_by(Introduction.requested_on.desc(), Introduction.id.desc()),
        counts.introductions,
        per_page=queries.SECTION_ROWS,
        arg="introductions_page",
    )
    connectors = list(db.session.scalars(sa.select(Connector).order_by(Connector.name)))
    current = next((a for a in affiliations if a.is_current), None)
    return render_template(
        "donors/contacts/show.html",
        contact=contact,
        affiliations=affiliations,
        connections=connections,
        interactions=interactions,
        introductions=introductions,
        gift_count=counts.gifts,
        connection_form=connection_form or ConnectionForm(connectors),
        move_form=move_form or MoveContactForm(),
        end_form=EndAffiliationForm(),
        phone=service.display_phone(contact.phone, current.organisation.country_code if current else None),
        possible_duplicates=duplicates.contact_duplicates(contact),
        as_connector=db.session.scalar(sa.select(Connector).where(Connector.contact_id == contact.id)),
    ), status


@bp.route("/contacts/<int:contact_id>")
@requires(Permission.DONORS_VIEW)
def show_contact(contact_id: int):
    return _contact_page(contact_or_404(contact_id))


@bp.route("/contacts/<int:contact_id>/connections", methods=["POST"])
@requires(Permission.DONORS_EDIT)
def add_connection(contact_id: int):
    contact = contact_or_404(contact_id)
    connectors = list(db.session.scalars(sa.select(Connector).order_by(Connector.name)))
    form = ConnectionForm(connectors)
    if form.validate_on_submit():
        connector = db.session.get(Connector, int(form.connector_id.data))
        try:
            service.add_connection(connector, contact, form.nature.data or "", current_user)
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, {"connector_id": sum(failed.field_errors.values(), [])})
        else:
            db.session.commit()
            flash(f"{connector.name} knows {contact.name}.", "success")
            return redirect(url_for("donors.show_contact", contact_id=contact.id))
    return _contact_page(contact, connection_form=form, status=422)


@bp.route("/contacts/<int:contact_id>/move", methods=["POST"])
@requires(Permission.DONORS_EDIT)
def move_contact(contact_id: int):
    contact = contact_or_404(contact_id)
    form = MoveContactForm()
    if form.validate_on_submit():
        matches = list(
            db.session.scalars(
                sa.select(Organisation)
                .where(Organisation.name_key == name_key(form.organisation.data))
                .limit(2)
            )
        )
        if len(matches) != 1:
            form.organisation.errors = [
                "No organisation has this name: add it first, or check the spelling."
                if not matches
                else "Two organisations have this name: move the person from the page of the right one."
            ]
        else:
            try:
                service.move_contact(
                    contact, matches[0], form.role.data or "", form.moved_on.data, current_user
                )
            except ValidationFailed as failed:
                db.session.rollback()
                apply_field_errors(form, {"moved_on": sum(failed.field_errors.values(), [])})
            else:
                db.session.commit()
                flash(
                    f"{contact.name} is now at {matches[0].name}; the earlier positions are kept.", "success"
                )
                return redirect(url_for("donors.show_contact", contact_id=contact.id))
    return _contact_page(contact, move_form=form, status=422)


@bp.route("/affiliations/<int:affiliation_id>/end", methods=["POST"])
@requires(Permission.DONORS_EDIT)
def end_affiliation(affiliation_id: int):
    affiliation = db.session.get(Affiliation, affiliation_id) or abort(404)
    form = EndAffiliationForm()
    if not form.validate_on_submit():
        flash("Give the date the person left.", "error")
    else:
        try:
            service.end_affiliation(affiliation, form.ended_on.data, current_user)
        except ValidationFailed as failed:
            db.session.rollback()
            flash(" ".join(sum(failed.field_errors.values(), [])), "error")
        else:
            db.session.commit()
            flash(f"{affiliation.contact.name} left {affiliation.organisation.name}.", "success")
    return redirect(url_for("donors.show_contact", contact_id=affiliation.contact_id))


@bp.route("/contacts/<int:contact_id>/erase", methods=["POST"])
@requires(Permission.DONORS_EDIT)
def erase_contact(contact_id: int):
    contact = contact_or_404(contact_id)
    if request.form.get("confirm") != "erase":
        flash("Tick the box to confirm: erasing cannot be undone.", "error")
        return redirect(url_for("donors.show_contact", contact_id=contact.id, _anchor="data-protection"))
    try:
        service.erase_contact(contact, current_user)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(
            "The personal data was erased: name, e-mail, phone, notes and the text of interactions about "
            "them. Gifts and acknowledgement letters were kept as financial records.",
            "success",
        )
    return redirect(url_for("donors.show_contact", contact_id=contact.id))
