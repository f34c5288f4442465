"""Country contributions: members, policy, invoices, payments."""
