"""The template filters for dates and moments write what babel writes, from patterns parsed once and texts
kept: the same text for every locale the documents use, naive (UTC) and aware moments alike."""

import random
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from babel.dates import format_date, format_datetime

from app.common.filters import day, moment


@pytest.mark.parametrize("locale", ["en", "fr", "es"])
def test_days_and_moments_read_as_babel_writes_them(locale):
    rng = random.Random(12)
    for number in range(2000):
        value = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(40 * 365 * 86400))
        if number % 2:  # naive, as SQLite gives them back (UTC)
            value = value.replace(tzinfo=None)
        elif number % 3:
            value = value.astimezone(timezone(timedelta(hours=rng.randrange(-12, 13))))
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        assert moment(value, locale) == format_datetime(aware, "medium", tzinfo="UTC", locale=locale) + " UTC"
        assert day(value.date(), locale) == format_date(value.date(), "medium", locale=locale)
        assert day(value.date(), locale, "long") == format_date(value.date(), "long", locale=locale)


def test_a_day_given_as_a_moment_is_its_date_and_nothing_is_empty():
    assert day(datetime(2027, 3, 1, 23, 59, tzinfo=UTC)) == day(date(2027, 3, 1)) == "Mar 1, 2027"
    assert moment(date(2027, 3, 1)) == "Mar 1, 2027"
    assert day(None) == moment(None) == ""
