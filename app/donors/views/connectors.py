"""Connectors (board and Steering Committee members, staff, friends), and the introductions asked of them."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ...auth.models import User
from ...auth.permissions import Permission, requires
from ...common.errors import ValidationFailed
from ...common.forms import apply_field_errors
from ...common.pagination import paginate
from ...common.urls import int_arg
from ...extensions import db
from .. import bp, queries
from .. import services as service
from ..forms import ConnectorForm, IntroductionForm, IntroductionStatusForm
from ..models import Connection, Connector, Contact, Introduction, IntroductionStatus
from .organisations import organisation_or_404, staff_users


@bp.route("/connectors/")
@requires(Permission.DONORS_VIEW)
def list_connectors():
    connectors = list(
        db.session.scalars(sa.select(Connector).options(joinedload(Connector.user)).order_by(Connector.name))
    )
    counts = dict(
        db.session.execute(
            sa.select(Connection.connector_id, sa.func.count()).group_by(Connection.connector_id)
        ).all()
    )
    made = dict(
        db.session.execute(
            sa.select(Introduction.connector_id, sa.func.count())
            .where(Introduction.status == IntroductionStatus.MADE)
            .group_by(Introduction.connector_id)
        ).all()
    )
    return render_template("donors/connectors/list.html", connectors=connectors, counts=counts, made=made)


@bp.route("/connectors/new", methods=["GET", "POST"])
@requires(Permission.DONORS_EDIT)
def new_connector():
    users = list(db.session.scalars(sa.select(User).where(User.is_active_account).order_by(User.full_name)))
    form = ConnectorForm(users)
    if form.validate_on_submit():
        try:
            connector = service.create_connector(
                form.name.data or "",
                form.role.data,
                current_user,
                user_id=int(form.user_id.data) if form.user_id.data else None,
                email=form.email.data or "",
                notes=form.notes.data or "",
            )
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash(f"{connector.name} is a connector.", "success")
            return redirect(url_for("donors.show_connector", connector_id=connector.id))
    status = 422 if request.method == "POST" else 200
    return render_template("donors/connectors/form.html", form=form), status


@bp.route("/connectors/<int:connector_id>")
@requires(Permission.DONORS_VIEW)
def show_connector(connector_id: int):
    connector = db.session.scalar(
        sa.select(Connector)
        .where(Connector.id == connector_id)
        .options(joinedload(Connector.user), joinedload(Connector.contact))
    ) or abort(404)
    connections = paginate(
        sa.select(Connection)
        .where(Connection.connector_id == connector.id)
        .options(joinedload(Connection.contact))
        .join(Contact, Contact.id == Connection.contact_id)
        .order_by(Contact.name_key, Connection.id),
        per_page=queries.SECTION_ROWS,
        arg="knows_page",
    )
    current_organisations = queries.current_organisations([c.contact_id for c in connections.items])

    def introductions(asked: bool, arg: str):
        status = Introduction.status == IntroductionStatus.REQUESTED
        return paginate(
            sa.select(Introduction)
            .where(Introduction.connector_id == connector.id, status if asked else ~status)
            .options(
                joinedload(Introduction.target_contact),
                joinedload(Introduction.organisation),
                joinedload(Introduction.for_user),
                joinedload(Introduction.requested_by),
            )
            .order_by(Introduction.requested_on.desc(), Introduction.id.desc()),
            per_page=queries.SECTION_ROWS,
            arg=arg,
        )

    return render_template(
        "donors/connectors/show.html",
        connector=connector,
        connections=connections,
        current_organisations=current_organisations,
        asked=introductions(True, "asked_page"),
        answered=introductions(False, "answered_page"),
    )


@bp.route("/organisations/<int:organisation_id>/introductions/new", methods=["GET", "POST"])
@requires(Permission.DONORS_EDIT)
def request_introduction(organisation_id: int):
    organisation = organisation_or_404(organisation_id)
    connections = queries.who_can_introduce(organisation.id)
    if not connections:
        flash(f"Nobody we know is connected to a current contact at {organisation.name} yet.", "error")
        return redirect(url_for("donors.show_organisation", organisation_id=organisation.id))
    form = IntroductionForm(connections, staff_users())
    if request.method == "GET":
        chosen = int_arg("connection")
        connection = next((c for c in connections if c.id == chosen), None)
        if connection is not None:
            form.connector_id.data = str(connection.connector_id)
            form.target_contact_id.data = str(connection.contact_id)
    if form.validate_on_submit():
        connector_id, contact_id = int(form.connector_id.data), int(form.target_contact_id.data)
        if not any(c.connector_id == connector_id and c.contact_id == contact_id for c in connections):
            form.target_contact_id.errors = [
                "This connector does not know this contact: choose another pair."
            ]
        else:
            try:
                introduction = service.request_introduction(
                    db.session.get(Connector, connector_id),
                    db.session.get(Contact, contact_id),
                    int(form.for_user_id.data),
                    form.purpose.data or "",
                    form.requested_on.data,
                    current_user,
                )
            except ValidationFailed as failed:
                db.session.rollback()
                apply_field_errors(form, failed.field_errors)
            else:
                db.session.commit()
                flash(
                    f"Introduction requested from {introduction.connector.name} "
                    f"to {introduction.target_contact.name}.",
                    "success",
                )
                return redirect(url_for("donors.show_organisation", organisation_id=organisation.id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "donors/introductions/form.html", form=form, organisation=organisation, connections=connections
    ), status


def _introduction_or_404(introduction_id: int) -> Introduction:
    return db.session.scalar(
        sa.select(Introduction)
        .where(Introduction.id == introduction_id)
        .options(
            joinedload(Introduction.connector),
            joinedload(Introduction.target_contact),
            joinedload(Introduction.organisation),
            joinedload(Introduction.for_user),
            joinedload(Introduction.requested_by),
        )
    ) or abort(404)


@bp.route("/introductions/<int:introduction_id>")
@requires(Permission.DONORS_VIEW)
def show_introduction(introduction_id: int):
    introduction = _introduction_or_404(introduction_id)
    form = IntroductionStatusForm()
    form.status.data = (
        IntroductionStatus.MADE.value if introduction.status.is_open else introduction.status.value
    )
    return render_template("donors/introductions/show.html", introduction=introduction, form=form)


@bp.route("/introductions/<int:introduction_id>/status", methods=["POST"])
@requires(Permission.DONORS_EDIT)
def set_introduction_status(introduction_id: int):
    introduction = _introduction_or_404(introduction_id)
    form = IntroductionStatusForm()
    if form.validate_on_submit():
        try:
            service.set_introduction_status(
                introduction, form.status.data, form.on.data, form.outcome.data or "", current_user
            )
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash(f"The introduction is now: {introduction.status.label.lower()}.", "success")
            return redirect(url_for("donors.show_introduction", introduction_id=introduction.id))
    return render_template("donors/introductions/show.html", introduction=introduction, form=form), 422
