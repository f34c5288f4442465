"""The languages documents, letters and e-mails are written in: English, French and Spanish, each with a
catalogue in translations/ for the words that do not come from the data."""

from __future__ import annotations

import enum


class Language(enum.StrEnum):
    EN = "en"
    FR = "fr"
    ES = "es"

    @property
    def label(self) -> str:
        return {"en": "English", "fr": "French", "es": "Spanish"}[self.value]
