"""The benchmark data generator makes data the services would accept: balances, statuses and numbers hold."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from app.contributions.models import DocumentSequence, Invoice, InvoiceStatus, Payment, PaymentAllocation
from app.contributions.services.payment_references import derive_reference
from app.extensions import db
from bench.seed import seed


def _settled(invoice):
    return invoice.status, invoice.amount_paid, invoice.amount_credited, invoice.amount_written_off


def test_the_generated_invoices_have_the_balances_and_statuses_their_records_give(db_session):
    data = seed(db_session.connection(), scale=0.05)
    invoices = db_session.scalars(sa.select(Invoice)).all()
    assert len(invoices) == data.rows["invoices"] > 0
    for invoice in invoices:
        stored = _settled(invoice)
        invoice.refresh_balance()
        assert _settled(invoice) == stored
        assert invoice.total == sum(line.amount for line in invoice.lines)
        assert invoice.payment_reference == derive_reference(invoice)
    db_session.rollback()


def test_the_generated_invoice_numbers_are_gap_free_per_hub_and_year_and_match_the_sequences(db_session):
    seed(db_session.connection(), scale=0.05)
    numbers = defaultdict(list)
    for hub_id, fiscal_year, number in db_session.execute(
        sa.select(Invoice.hub_id, Invoice.fiscal_year, Invoice.number).where(
            Invoice.status != InvoiceStatus.DRAFT
        )
    ):
        numbers[hub_id, fiscal_year].append(int(number.rsplit("-", 1)[1]))
    sequences = {
        (row.hub_id, row.fiscal_year): row.last_number
        for row in db_session.scalars(sa.select(DocumentSequence).where(DocumentSequence.series == "INV"))
    }
    assert numbers
    for key, sequence in numbers.items():
        assert sorted(sequence) == list(range(1, len(sequence) + 1))
        assert sequences[key] == len(sequence)


def test_no_payment_is_allocated_beyond_its_amount_or_across_currencies(db_session):
    seed(db_session.connection(), scale=0.05)
    allocated = db_session.execute(
        sa.select(Payment.amount, Payment.currency, sa.func.sum(PaymentAllocation.amount), Invoice.currency)
        .join(PaymentAllocation, PaymentAllocation.payment_id == Payment.id)
        .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
        .group_by(Payment.id, Payment.amount, Payment.currency, Invoice.currency)
    ).all()
    assert allocated
    for amount, currency, total, invoice_currency in allocated:
        assert total <= amount and currency == invoice_currency


def test_the_seed_command_fills_a_database_given_by_url(app, tmp_path):
    url = f"sqlite:///{tmp_path / 'bench.sqlite'}"
    arguments = ["bench", "seed", "--scale", "0.02", "--database-url", url, "--yes"]
    result = app.test_cli_runner().invoke(args=arguments)
    assert result.exit_code == 0, result.output
    assert "scale 0.02 seeded" in result.output
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(Invoice.__table__)) == 100
    engine.dispose()
    assert db.engine.url != engine.url


def test_the_generated_donors_have_one_current_position_each_and_are_found_by_the_search(db_session):
    from app.donors import queries
    from app.donors.models import Affiliation, Contact, Organisation

    data = seed(db_session.connection(), scale=0.02)
    current = db_session.execute(
        sa.select(Affiliation.contact_id, sa.func.count())
        .where(Affiliation.ended_on.is_(None))
        .group_by(Affiliation.contact_id)
    ).all()
    assert len(current) == data.rows["contacts"]
    assert {count for _, count in current} == {1}
    assert db_session.scalar(sa.select(sa.func.count()).where(Affiliation.ended_on.is_not(None))) > 0
    # The search index covers the bulk-loaded rows: accents and case do not matter.
    found = set(db_session.scalars(queries.matching_organisation_ids("sao paulo")))
    assert data.big_organisation_id in found
    contact = db_session.get(Contact, data.contact_id)
    assert data.big_organisation_id in set(
        db_session.scalars(queries.matching_organisation_ids(contact.email))
    )
    assert (
        db_session.get(Organisation, data.big_organisation_id).search_text
        == "fundacao sao paulo para a democracia"
    )
    db_session.rollback()


def test_the_generated_pledges_are_paid_by_the_gifts_applied_to_them(db_session):
    from app.pipeline.models import GiftApplication, Instalment, Pledge

    seed(db_session.connection(), scale=0.05)
    applied = dict(
        db_session.execute(
            sa.select(GiftApplication.instalment_id, sa.func.sum(GiftApplication.amount)).group_by(
                GiftApplication.instalment_id
            )
        ).all()
    )
    instalments = db_session.scalars(sa.select(Instalment)).all()
    assert applied and instalments
    for instalment in instalments:
        assert instalment.received_amount == applied.get(instalment.id, 0)
    for pledge in db_session.scalars(sa.select(Pledge)):
        assert sum(instalment.amount for instalment in pledge.instalments) == pledge.awarded_amount
    db_session.rollback()
