"""Opportunities with their fiscal-year split, contacts and stage history; pledges with instalments,
deliverables and the gifts applied to their instalments. The calendar feed no longer records fetches (a GET
changes nothing).

Revision ID: p1b0pipe0002
Revises: m1a4c7e2b901
Create Date: 2026-12-01 11:01:59.022302

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'p1b0pipe0002'
down_revision = 'm1a4c7e2b901'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('opportunities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('primary_contact_id', sa.Integer(), nullable=True),
    sa.Column('stage', sa.Enum('identified', 'qualified', 'cultivation', 'proposal', 'verbal_commitment', 'won', 'lost', 'declined', name='stage', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('probability', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('is_restricted', sa.Boolean(), nullable=False),
    sa.Column('purpose', sa.String(length=500), nullable=False),
    sa.Column('expected_decision_on', sa.Date(), nullable=True),
    sa.Column('proposal_due_on', sa.Date(), nullable=True),
    sa.Column('next_step', sa.String(length=500), nullable=False),
    sa.Column('next_step_due_on', sa.Date(), nullable=True),
    sa.Column('introduction_id', sa.Integer(), nullable=True),
    sa.Column('close_reason', sa.Text(), nullable=False),
    sa.Column('stage_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("NOT is_restricted OR purpose <> ''", name=op.f('ck_opportunities_restricted_has_purpose')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_opportunities_amount_positive')),
    sa.CheckConstraint('probability BETWEEN 0 AND 100', name=op.f('ck_opportunities_probability_range')),
    sa.ForeignKeyConstraint(['introduction_id'], ['introductions.id'], name=op.f('fk_opportunities_introduction_id_introductions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_opportunities_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_opportunities_owner_id_users')),
    sa.ForeignKeyConstraint(['primary_contact_id'], ['contacts.id'], name=op.f('fk_opportunities_primary_contact_id_contacts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunities'))
    )
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opportunities_expected_decision_on'), ['expected_decision_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_opportunities_introduction_id'), ['introduction_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opportunities_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opportunities_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opportunities_primary_contact_id'), ['primary_contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_opportunities_proposal_due_on'), ['proposal_due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_opportunities_stage'), ['stage'], unique=False)

    op.create_table('opportunity_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_opportunity_contacts_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_opportunity_contacts_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunity_contacts')),
    sa.UniqueConstraint('opportunity_id', 'contact_id', name=op.f('uq_opportunity_contacts_opportunity_id_contact_id'))
    )
    with op.batch_alter_table('opportunity_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opportunity_contacts_contact_id'), ['contact_id'], unique=False)

    op.create_table('opportunity_splits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_opportunity_splits_amount_positive')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_opportunity_splits_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunity_splits')),
    sa.UniqueConstraint('opportunity_id', 'fiscal_year', name=op.f('uq_opportunity_splits_opportunity_id_fiscal_year'))
    )
    with op.batch_alter_table('opportunity_splits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opportunity_splits_fiscal_year'), ['fiscal_year'], unique=False)

    op.create_table('opportunity_stage_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('from_stage', sa.Enum('identified', 'qualified', 'cultivation', 'proposal', 'verbal_commitment', 'won', 'lost', 'declined', name='from_stage', native_enum=False, create_constraint=True, length=30), nullable=True),
    sa.Column('to_stage', sa.Enum('identified', 'qualified', 'cultivation', 'proposal', 'verbal_commitment', 'won', 'lost', 'declined', name='to_stage', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_opportunity_stage_changes_changed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_opportunity_stage_changes_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunity_stage_changes'))
    )
    with op.batch_alter_table('opportunity_stage_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opportunity_stage_changes_opportunity_id'), ['opportunity_id'], unique=False)

    op.create_table('pledges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('awarded_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('agreed_on', sa.Date(), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('awarded_amount > 0', name=op.f('ck_pledges_awarded_amount_positive')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_pledges_opportunity_id_opportunities')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_pledges_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledges')),
    sa.UniqueConstraint('opportunity_id', name=op.f('uq_pledges_opportunity_id'))
    )
    with op.batch_alter_table('pledges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pledges_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('pledge_deliverables',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pledge_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('letter_of_intent', 'proposal', 'narrative_report', 'financial_report', 'other', name='deliverablekind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=True),
    sa.Column('requirements', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('to_do', 'in_progress', 'submitted', 'accepted', name='deliverablestatus', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(status IN ('submitted', 'accepted')) = (submitted_on IS NOT NULL)", name=op.f('ck_pledge_deliverables_submitted_has_date')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledges.id'], name=op.f('fk_pledge_deliverables_pledge_id_pledges'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledge_deliverables'))
    )
    with op.batch_alter_table('pledge_deliverables', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pledge_deliverables_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_pledge_deliverables_pledge_id'), ['pledge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pledge_deliverables_status'), ['status'], unique=False)

    op.create_table('pledge_instalments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pledge_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('expected_on', sa.Date(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('received_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_pledge_instalments_amount_positive')),
    sa.CheckConstraint('received_amount >= 0 AND received_amount <= amount', name=op.f('ck_pledge_instalments_received_within_amount')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledges.id'], name=op.f('fk_pledge_instalments_pledge_id_pledges'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledge_instalments'))
    )
    with op.batch_alter_table('pledge_instalments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pledge_instalments_expected_on'), ['expected_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_pledge_instalments_fiscal_year'), ['fiscal_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_pledge_instalments_pledge_id'), ['pledge_id'], unique=False)

    op.create_table('gift_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('gift_id', sa.Integer(), nullable=False),
    sa.Column('instalment_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_gift_applications_amount_positive')),
    sa.ForeignKeyConstraint(['applied_by_id'], ['users.id'], name=op.f('fk_gift_applications_applied_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['gift_id'], ['gifts.id'], name=op.f('fk_gift_applications_gift_id_gifts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['instalment_id'], ['pledge_instalments.id'], name=op.f('fk_gift_applications_instalment_id_pledge_instalments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gift_applications')),
    sa.UniqueConstraint('gift_id', 'instalment_id', name=op.f('uq_gift_applications_gift_id_instalment_id'))
    )
    with op.batch_alter_table('gift_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gift_applications_gift_id'), ['gift_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_gift_applications_instalment_id'), ['instalment_id'], unique=False)

    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.drop_column('last_fetched_at')


def downgrade():
    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_fetched_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('gift_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gift_applications_instalment_id'))
        batch_op.drop_index(batch_op.f('ix_gift_applications_gift_id'))

    op.drop_table('gift_applications')
    with op.batch_alter_table('pledge_instalments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pledge_instalments_pledge_id'))
        batch_op.drop_index(batch_op.f('ix_pledge_instalments_fiscal_year'))
        batch_op.drop_index(batch_op.f('ix_pledge_instalments_expected_on'))

    op.drop_table('pledge_instalments')
    with op.batch_alter_table('pledge_deliverables', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pledge_deliverables_status'))
        batch_op.drop_index(batch_op.f('ix_pledge_deliverables_pledge_id'))
        batch_op.drop_index(batch_op.f('ix_pledge_deliverables_due_on'))

    op.drop_table('pledge_deliverables')
    with op.batch_alter_table('pledges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pledges_organisation_id'))

    op.drop_table('pledges')
    with op.batch_alter_table('opportunity_stage_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opportunity_stage_changes_opportunity_id'))

    op.drop_table('opportunity_stage_changes')
    with op.batch_alter_table('opportunity_splits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opportunity_splits_fiscal_year'))

    op.drop_table('opportunity_splits')
    with op.batch_alter_table('opportunity_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opportunity_contacts_contact_id'))

    op.drop_table('opportunity_contacts')
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opportunities_stage'))
        batch_op.drop_index(batch_op.f('ix_opportunities_proposal_due_on'))
        batch_op.drop_index(batch_op.f('ix_opportunities_primary_contact_id'))
        batch_op.drop_index(batch_op.f('ix_opportunities_owner_id'))
        batch_op.drop_index(batch_op.f('ix_opportunities_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_opportunities_introduction_id'))
        batch_op.drop_index(batch_op.f('ix_opportunities_expected_decision_on'))

    op.drop_table('opportunities')