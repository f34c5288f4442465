"""The organisation list (search, filters, export) and the organisation page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from ...auth.models import User
from ...auth.permissions import Permission, Role, requires
from ...common.errors import ValidationFailed
from ...common.forms import apply_field_errors
from ...common.pagination import ids_first, paginate, paginate_counted
from ...common.time import today
from ...common.urls import row_url
from ...extensions import db
from .. import bp, duplicates, exports, queries
from .. import services as service
from ..forms import OrganisationFilterForm, OrganisationForm
from ..models import (
    Affiliation,
    Gift,
    Interaction,
    Introduction,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    Theme,
)
from ..panels import organisation_panels


def staff_users() -> list[User]:
    """Who can own relationships and take next steps: active fundraising and admin users."""
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.is_active_account, User.role.in_([Role.FUNDRAISING, Role.ADMIN]))
            .order_by(User.full_name)
        )
    )


def organisation_or_404(organisation_id: int) -> Organisation:
    return db.session.get(Organisation, organisation_id) or abort(404)


def _filters(form: OrganisationFilterForm) -> queries.OrganisationFilters:
    def number(value):
        return int(value) if value and value.isdigit() else None

    return queries.OrganisationFilters(
        query=(form.q.data or "").strip(),
        kind=OrganisationKind(form.kind.data) if form.kind.data else None,
        status=OrganisationStatus(form.status.data) if form.status.data else None,
        owner_id=number(form.owner.data),
        country_code=form.country.data or None,
        theme_id=number(form.theme.data),
    )


@bp.route("/organisations/")
@requires(Permission.DONORS_VIEW)
def list_organisations():
    themes = list(db.session.scalars(sa.select(Theme).order_by(Theme.name)))
    form = OrganisationFilterForm(staff_users(), themes, request.args)
    if form.validate():
        filters = _filters(form)
        statement = queries.filtered_organisations(filters)
    else:  # a filter that does not validate shows its error and no rows
        filters = queries.OrganisationFilters()
        statement = queries.filtered_organisations(filters).where(sa.false())
    export_format = request.args.get("format")
    if export_format in ("csv", "xlsx"):
        return exports.organisations_download(statement, export_format)
    page = paginate(
        statement,
        rows=queries.organisation_list_rows,
        row_type=queries.ListedOrganisation,
        searched=bool(filters.query),
    )
    return render_template(
        "donors/organisations/list.html",
        form=form,
        page=page,
        filtered=not filters.is_empty,
        organisation_url=row_url("donors.show_organisation", "organisation_id"),
        country_name=service.country_name,
    )


def _details(form: OrganisationForm) -> service.OrganisationDetails:
    return service.OrganisationDetails(
        name=form.name.data or "",
        kind=form.kind.data,
        status=form.status.data,
        country_code=form.country_code.data or None,
        website=form.website.data or "",
        owner_id=int(form.owner_id.data) if form.owner_id.data else None,
        themes=form.themes.data or "",
        notes=form.notes.data or "",
    )


@bp.route("/organisations/new", methods=["GET", "POST"])
@requires(Permission.DONORS_EDIT)
def new_organisation():
    form = OrganisationForm(staff_users())
    if request.method == "GET":
        form.owner_id.data = str(current_user.id)
    if form.validate_on_submit():
        try:
            organisation = service.create_organisation(_details(form), current_user)
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash(f"{organisation.name} was added.", "success")
            return redirect(url_for("donors.show_organisation", organisation_id=organisation.id))
    status = 422 if request.method == "POST" else 200
    return render_template("donors/organisations/form.html", form=form, organisation=None), status


@bp.route("/organisations/<int:organisation_id>/edit", methods=["GET", "POST"])
@requires(Permission.DONORS_EDIT)
def edit_organisation(organisation_id: int):
    organisation = organisation_or_404(organisation_id)
    form = OrganisationForm(staff_users(), obj=organisation if request.method == "GET" else None)
    if request.method == "GET":
        form.kind.data = organisation.kind.value
        form.status.data = organisation.status.value
        form.country_code.data = organisation.country_code or ""
        form.owner_id.data = str(organisation.owner_id or "")
        form.themes.data = ", ".join(theme.name for theme in organisation.themes)
    if form.validate_on_submit():
        try:
            service.update_organisation(organisation, _details(form), current_user)
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash("Saved.", "success")
            return redirect(url_for("donors.show_organisation", organisation_id=organisation.id))
    status = 422 if request.method == "POST" else 200
    return render_template("donors/organisations/form.html", form=form, organisation=organisation), status


#: Interactions and gifts per page of the organisation page's history (the newest first).
RECENT_ROWS = 10


@bp.route("/organisations/<int:organisation_id>")
@requires(Permission.DONORS_VIEW)
def show_organisation(organisation_id: int):
    # Themes by their own query: joined, SQLite materialises organisation_themes whole (100,000 rows).
    organisation = db.session.scalar(
        sa.select(Organisation)
        .where(Organisation.id == organisation_id)
        .options(joinedload(Organisation.owner), selectinload(Organisation.themes))
    ) or abort(404)
    counts = queries.organisation_counts(organisation.id)

    def affiliations(current: bool, arg: str):
        ended = Affiliation.ended_on.is_(None) if current else Affiliation.ended_on.is_not(None)
        return paginate_counted(
            ids_first(
                sa.select(Affiliation)
                .where(Affiliation.organisation_id == organisation.id, ended)
                .options(joinedload(Affiliation.contact))
                .order_by(Affiliation.ended_on.desc(), Affiliation.started_on.desc(), Affiliation.id)
            ),
            counts.current_contacts if current else counts.past_contacts,
            per_page=queries.SECTION_ROWS,
            arg=arg,
        )

    # The whole history, paged (newest first): interactions from ix_interactions_organisation_recent.
    interactions = paginate_counted(
        sa.select(Interaction)
        .where(Interaction.organisation_id == organisation.id)
        .options(joinedload(Interaction.next_step_owner))
        .order_by(Interaction.occurred_on.desc(), Interaction.id.desc()),
        counts.interactions,
        per_page=RECENT_ROWS,
        arg="interactions_page",
    )
    gifts = paginate_counted(
        sa.select(Gift)
        .where(Gift.organisation_id == organisation.id)
        .options(joinedload(Gift.hub))
        .order_by(Gift.received_on.desc(), Gift.id.desc()),
        counts.gifts,
        per_page=RECENT_ROWS,
        arg="gifts_page",
    )
    introductions = paginate_counted(
        ids_first(
            sa.select(Introduction)
            .where(Introduction.organisation_id == organisation.id)
            .options(
                joinedload(Introduction.connector),
                joinedload(Introduction.target_contact),
                joinedload(Introduction.for_user),
            )
            .order_by(Introduction.requested_on.desc(), Introduction.id.desc())
        ),
        counts.introductions,
        per_page=queries.SECTION_ROWS,
        arg="introductions_page",
    )
    return render_template(
        "donors/organisations/show.html",
        organisation=organisation,
        current=affiliations(True, "contacts_page"),
        past=affiliations(False, "past_page"),
        introducers=paginate_counted(
            ids_first(queries.who_can_introduce_statement(organisation.id)),
            counts.introducers,
            per_page=queries.SECTION_ROWS,
            arg="introducers_page",
        ),
        interactions=interactions,
        who=queries.interaction_people([interaction.id for interaction in interactions.items]),
        gifts=gifts,
        gift_totals=queries.gift_totals(organisation.id),
        introductions=introductions,
        panels=organisation_panels(organisation),
        possible_duplicates=duplicates.organisation_duplicates(organisation),
        country_name=service.country_name,
        today=today(),
    )
