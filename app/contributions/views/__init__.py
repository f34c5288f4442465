"""Contribution pages, one module per part of the work."""

from . import income_groups, invoices, members, online, payments, policy, reports, runs, sending  # noqa: F401
