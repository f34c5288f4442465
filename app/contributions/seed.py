"""Demo data for country contributions, in dependency order (called by `flask seed-demo` after the hubs)."""

from ..common.pdf import pdf_workers
from ..extensions import db
from .demo.bank import seed_bank
from .demo.invoices import seed_invoices
from .demo.members import seed_members
from .demo.payments import seed_payments
from .demo.runs import seed_current_run
from .services import invoice_pdfs


def seed_demo(earlier_pdfs: bool = True) -> int:
    """Members and policy, earlier years' invoices, this year's annual run, payments, then the bank statements
    and blockers; idempotent. The invoices' PDFs (a few hundred, real ones) render on every core.

    With `earlier_pdfs=False` the earlier years' invoices are issued without their PDFs (about 130 of them),
    which `flask contributions render-invoice-pdfs` stores later (`make run` starts it once the app serves;
    until then a download makes the PDF, as for any issued invoice whose PDF is missing). This year's run
    renders its own, as the real run does."""
    created = seed_members()
    db.session.flush()
    with pdf_workers() as renderer:
        created += seed_invoices()
        db.session.flush()
        if earlier_pdfs:
            invoice_pdfs.render_missing(renderer)  # commits, with whatever the seeding before it added
        else:
            db.session.commit()  # as render_missing would have: the run's steps commit on their own
        created += seed_current_run(renderer)  # commits member by member, as the real run does
    created += seed_payments()
    created += seed_bank()
    return created
