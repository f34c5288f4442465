"""Duplicate finding's country block read from an index of (country_code, name_key): a Brazilian organisation's
page checks the length of 5,556 name keys in the index and reads only the 1,241 rows that can be close.

Revision ID: dpages02
Revises: pipe02
Create Date: 2026-12-01 20:50:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "dpages02"
down_revision = "pipe02"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_organisations_country_name_key", "organisations", ["country_code", "name_key"], unique=False
    )


def downgrade():
    op.drop_index("ix_organisations_country_name_key", table_name="organisations")
