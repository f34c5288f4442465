"""The plan's sources of funding, and which one a donor organisation's kind counts towards."""

from __future__ import annotations

import enum


class Source(enum.StrEnum):
    FOUNDATIONS = "foundations"
    BILATERAL = "bilateral"
    COUNTRY_CONTRIBUTIONS = "country_contributions"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "foundations": "Foundations",
            "bilateral": "Bilateral agencies",
            "country_contributions": "Country contributions",
            "other": "Other",
        }[self.value]


#: Organisation kinds (donors' values) and the plan source their money counts towards; anything else is Other.
SOURCE_OF_ORGANISATION_KIND = {
    "private_foundation": Source.FOUNDATIONS,
    "corporate_foundation": Source.FOUNDATIONS,
    "bilateral_agency": Source.BILATERAL,
    "government": Source.BILATERAL,
}


def source_of_kind(kind) -> Source:
    """The plan source for a donor organisation's kind (an enum or its value)."""
    value = getattr(kind, "value", kind)
    return SOURCE_OF_ORGANISATION_KIND.get(value, Source.OTHER)
