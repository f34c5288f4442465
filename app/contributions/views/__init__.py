"""Contribution pages, one module per part of the work."""

from . import funders, income_groups, invoices, members, online, payments, policy, reports, runs  # noqa: F401
