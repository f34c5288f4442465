"""Each active member's expected contribution kept per fiscal year (app/pipeline/forecast_totals.py), for the
plan and the board: the current fiscal year and the next two, backfilled with the forecast rules.

Revision ID: plan02
Revises: dpages02
Create Date: 2026-12-01 20:55:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "plan02"
down_revision = "dpages02"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "member_year_forecasts",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("current_year", sa.Integer(), nullable=False),
        sa.Column("group", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("expected_cents", sa.BigInteger(), nullable=True),
        sa.Column("weighted_cents", sa.BigInteger(), nullable=True),
        sa.Column("still_expected_cents", sa.BigInteger(), nullable=True),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_member_year_forecasts_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "fiscal_year", name=op.f("pk_member_year_forecasts")),
    )
    op.create_index("ix_member_year_forecasts_year", "member_year_forecasts", ["fiscal_year", "group"])
    # Backfill with the forecast rules themselves (the code the test compares the kept rows with).
    from app.pipeline.forecast_totals import rebuild_forecasts_on

    rebuild_forecasts_on(op.get_bind())


def downgrade():
    op.drop_index("ix_member_year_forecasts_year", table_name="member_year_forecasts")
    op.drop_table("member_year_forecasts")
