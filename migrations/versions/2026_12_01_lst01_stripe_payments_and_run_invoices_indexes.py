"""Three indexes for pages that read a few rows of a large table: the Stripe payments in the online payments
list's order (a partial index: the list, its count and its totals read the Stripe payments alone instead of
every payment), a run's invoices in the run page's order (hub, then number, with their status: the page's
ids and count come from the index, where SQLite walked every invoice by hub), and the mail log's messages
left waiting (status, attempt, date: the message log counts them without reading every message).

Revision ID: lst01
Revises: plan02
Create Date: 2026-12-01 20:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "lst01"
down_revision = "plan02"
branch_labels = None
depends_on = None

#: As app.contributions.services.stripe_reconciliation.STRIPE_PAYMENT.
STRIPE_PAYMENT = "stripe_checkout_session_id IS NOT NULL OR stripe_payment_intent_id IS NOT NULL"


def upgrade():
    op.create_index(
        "ix_payments_stripe_list_order",
        "payments",
        ["received_on", "id"],
        sqlite_where=sa.text(STRIPE_PAYMENT),
        postgresql_where=sa.text(STRIPE_PAYMENT),
    )
    op.create_index(
        "ix_invoices_annual_run_list_order", "invoices", ["annual_run_id", "hub_id", "number", "status"]
    )
    op.create_index("ix_mail_messages_waiting", "mail_messages", ["status", "attempted_at", "created_at"])


def downgrade():
    op.drop_index("ix_mail_messages_waiting", table_name="mail_messages")
    op.drop_index("ix_invoices_annual_run_list_order", table_name="invoices")
    op.drop_index("ix_payments_stripe_list_order", table_name="payments")
