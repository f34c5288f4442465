"""Budget exchange rates per policy year (policy currency to each hub currency), and on invoices the
assessed amount, its currency and the rate used to convert it into the hub's currency.

Revision ID: 9e762a955aab
Revises: c3df1bc11311
Create Date: 2026-11-28 17:35:02.897152

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9e762a955aab'
down_revision = 'c3df1bc11311'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('policy_exchange_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('rate', sa.Numeric(precision=18, scale=8), nullable=False),
    sa.CheckConstraint('rate > 0', name=op.f('ck_policy_exchange_rates_rate_positive')),
    sa.ForeignKeyConstraint(['policy_id'], ['contribution_policies.id'], name=op.f('fk_policy_exchange_rates_policy_id_contribution_policies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_exchange_rates')),
    sa.UniqueConstraint('policy_id', 'currency', name=op.f('uq_policy_exchange_rates_policy_id_currency'))
    )
    with op.batch_alter_table('policy_exchange_rates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_exchange_rates_policy_id'), ['policy_id'], unique=False)

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assessed_amount', sa.Numeric(precision=14, scale=2), nullable=True))
        batch_op.add_column(sa.Column('assessed_currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('exchange_rate', sa.Numeric(precision=18, scale=8), nullable=True))

def downgrade():
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('exchange_rate')
        batch_op.drop_column('assessed_currency')
        batch_op.drop_column('assessed_amount')

    with op.batch_alter_table('policy_exchange_rates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_exchange_rates_policy_id'))

    op.drop_table('policy_exchange_rates')
