"""The fundraising plan: targets per fiscal year and source, the plan's exchange rates per fiscal year and
currency; and each user's private calendar feed (the version its signed URL carries).

Revision ID: p1a0plan0001
Revises: 9e762a955aab
Create Date: 2026-12-01 10:25:21.711954

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'p1a0plan0001'
down_revision = '9e762a955aab'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('plan_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('foundations', 'bilateral', 'country_contributions', 'other', name='source', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_plan_targets_amount_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_targets')),
    sa.UniqueConstraint('fiscal_year', 'source', name='uq_plan_targets_fiscal_year_source')
    )
    with op.batch_alter_table('plan_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_targets_fiscal_year'), ['fiscal_year'], unique=False)

    op.create_table('calendar_feeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('renewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_fetched_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('user_id', name=op.f('uq_calendar_feeds_user_id'))
    )
    op.create_table('plan_exchange_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('rate', sa.Numeric(precision=18, scale=8), nullable=False),
    sa.Column('reporting_currency', sa.String(length=3), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('rate > 0', name=op.f('ck_plan_exchange_rates_rate_positive')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_plan_exchange_rates_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_exchange_rates')),
    sa.UniqueConstraint('fiscal_year', 'currency', name='uq_plan_exchange_rates_fiscal_year_currency')
    )
    with op.batch_alter_table('plan_exchange_rates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_exchange_rates_fiscal_year'), ['fiscal_year'], unique=False)


def downgrade():
    with op.batch_alter_table('plan_exchange_rates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_exchange_rates_fiscal_year'))

    op.drop_table('plan_exchange_rates')
    op.drop_table('calendar_feeds')
    with op.batch_alter_table('plan_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_targets_fiscal_year'))

    op.drop_table('plan_targets')