"""Collection: the structured payment reference stored on invoices at issue; imported bank statements and
their entries (each stored once per hub by its dedupe key); Stripe payout lines; and what holds an invoice's
payment up (purchase order, requested documents, a note).

Revision ID: c1a7e5b20d11
Revises: p1a0plan0001
Create Date: 2026-12-01 10:35:02.053770

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c1a7e5b20d11'
down_revision = 'p1a0plan0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bank_statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hub_id', sa.Integer(), nullable=False),
    sa.Column('format', sa.Enum('camt.053', 'camt.054', 'mt940', 'csv', name='statementformat', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('account', sa.String(length=34), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('bank_identifier', sa.String(length=100), nullable=False),
    sa.Column('from_date', sa.Date(), nullable=True),
    sa.Column('to_date', sa.Date(), nullable=True),
    sa.Column('opening_balance', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('closing_balance', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('entry_count', sa.Integer(), nullable=False),
    sa.Column('duplicate_count', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['hub_id'], ['hubs.id'], name=op.f('fk_bank_statements_hub_id_hubs')),
    sa.ForeignKeyConstraint(['imported_by_id'], ['users.id'], name=op.f('fk_bank_statements_imported_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_statements')),
    sa.UniqueConstraint('hub_id', 'file_sha256', name='uq_bank_statements_hub_file')
    )
    with op.batch_alter_table('bank_statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_statements_hub_id'), ['hub_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_statements_imported_at'), ['imported_at'], unique=False)

    op.create_table('bank_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hub_id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=120), nullable=False),
    sa.Column('booked_on', sa.Date(), nullable=False),
    sa.Column('value_on', sa.Date(), nullable=True),
    sa.Column('is_credit', sa.Boolean(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('bank_reference', sa.String(length=100), nullable=False),
    sa.Column('end_to_end_id', sa.String(length=100), nullable=False),
    sa.Column('counterparty_name', sa.String(length=200), nullable=False),
    sa.Column('counterparty_account', sa.String(length=50), nullable=False),
    sa.Column('structured_reference', sa.String(length=35), nullable=False),
    sa.Column('remittance_text', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('needs_review', 'applied', 'ignored', 'stripe_payout', 'debit', name='entrystatus', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status <> 'applied' OR payment_id IS NOT NULL", name=op.f('ck_bank_entries_applied_has_payment')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_bank_entries_amount_positive')),
    sa.ForeignKeyConstraint(['hub_id'], ['hubs.id'], name=op.f('fk_bank_entries_hub_id_hubs')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_bank_entries_payment_id_payments')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_bank_entries_resolved_by_id_users')),
    sa.ForeignKeyConstraint(['statement_id'], ['bank_statements.id'], name=op.f('fk_bank_entries_statement_id_bank_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_entries')),
    sa.UniqueConstraint('hub_id', 'dedupe_key', name='uq_bank_entries_hub_dedupe_key')
    )
    with op.batch_alter_table('bank_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_entries_booked_on'), ['booked_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_entries_counterparty_account'), ['counterparty_account'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_entries_hub_id'), ['hub_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_entries_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_entries_statement_id'), ['statement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_entries_status'), ['status'], unique=False)

    op.create_table('invoice_blockers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('purchase_order_number', sa.String(length=100), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_blockers_invoice_id_invoices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_invoice_blockers_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_blockers')),
    sa.UniqueConstraint('invoice_id', name=op.f('uq_invoice_blockers_invoice_id'))
    )
    op.create_table('blocker_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('blocker_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('vendor_registration', 'bank_letter', 'w8', 'w9', 'signed_invoice_copy', 'other', name='blockerdocumentkind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('requested_on', sa.Date(), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=True),
    sa.CheckConstraint('sent_on IS NULL OR sent_on >= requested_on', name=op.f('ck_blocker_documents_sent_after_requested')),
    sa.ForeignKeyConstraint(['blocker_id'], ['invoice_blockers.id'], name=op.f('fk_blocker_documents_blocker_id_invoice_blockers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blocker_documents'))
    )
    with op.batch_alter_table('blocker_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blocker_documents_blocker_id'), ['blocker_id'], unique=False)

    op.create_table('stripe_payout_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['bank_entries.id'], name=op.f('fk_stripe_payout_lines_entry_id_bank_entries')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_stripe_payout_lines_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_payout_lines')),
    sa.UniqueConstraint('payment_id', name=op.f('uq_stripe_payout_lines_payment_id'))
    )
    with op.batch_alter_table('stripe_payout_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stripe_payout_lines_entry_id'), ['entry_id'], unique=False)

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_reference', sa.String(length=35), nullable=True))
        batch_op.create_index(batch_op.f('ix_invoices_payment_reference'), ['payment_reference'], unique=False)



def downgrade():
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoices_payment_reference'))
        batch_op.drop_column('payment_reference')

    with op.batch_alter_table('stripe_payout_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stripe_payout_lines_entry_id'))

    op.drop_table('stripe_payout_lines')
    with op.batch_alter_table('blocker_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blocker_documents_blocker_id'))

    op.drop_table('blocker_documents')
    op.drop_table('invoice_blockers')
    with op.batch_alter_table('bank_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_entries_status'))
        batch_op.drop_index(batch_op.f('ix_bank_entries_statement_id'))
        batch_op.drop_index(batch_op.f('ix_bank_entries_payment_id'))
        batch_op.drop_index(batch_op.f('ix_bank_entries_hub_id'))
        batch_op.drop_index(batch_op.f('ix_bank_entries_counterparty_account'))
        batch_op.drop_index(batch_op.f('ix_bank_entries_booked_on'))

    op.drop_table('bank_entries')
    with op.batch_alter_table('bank_statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_statements_imported_at'))
        batch_op.drop_index(batch_op.f('ix_bank_statements_hub_id'))

    op.drop_table('bank_statements')
