"""Pipeline pages, one module per part of the work."""

from . import home, plan  # noqa: F401
