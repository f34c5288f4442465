"""Income groups for a whole fiscal year: the overview, carrying last year's groups forward, and the import
of the World Bank's classification (upload, preview, confirm; the confirmation carries the rows, signed)."""

from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import aliased

from ...auth.permissions import Permission, requires
from ...common.errors import DomainError, ValidationFailed
from ...common.fiscal import current_fiscal_year
from ...common.forms import apply_field_errors
from ...common.imports import ImportRejected, RowProblem, read_upload
from ...common.pagination import paginate
from ...common.urls import fiscal_year_arg
from ...extensions import db
from ...hubs.models import Hub
from .. import bp
from ..forms.income_groups import ConfirmImportForm, CopyForwardForm, ImportForm, IncomeGroupFilterForm
from ..models import IncomeGroup, Member, MemberIncomeGroup, MemberStatus
from ..services import income_groups as service
from ..services.members import country_name


def _year_to_prepare() -> int:
    """The year a page opens on: the next fiscal year, the one operations prepare before its annual run."""
    return current_fiscal_year() + 1


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _actor():
    return current_user._get_current_object()


# --- The overview ------------------------------------------------------------------------------------------

#: How many of the members without a group the overview names (the count says how many there are).
MISSING_NAMED = 40


class _ListedMember(NamedTuple):
    """A row of the overview: the columns of `_overview_rows`, in its order."""

    id: int
    name: str
    country_code: str
    status: MemberStatus
    hub_name: str
    before: IncomeGroup | None
    now: IncomeGroup | None


#: The overview's joins, made once (an ORM alias costs more to make than the query takes to run).
_GROUP_BEFORE, _GROUP_NOW = aliased(MemberIncomeGroup), aliased(MemberIncomeGroup)


def _overview_rows(fiscal_year: int):
    """For `paginate(rows=...)`: each listed member with its hub and its groups of the year and the one
    before, in the page's query."""
    before, now = _GROUP_BEFORE, _GROUP_NOW

    def rows(page_ids: sa.Subquery) -> sa.Select:
        return (
            sa.select(
                Member.id,
                Member.name,
                Member.country_code,
                Member.status,
                Hub.name,
                before.income_group,
                now.income_group,
            )
            .join(page_ids, page_ids.c.id == Member.id)
            .join(Hub, Hub.id == Member.hub_id)
            .outerjoin(before, sa.and_(before.member_id == Member.id, before.fiscal_year == fiscal_year - 1))
            .outerjoin(now, sa.and_(now.member_id == Member.id, now.fiscal_year == fiscal_year))
        )

    return rows


@bp.route("/income-groups/")
@requires(Permission.CONTRIBUTIONS_VIEW)
def income_groups():
    hubs = service.hubs_with_national_members()
    form = IncomeGroupFilterForm(hubs, request.args)
    valid = form.validate()
    # A valid year is kept even when another filter is wrong, so that the page shows the year asked for.
    fiscal_year = form.fiscal_year.data if form.fiscal_year.data and not form.fiscal_year.errors else None
    fiscal_year = fiscal_year or _year_to_prepare()
    filtered = False
    if valid:
        filters = {
            "text": form.q.data or None,
            "hub_id": int(form.hub.data) if form.hub.data else None,
            "missing_only": bool(form.missing.data),
        }
        filtered = any(filters.values())
        query = service.overview_query(fiscal_year, **filters)
    else:  # a filter that does not validate shows its error and no rows
        query = service.overview_query(fiscal_year).where(sa.false())
    form.fiscal_year.data = fiscal_year
    page = paginate(
        query,
        rows=_overview_rows(fiscal_year),
        row_type=_ListedMember,
        searched=bool(valid and filters["text"]),
    )
    return render_template(
        "contributions/income_groups/index.html",
        form=form,
        page=page,
        fiscal_year=fiscal_year,
        previous_year=fiscal_year - 1,
        current_year=current_fiscal_year(),
        counts=service.year_counts(fiscal_year),
        missing=service.missing_members(fiscal_year, limit=MISSING_NAMED),
        income_group_choices=list(IncomeGroup),
        copy_form=CopyForwardForm(formdata=None, fiscal_year=fiscal_year),
        filtered=filtered,
    )


# --- Copy forward ------------------------------------------------------------------------------------------


@bp.route("/income-groups/copy-forward", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def copy_income_groups_forward():
    form = CopyForwardForm()
    if not form.validate_on_submit():
        flash("Give a fiscal year such as 2027. Nothing was copied.", "error")
        return redirect(url_for("contributions.income_groups"))
    fiscal_year = form.fiscal_year.data
    try:
        result = service.copy_forward(fiscal_year, actor=_actor())
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        still = (
            f"{_plural(result.still_missing, 'national member')} still "
            f"{'has' if result.still_missing == 1 else 'have'} no group for FY{fiscal_year}."
            if result.still_missing
            else f"Every national member has a group for FY{fiscal_year}."
        )
        if result.copied:
            copied = _plural(result.copied, "member")
            flash(f"Copied FY{fiscal_year - 1} groups to FY{fiscal_year} for {copied}. {still}", "success")
        else:
            flash(
                f"Nothing to copy: no member has a FY{fiscal_year - 1} group and none for FY{fiscal_year}. "
                + still,
                "info",
            )
    return redirect(url_for("contributions.income_groups", fiscal_year=fiscal_year))


# --- Import ------------------------------------------------------------------------------------------------


@bp.route("/income-groups/import", methods=["GET", "POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def import_income_groups():
    form = ImportForm()
    if request.method == "GET":
        form.fiscal_year.data = fiscal_year_arg() or _year_to_prepare()
    problems: list[RowProblem] = []
    if form.validate_on_submit():
        filename, content = read_upload(form.file.data, service.MAX_UPLOAD_BYTES)
        try:
            parsed = service.parse_upload(filename, content)
            preview = service.preview_import(parsed, form.fiscal_year.data)
        except ImportRejected as rejected:
            problems = rejected.problems
            apply_field_errors(form, rejected.field_errors)
        except ValidationFailed as failed:
            apply_field_errors(form, failed.field_errors)
        else:
            confirm_form = ConfirmImportForm(
                formdata=None, payload=service.import_token(parsed, preview, filename)
            )
            return render_template(
                "contributions/income_groups/preview.html",
                preview=preview,
                filename=filename,
                confirm_form=confirm_form,
                country_name=country_name,
            )
    status = 422 if request.method == "POST" else 200
    return render_template("contributions/income_groups/import.html", form=form, problems=problems), status


@bp.route("/income-groups/import/confirm", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def confirm_income_group_import():
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        flash("There was nothing to confirm. Nothing was changed: upload the file again.", "error")
        return redirect(url_for("contributions.import_income_groups"))
    try:
        result = service.apply_import(form.payload.data, actor=_actor())
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("contributions.import_income_groups"))
    db.session.commit()
    year = result.fiscal_year
    source = f" from {result.filename}" if result.filename else ""
    message = (
        f"FY{year} income groups imported{source}: {result.new:,} new, {result.changed:,} changed, "
        f"{result.unchanged:,} unchanged."
    )
    if result.still_missing:
        message += (
            f" {_plural(result.still_missing, 'national member')} still "
            f"{'has' if result.still_missing == 1 else 'have'} no group for FY{year}."
        )
    flash(message, "success")
    return redirect(url_for("contributions.income_groups", fiscal_year=year))
