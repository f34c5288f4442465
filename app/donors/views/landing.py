"""The fundraising landing page: search, my next steps, gifts to thank for; and its home-page panel."""

from __future__ import annotations

from flask import render_template, url_for
from flask_login import current_user

from ...auth.permissions import Permission, requires
from ...common.panels import panel_provider
from ...common.time import today
from .. import bp, queries
from .. import services as service

#: Next steps shown on the landing page (overdue first); "My next steps" has them all.
LANDING_STEPS = 8


@bp.route("/")
@requires(Permission.DONORS_VIEW)
def index():
    on = today()
    step_count, overdue_count = queries.next_step_counts(current_user.id, on)
    return render_template(
        "donors/index.html",
        awaiting=service.gifts_awaiting_acknowledgement(on),
        awaiting_count=service.count_gifts_awaiting_acknowledgement(on),
        steps=queries.open_next_steps(current_user.id, limit=LANDING_STEPS),
        step_count=step_count,
        overdue_count=overdue_count,
        due_days=service.ACKNOWLEDGEMENT_DUE_DAYS,
        today=on,
    )


@panel_provider(Permission.DONORS_VIEW)
def donors_panel() -> dict:
    on = today()
    step_count, overdue = queries.next_step_counts(current_user.id, on)
    return {
        "title": "Donors",
        "rows": [
            (
                f"Gifts not thanked for after {service.ACKNOWLEDGEMENT_DUE_DAYS} days",
                f"{service.count_gifts_awaiting_acknowledgement(on):,}",
                url_for("donors.index"),
            ),
            (
                "My open next steps",
                f"{step_count:,} ({overdue:,} overdue)",
                url_for("donors.my_next_steps"),
            ),
        ],
        "link": ("Organisations", url_for("donors.list_organisations")),
    }
