"""The donor pages, one module per concern."""

from . import connectors, contacts, gifts, imports, interactions, landing, letters, merge, organisations  # noqa: F401
