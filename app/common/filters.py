"""Jinja filters and globals shared by every template."""

from datetime import date, datetime
from functools import lru_cache

from babel.dates import format_date, format_datetime, get_date_format, parse_pattern
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
    """babel's format_date, with the locale and its pattern parsed once (a list shows a hundred dates)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
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
    if value is None:
        return ""
    if isinstance(value, date) and not isinstance(value, datetime):
        return day(value, locale)
    return format_datetime(as_utc(value), format="medium", tzinfo="UTC", locale=locale) + " UTC"


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
