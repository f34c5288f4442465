"""Calendar feed machinery: signed per-user tokens that renewal revokes; all-day events with stable UIDs."""

from datetime import UTC, date, datetime

from icalendar import Calendar

from app.pipeline.ical import CalendarItem, feed_bytes
from app.pipeline.services import calendar_feed


def test_a_token_opens_its_users_feed_until_it_is_renewed(make_user):
    user = make_user("fundraising")
    old_token = calendar_feed.token_for(user)
    assert calendar_feed.user_for_token(old_token) is user
    calendar_feed.renew(user)
    new_token = calendar_feed.token_for(user)
    assert new_token != old_token
    assert calendar_feed.user_for_token(old_token) is None
    assert calendar_feed.user_for_token(new_token) is user
    calendar_feed.renew(user)
    assert calendar_feed.user_for_token(new_token) is None


def test_a_tampered_token_or_a_deactivated_user_opens_nothing(make_user):
    user = make_user("board")
    token = calendar_feed.token_for(user)
    assert calendar_feed.user_for_token(token[:-2] + "xx") is None
    assert calendar_feed.user_for_token("not-a-token") is None
    user.is_active_account = False
    assert calendar_feed.user_for_token(token) is None


def test_events_are_all_day_with_their_stable_uid_and_change_time():
    changed = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
    items = [
        CalendarItem(
            "deliverable-7@tributary",
            date(2027, 3, 31),
            "Narrative report due",
            "Ford",
            "http://x/7",
            changed,
        )
    ]
    first = Calendar.from_ical(feed_bytes("My deadlines", items))
    second = Calendar.from_ical(feed_bytes("My deadlines", items))
    (event,) = first.walk("VEVENT")
    assert str(event["uid"]) == "deliverable-7@tributary"
    assert event.decoded("dtstart") == date(2027, 3, 31)
    assert event.decoded("dtend") == date(2027, 4, 1)
    assert event.decoded("last-modified") == changed
    assert [str(e["uid"]) for e in second.walk("VEVENT")] == ["deliverable-7@tributary"]


def test_a_later_change_gives_a_higher_sequence():
    before = CalendarItem("x@t", date(2027, 1, 1), "A", changed_at=datetime(2027, 1, 1, 10, 0, tzinfo=UTC))
    after = CalendarItem("x@t", date(2027, 1, 2), "A", changed_at=datetime(2027, 1, 1, 10, 5, tzinfo=UTC))
    sequence = [
        Calendar.from_ical(feed_bytes("c", [item])).walk("VEVENT")[0]["sequence"] for item in (before, after)
    ]
    assert sequence[1] > sequence[0]
