"""Pipeline pages, one module per part of the work."""

from . import board, calendar, opportunities, plan, pledges, row_urls  # noqa: F401
