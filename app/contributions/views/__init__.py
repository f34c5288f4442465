"""Contribution pages, one module per part of the work."""

from . import ageing, arrears, income_groups, invoices, members, online, payments, policy, runs, statements  # noqa: F401
