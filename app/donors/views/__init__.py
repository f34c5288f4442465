"""The donor pages, one module per concern."""

from . import connectors, contacts, gifts, interactions, landing, letters, merge, organisations  # noqa: F401
