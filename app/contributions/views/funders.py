"""The member page's donor organisations: link one (its aid agency, its embassy), unlink, see their gifts."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ...auth.permissions import Permission, requires
from ...common.errors import ValidationFailed
from ...extensions import db
from .. import bp, funders
from ..models import Member


class LinkOrganisationForm(FlaskForm):
    organisation = StringField(
        "Donor organisation",
        validators=[DataRequired(message="Give the organisation's name."), Length(max=300)],
        description="Its name as on its Donors page, e.g. the member's development agency.",
    )


def funder_context(member: Member, form: LinkOrganisationForm | None = None) -> dict:
    """What the member page's "Also a funder" section shows."""
    gifts, totals = funders.linked_gifts(member.id)
    return {
        "links": funders.linked_organisations(member.id),
        "gifts": gifts,
        "gift_totals": totals,
        "form": form or LinkOrganisationForm(),
        "recent": funders.RECENT_GIFTS,
    }


@bp.route("/members/<int:member_id>/organisations", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def link_member_organisation(member_id: int):
    member = db.session.get(Member, member_id) or abort(404)
    form = LinkOrganisationForm()
    if form.validate_on_submit():
        try:
            link = funders.link_organisation(member, form.organisation.data, None)
        except ValidationFailed as failed:
            db.session.rollback()
            flash(" ".join(failed.field_errors.get("organisation", [str(failed)])), "error")
        else:
            db.session.commit()
            flash(f"{link.organisation.name} is linked to {member.name}.", "success")
    else:
        flash("Give the organisation's name.", "error")
    return redirect(url_for("contributions.show_member", member_id=member.id, _anchor="funder"))


@bp.route("/members/<int:member_id>/organisations/<int:link_id>/remove", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def unlink_member_organisation(member_id: int, link_id: int):
    link = db.session.get(funders.MemberOrganisation, link_id)
    if link is None or link.member_id != member_id:
        abort(404)
    name = link.organisation.name
    funders.unlink_organisation(link, None)
    db.session.commit()
    flash(f"{name} is no longer linked.", "success")
    return redirect(url_for("contributions.show_member", member_id=member_id, _anchor="funder"))
