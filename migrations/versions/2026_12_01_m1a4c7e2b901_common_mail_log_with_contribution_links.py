"""A mail log that is not tied to members: `mail_messages` (common: what was sent to whom, its status, the
exact bytes, who asked and when) and `contribution_messages` (contributions: the member and invoice a message
was about). The rows of `sent_messages` move into both, keeping their ids; then `sent_messages` goes.

Revision ID: m1a4c7e2b901
Revises: d1b0funders01
Create Date: 2026-12-01 10:30:54.899889

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'm1a4c7e2b901'
down_revision = 'd1b0funders01'
branch_labels = None
depends_on = None

MESSAGE_KINDS = ('invoice', 'reminder', 'statement', 'credit_note', 'pro_forma')

# The tables as this migration reads and writes them (not the models, which move on).
users = sa.table('users', sa.column('id', sa.Integer), sa.column('email', sa.String))
sent_messages = sa.table(
    'sent_messages',
    sa.column('id', sa.Integer),
    sa.column('kind', sa.String),
    sa.column('member_id', sa.Integer),
    sa.column('invoice_id', sa.Integer),
    sa.column('reminder_level', sa.Integer),
    sa.column('recipients', sa.String),
    sa.column('subject', sa.String),
    sa.column('transport', sa.String),
    sa.column('message_id', sa.String),
    sa.column('outbox_path', sa.String),
    sa.column('error', sa.Text),
    sa.column('sent_at', sa.DateTime(timezone=True)),
    sa.column('sent_by_id', sa.Integer),
)
mail_messages = sa.table(
    'mail_messages',
    sa.column('id', sa.Integer),
    sa.column('kind', sa.String),
    sa.column('sender', sa.String),
    sa.column('recipients', sa.String),
    sa.column('subject', sa.String),
    sa.column('status', sa.String),
    sa.column('error', sa.Text),
    sa.column('transport', sa.String),
    sa.column('message_id', sa.String),
    sa.column('outbox_path', sa.String),
    sa.column('requested_by_id', sa.Integer),
    sa.column('requested_by_label', sa.String),
    sa.column('created_at', sa.DateTime(timezone=True)),
    sa.column('attempted_at', sa.DateTime(timezone=True)),
    sa.column('sent_at', sa.DateTime(timezone=True)),
)
contribution_messages = sa.table(
    'contribution_messages',
    sa.column('message_id', sa.Integer),
    sa.column('member_id', sa.Integer),
    sa.column('invoice_id', sa.Integer),
    sa.column('reminder_level', sa.Integer),
)


def upgrade():
    op.create_table('mail_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('about', sa.String(length=200), nullable=True),
    sa.Column('sender', sa.String(length=300), nullable=False),
    sa.Column('recipients', sa.String(length=1000), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', name='mailstatus', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('transport', sa.String(length=20), nullable=False),
    sa.Column('message_id', sa.String(length=300), nullable=False),
    sa.Column('outbox_path', sa.String(length=500), nullable=False),
    sa.Column('mime', sa.LargeBinary(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_label', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_mail_messages_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_messages'))
    )
    with op.batch_alter_table('mail_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_messages_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_messages_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_messages_status'), ['status'], unique=False)

    op.create_table('contribution_messages',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('reminder_level', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_contribution_messages_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_contribution_messages_member_id_members')),
    sa.ForeignKeyConstraint(['message_id'], ['mail_messages.id'], name=op.f('fk_contribution_messages_message_id_mail_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_contribution_messages'))
    )
    with op.batch_alter_table('contribution_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contribution_messages_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contribution_messages_member_id'), ['member_id'], unique=False)

    # Every message logged so far was attempted when it was logged: failed if it has an error, sent if not.
    failed = sent_messages.c.error != ''
    op.execute(mail_messages.insert().from_select(
        ['id', 'kind', 'sender', 'recipients', 'subject', 'status', 'error', 'transport', 'message_id',
         'outbox_path', 'requested_by_id', 'requested_by_label', 'created_at', 'attempted_at', 'sent_at'],
        sa.select(
            sent_messages.c.id,
            sent_messages.c.kind,
            sa.literal(''),
            sent_messages.c.recipients,
            sent_messages.c.subject,
            sa.case((failed, 'failed'), else_='sent'),
            sent_messages.c.error,
            sent_messages.c.transport,
            sent_messages.c.message_id,
            sent_messages.c.outbox_path,
            sent_messages.c.sent_by_id,
            sa.func.coalesce(users.c.email, 'cli'),  # only the nightly command sent without a user
            sent_messages.c.sent_at,
            sent_messages.c.sent_at,
            sa.case((failed, None), else_=sent_messages.c.sent_at),
        ).select_from(sent_messages.outerjoin(users, users.c.id == sent_messages.c.sent_by_id)),
    ))
    op.execute(contribution_messages.insert().from_select(
        ['message_id', 'member_id', 'invoice_id', 'reminder_level'],
        sa.select(
            sent_messages.c.id, sent_messages.c.member_id, sent_messages.c.invoice_id,
            sent_messages.c.reminder_level,
        ),
    ))
    if op.get_bind().dialect.name == 'postgresql':
        # The ids were copied, so the sequence must continue after them.
        op.execute(
            "SELECT setval(pg_get_serial_sequence('mail_messages', 'id'), "
            "COALESCE((SELECT MAX(id) FROM mail_messages), 0) + 1, false)"
        )

    with op.batch_alter_table('sent_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sent_messages_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_sent_messages_member_id'))
        batch_op.drop_index(batch_op.f('ix_sent_messages_sent_at'))

    op.drop_table('sent_messages')


def downgrade():
    op.create_table('sent_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum(*MESSAGE_KINDS, name='messagekind', native_enum=False, create_constraint=True, length=30), nullable=False),
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

    # Only messages about members fit the old table; one still waiting has no way to be sent there, so it is
    # kept as a failure that says so.
    pending = mail_messages.c.status == 'pending'
    op.execute(sent_messages.insert().from_select(
        ['id', 'kind', 'member_id', 'invoice_id', 'reminder_level', 'recipients', 'subject', 'transport',
         'message_id', 'outbox_path', 'error', 'sent_at', 'sent_by_id'],
        sa.select(
            mail_messages.c.id,
            mail_messages.c.kind,
            contribution_messages.c.member_id,
            contribution_messages.c.invoice_id,
            contribution_messages.c.reminder_level,
            mail_messages.c.recipients,
            mail_messages.c.subject,
            sa.case((mail_messages.c.transport == '', 'smtp'), else_=mail_messages.c.transport),
            mail_messages.c.message_id,
            mail_messages.c.outbox_path,
            sa.case((pending, 'Not sent: still waiting when the database was downgraded.'),
                    else_=mail_messages.c.error),
            sa.func.coalesce(mail_messages.c.sent_at, mail_messages.c.created_at),
            mail_messages.c.requested_by_id,
        )
        .select_from(contribution_messages.join(mail_messages, mail_messages.c.id == contribution_messages.c.message_id))
        .where(mail_messages.c.kind.in_(MESSAGE_KINDS)),
    ))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "SELECT setval(pg_get_serial_sequence('sent_messages', 'id'), "
            "COALESCE((SELECT MAX(id) FROM sent_messages), 0) + 1, false)"
        )

    with op.batch_alter_table('contribution_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contribution_messages_member_id'))
        batch_op.drop_index(batch_op.f('ix_contribution_messages_invoice_id'))

    op.drop_table('contribution_messages')
    with op.batch_alter_table('mail_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_messages_status'))
        batch_op.drop_index(batch_op.f('ix_mail_messages_kind'))
        batch_op.drop_index(batch_op.f('ix_mail_messages_created_at'))

    op.drop_table('mail_messages')
