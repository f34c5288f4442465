"""The contributions sub-navigation: only entries whose pages exist are shown."""

from flask import current_app

#: (label, endpoint) in the order operations work through the year.
SECTIONS = [
    ("Overview", "contributions.index"),
    ("Members", "contributions.list_members"),
    ("Income groups", "contributions.income_groups"),
    ("Policy", "contributions.list_policies"),
    ("Invoices", "contributions.list_invoices"),
    ("Annual run", "contributions.list_runs"),
    ("Payments", "contributions.list_payments"),
    ("Bank", "contributions.list_bank_statements"),
    ("Ageing", "contributions.ageing_report"),
    ("Arrears", "contributions.arrears_report"),
    ("Messages", "contributions.list_messages"),
    ("Online payments", "contributions.reconciliation"),
]


def sections() -> list[tuple[str, str]]:
    return [(label, endpoint) for label, endpoint in SECTIONS if endpoint in current_app.view_functions]
