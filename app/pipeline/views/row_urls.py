"""Links to many records of one kind, built once: a list or the board shows hundreds of rows, and url_for
(the URL map's lookup and build) for each of them was a good part of a page's time."""

from __future__ import annotations

from collections.abc import Callable

from flask import url_for

from .. import bp

#: Any id the route accepts; the built URL is split around it.
_PLACEHOLDER = 2_000_000_001


def id_url(endpoint: str, key: str, **values) -> Callable[[int], str]:
    """`id_url('pipeline.show_pledge', 'pledge_id')(12)` is `url_for('pipeline.show_pledge', pledge_id=12)`,
    the URL built once with a placeholder id and each row's id put in its place."""
    built = url_for(endpoint, **{key: _PLACEHOLDER}, **values)
    before, found, after = built.partition(str(_PLACEHOLDER))
    if not found or str(_PLACEHOLDER) in after:
        return lambda id_: url_for(endpoint, **{key: id_}, **values)
    return lambda id_: f"{before}{id_}{after}"


# In every template, not only the pipeline's: its partials (the deadlines) are also shown on the home page.
bp.add_app_template_global(id_url, "id_url")
