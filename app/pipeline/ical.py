"""The one module that imports icalendar: calendar items in, an RFC 5545 feed out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from icalendar import Calendar, Event

from ..common.time import as_utc, utcnow


@dataclass(frozen=True)
class CalendarItem:
    """One all-day event: `uid` is stable for the record it comes from, so calendars update it in place."""

    uid: str
    day: date
    summary: str
    description: str = ""
    url: str = ""
    #: When the record last changed: calendars that compare it show the change.
    changed_at: datetime | None = None


def feed_bytes(name: str, items: Iterable[CalendarItem]) -> bytes:
    """An iCalendar feed of all-day events."""
    calendar = Calendar()
    calendar.add("prodid", "-//Tributary//Pipeline calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    # Calendar apps poll a subscription; ask for twice a day rather than their weekly default.
    calendar.add("refresh-interval", timedelta(hours=12), parameters={"VALUE": "DURATION"})
    stamp = utcnow().replace(microsecond=0)
    for item in items:
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", item.day)
        event.add("dtend", item.day + timedelta(days=1))  # DTEND is exclusive: a one-day event
        event.add("summary", item.summary)
        event.add("transp", "TRANSPARENT")  # a deadline, not a meeting: it does not block the day
        if item.description:
            event.add("description", item.description)
        if item.url:
            event.add("url", item.url)
        if item.changed_at is not None:
            changed = as_utc(item.changed_at).replace(microsecond=0)
            event.add("last-modified", changed)
            # SEQUENCE must grow with each change; seconds since the epoch always do.
            event.add("sequence", int(changed.timestamp()) // 60)
        calendar.add_component(event)
    return calendar.to_ical()
