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


def feed_of(user) -> CalendarFeed:
    """The user's feed record, made on first use."""
    feed = db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.user_id == user.id))
    if feed is None:
        feed = CalendarFeed(user_id=user.id, version=1)
        db.session.add(feed)
        db.session.flush()
    return feed


def token_for(feed: CalendarFeed) -> str:
    """The secret part of the feed's URL."""
    return _serializer().dumps({"u": feed.user_id, "v": feed.version})


def renew(user) -> CalendarFeed:
    """A new URL for the user's feed; the old one stops working at once."""
    feed = feed_of(user)
    feed.version += 1
    feed.renewed_at = utcnow()
    db.session.flush()
    return feed


def feed_for_token(token: str) -> CalendarFeed | None:
    """The feed a token opens, or None when it is tampered with, malformed or was renewed since."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("v"), int):
        return None
    feed = db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.user_id == data["u"]))
    if feed is None or feed.version != data["v"] or not feed.user.is_active:
        return None
    return feed
