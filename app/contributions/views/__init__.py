"""Contribution pages, one module per part of the work."""

from . import (  # noqa: F401 - each module adds its routes to the blueprint
    ageing,
    annual_run,
    annual_run_preview,
    arrears,
    bank,
    bank_csv,
    blockers,
    funders,
    income_groups,
    invoices,
    members,
    payments,
    policy,
    sending,
    statements,
    stripe_reconciliation,
)
