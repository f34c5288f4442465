"""Merging duplicates: find the other record, compare the two side by side, merge it into this one."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...auth.models import User
from ...auth.permissions import Permission, requires
from ...common.errors import DomainError, ValidationFailed
from ...extensions import db
from .. import bp, merge, queries, search
from .. import services as service
from ..models import Contact, Organisation
from ..text import clean

#: How many search results the "Merge with…" page lists.
CANDIDATES = 20

_KINDS = {
    "organisation": (Organisation, "donors.show_organisation", "organisation_id"),
    "contact": (Contact, "donors.show_contact", "contact_id"),
}


def _compare_url(kind: str, survivor_id: int, other_id: int) -> str:
    id_name = _KINDS[kind][2]
    return url_for(f"donors.merge_{kind}", **{id_name: survivor_id, f"other_{id_name}": other_id})


def _display(record, name: str) -> str:
    value = getattr(record, name)
    if value is None or value == "":
        return "—"
    if name == "owner_id":
        owner = db.session.get(User, value)
        return owner.full_name if owner else "—"
    if name == "country_code":
        return service.country_name(value)
    if name == "email_consent":
        return (
            f"Yes, since {record.email_consent_on.isoformat()}"
            if value and record.email_consent_on
            else ("Yes" if value else "No")
        )
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if hasattr(value, "label"):
        return value.label
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _candidates(kind: str, record, query: str) -> list:
    model = _KINDS[kind][0]
    if not query:
        return []
    if kind == "organisation":
        statement = sa.select(Organisation).where(
            Organisation.id.in_(queries.matching_organisation_ids(query))
        )
    else:
        dialect = db.session.get_bind().dialect.name
        statement = sa.select(Contact).where(
            Contact.id.in_(search.matching_ids(Contact.__table__, query, dialect))
        )
    statement = statement.where(model.id != record.id).order_by(model.search_text, model.id).limit(CANDIDATES)
    return list(db.session.scalars(statement))


def _choose_page(kind: str, record_id: int):
    model, show_endpoint, id_name = _KINDS[kind]
    record = db.session.get(model, record_id) or abort(404)
    query = clean(request.args.get("q", "")).strip()[:200]
    return render_template(
        "donors/merge/choose.html",
        kind=kind,
        record=record,
        query=query,
        candidates=_candidates(kind, record, query),
        current_organisations=queries.current_organisations([record.id]) if kind == "contact" else {},
        back_url=url_for(show_endpoint, **{id_name: record.id}),
        compare_url=lambda other_id: _compare_url(kind, record.id, other_id),
        limit=CANDIDATES,
    )


def _compare_page(kind: str, survivor_id: int, other_id: int):
    model, show_endpoint, id_name = _KINDS[kind]
    survivor = db.session.get(model, survivor_id) or abort(404)
    other = db.session.get(model, other_id) or abort(404)
    differing = merge.differing_fields(survivor, other) if survivor.id != other.id else []
    status = 200
    if request.method == "POST":
        taken = {f.name for f in differing if request.form.get(f"pick_{f.name}") == "other"}
        merged_label = str(other)
        try:
            if kind == "organisation":
                merge.merge_organisations(survivor, other, taken, current_user)
            else:
                merge.merge_contacts(survivor, other, taken, current_user)
        except (DomainError, ValidationFailed) as error:
            db.session.rollback()
            messages = getattr(error, "field_errors", {}) or {}
            flash(" ".join(m for ms in messages.values() for m in ms) or str(error), "error")
            status = 422
            survivor = db.session.get(model, survivor_id)
            other = db.session.get(model, other_id)
        else:
            db.session.commit()
            flash(f"{merged_label} was merged into {survivor}.", "success")
            return redirect(url_for(show_endpoint, **{id_name: survivor.id}))
    return render_template(
        "donors/merge/compare.html",
        kind=kind,
        survivor=survivor,
        other=other,
        fields=merge.fields_for(survivor),
        differing={f.name for f in differing},
        display=_display,
        survivor_holds=merge.holdings(survivor),
        other_holds=merge.holdings(other),
        back_url=url_for(show_endpoint, **{id_name: survivor.id}),
        swap_url=_compare_url(kind, other.id, survivor.id),
    ), status


@bp.route("/organisations/<int:organisation_id>/merge")
@requires(Permission.DONORS_EDIT)
def choose_organisation_to_merge(organisation_id: int):
    return _choose_page("organisation", organisation_id)


@bp.route("/organisations/<int:organisation_id>/merge/<int:other_organisation_id>", methods=["GET", "POST"])
@requires(Permission.DONORS_EDIT)
def merge_organisation(organisation_id: int, other_organisation_id: int):
    return _compare_page("organisation", organisation_id, other_organisation_id)


@bp.route("/contacts/<int:contact_id>/merge")
@requires(Permission.DONORS_EDIT)
def choose_contact_to_merge(contact_id: int):
    return _choose_page("contact", contact_id)


@bp.route("/contacts/<int:contact_id>/merge/<int:other_contact_id>", methods=["GET", "POST"])
@requires(Permission.DONORS_EDIT)
def merge_contact(contact_id: int, other_contact_id: int):
    return _compare_page("contact", contact_id, other_contact_id)
