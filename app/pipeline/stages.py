"""Pipeline stages and their default probabilities (DESIGN.md); a user may override the probability."""

from __future__ import annotations

import enum


class Stage(enum.StrEnum):
    IDENTIFIED = "identified"
    QUALIFIED = "qualified"
    CULTIVATION = "cultivation"
    PROPOSAL = "proposal"
    VERBAL_COMMITMENT = "verbal_commitment"
    WON = "won"
    LOST = "lost"
    DECLINED = "declined"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def default_probability(self) -> int:
        """Percent chance that an opportunity at this stage is won, unless its owner says otherwise."""
        return DEFAULT_PROBABILITIES[self]

    @property
    def is_open(self) -> bool:
        return self in OPEN_STAGES

    @property
    def next_stage(self) -> Stage:
        """Where an ask at this stage usually goes next (the forms offer it first)."""
        if self in OPEN_STAGES:
            index = OPEN_STAGES.index(self)
            return OPEN_STAGES[index + 1] if index + 1 < len(OPEN_STAGES) else Stage.WON
        return self

    @property
    def needs_reason(self) -> bool:
        """Lost and declined are recorded with why, so that the next ask learns from it."""
        return self in (Stage.LOST, Stage.DECLINED)


DEFAULT_PROBABILITIES: dict[Stage, int] = {
    Stage.IDENTIFIED: 10,
    Stage.QUALIFIED: 20,
    Stage.CULTIVATION: 40,
    Stage.PROPOSAL: 60,
    Stage.VERBAL_COMMITMENT: 80,
    Stage.WON: 100,
    Stage.LOST: 0,
    Stage.DECLINED: 0,
}

#: Stages still in play, in the order an opportunity moves through them (the board's columns).
OPEN_STAGES = (
    Stage.IDENTIFIED,
    Stage.QUALIFIED,
    Stage.CULTIVATION,
    Stage.PROPOSAL,
    Stage.VERBAL_COMMITMENT,
)
CLOSED_STAGES = (Stage.WON, Stage.LOST, Stage.DECLINED)
