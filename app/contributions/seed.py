"""Demo data for country contributions, in dependency order (called by `flask seed-demo` after the hubs)."""

from ..extensions import db
from .demo.bank import seed_bank
from .demo.invoices import seed_invoices
from .demo.members import seed_members
from .demo.payments import seed_payments
from .demo.runs import seed_current_run


def seed_demo() -> int:
    """Members and policy, earlier years' invoices, this year's annual run, payments, then the bank statements
    and blockers; idempotent."""
    created = seed_members()
    db.session.flush()
    created += seed_invoices()
    db.session.flush()
    created += seed_current_run()  # commits member by member, as the real run does
    created += seed_payments()
    created += seed_bank()
    return created
