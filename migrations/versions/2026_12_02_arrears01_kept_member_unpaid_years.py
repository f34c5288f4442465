"""Each member's unpaid fiscal years kept with the run of consecutive unpaid years each ends, so that the
arrears flags and the board's members in arrears are read along an index instead of comparing every
member's years on each request.

Revision ID: arrears01
Revises: lst01
Create Date: 2026-12-02 23:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "arrears01"
down_revision = "lst01"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "member_unpaid_years",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("unpaid_run", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_unpaid_years_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", "fiscal_year", name=op.f("pk_member_unpaid_years")),
    )
    op.create_index(
        "ix_member_unpaid_years_year_run", "member_unpaid_years", ["fiscal_year", "unpaid_run", "member_id"]
    )
    # Backfill from the kept year totals: a year is unpaid when something of it is outstanding in any
    # currency; its run is the one ending the year before, plus one.
    unpaid = op.get_bind().execute(
        sa.text(
            "SELECT DISTINCT member_id, fiscal_year FROM invoice_year_totals WHERE outstanding_cents > 0 "
            "ORDER BY member_id, fiscal_year"
        )
    )
    runs: dict[tuple[int, int], int] = {}
    for member_id, year in unpaid:
        runs[(member_id, year)] = runs.get((member_id, year - 1), 0) + 1
    if runs:
        op.bulk_insert(
            table,
            [
                {"member_id": member, "fiscal_year": year, "unpaid_run": run}
                for (member, year), run in runs.items()
            ],
        )


def downgrade():
    op.drop_index("ix_member_unpaid_years_year_run", table_name="member_unpaid_years")
    op.drop_table("member_unpaid_years")
