"""Users and roles, the audit log, and hubs (the legal entities that issue documents).

Revision ID: ca6117bc753f
Revises: 
Create Date: 2026-11-28 16:23:41.521528

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ca6117bc753f'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hubs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.Enum('headquarters', 'hub_office', name='hubkind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('status', sa.Enum('planned', 'in_setup', 'open', 'closed', name='hubstatus', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('opening_date', sa.Date(), nullable=True),
    sa.Column('is_default_issuer', sa.Boolean(), nullable=False),
    sa.Column('legal_name', sa.String(length=200), nullable=False),
    sa.Column('street_address', sa.String(length=300), nullable=False),
    sa.Column('city', sa.String(length=120), nullable=False),
    sa.Column('postal_code', sa.String(length=20), nullable=False),
    sa.Column('country_code', sa.String(length=2), nullable=False),
    sa.Column('registration_number', sa.String(length=60), nullable=False),
    sa.Column('vat_number', sa.String(length=40), nullable=False),
    sa.Column('tax_statement', sa.JSON(), nullable=False),
    sa.Column('legal_mentions', sa.JSON(), nullable=False),
    sa.Column('base_currency', sa.String(length=3), nullable=False),
    sa.Column('bank_name', sa.String(length=120), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=False),
    sa.Column('bic', sa.String(length=11), nullable=False),
    sa.Column('account_number', sa.String(length=34), nullable=False),
    sa.Column('routing_number', sa.String(length=20), nullable=False),
    sa.Column('invoice_prefix', sa.String(length=10), nullable=False),
    sa.Column('payment_terms_days', sa.Integer(), nullable=False),
    sa.Column('logo_bytes', sa.LargeBinary(), nullable=True),
    sa.Column('logo_mime_type', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('payment_terms_days >= 0 AND payment_terms_days <= 365', name=op.f('ck_hubs_payment_terms_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hubs')),
    sa.UniqueConstraint('invoice_prefix', name=op.f('uq_hubs_invoice_prefix')),
    sa.UniqueConstraint('name', name=op.f('uq_hubs_name'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('full_name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.Enum('admin', 'fundraising', 'operations', 'board', name='role', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('is_active_account', sa.Boolean(), nullable=False),
    sa.Column('failed_login_count', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('audit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('record_type', sa.String(length=60), nullable=False),
    sa.Column('record_id', sa.String(length=40), nullable=False),
    sa.Column('record_label', sa.String(length=200), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_entries_actor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_entries_record', ['record_type', 'record_id'], unique=False)



def downgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entries_record')
        batch_op.drop_index(batch_op.f('ix_audit_entries_at'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_actor_id'))

    op.drop_table('audit_entries')
    op.drop_table('users')
    op.drop_table('hubs')
