"""Interactions (meetings, calls ...) with their next steps, and each user's "My next steps"."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from ...auth.permissions import Permission, requires
from ...common.errors import DomainError, ValidationFailed
from ...common.forms import apply_field_errors
from ...common.pagination import paginate_counted
from ...common.time import today
from ...extensions import db
from .. import bp, queries
from .. import services as service
from ..forms import InteractionForm
from ..models import Interaction
from .organisations import organisation_or_404, staff_users


@bp.route("/organisations/<int:organisation_id>/interactions/new", methods=["GET", "POST"])
@requires(Permission.DONORS_EDIT)
def new_interaction(organisation_id: int):
    organisation = organisation_or_404(organisation_id)
    contacts = [
        affiliation.contact
        for affiliation in db.session.scalars(queries.current_affiliations(organisation.id))
    ]
    contacts.sort(key=lambda contact: contact.name)
    form = InteractionForm(contacts, staff_users())
    if request.method == "GET":
        form.staff_ids.data = [current_user.id]
        form.next_step_owner_id.data = str(current_user.id)
    if form.validate_on_submit():
        details = service.InteractionDetails(
            kind=form.kind.data,
            occurred_on=form.occurred_on.data,
            organisation_id=organisation.id,
            summary=form.summary.data or "",
            contact_ids=form.contact_ids.data or [],
            staff_ids=form.staff_ids.data or [],
            next_step=form.next_step.data or "",
            next_step_due_on=form.next_step_due_on.data,
            next_step_owner_id=int(form.next_step_owner_id.data) if form.next_step_owner_id.data else None,
        )
        try:
            service.log_interaction(details, current_user)
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash("The interaction was logged.", "success")
            return redirect(url_for("donors.show_organisation", organisation_id=organisation.id))
    status = 422 if request.method == "POST" else 200
    return render_template("donors/interactions/form.html", form=form, organisation=organisation), status


@bp.route("/interactions/<int:interaction_id>")
@requires(Permission.DONORS_VIEW)
def show_interaction(interaction_id: int):
    interaction = db.session.scalar(
        sa.select(Interaction)
        .where(Interaction.id == interaction_id)
        .options(
            joinedload(Interaction.organisation),
            selectinload(Interaction.contacts),
            selectinload(Interaction.staff),
            joinedload(Interaction.next_step_owner),
            joinedload(Interaction.created_by),
        )
    ) or abort(404)
    return render_template("donors/interactions/show.html", interaction=interaction, today=today())


@bp.route("/interactions/<int:interaction_id>/complete", methods=["POST"])
@requires(Permission.DONORS_EDIT)
def complete_next_step(interaction_id: int):
    interaction = db.session.get(Interaction, interaction_id) or abort(404)
    try:
        service.complete_next_step(interaction, current_user)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(f"Done: {interaction.next_step}", "success")
    target = request.form.get("next")
    if target == "next_steps":
        return redirect(url_for("donors.my_next_steps"))
    return redirect(url_for("donors.show_interaction", interaction_id=interaction.id))


@bp.route("/next-steps")
@requires(Permission.DONORS_VIEW)
def my_next_steps():
    on = today()
    open_count, overdue_count = queries.next_step_counts(current_user.id, on)
    page = paginate_counted(queries.open_next_steps_page(current_user.id), open_count)
    return render_template(
        "donors/next_steps.html",
        page=page,
        overdue=[step for step in page.items if queries.is_overdue(step, on)],
        upcoming=[step for step in page.items if not queries.is_overdue(step, on)],
        overdue_count=overdue_count,
        upcoming_count=open_count - overdue_count,
        today=on,
    )
