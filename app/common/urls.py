"""Numbers read from a URL, bounded by the integer columns they are looked up in.

Every id column is a 32-bit integer on PostgreSQL, which refuses a larger number with an error rather than
finding nothing. So the app's `int` converter (installed for every route by `install`) answers 404 beyond that
range, and `int_arg` reads ids, years and page numbers from the query string the same way: out of range is
the same as absent.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, request, url_for
from werkzeug.routing import IntegerConverter

from .fiscal import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR

#: The largest value of an `integer` column on PostgreSQL (and of every id here).
INTEGER_MAX = 2**31 - 1


class BoundedIntegerConverter(IntegerConverter):
    """Werkzeug's `int` converter, but a number beyond INTEGER_MAX does not match (so the URL answers 404)."""

    def __init__(
        self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = INTEGER_MAX, signed=False
    ):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def install(app: Flask) -> None:
    """Make `<int:...>` in every route bounded; call before the blueprints are registered."""
    app.url_map.converters["int"] = BoundedIntegerConverter


def bounded_int(text: str | None, minimum: int = 1, maximum: int = INTEGER_MAX) -> int | None:
    """`text` as an integer when it is plain ASCII digits within [minimum, maximum], else None."""
    cleaned = (text or "").strip()
    digits = cleaned[1:] if cleaned[:1] in "+-" else cleaned
    # A length check first: int() of thousands of digits is slow, and refused by Python beyond 4300.
    if not digits or len(digits) > 20 or not (digits.isascii() and digits.isdigit()):
        return None
    value = int(cleaned)
    return value if minimum <= value <= maximum else None


def int_arg(name: str, minimum: int = 1, maximum: int = INTEGER_MAX, values=None) -> int | None:
    """An integer from the query string (`?member_id=12`), or None: absent, blank, nonsense, out of range."""
    return bounded_int((request.args if values is None else values).get(name), minimum, maximum)


def fiscal_year_arg(name: str = "fiscal_year") -> int | None:
    """A fiscal year from the query string (`?fiscal_year=2027`), or None when out of the years offered."""
    return int_arg(name, FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR)


def page_arg(name: str = "page") -> int:
    """The page number asked for (`?page=3`, or another argument's name for a page's second list): 1 when
    absent or nonsense, at most INTEGER_MAX."""
    return bounded_int(request.args.get(name)) or 1


#: Stands for the varying id while `row_url` builds a URL once (within INTEGER_MAX, so `int` routes take it).
_PLACEHOLDER = 2_087_654_321


def row_url(endpoint: str, arg: str, **values) -> Callable[[int], str]:
    """A function giving url_for(endpoint, **values, arg=id) for any integer id, from one url_for: a list's
    link on every row costs a format instead of a URL build (about 15 µs, which fifty rows notice)."""
    marker = str(_PLACEHOLDER)
    built = url_for(endpoint, **values, **{arg: _PLACEHOLDER})
    if built.count(marker) != 1:  # the placeholder also appears elsewhere: build each URL
        return lambda value: url_for(endpoint, **values, **{arg: value})
    prefix, suffix = built.split(marker)
    return lambda value: f"{prefix}{int(value)}{suffix}"
