"""Each user's private calendar feed: the page with its address, renewing it, and the feed itself."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from ...auth.permissions import Permission, public, requires
from ...extensions import db
from .. import bp
from ..ical import feed_bytes
from ..services import calendar_feed as feeds
from ..services.calendar_items import calendar_items


def _feed_url(user) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return base + url_for("pipeline.calendar_feed", token=feeds.token_for(user))


@bp.route("/calendar")
@requires(Permission.PIPELINE_VIEW)
def show_calendar_feed():
    return render_template(
        "pipeline/calendar.html",
        feed_url=_feed_url(current_user),
        renewed_at=feeds.renewed_at(current_user),
        items=calendar_items(current_user),
    )


@bp.route("/calendar/renew", methods=["POST"])
@requires(Permission.ACCOUNT_EDIT)
def renew_calendar_feed():
    feeds.renew(current_user)
    db.session.commit()
    flash(
        "Your calendar address is renewed: the old one no longer works. Subscribe again with the new one.",
        "success",
    )
    return redirect(url_for("pipeline.show_calendar_feed"))


@bp.route("/calendar/<token>.ics")
@public
def calendar_feed(token: str):
    user = feeds.user_for_token(token[:500]) or abort(404)
    body = feed_bytes(f"Tributary: {user.full_name}", calendar_items(user))
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Cache-Control": "private, no-store",
            "Content-Disposition": 'inline; filename="tributary.ics"',
        },
    )
