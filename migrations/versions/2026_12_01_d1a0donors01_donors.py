"""Donors: organisations and their focus themes, contacts and their affiliations, connectors, connections and
introductions, interactions with their next steps, gifts with their history, and acknowledgement letters.

Search: a pg_trgm GIN index on PostgreSQL, an FTS5 trigram table kept by triggers on SQLite, over each searched
table's folded `search_text` (app/donors/search.py holds the same statements for create_all()).

Revision ID: d1a0donors01
Revises: c1a7e5b20d11
Create Date: 2026-12-01 10:21:28.591942

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd1a0donors01'
down_revision = 'c1a7e5b20d11'
branch_labels = None
depends_on = None

SEARCHED_TABLES = ("organisations", "contacts")


def _postgresql_search(table):
    return [f"CREATE INDEX search_{table}_trgm ON {table} USING gin (search_text gin_trgm_ops)"]


def _sqlite_search(table):
    fts = f"search_{table}"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5("
        f"search_text, content='{table}', content_rowid='id', tokenize='trigram')",
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF search_text ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END",
    ]


def _create_search_objects():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table in SEARCHED_TABLES:
        statements = {"postgresql": _postgresql_search, "sqlite": _sqlite_search}.get(dialect, lambda t: [])
        for statement in statements(table):
            op.execute(statement)


def _drop_search_objects():
    dialect = op.get_bind().dialect.name
    for table in SEARCHED_TABLES:
        if dialect == "sqlite":
            for trigger in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS search_{table}_{trigger}")
            op.execute(f"DROP TABLE IF EXISTS search_{table}")
        elif dialect == "postgresql":
            op.execute(f"DROP INDEX IF EXISTS search_{table}_trgm")


def upgrade():
    op.create_table('themes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_themes')),
    sa.UniqueConstraint('name', name=op.f('uq_themes_name'))
    )
    op.create_table('contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('email_key', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('language', sa.Enum('en', 'fr', 'es', name='language', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('do_not_contact', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('search_text', sa.String(length=460), nullable=False),
    sa.Column('lawful_basis', sa.Enum('legitimate_interest', 'consent', 'contract', name='lawfulbasis', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('privacy_notice_sent_on', sa.Date(), nullable=True),
    sa.Column('email_consent', sa.Boolean(), nullable=False),
    sa.Column('email_consent_on', sa.Date(), nullable=True),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('erased_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['erased_by_id'], ['users.id'], name=op.f('fk_contacts_erased_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_email_key'), ['email_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_contacts_name_key'), ['name_key'], unique=False)

    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('name_key', sa.String(length=300), nullable=False),
    sa.Column('search_text', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.Enum('private_foundation', 'corporate_foundation', 'bilateral_agency', 'multilateral', 'government', 'company', 'individual', 'other', name='organisationkind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('country_code', sa.String(length=2), nullable=True),
    sa.Column('website', sa.String(length=300), nullable=False),
    sa.Column('status', sa.Enum('prospect', 'active', 'lapsed', name='organisationstatus', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_organisations_owner_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations'))
    )
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisations_country_code'), ['country_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisations_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisations_name_key'), ['name_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisations_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisations_status'), ['status'], unique=False)

    op.create_table('affiliations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=200), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.CheckConstraint('ended_on IS NULL OR started_on IS NULL OR ended_on >= started_on', name=op.f('ck_affiliations_dates_order')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_affiliations_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_affiliations_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_affiliations'))
    )
    with op.batch_alter_table('affiliations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_affiliations_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_affiliations_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('connectors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('board', 'steering_committee', 'staff', 'other', name='connectorrole', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_connectors_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_connectors_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connectors')),
    sa.UniqueConstraint('contact_id', name=op.f('uq_connectors_contact_id')),
    sa.UniqueConstraint('user_id', name=op.f('uq_connectors_user_id'))
    )
    with op.batch_alter_table('connectors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_connectors_role'), ['role'], unique=False)

    op.create_table('interactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('meeting', 'call', 'email', 'event', 'site_visit', name='interactionkind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_step', sa.String(length=500), nullable=False),
    sa.Column('next_step_due_on', sa.Date(), nullable=True),
    sa.Column('next_step_owner_id', sa.Integer(), nullable=True),
    sa.Column('next_step_done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_interactions_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['next_step_owner_id'], ['users.id'], name=op.f('fk_interactions_next_step_owner_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_interactions_organisation_id_organisations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interactions'))
    )
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interactions_next_step_owner_id'), ['next_step_owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interactions_occurred_on'), ['occurred_on'], unique=False)
        batch_op.create_index('ix_interactions_open_next_steps', ['next_step_owner_id', 'next_step_done_at', 'next_step_due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_interactions_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('organisation_themes',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_organisation_themes_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['theme_id'], ['themes.id'], name=op.f('fk_organisation_themes_theme_id_themes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', 'theme_id', name=op.f('pk_organisation_themes'))
    )
    with op.batch_alter_table('organisation_themes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisation_themes_theme_id'), ['theme_id'], unique=False)

    op.create_table('connections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('nature', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connector_id'], ['connectors.id'], name=op.f('fk_connections_connector_id_connectors'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_connections_contact_id_contacts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connections')),
    sa.UniqueConstraint('connector_id', 'contact_id', name=op.f('uq_connections_connector_id_contact_id'))
    )
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_connections_connector_id'), ['connector_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_connections_contact_id'), ['contact_id'], unique=False)

    op.create_table('interaction_contacts',
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_interaction_contacts_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], name=op.f('fk_interaction_contacts_interaction_id_interactions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('interaction_id', 'contact_id', name=op.f('pk_interaction_contacts'))
    )
    with op.batch_alter_table('interaction_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interaction_contacts_contact_id'), ['contact_id'], unique=False)

    op.create_table('interaction_staff',
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], name=op.f('fk_interaction_staff_interaction_id_interactions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_interaction_staff_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('interaction_id', 'user_id', name=op.f('pk_interaction_staff'))
    )
    with op.batch_alter_table('interaction_staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interaction_staff_user_id'), ['user_id'], unique=False)

    op.create_table('introductions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('target_contact_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('for_user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('requested', 'made', 'declined', 'no_response', name='introductionstatus', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('requested_on', sa.Date(), nullable=False),
    sa.Column('status_changed_on', sa.Date(), nullable=True),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connector_id'], ['connectors.id'], name=op.f('fk_introductions_connector_id_connectors')),
    sa.ForeignKeyConstraint(['for_user_id'], ['users.id'], name=op.f('fk_introductions_for_user_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_introductions_organisation_id_organisations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_introductions_requested_by_id_users')),
    sa.ForeignKeyConstraint(['target_contact_id'], ['contacts.id'], name=op.f('fk_introductions_target_contact_id_contacts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_introductions'))
    )
    with op.batch_alter_table('introductions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_introductions_connector_id'), ['connector_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_introductions_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_introductions_requested_by_id'), ['requested_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_introductions_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_introductions_target_contact_id'), ['target_contact_id'], unique=False)

    op.create_table('gifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('hub_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.Enum('wire', 'cheque', 'card', 'other', name='giftmethod', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('is_restricted', sa.Boolean(), nullable=False),
    sa.Column('purpose', sa.String(length=500), nullable=False),
    sa.Column('introduction_id', sa.Integer(), nullable=True),
    sa.Column('goods_or_services', sa.String(length=500), nullable=False),
    sa.Column('goods_or_services_value', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('acknowledgement_status', sa.Enum('to_be_acknowledged', 'acknowledged', 'do_not_acknowledge', name='acknowledgementstatus', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('acknowledged_on', sa.Date(), nullable=True),
    sa.Column('acknowledged_how', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(acknowledgement_status = 'acknowledged') = (acknowledged_on IS NOT NULL)", name=op.f('ck_gifts_acknowledged_has_date')),
    sa.CheckConstraint("NOT is_restricted OR purpose <> ''", name=op.f('ck_gifts_restricted_has_purpose')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_gifts_amount_positive')),
    sa.CheckConstraint('goods_or_services_value IS NULL OR goods_or_services_value >= 0', name=op.f('ck_gifts_goods_value_not_negative')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_gifts_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_gifts_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['hub_id'], ['hubs.id'], name=op.f('fk_gifts_hub_id_hubs')),
    sa.ForeignKeyConstraint(['introduction_id'], ['introductions.id'], name=op.f('fk_gifts_introduction_id_introductions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_gifts_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gifts'))
    )
    with op.batch_alter_table('gifts', schema=None) as batch_op:
        batch_op.create_index('ix_gifts_acknowledgement_due', ['acknowledgement_status', 'received_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_gifts_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_gifts_hub_id'), ['hub_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_gifts_introduction_id'), ['introduction_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_gifts_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_gifts_received_on'), ['received_on'], unique=False)

    op.create_table('acknowledgement_letters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('gift', 'yearly_summary', name='letterkind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('gift_id', sa.Integer(), nullable=True),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('hub_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.Enum('en', 'fr', 'es', name='language', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('pdf_bytes', sa.LargeBinary(), nullable=False),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind = 'gift' AND gift_id IS NOT NULL AND year IS NULL) OR (kind = 'yearly_summary' AND gift_id IS NULL AND year IS NOT NULL)", name=op.f('ck_acknowledgement_letters_kind_matches_subject')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_acknowledgement_letters_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_acknowledgement_letters_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['gift_id'], ['gifts.id'], name=op.f('fk_acknowledgement_letters_gift_id_gifts')),
    sa.ForeignKeyConstraint(['hub_id'], ['hubs.id'], name=op.f('fk_acknowledgement_letters_hub_id_hubs')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_acknowledgement_letters_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_acknowledgement_letters'))
    )
    with op.batch_alter_table('acknowledgement_letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_acknowledgement_letters_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index('uq_acknowledgement_letters_gift', ['gift_id'], unique=True, sqlite_where=sa.text('gift_id IS NOT NULL'), postgresql_where=sa.text('gift_id IS NOT NULL'))

    op.create_table('gift_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('gift_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Enum('recorded', 'letter_created', 'letter_sent', 'acknowledged', name='gifteventkind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_gift_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['gift_id'], ['gifts.id'], name=op.f('fk_gift_events_gift_id_gifts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gift_events'))
    )
    with op.batch_alter_table('gift_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gift_events_gift_id'), ['gift_id'], unique=False)

    _create_search_objects()



def downgrade():
    _drop_search_objects()
    with op.batch_alter_table('gift_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gift_events_gift_id'))

    op.drop_table('gift_events')
    with op.batch_alter_table('acknowledgement_letters', schema=None) as batch_op:
        batch_op.drop_index('uq_acknowledgement_letters_gift', sqlite_where=sa.text('gift_id IS NOT NULL'), postgresql_where=sa.text('gift_id IS NOT NULL'))
        batch_op.drop_index(batch_op.f('ix_acknowledgement_letters_organisation_id'))

    op.drop_table('acknowledgement_letters')
    with op.batch_alter_table('gifts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gifts_received_on'))
        batch_op.drop_index(batch_op.f('ix_gifts_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_gifts_introduction_id'))
        batch_op.drop_index(batch_op.f('ix_gifts_hub_id'))
        batch_op.drop_index(batch_op.f('ix_gifts_contact_id'))
        batch_op.drop_index('ix_gifts_acknowledgement_due')

    op.drop_table('gifts')
    with op.batch_alter_table('introductions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_introductions_target_contact_id'))
        batch_op.drop_index(batch_op.f('ix_introductions_status'))
        batch_op.drop_index(batch_op.f('ix_introductions_requested_by_id'))
        batch_op.drop_index(batch_op.f('ix_introductions_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_introductions_connector_id'))

    op.drop_table('introductions')
    with op.batch_alter_table('interaction_staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interaction_staff_user_id'))

    op.drop_table('interaction_staff')
    with op.batch_alter_table('interaction_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interaction_contacts_contact_id'))

    op.drop_table('interaction_contacts')
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_connections_contact_id'))
        batch_op.drop_index(batch_op.f('ix_connections_connector_id'))

    op.drop_table('connections')
    with op.batch_alter_table('organisation_themes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisation_themes_theme_id'))

    op.drop_table('organisation_themes')
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interactions_organisation_id'))
        batch_op.drop_index('ix_interactions_open_next_steps')
        batch_op.drop_index(batch_op.f('ix_interactions_occurred_on'))
        batch_op.drop_index(batch_op.f('ix_interactions_next_step_owner_id'))

    op.drop_table('interactions')
    with op.batch_alter_table('connectors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_connectors_role'))

    op.drop_table('connectors')
    with op.batch_alter_table('affiliations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_affiliations_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_affiliations_contact_id'))

    op.drop_table('affiliations')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisations_status'))
        batch_op.drop_index(batch_op.f('ix_organisations_owner_id'))
        batch_op.drop_index(batch_op.f('ix_organisations_name_key'))
        batch_op.drop_index(batch_op.f('ix_organisations_kind'))
        batch_op.drop_index(batch_op.f('ix_organisations_country_code'))

    op.drop_table('organisations')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_name_key'))
        batch_op.drop_index(batch_op.f('ix_contacts_email_key'))

    op.drop_table('contacts')
    op.drop_table('themes')
