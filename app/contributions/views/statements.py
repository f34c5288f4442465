"""A member's statement of account: the page and its PDF (sending it is in views/sending.py)."""

from __future__ import annotations

from datetime import date

from flask import abort, render_template, request

from ...auth.permissions import Permission, requires
from ...common.exports import PDF_MIMETYPE, download_response
from ...common.pagination import paginate
from ...common.time import today
from ...extensions import db
from .. import bp
from ..models import Member
from ..services.statements import (
    STATEMENT_RECORDS,
    build_statement,
    lists_open_invoices,
    open_invoices_query,
    render_statement_pdf,
    statement_filename,
)

#: Open invoices listed per page under the accounts (a member may have hundreds; the PDF lists them all).
OPEN_INVOICES_PER_PAGE = 25
#: Records the page lists, the latest; earlier ones are carried into the balance brought forward, and the
#: statement as of the day they end lists them in turn. (The PDF and the e-mailed statement list
#: STATEMENT_RECORDS.) Laying out a hundred records was most of the page's time.
STATEMENT_PAGE_RECORDS = 25


def _member_or_404(member_id: int) -> Member:
    return db.session.get(Member, member_id) or abort(404)


def _as_of():
    """The ?as_of= date of a statement, or today; a bad date falls back to today."""
    try:
        return date.fromisoformat(request.args.get("as_of", ""))
    except ValueError:
        return today()


@bp.route("/members/<int:member_id>/statement")
@requires(Permission.CONTRIBUTIONS_VIEW)
def member_statement(member_id: int):
    member = _member_or_404(member_id)
    as_of = _as_of()
    statement = build_statement(member, as_of, records=STATEMENT_PAGE_RECORDS, with_open_invoices=False)
    open_invoices = (
        paginate(
            open_invoices_query(member.id, as_of),
            per_page=OPEN_INVOICES_PER_PAGE,
            arg="open_page",
            exact_total=True,
        )
        if lists_open_invoices(as_of)
        else None
    )
    return render_template(
        "contributions/reports/statement.html",
        member=member,
        statement=statement,
        open_invoices=open_invoices,
        as_of=as_of,
        pdf_records=STATEMENT_RECORDS,
        has_email=any(contact.email for contact in member.contacts),
    )


@bp.route("/members/<int:member_id>/statement.pdf")
@requires(Permission.CONTRIBUTIONS_VIEW)
def member_statement_pdf(member_id: int):
    member = _member_or_404(member_id)
    as_of = _as_of()
    pdf = render_statement_pdf(member, as_of)
    inline = not request.args.get("download")
    return download_response(pdf, statement_filename(member, as_of), PDF_MIMETYPE, inline=inline)
