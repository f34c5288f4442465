"""A member government and the donor organisations that are part of it (its aid agency, its embassy), so that
a government's whole support is seen in one place.

Contributions owns the link (donors imports no contributions code): it adds the member's contributions to the
organisation page through the donors panel registry, and the linked organisations' gifts to the member page.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import url_for
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from ..auth.permissions import Permission
from ..common.errors import ValidationFailed
from ..common.money import format_money
from ..common.time import utcnow
from ..donors.models import Gift, Organisation
from ..donors.panels import organisation_panel
from ..donors.text import name_key
from ..extensions import db
from .models import Invoice, InvoiceStatus, Member

#: How many of the linked organisations' gifts the member page lists (the newest); totals count them all.
RECENT_GIFTS = 20


class MemberOrganisation(db.Model):
    """A donor organisation that is part of a member government (its development agency, an embassy)."""

    __tablename__ = "member_organisations"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lookups by member use the unique (member_id, organisation_id) index.
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    member: Mapped[Member] = relationship()
    organisation: Mapped[Organisation] = relationship()

    __table_args__ = (sa.UniqueConstraint("member_id", "organisation_id"),)

    def __str__(self) -> str:
        return f"{self.organisation} is part of {self.member}"


def link_organisation(member: Member, organisation_name: str, actor) -> MemberOrganisation:
    """Link a member to the donor organisation of this name (accents and case do not matter)."""
    matches = list(
        db.session.scalars(
            sa.select(Organisation).where(Organisation.name_key == name_key(organisation_name)).limit(2)
        )
    )
    if len(matches) != 1:
        message = (
            "No donor organisation has this name: check the spelling on the Donors pages."
            if not matches
            else "Two donor organisations have this name: tell them apart on the Donors pages first."
        )
        raise ValidationFailed("Not linked.", {"organisation": [message]})
    organisation = matches[0]
    if db.session.scalar(
        sa.select(MemberOrganisation.id).where(
            MemberOrganisation.member_id == member.id, MemberOrganisation.organisation_id == organisation.id
        )
    ):
        raise ValidationFailed(
            "Linked already.", {"organisation": [f"{organisation.name} is linked already."]}
        )
    link = MemberOrganisation(member=member, organisation=organisation)
    db.session.add(link)
    db.session.flush()
    return link


def unlink_organisation(link: MemberOrganisation, actor) -> None:
    """Remove the link (the organisation and its gifts stay)."""
    db.session.delete(link)
    db.session.flush()


def linked_organisations(member_id: int) -> list[MemberOrganisation]:
    return list(
        db.session.scalars(
            sa.select(MemberOrganisation)
            .where(MemberOrganisation.member_id == member_id)
            .options(joinedload(MemberOrganisation.organisation))
            .order_by(MemberOrganisation.id)
        )
    )


def linked_gifts(member_id: int) -> tuple[list[Gift], dict[str, Decimal]]:
    """The newest gifts of the member's linked organisations, and the totals of all of them per currency."""
    organisation_ids = sa.select(MemberOrganisation.organisation_id).where(
        MemberOrganisation.member_id == member_id
    )
    gifts = list(
        db.session.scalars(
            sa.select(Gift)
            .where(Gift.organisation_id.in_(organisation_ids))
            .options(joinedload(Gift.organisation))
            .order_by(Gift.received_on.desc(), Gift.id.desc())
            .limit(RECENT_GIFTS)
        )
    )
    totals = {
        currency: Decimal(total)
        for currency, total in db.session.execute(
            sa.select(Gift.currency, sa.func.sum(Gift.amount))
            .where(Gift.organisation_id.in_(organisation_ids))
            .group_by(Gift.currency)
            .order_by(Gift.currency)
        )
    }
    return gifts, totals


@organisation_panel(Permission.CONTRIBUTIONS_VIEW)
def member_contributions_panel(organisation: Organisation) -> dict | None:
    """On a donor organisation's page: the contributions of the member government it is part of."""
    links = list(
        db.session.scalars(
            sa.select(MemberOrganisation)
            .where(MemberOrganisation.organisation_id == organisation.id)
            .options(joinedload(MemberOrganisation.member))
        )
    )
    if not links:
        return None
    member_ids = [link.member_id for link in links]
    issued = sa.and_(Invoice.member_id.in_(member_ids), Invoice.status != InvoiceStatus.DRAFT)
    members = {link.member_id: link.member for link in links}
    rows = []
    for member_id, currency, invoiced, paid in db.session.execute(
        sa.select(
            Invoice.member_id, Invoice.currency, sa.func.sum(Invoice.total), sa.func.sum(Invoice.amount_paid)
        )
        .where(issued)
        .group_by(Invoice.member_id, Invoice.currency)
        .order_by(Invoice.member_id, Invoice.currency)
    ):
        rows.append(
            (
                f"{members[member_id].name}: invoiced / paid ({currency})",
                f"{format_money(Decimal(invoiced), currency)} / {format_money(Decimal(paid), currency)}",
                url_for("contributions.show_member", member_id=member_id),
            )
        )
    if not rows:
        rows = [
            (
                link.member.name,
                "No contributions invoiced yet",
                url_for("contributions.show_member", member_id=link.member_id),
            )
            for link in links
        ]
    return {
        "title": "Contributions of the member government",
        "rows": rows,
        "link": ("Member page", url_for("contributions.show_member", member_id=links[0].member_id)),
    }
