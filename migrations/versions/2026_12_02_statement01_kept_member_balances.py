"""Member balances kept per member and currency (in cents, with the number of issued invoices and payments),
backfilled from the records, for a statement's balance brought forward; and a partial index of the allocations
across currencies (those with a rate), which a statement reads whole, and of refunds by date.

Revision ID: statement01
Revises: arrears01
Create Date: 2026-12-02 00:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "statement01"
down_revision = "arrears01"
branch_labels = None
depends_on = None

CONVERTED = "payment_allocations.exchange_rate IS NOT NULL"


def _cents(expression: str) -> str:
    return f"CAST(ROUND(({expression}) * 100) AS BIGINT)"


def upgrade():
    op.create_table(
        "member_balances",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance_cents", sa.BigInteger(), nullable=False),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_balances_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", "currency", name=op.f("pk_member_balances")),
    )
    op.create_index(
        "ix_payment_allocations_converted",
        "payment_allocations",
        ["payment_id"],
        sqlite_where=sa.text(CONVERTED),
        postgresql_where=sa.text(CONVERTED),
    )
    op.create_index("ix_refunds_refunded_on", "refunds", ["refunded_on"])
    # Backfill from the records (as app.contributions.totals.recompute_member_balances): each issued invoice
    # less its credit notes and write-offs, each payment less its refunds; drafts count nowhere.
    op.execute(
        f"""
        INSERT INTO member_balances (member_id, currency, balance_cents, record_count)
        SELECT member_id, currency, SUM(cents), SUM(records)
        FROM (
            SELECT invoices.member_id AS member_id, invoices.currency AS currency,
                {_cents("invoices.total")} AS cents, 1 AS records
            FROM invoices WHERE invoices.status <> 'draft'
            UNION ALL
            SELECT invoices.member_id, invoices.currency, -{_cents("credit_notes.amount")}, 0
            FROM credit_notes JOIN invoices ON invoices.id = credit_notes.invoice_id
            WHERE invoices.status <> 'draft'
            UNION ALL
            SELECT invoices.member_id, invoices.currency, -{_cents("write_offs.amount")}, 0
            FROM write_offs JOIN invoices ON invoices.id = write_offs.invoice_id
            WHERE invoices.status <> 'draft'
            UNION ALL
            SELECT payments.member_id, payments.currency, -{_cents("payments.amount")}, 1
            FROM payments
            UNION ALL
            SELECT payments.member_id, payments.currency, {_cents("refunds.amount")}, 0
            FROM refunds JOIN payments ON payments.id = refunds.payment_id
        ) AS movements
        GROUP BY member_id, currency
        """
    )


def downgrade():
    op.drop_index("ix_refunds_refunded_on", table_name="refunds")
    op.drop_index("ix_payment_allocations_converted", table_name="payment_allocations")
    op.drop_table("member_balances")
