"""Demo annual run: the current fiscal year's annual contribution invoices, issued by the real run.

Runs after hubs, members and the earlier invoices are seeded. The run itself makes it idempotent: a second
call finds every member invoiced and issues nothing. Like the run, it commits each member's invoice on its
own (and with the first one, whatever the seeding before it added).
"""

from __future__ import annotations

import sqlalchemy as sa

from ...auth.models import User
from ...common.fiscal import current_fiscal_year
from ...common.pdf import IN_PROCESS
from ...extensions import db
from ..services import annual_run, annual_run_preview

#: The demo run is started by the demo operations user, when there is one.
DEMO_OPERATOR = "operations@example.org"


def seed_current_run(renderer=IN_PROCESS) -> int:
    """Issue the current fiscal year's annual run for the demo data; returns how many invoices it issued."""
    fiscal_year = current_fiscal_year()
    preview = annual_run_preview.build_preview(fiscal_year)
    if preview.policy is None or (not preview.to_invoice and annual_run.open_run(fiscal_year) is None):
        return 0
    operator = db.session.scalar(sa.select(User).where(User.email == DEMO_OPERATOR))
    run, _ = annual_run.start_run(fiscal_year, operator, preview)
    db.session.commit()
    del preview  # it holds every member it read: each commit of the run would expire them all again
    results = annual_run.run_to_completion(run.id, operator, batch_size=50, renderer=renderer)
    if results[-1].error:
        raise RuntimeError(f"The demo annual run for FY{fiscal_year} stopped: {results[-1].error}")
    return sum(len(result.issued) for result in results)
