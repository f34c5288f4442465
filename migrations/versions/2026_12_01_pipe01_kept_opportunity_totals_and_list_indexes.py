"""Opportunity totals kept for the pipeline board and the opportunity list: per stage, owner, restricted or
not and currency (how many asks, their amount), and the same per fiscal year of the split (in cents),
backfilled from the opportunities; indexes that serve the board's cards and the lists in their order
(opportunities by amount, alone or after the stage or the owner; the board's recently closed asks; pledges
by agreement date).

Revision ID: pipe01
Revises: lists01
Create Date: 2026-12-01 20:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "pipe01"
down_revision = "lists01"
branch_labels = None
depends_on = None

STAGES = (
    "identified",
    "qualified",
    "cultivation",
    "proposal",
    "verbal_commitment",
    "won",
    "lost",
    "declined",
)


def _stage() -> sa.Enum:
    return sa.Enum(*STAGES, name="stage", native_enum=False, create_constraint=True, length=30)


def _cents(expression: str) -> str:
    return f"CAST(ROUND(({expression}) * 100) AS BIGINT)"


def upgrade():
    op.create_table(
        "opportunity_totals",
        sa.Column("stage", _stage(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("is_restricted", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("ask_count", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_opportunity_totals_owner_id_users")
        ),
        sa.PrimaryKeyConstraint(
            "stage", "owner_id", "is_restricted", "currency", name=op.f("pk_opportunity_totals")
        ),
    )
    op.create_table(
        "opportunity_year_totals",
        sa.Column("stage", _stage(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("is_restricted", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_opportunity_year_totals_owner_id_users")
        ),
        sa.PrimaryKeyConstraint(
            "stage",
            "owner_id",
            "is_restricted",
            "currency",
            "fiscal_year",
            name=op.f("pk_opportunity_year_totals"),
        ),
    )
    op.create_index("ix_opportunities_amount", "opportunities", ["amount", "id"])
    op.create_index("ix_opportunities_owner_amount", "opportunities", ["owner_id", "amount", "id"])
    op.create_index(
        "ix_opportunities_stage_amount", "opportunities", ["stage", "amount", "id", "stage_changed_at"]
    )
    op.create_index(
        "ix_opportunities_stage_changed", "opportunities", ["stage", "stage_changed_at", "currency", "amount"]
    )
    op.create_index("ix_pledges_agreed_on", "pledges", ["agreed_on", "id"])

    op.execute(
        f"""
        INSERT INTO opportunity_totals (stage, owner_id, is_restricted, currency, ask_count, amount_cents)
        SELECT stage, owner_id, is_restricted, currency, COUNT(*), SUM({_cents("amount")})
        FROM opportunities
        GROUP BY stage, owner_id, is_restricted, currency
        """
    )
    op.execute(
        f"""
        INSERT INTO opportunity_year_totals (stage, owner_id, is_restricted, currency, fiscal_year, amount_cents)
        SELECT opportunities.stage, opportunities.owner_id, opportunities.is_restricted, opportunities.currency,
            opportunity_splits.fiscal_year, SUM({_cents("opportunity_splits.amount")})
        FROM opportunity_splits JOIN opportunities ON opportunities.id = opportunity_splits.opportunity_id
        GROUP BY opportunities.stage, opportunities.owner_id, opportunities.is_restricted, opportunities.currency,
            opportunity_splits.fiscal_year
        """
    )


def downgrade():
    op.drop_index("ix_pledges_agreed_on", table_name="pledges")
    op.drop_index("ix_opportunities_stage_changed", table_name="opportunities")
    op.drop_index("ix_opportunities_stage_amount", table_name="opportunities")
    op.drop_index("ix_opportunities_owner_amount", table_name="opportunities")
    op.drop_index("ix_opportunities_amount", table_name="opportunities")
    op.drop_table("opportunity_year_totals")
    op.drop_table("opportunity_totals")
