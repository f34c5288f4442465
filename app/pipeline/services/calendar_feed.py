"""Private calendar feed URLs: a signed (user, version) token; renewing bumps the version, revoking the old.

Like the public pay page's links, nothing secret is stored: the token is signed with SECRET_KEY.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ...common.time import utcnow
from ...extensions import db
from ..models import CalendarFeed

_SALT = "tributary.calendar-feed"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _feed_row(user_id: int) -> CalendarFeed | None:
    return db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.user_id == user_id))


def version_of(user) -> int:
    """The version the user's current URL carries: 1 until first renewed (no row is needed till then)."""
    feed = _feed_row(user.id)
    return feed.version if feed is not None else 1


def token_for(user) -> str:
    """The secret part of the user's feed URL."""
    return _serializer().dumps({"u": user.id, "v": version_of(user)})


def renew(user) -> CalendarFeed:
    """A new URL for the user's feed; the old one stops working at once."""
    feed = _feed_row(user.id)
    if feed is None:
        feed = CalendarFeed(user_id=user.id, version=1)
        db.session.add(feed)
    feed.version += 1
    feed.renewed_at = utcnow()
    db.session.flush()
    return feed


def renewed_at(user):
    """When the user last renewed the URL, or None."""
    feed = _feed_row(user.id)
    return feed.renewed_at if feed is not None else None


def user_for_token(token: str):
    """The user a token opens the feed of, or None when it is tampered with, malformed, renewed since, or the
    user is no longer active."""
    from ...auth.models import User

    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("v"), int):
        return None
    user = db.session.get(User, data["u"])
    if user is None or not user.is_active or version_of(user) != data["v"]:
        return None
    return user
