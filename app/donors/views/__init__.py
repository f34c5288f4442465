"""The donor pages, one module per concern."""

from . import connectors, contacts, gifts, interactions, landing, letters, organisations  # noqa: F401
