"""Contribution pages, one module per part of the work."""

from . import bank, blockers, income_groups, invoices, members, online, payments, policy, reports, runs  # noqa: F401
