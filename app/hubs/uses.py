"""What other areas keep in a hub's name, asked through a registry: the hubs area imports none of them.

An area that issues documents in a hub's name, or keeps records that point at a hub, registers a `HubUse` when
it is imported (as each area registers its home-page panel with `common.panels.panel_provider`). The hub's
rules and pages ask every registered use: whether the hub has issued documents (its currency and invoice
prefix are then fixed, and it can be closed but not deleted), what still points at it, and what it issued.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from .models import Hub


@dataclass
class IssuedDocuments:
    """What a hub issued, for its page: counts, the latest documents, and what is still owed per currency."""

    invoice_count: int = 0
    credit_note_count: int = 0
    latest_invoices: list = field(default_factory=list)
    latest_credit_notes: list = field(default_factory=list)
    #: Open invoices' balance due, per currency.
    outstanding: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class HubUse:
    """One area's answers about a hub."""

    #: True once the area has issued a document in the hub's name (a numbered invoice, a credit note...).
    has_issued_documents: Callable[[Hub], bool]
    #: What of the area still points at the hub, in words ("3 members are invoiced by it"); empty if nothing.
    references: Callable[[Hub], list[str]]
    #: What the area issued in the hub's name, the `latest` newest of each kind, for the hub's page.
    issued_documents: Callable[[Hub, int], IssuedDocuments] | None = None


_USES: list[HubUse] = []


def register_hub_use(use: HubUse) -> HubUse:
    """Register an area's answers about hubs (at import time, once per area)."""
    _USES.append(use)
    return use


def has_issued_documents(hub: Hub) -> bool:
    """True once any area has issued a document in the hub's name."""
    return hub.id is not None and any(use.has_issued_documents(hub) for use in _USES)


def references(hub: Hub) -> list[str]:
    """Everything that still points at the hub, in words, area by area."""
    return [reference for use in _USES for reference in use.references(hub)]


def issued_documents(hub: Hub, latest: int = 5) -> IssuedDocuments:
    """What every area issued in the hub's name (counts added, outstanding added per currency)."""
    combined = IssuedDocuments()
    for use in _USES:
        if use.issued_documents is None:
            continue
        documents = use.issued_documents(hub, latest)
        combined.invoice_count += documents.invoice_count
        combined.credit_note_count += documents.credit_note_count
        combined.latest_invoices += documents.latest_invoices
        combined.latest_credit_notes += documents.latest_credit_notes
        for currency, amount in documents.outstanding.items():
            combined.outstanding[currency] = combined.outstanding.get(currency, Decimal("0")) + amount
    combined.outstanding = dict(sorted(combined.outstanding.items()))
    return combined
