"""Invoice totals kept for reports: per member, fiscal year and currency, and open invoices per hub, currency
and due date (in cents), backfilled from the invoices; indexes for the open invoices by due date and for the
latest settlement dates, and a member's invoices and payments by date (the statement's period).

Revision ID: c12tot0001
Revises: d3a1lettermsg
Create Date: 2026-12-01 14:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c12tot0001"
down_revision = "d3a1lettermsg"
branch_labels = None
depends_on = None

OPEN_INVOICE = "invoices.status IN ('issued', 'partially_paid')"


def _cents(expression: str) -> str:
    return f"CAST(ROUND(({expression}) * 100) AS BIGINT)"


#: The balance rule (Invoice.owed) as it stands at this revision: what an issued invoice still owes.
OWED = "invoices.total - invoices.amount_paid - invoices.amount_credited - invoices.amount_written_off"


def upgrade():
    op.create_table(
        "invoice_year_totals",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("invoice_count", sa.Integer(), nullable=False),
        sa.Column("invoiced_cents", sa.BigInteger(), nullable=False),
        sa.Column("paid_cents", sa.BigInteger(), nullable=False),
        sa.Column("credited_cents", sa.BigInteger(), nullable=False),
        sa.Column("written_off_cents", sa.BigInteger(), nullable=False),
        sa.Column("outstanding_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_invoice_year_totals_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", "fiscal_year", "currency", name=op.f("pk_invoice_year_totals")),
    )
    op.create_index("ix_invoice_year_totals_year", "invoice_year_totals", ["fiscal_year", "currency"])
    op.create_table(
        "open_invoice_totals",
        sa.Column("hub_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("open_count", sa.Integer(), nullable=False),
        sa.Column("outstanding_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["hub_id"], ["hubs.id"], name=op.f("fk_open_invoice_totals_hub_id_hubs")),
        sa.PrimaryKeyConstraint("hub_id", "currency", "due_on", name=op.f("pk_open_invoice_totals")),
    )
    op.create_index(
        "ix_invoices_open_by_due_on",
        "invoices",
        ["due_on", "number"],
        sqlite_where=sa.text(OPEN_INVOICE),
        postgresql_where=sa.text(OPEN_INVOICE),
    )
    op.create_index("ix_credit_notes_issued_on", "credit_notes", ["issued_on"])
    op.create_index("ix_write_offs_written_off_on", "write_offs", ["written_off_on"])
    op.create_index("ix_invoices_member_issued_on", "invoices", ["member_id", "issued_on"])
    op.create_index("ix_payments_member_received_on", "payments", ["member_id", "received_on"])

    # Backfill from the invoices' settled amounts (kept by Invoice.refresh_balance from the records); drafts
    # count nowhere.
    op.execute(
        f"""
        INSERT INTO invoice_year_totals (member_id, fiscal_year, currency, invoice_count, invoiced_cents,
            paid_cents, credited_cents, written_off_cents, outstanding_cents)
        SELECT member_id, fiscal_year, currency, COUNT(*),
            SUM({_cents("invoices.total")}), SUM({_cents("invoices.amount_paid")}),
            SUM({_cents("invoices.amount_credited")}), SUM({_cents("invoices.amount_written_off")}),
            SUM({_cents(OWED)})
        FROM invoices
        WHERE invoices.status <> 'draft'
        GROUP BY member_id, fiscal_year, currency
        """
    )
    op.execute(
        f"""
        INSERT INTO open_invoice_totals (hub_id, currency, due_on, open_count, outstanding_cents)
        SELECT hub_id, currency, due_on, COUNT(*), SUM({_cents(OWED)})
        FROM invoices
        WHERE invoices.status <> 'draft' AND invoices.due_on IS NOT NULL AND {_cents(OWED)} > 0
        GROUP BY hub_id, currency, due_on
        """
    )


def downgrade():
    op.drop_index("ix_payments_member_received_on", table_name="payments")
    op.drop_index("ix_invoices_member_issued_on", table_name="invoices")
    op.drop_index("ix_write_offs_written_off_on", table_name="write_offs")
    op.drop_index("ix_credit_notes_issued_on", table_name="credit_notes")
    op.drop_index("ix_invoices_open_by_due_on", table_name="invoices")
    op.drop_table("open_invoice_totals")
    op.drop_index("ix_invoice_year_totals_year", table_name="invoice_year_totals")
    op.drop_table("invoice_year_totals")
