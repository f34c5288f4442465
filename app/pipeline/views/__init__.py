"""Pipeline pages, one module per part of the work."""

from . import board, calendar, opportunities, plan, pledges  # noqa: F401
