"""Jinja filters and globals shared by every template."""

from datetime import date, datetime, time
from functools import lru_cache

from babel.dates import (
    format_date,
    format_datetime,
    get_date_format,
    get_datetime_format,
    get_time_format,
    get_timezone,
    parse_pattern,
)
from flask import Flask, request, url_for

from .money import format_money, parsed_locale
from .time import as_utc
from .urls import row_url


def money(amount, currency=None, locale: str = "en") -> str:
    """`{{ invoice.total|money(invoice.currency) }}`; accepts a Money too."""
    if hasattr(amount, "currency") and currency is None:
        return format_money(amount.amount, amount.currency, locale)
    return format_money(amount, currency, locale)


def day(value, locale: str = "en", format: str = "medium") -> str:
    """babel's format_date, with the locale and its pattern parsed once and each day's text kept (a list
    shows a hundred dates, most of them alike: an annual run's issue and due dates)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    return _day_text(value, locale, format)


@lru_cache(maxsize=8192)
def _day_text(value: date, locale: str, format: str) -> str:
    parsed = _date_pattern(locale, format)
    if parsed is None:
        return format_date(value, format=format, locale=parsed_locale(locale))
    babel_locale, pattern = parsed
    return pattern.apply(value, babel_locale)


@lru_cache(maxsize=64)
def _date_pattern(locale: str, format: str):
    """(Locale, DateTimePattern) as format_date looks them up; None if babel does not know them."""
    try:
        parsed = parsed_locale(locale)
        named = format in ("full", "long", "medium", "short")
        return parsed, parse_pattern(get_date_format(format, locale=parsed) if named else format)
    except (ValueError, KeyError, TypeError):
        return None


def moment(value, locale: str = "en") -> str:
    """A moment in UTC, `Dec 1, 2026, 3:30:00 PM UTC`: babel's format_datetime (medium), with the locale's
    patterns parsed once (a message log shows a hundred moments)."""
    if value is None:
        return ""
    if isinstance(value, date) and not isinstance(value, datetime):
        return day(value, locale)
    patterns = _datetime_patterns(locale)
    if patterns is None:
        return format_datetime(as_utc(value), format="medium", tzinfo="UTC", locale=locale) + " UTC"
    utc, combined = patterns
    # As format_datetime: the moment in UTC, its time and its date formatted apart (each text kept: a day
    # and a time of day come back often), then combined.
    value = as_utc(value).astimezone(utc)
    time_text = _time_text(value.timetz(), locale)
    date_text = day(value.date(), locale)
    return combined.replace("{0}", time_text).replace("{1}", date_text) + " UTC"


@lru_cache(maxsize=16)
def _datetime_patterns(locale: str):
    """(UTC, the locale's medium datetime format) as format_datetime looks them up, or None if babel does
    not know them or the time pattern names a time zone (its text would then depend on the day too)."""
    try:
        parsed = parsed_locale(locale)
        if any(letter in get_time_format("medium", locale=parsed).pattern for letter in "zZvVOxX"):
            return None
        return get_timezone("UTC"), get_datetime_format("medium", locale=parsed).replace("'", "")
    except (ValueError, KeyError, TypeError, LookupError):
        return None


@lru_cache(maxsize=8192)
def _time_text(value: time, locale: str) -> str:
    """A time of day (in UTC) as format_time's medium pattern writes it for the locale."""
    parsed = parsed_locale(locale)
    return parse_pattern(get_time_format("medium", locale=parsed)).apply(value, parsed)


def url_with(**changes) -> str:
    """The current URL with some query arguments changed (used by pagination and sorting links)."""
    args = request.args.to_dict(flat=True)
    args.update({key: value for key, value in changes.items() if value is not None})
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def register(app: Flask) -> None:
    app.add_template_filter(money, "money")
    app.add_template_filter(day, "day")
    app.add_template_filter(moment, "moment")
    app.add_template_global(url_with, "url_with")
    app.add_template_global(row_url, "row_url")
