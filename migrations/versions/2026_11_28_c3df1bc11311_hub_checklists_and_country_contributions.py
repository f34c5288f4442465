"""Hub setup checklists and their templates; country contributions: members, income groups, policy,
adjustments, invoices and their lines and history, document number sequences, credit notes, payments,
allocations, write-offs, refunds, sent messages, annual runs and Stripe events.

Revision ID: c3df1bc11311
Revises: ca6117bc753f
Create Date: 2026-11-28 17:11:40.568011

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3df1bc11311'
down_revision = 'ca6117bc753f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('contribution_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('high_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('upper_middle_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('lower_middle_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('low_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('local_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.CheckConstraint('high_amount >= 0 AND upper_middle_amount >= 0 AND lower_middle_amount >= 0 AND low_amount >= 0 AND local_amount >= 0', name=op.f('ck_contribution_policies_amounts_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contribution_policies')),
    sa.UniqueConstraint('fiscal_year', name=op.f('uq_contribution_policies_fiscal_year'))
    )
    op.create_table('annual_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('running', 'finished', 'failed', name='annualrunstatus', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('planned_count', sa.Integer(), nullable=False),
    sa.Column('issued_count', sa.Integer(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_annual_runs_started_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_annual_runs'))
    )
    with op.batch_alter_table('annual_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_annual_runs_fiscal_year'), ['fiscal_year'], unique=False)
        batch_op.create_index('uq_annual_runs_running_year', ['fiscal_year'], unique=True, sqlite_where=sa.text("status = 'running'"), postgresql_where=sa.text("status = 'running'"))

    op.create_table('checklist_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_checklist_templates_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_templates')),
    sa.UniqueConstraint('name', name=op.f('uq_checklist_templates_name'))
    )
    op.create_table('document_sequences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hub_id', sa.Integer(), nullable=False),
    sa.Column('series', sa.String(length=10), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['hub_id'], ['hubs.id'], name=op.f('fk_document_sequences_hub_id_hubs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_sequences')),
    sa.UniqueConstraint('hub_id', 'series', 'fiscal_year', name=op.f('uq_document_sequences_hub_id_series_fiscal_year'))
    )
    op.create_table('members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('national', 'local', name='memberkind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('country_code', sa.String(length=2), nullable=False),
    sa.Column('joined_on', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('active', 'inactive', 'suspended', name='memberstatus', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('language', sa.Enum('en', 'fr', 'es', name='language', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('hub_id', sa.Integer(), nullable=False),
    sa.Column('budget_year_start_month', sa.Integer(), nullable=False),
    sa.Column('budget_lead_days', sa.Integer(), nullable=False),
    sa.Column('billing_address', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('budget_lead_days >= 0', name=op.f('ck_members_budget_lead_days_positive')),
    sa.CheckConstraint('budget_year_start_month BETWEEN 1 AND 12', name=op.f('ck_members_budget_month_range')),
    sa.ForeignKeyConstraint(['hub_id'], ['hubs.id'], name=op.f('fk_members_hub_id_hubs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members')),
    sa.UniqueConstraint('country_code', 'name', name='uq_members_country_code_name')
    )
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_members_country_code'), ['country_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_members_hub_id'), ['hub_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_members_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_members_status'), ['status'], unique=False)
        batch_op.create_index('uq_members_national_country', ['country_code'], unique=True, sqlite_where=sa.text("kind = 'national'"), postgresql_where=sa.text("kind = 'national'"))

    op.create_table('checklist_template_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('default_owner_role', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['checklist_templates.id'], name=op.f('fk_checklist_template_items_template_id_checklist_templates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_template_items'))
    )
    with op.batch_alter_table('checklist_template_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checklist_template_items_template_id'), ['template_id'], unique=False)

    op.create_table('contribution_adjustments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('amount', 'waiver', name='adjustmentkind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('approval_reference', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind = 'waiver' AND amount IS NULL) OR (kind = 'amount' AND amount >= 0)", name=op.f('ck_contribution_adjustments_amount_matches_kind')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_contribution_adjustments_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contribution_adjustments')),
    sa.UniqueConstraint('member_id', 'fiscal_year', name=op.f('uq_contribution_adjustments_member_id_fiscal_year'))
    )
    op.create_table('hub_checklists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hub_id', sa.Integer(), nullable=False),
    sa.Column('source_template_id', sa.Integer(), nullable=True),
    sa.Column('source_template_name', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hub_id'], ['hubs.id'], name=op.f('fk_hub_checklists_hub_id_hubs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_template_id'], ['checklist_templates.id'], name=op.f('fk_hub_checklists_source_template_id_checklist_templates'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hub_checklists')),
    sa.UniqueConstraint('hub_id', name=op.f('uq_hub_checklists_hub_id'))
    )
    op.create_table('invoices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=True),
    sa.Column('kind', sa.Enum('annual_contribution', 'other', name='invoicekind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('status', sa.Enum('draft', 'issued', 'partially_paid', 'paid', 'credited', 'written_off', name='invoicestatus', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('hub_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('language', sa.Enum('en', 'fr', 'es', name='language', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('bill_to', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('subtotal', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tax_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('amount_paid', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('amount_credited', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('amount_written_off', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('payment_processing_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('online_payment_note', sa.String(length=300), nullable=False),
    sa.Column('pdf_bytes', sa.LargeBinary(), nullable=True),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('annual_run_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status = 'draft' OR number IS NOT NULL", name=op.f('ck_invoices_issued_has_number')),
    sa.CheckConstraint('amount_paid >= 0 AND amount_credited >= 0 AND amount_written_off >= 0', name=op.f('ck_invoices_settled_not_negative')),
    sa.CheckConstraint('total >= 0', name=op.f('ck_invoices_total_not_negative')),
    sa.ForeignKeyConstraint(['annual_run_id'], ['annual_runs.id'], name=op.f('fk_invoices_annual_run_id_annual_runs')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_invoices_created_by_id_users')),
    sa.ForeignKeyConstraint(['hub_id'], ['hubs.id'], name=op.f('fk_invoices_hub_id_hubs')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_invoices_issued_by_id_users')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_invoices_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('number', name=op.f('uq_invoices_number'))
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoices_annual_run_id'), ['annual_run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_fiscal_year'), ['fiscal_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_hub_id'), ['hub_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_issued_on'), ['issued_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_invoices_member_status', ['member_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_status'), ['status'], unique=False)
        batch_op.create_index('uq_invoices_annual_member_year', ['member_id', 'fiscal_year'], unique=True, sqlite_where=sa.text("kind = 'annual_contribution' AND status <> 'credited'"), postgresql_where=sa.text("kind = 'annual_contribution' AND status <> 'credited'"))

    op.create_table('member_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('office', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=50), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_contacts_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_contacts'))
    )
    with op.batch_alter_table('member_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_contacts_member_id'), ['member_id'], unique=False)

    op.create_table('member_income_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('income_group', sa.Enum('high', 'upper_middle', 'lower_middle', 'low', name='incomegroup', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_income_groups_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_income_groups')),
    sa.UniqueConstraint('member_id', 'fiscal_year', name=op.f('uq_member_income_groups_member_id_fiscal_year'))
    )
    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('method', sa.Enum('wire', 'cheque', 'stripe_card', 'stripe_bank', name='paymentmethod', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('fee_amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('net_amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('refunded_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('stripe_payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('stripe_checkout_session_id', sa.String(length=255), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payments_amount_positive')),
    sa.CheckConstraint('refunded_amount >= 0 AND refunded_amount <= amount', name=op.f('ck_payments_refund_within_amount')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_payments_member_id_members')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_payments_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('stripe_checkout_session_id', name=op.f('uq_payments_stripe_checkout_session_id')),
    sa.UniqueConstraint('stripe_payment_intent_id', name=op.f('uq_payments_stripe_payment_intent_id'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_received_on'), ['received_on'], unique=False)

    op.create_table('credit_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('hub_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('language', sa.Enum('en', 'fr', 'es', name='language', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('pdf_bytes', sa.LargeBinary(), nullable=True),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_credit_notes_amount_positive')),
    sa.ForeignKeyConstraint(['hub_id'], ['hubs.id'], name=op.f('fk_credit_notes_hub_id_hubs')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_credit_notes_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_credit_notes_issued_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_notes')),
    sa.UniqueConstraint('number', name=op.f('uq_credit_notes_number'))
    )
    with op.batch_alter_table('credit_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_notes_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('hub_checklist_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checklist_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('owner_role', sa.String(length=120), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('to_do', 'in_progress', 'done', 'not_needed', name='checklistitemstatus', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.CheckConstraint("(status = 'done' AND completed_on IS NOT NULL) OR (status <> 'done' AND completed_on IS NULL)", name=op.f('ck_hub_checklist_items_completed_on_matches_status')),
    sa.ForeignKeyConstraint(['checklist_id'], ['hub_checklists.id'], name=op.f('fk_hub_checklist_items_checklist_id_hub_checklists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_hub_checklist_items_owner_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hub_checklist_items'))
    )
    with op.batch_alter_table('hub_checklist_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hub_checklist_items_checklist_id'), ['checklist_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hub_checklist_items_owner_id'), ['owner_id'], unique=False)

    op.create_table('invoice_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Enum('created', 'issued', 'sent', 'reminded', 'payment', 'credited', 'written_off', 'payment_processing', 'payment_failed', 'refunded', 'pro_forma', name='invoiceeventkind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=254), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('reminder_level', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_invoice_events_actor_id_users')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_events_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_events'))
    )
    with op.batch_alter_table('invoice_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_events_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('invoice_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('unit_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tax_rate', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('tax_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_invoice_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_lines_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_lines'))
    )
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_lines_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('payment_allocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('payment_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('exchange_rate', sa.Numeric(precision=18, scale=8), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount > 0 AND payment_amount > 0', name=op.f('ck_payment_allocations_amounts_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_payment_allocations_created_by_id_users')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_payment_allocations_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_allocations_payment_id_payments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_allocations'))
    )
    with op.batch_alter_table('payment_allocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_allocations_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_allocations_payment_id'), ['payment_id'], unique=False)

    op.create_table('refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('refunded_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('stripe_refund_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_refunds_amount_positive')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_refunds_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('stripe_refund_id', name=op.f('uq_refunds_stripe_refund_id'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_payment_id'), ['payment_id'], unique=False)

    op.create_table('sent_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('invoice', 'reminder', 'statement', 'credit_note', 'pro_forma', name='messagekind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('reminder_level', sa.Integer(), nullable=True),
    sa.Column('recipients', sa.String(length=1000), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('transport', sa.String(length=20), nullable=False),
    sa.Column('message_id', sa.String(length=300), nullable=False),
    sa.Column('outbox_path', sa.String(length=500), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_sent_messages_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_sent_messages_member_id_members')),
    sa.ForeignKeyConstraint(['sent_by_id'], ['users.id'], name=op.f('fk_sent_messages_sent_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sent_messages'))
    )
    with op.batch_alter_table('sent_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sent_messages_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sent_messages_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sent_messages_sent_at'), ['sent_at'], unique=False)

    op.create_table('stripe_events',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('status', sa.Enum('applied', 'ignored', 'needs_review', 'resolved', name='stripeeventstatus', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('stripe_created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_stripe_events_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_stripe_events_payment_id_payments')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_stripe_events_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_events'))
    )
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stripe_events_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stripe_events_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_stripe_events_type'), ['type'], unique=False)

    op.create_table('write_offs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('written_off_on', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_write_offs_amount_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_write_offs_created_by_id_users')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_write_offs_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_write_offs'))
    )
    with op.batch_alter_table('write_offs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_write_offs_invoice_id'), ['invoice_id'], unique=False)

    with op.batch_alter_table('hubs', schema=None) as batch_op:
        batch_op.create_index('uq_hubs_default_issuer', ['is_default_issuer'], unique=True, sqlite_where=sa.text('is_default_issuer'), postgresql_where=sa.text('is_default_issuer'))



def downgrade():
    with op.batch_alter_table('hubs', schema=None) as batch_op:
        batch_op.drop_index('uq_hubs_default_issuer', sqlite_where=sa.text('is_default_issuer'), postgresql_where=sa.text('is_default_issuer'))

    with op.batch_alter_table('write_offs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_write_offs_invoice_id'))

    op.drop_table('write_offs')
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stripe_events_type'))
        batch_op.drop_index(batch_op.f('ix_stripe_events_status'))
        batch_op.drop_index(batch_op.f('ix_stripe_events_invoice_id'))

    op.drop_table('stripe_events')
    with op.batch_alter_table('sent_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sent_messages_sent_at'))
        batch_op.drop_index(batch_op.f('ix_sent_messages_member_id'))
        batch_op.drop_index(batch_op.f('ix_sent_messages_invoice_id'))

    op.drop_table('sent_messages')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_payment_id'))

    op.drop_table('refunds')
    with op.batch_alter_table('payment_allocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_allocations_payment_id'))
        batch_op.drop_index(batch_op.f('ix_payment_allocations_invoice_id'))

    op.drop_table('payment_allocations')
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_lines_invoice_id'))

    op.drop_table('invoice_lines')
    with op.batch_alter_table('invoice_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_events_invoice_id'))

    op.drop_table('invoice_events')
    with op.batch_alter_table('hub_checklist_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hub_checklist_items_owner_id'))
        batch_op.drop_index(batch_op.f('ix_hub_checklist_items_checklist_id'))

    op.drop_table('hub_checklist_items')
    with op.batch_alter_table('credit_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_notes_invoice_id'))

    op.drop_table('credit_notes')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_received_on'))
        batch_op.drop_index(batch_op.f('ix_payments_member_id'))

    op.drop_table('payments')
    op.drop_table('member_income_groups')
    with op.batch_alter_table('member_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_contacts_member_id'))

    op.drop_table('member_contacts')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('uq_invoices_annual_member_year', sqlite_where=sa.text("kind = 'annual_contribution' AND status <> 'credited'"), postgresql_where=sa.text("kind = 'annual_contribution' AND status <> 'credited'"))
        batch_op.drop_index(batch_op.f('ix_invoices_status'))
        batch_op.drop_index('ix_invoices_member_status')
        batch_op.drop_index(batch_op.f('ix_invoices_member_id'))
        batch_op.drop_index(batch_op.f('ix_invoices_issued_on'))
        batch_op.drop_index(batch_op.f('ix_invoices_hub_id'))
        batch_op.drop_index(batch_op.f('ix_invoices_fiscal_year'))
        batch_op.drop_index(batch_op.f('ix_invoices_due_on'))
        batch_op.drop_index(batch_op.f('ix_invoices_annual_run_id'))

    op.drop_table('invoices')
    op.drop_table('hub_checklists')
    op.drop_table('contribution_adjustments')
    with op.batch_alter_table('checklist_template_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checklist_template_items_template_id'))

    op.drop_table('checklist_template_items')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('uq_members_national_country', sqlite_where=sa.text("kind = 'national'"), postgresql_where=sa.text("kind = 'national'"))
        batch_op.drop_index(batch_op.f('ix_members_status'))
        batch_op.drop_index(batch_op.f('ix_members_name'))
        batch_op.drop_index(batch_op.f('ix_members_hub_id'))
        batch_op.drop_index(batch_op.f('ix_members_country_code'))

    op.drop_table('members')
    op.drop_table('document_sequences')
    op.drop_table('checklist_templates')
    with op.batch_alter_table('annual_runs', schema=None) as batch_op:
        batch_op.drop_index('uq_annual_runs_running_year', sqlite_where=sa.text("status = 'running'"), postgresql_where=sa.text("status = 'running'"))
        batch_op.drop_index(batch_op.f('ix_annual_runs_fiscal_year'))

    op.drop_table('annual_runs')
    op.drop_table('contribution_policies')
