"""Indexes in the order of the invoice, payment and audit log lists, alone and after each filter, so that a
page's ids and its count are read from an index however deep the page (common/pagination.py); and one for
overdue invoices (open statuses due before a day).

Revision ID: e12srch02
Revises: e12srch01
Create Date: 2026-12-01 14:15:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "e12srch02"
down_revision = "e12srch01"
branch_labels = None
depends_on = None

#: (index, table, columns)
INDEXES = [
    ("ix_invoices_list_order", "invoices", ["issued_on", "id"]),
    ("ix_invoices_status_list_order", "invoices", ["status", "issued_on", "id"]),
    ("ix_invoices_hub_list_order", "invoices", ["hub_id", "issued_on", "id"]),
    ("ix_invoices_fiscal_year_list_order", "invoices", ["fiscal_year", "issued_on", "id"]),
    ("ix_invoices_status_due_on", "invoices", ["status", "due_on", "issued_on"]),
    ("ix_payments_list_order", "payments", ["received_on", "id"]),
    ("ix_audit_entries_list_order", "audit_entries", ["at", "id"]),
    ("ix_audit_entries_type_list_order", "audit_entries", ["record_type", "at", "id"]),
    ("ix_audit_entries_actor_list_order", "audit_entries", ["actor_id", "at", "id"]),
]


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade():
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
