import sqlalchemy as sa

from app.auth.models import User
from app.auth.seed import DEMO_USERS
from app.common.time import today
from app.extensions import db


def test_users_create_reads_the_password_from_stdin(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "cli@example.org", "--role", "board"], input="a password from a pipe\n"
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(User).where(User.email == "cli@example.org")).role.value == "board"


def test_users_create_refuses_a_short_password(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "s@example.org", "--role", "board"], input="short\n"
    )
    assert result.exit_code != 0
    assert "at least 12" in result.output


def test_seed_demo_is_idempotent(app):
    from app.donors.models import Gift, Interaction, Introduction, Organisation
    from app.pipeline.models import Deliverable, Instalment, InstalmentStatus, Opportunity, PlanTarget
    from app.pipeline.stages import Stage

    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    users_after_first = db.session.scalar(sa.select(sa.func.count(User.id)))
    organisations = db.session.scalar(sa.select(sa.func.count(Organisation.id)))
    assert organisations >= 300
    statuses = {status.value for status in db.session.scalars(sa.select(Introduction.status).distinct())}
    assert statuses == {"requested", "made", "declined", "no_response"}
    assert db.session.scalar(sa.select(sa.func.count(Interaction.id)).where(Interaction.next_step != ""))
    assert set(db.session.scalars(sa.select(Gift.currency).distinct())) == {"USD", "EUR", "GBP"}
    stages = set(db.session.scalars(sa.select(Opportunity.stage).distinct()))
    assert stages == set(Stage)
    assert db.session.scalar(sa.select(sa.func.count(Opportunity.id))) >= 100
    statuses = {instalment.status(today()) for instalment in db.session.scalars(sa.select(Instalment))}
    assert {InstalmentStatus.PAID, InstalmentStatus.LATE, InstalmentStatus.DUE} <= statuses
    assert db.session.scalar(sa.select(sa.func.count(Deliverable.id)))
    assert db.session.scalar(sa.select(sa.func.count(PlanTarget.id))) == 12  # 3 years x 4 sources
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == users_after_first
    assert db.session.scalar(sa.select(sa.func.count(Organisation.id))) == organisations
    emails = set(db.session.scalars(sa.select(User.email)))
    assert {email for email, _, _ in DEMO_USERS} <= emails


def test_seed_demo_can_leave_the_earlier_years_pdfs_to_the_render_command(app):
    """`make run` seeds with --pdfs-later and renders those PDFs in the background once the app serves."""
    from app.common.fiscal import current_fiscal_year
    from app.contributions.models import CreditNote, Invoice, InvoiceStatus

    def without_pdf(*where):
        return db.session.scalar(
            sa.select(sa.func.count(Invoice.id)).where(
                Invoice.status != InvoiceStatus.DRAFT, Invoice.pdf_sha256.is_(None), *where
            )
        )

    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo", "--pdfs-later"])
    assert result.exit_code == 0, result.output
    this_year = Invoice.fiscal_year == current_fiscal_year()
    assert db.session.scalar(
        sa.select(sa.func.count(Invoice.id)).where(this_year, Invoice.pdf_sha256.is_not(None))
    )
    assert without_pdf(this_year, Invoice.annual_run_id.is_not(None)) == 0  # the run stored its own
    assert without_pdf(Invoice.fiscal_year < current_fiscal_year()) >= 100
    result = runner.invoke(args=["contributions", "render-invoice-pdfs"])
    assert result.exit_code == 0, result.output
    assert without_pdf() == 0
    notes_without_pdf = sa.select(sa.func.count(CreditNote.id)).where(CreditNote.pdf_sha256.is_(None))
    assert db.session.scalar(notes_without_pdf) == 0
    invoices = db.session.scalar(sa.select(sa.func.count(Invoice.id)))
    assert runner.invoke(args=["seed-demo", "--pdfs-later"]).exit_code == 0
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == invoices
