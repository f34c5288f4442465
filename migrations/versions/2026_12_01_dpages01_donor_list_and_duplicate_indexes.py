"""Donor pages at scale: the organisation list's order indexed on PostgreSQL too (it sorted every organisation
for each page), the same order within a country (the country filter and duplicate finding's country block;
it replaces the index of country_code alone), and contacts' name key indexed with the id (the "same name"
suggestions, first by id, which PostgreSQL read by walking the primary key through every contact).

Revision ID: dpages01
Revises: plan01
Create Date: 2026-12-01 20:10:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "dpages01"
down_revision = "plan01"
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if _postgresql():  # SQLite has had it since b9dsc0001
        op.create_index("ix_organisations_list_order", "organisations", ["search_text", "id"], unique=False)
    op.create_index(
        "ix_organisations_country_list_order",
        "organisations",
        ["country_code", "search_text", "id"],
        unique=False,
    )
    op.drop_index("ix_organisations_country_code", table_name="organisations")
    op.drop_index("ix_contacts_name_key", table_name="contacts")
    op.create_index("ix_contacts_name_key", "contacts", ["name_key", "id"], unique=False)


def downgrade():
    op.drop_index("ix_contacts_name_key", table_name="contacts")
    op.create_index("ix_contacts_name_key", "contacts", ["name_key"], unique=False)
    op.create_index("ix_organisations_country_code", "organisations", ["country_code"], unique=False)
    op.drop_index("ix_organisations_country_list_order", table_name="organisations")
    if _postgresql():
        op.drop_index("ix_organisations_list_order", table_name="organisations")
