"""Members linked to the donor organisations that are part of them (their aid agency, an embassy); the
unique (member_id, organisation_id) constraint serves lookups by member.

Revision ID: d1b0funders01
Revises: d1a0donors01
Create Date: 2026-12-01 10:44:16.851510

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd1b0funders01'
down_revision = 'd1a0donors01'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('member_organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_organisations_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_member_organisations_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_organisations')),
    sa.UniqueConstraint('member_id', 'organisation_id', name=op.f('uq_member_organisations_member_id_organisation_id'))
    )
    with op.batch_alter_table('member_organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_organisations_organisation_id'), ['organisation_id'], unique=False)



def downgrade():
    with op.batch_alter_table('member_organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_organisations_organisation_id'))

    op.drop_table('member_organisations')
