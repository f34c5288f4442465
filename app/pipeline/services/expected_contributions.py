"""Expected country contributions per fiscal year: each active member's policy amount weighted by its
payment record, beside what is already invoiced and paid, per income group, consolidated in the reporting
currency.

The payment record of a member is the share of what it was invoiced (net of credit notes) for the three
fiscal years before the current one that it paid. A member with no invoice in those years is counted in
full: nothing says it will not pay.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from ...common.fiscal import current_fiscal_year
from ...common.money import quantize
from ...contributions.models import Member, MemberKind, MemberStatus
from ...contributions.services.assessments import assess_members_years
from ...contributions.totals import InvoiceYearTotal, from_cents
from ...extensions import db
from .conversion import MissingPlanRate, RateTable, to_reporting

ZERO = Decimal("0.00")
ONE = Decimal(1)
RECORD_YEARS = 3
LOCAL_GROUP = "local"


@dataclass
class MemberForecast:
    #: The member's id, name, kind, status, country and hub (a row, not the whole member).
    member: Member
    group: str  # an IncomeGroup value, "local", or "unknown"
    #: The policy's amount for the member, in `currency` (the policy's); None when it cannot be assessed.
    expected: Decimal | None
    currency: str | None
    #: Share of past invoices paid, 0 to 1.
    record: Decimal
    has_record: bool
    invoiced: dict[str, Decimal] = field(default_factory=dict)
    paid: dict[str, Decimal] = field(default_factory=dict)
    problem: str | None = None

    @property
    def weighted(self) -> Decimal | None:
        """Expected times the payment record."""
        if self.expected is None or self.currency is None:
            return None
        return quantize(self.expected * self.record, self.currency)

    @property
    def paid_share(self) -> Decimal:
        """Share of this year's invoices already paid (a ratio, so that currencies do not mix)."""
        invoiced = sum(self.invoiced.values(), ZERO)
        if invoiced <= 0:
            return ZERO
        return min(sum(self.paid.values(), ZERO) / invoiced, ONE)

    @property
    def still_expected(self) -> Decimal | None:
        """The weighted expectation that this year's payments have not yet met."""
        weighted = self.weighted
        if weighted is None:
            return None
        return quantize(weighted * (ONE - self.paid_share), self.currency)


@dataclass
class Sums:
    by_currency: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    converted: Decimal | None = ZERO

    def add_all(self, amounts: dict[str, Decimal]) -> None:
        for currency, amount in amounts.items():
            self.by_currency[currency] += amount


@dataclass
class GroupForecast:
    group: str
    members: int = 0
    expected: Sums = field(default_factory=Sums)
    weighted: Sums = field(default_factory=Sums)
    invoiced: Sums = field(default_factory=Sums)
    paid: Sums = field(default_factory=Sums)
    #: The weighted expectation this year's payments have not yet met (what the plan counts as pipeline).
    still_expected: Sums = field(default_factory=Sums)

    @property
    def label(self) -> str:
        return GROUP_LABELS.get(self.group, self.group)

    def measures(self):
        return (self.expected, self.weighted, self.invoiced, self.paid, self.still_expected)


GROUP_LABELS = {
    "high": "High income",
    "upper_middle": "Upper-middle income",
    "lower_middle": "Lower-middle income",
    "low": "Low income",
    LOCAL_GROUP: "Local members",
    "unknown": "Income group unknown",
}
GROUP_ORDER = list(GROUP_LABELS)


@dataclass
class ContributionForecast:
    fiscal_year: int
    record_years: list[int]
    reporting_currency: str
    members: list[MemberForecast]
    groups: list[GroupForecast]
    total: GroupForecast
    rates_used: dict[tuple[int, str], Decimal]
    missing_rates: list[MissingPlanRate]
    #: How many members cannot be assessed, and one of the reasons (the first in alphabetical order).
    problem_count: int = 0
    first_problem: str | None = None
    #: False when no member can be assessed (typically: no contribution policy for the year yet).
    assessable: bool = False


def _record(first_year: int, last_year: int, member_ids=None) -> dict[int, tuple[Decimal, Decimal]]:
    """Member id -> (net invoiced, paid) over the record years, all currencies of one member together."""
    kept = InvoiceYearTotal
    query = (
        sa.select(
            kept.member_id,
            sa.func.sum(kept.invoiced_cents - kept.credited_cents),
            sa.func.sum(kept.paid_cents),
        )
        .where(kept.fiscal_year.between(first_year, last_year))
        .group_by(kept.member_id)
    )
    if member_ids is not None:
        query = query.where(kept.member_id.in_(sorted(member_ids)))
    rows = db.session.execute(query)
    return {member_id: (from_cents(invoiced), from_cents(paid)) for member_id, invoiced, paid in rows}


def _year_invoices(
    fiscal_years: list[int], member_ids=None
) -> dict[tuple[int, int], list[tuple[str, Decimal, Decimal]]]:
    """(year, member id) -> (currency, net invoiced, paid) of the member's invoices of that year."""
    kept = InvoiceYearTotal
    query = sa.select(
        kept.fiscal_year,
        kept.member_id,
        kept.currency,
        kept.invoiced_cents - kept.credited_cents,
        kept.paid_cents,
    ).where(kept.fiscal_year.in_(fiscal_years), kept.invoice_count > 0)
    if member_ids is not None:
        query = query.where(kept.member_id.in_(sorted(member_ids)))
    rows = db.session.execute(query)
    result: dict[tuple[int, int], list[tuple[str, Decimal, Decimal]]] = defaultdict(list)
    for fiscal_year, member_id, currency, invoiced, paid in rows:
        result[(fiscal_year, member_id)].append(
            (currency, quantize(from_cents(invoiced), currency), quantize(from_cents(paid), currency))
        )
    return result


def member_forecasts(
    fiscal_year: int, current_year: int | None = None
) -> tuple[list[MemberForecast], list[int]]:
    """Each active member's expectation for `fiscal_year`, in a constant number of queries."""
    return member_forecasts_for([fiscal_year], current_year)[fiscal_year]


def member_forecasts_for(
    fiscal_years: list[int], current_year: int | None = None, member_ids=None
) -> dict[int, tuple[list[MemberForecast], list[int]]]:
    """Year -> each active member's expectation for it and the record years, for several years at once:
    the members, their payment record and assessments are read once (a query per year for its invoices).
    `member_ids` limits it to those members (the kept forecasts refresh the members a change touched)."""
    current_year = current_year or current_fiscal_year()
    record_years = list(range(current_year - RECORD_YEARS, current_year))
    # The few columns the rules read, as rows rather than whole members (a thousand of them load in a
    # fraction of the time).
    query = (
        sa.select(Member.id, Member.name, Member.kind, Member.status, Member.country_code, Member.hub_id)
        .where(Member.status == MemberStatus.ACTIVE)
        .order_by(Member.name, Member.id)
    )
    if member_ids is not None:
        query = query.where(Member.id.in_(sorted(member_ids)))
    members = db.session.execute(query).all()
    record = _record(record_years[0], record_years[-1], member_ids)
    assessments = assess_members_years(members, fiscal_years)
    invoices = _year_invoices(fiscal_years, member_ids)
    result = {}
    for fiscal_year in fiscal_years:
        forecasts = []
        for assessment in assessments[fiscal_year]:
            member = assessment.member
            invoiced, paid = record.get(member.id, (ZERO, ZERO))
            has_record = invoiced > 0
            share = min(paid / invoiced, ONE) if has_record else ONE
            if member.kind == MemberKind.LOCAL:
                group = LOCAL_GROUP
            else:
                group = assessment.income_group.value if assessment.income_group else "unknown"
            forecast = MemberForecast(
                member=member,
                group=group,
                expected=assessment.amount,
                currency=assessment.currency,
                record=share,
                has_record=has_record,
                problem=assessment.problem,
            )
            for currency, year_invoiced, year_paid in invoices.get((fiscal_year, member.id), []):
                forecast.invoiced[currency] = year_invoiced
                forecast.paid[currency] = year_paid
            forecasts.append(forecast)
        result[fiscal_year] = (forecasts, record_years)
    return result


def contribution_forecasts(
    fiscal_years: list[int], rates: RateTable, reporting_currency: str, current_year: int | None = None
) -> dict[int, ContributionForecast]:
    """`contribution_forecast` for several years, reading what the years share once: from the kept
    forecasts (app/pipeline/forecast_totals.py) when they hold these years for this current year, else
    member by member."""
    from ..forecast_totals import kept_group_sums

    kept = kept_group_sums(fiscal_years, current_year or current_fiscal_year())
    if kept is not None:
        current = current_year or current_fiscal_year()
        record_years = list(range(current - RECORD_YEARS, current))
        return {
            year: _finish(year, groups, record_years, rates, reporting_currency, problems)
            for year, (groups, problems) in kept.items()
        }
    return {
        year: _forecast(year, members, record_years, rates, reporting_currency)
        for year, (members, record_years) in member_forecasts_for(fiscal_years, current_year).items()
    }


def contribution_forecast(
    fiscal_year: int, rates: RateTable, reporting_currency: str, current_year: int | None = None
) -> ContributionForecast:
    """Expected, weighted, invoiced and paid per income group for a year, converted at the plan's rates."""
    members, record_years = member_forecasts(fiscal_year, current_year)
    return _forecast(fiscal_year, members, record_years, rates, reporting_currency)


def _forecast(
    fiscal_year: int,
    members: list[MemberForecast],
    record_years: list[int],
    rates: RateTable,
    reporting_currency: str,
) -> ContributionForecast:
    groups = {key: GroupForecast(key) for key in GROUP_ORDER}
    for forecast in members:
        group = groups[forecast.group]
        group.members += 1
        if forecast.expected is not None:
            group.expected.add_all({forecast.currency: forecast.expected})
            group.weighted.add_all({forecast.currency: forecast.weighted})
            group.still_expected.add_all({forecast.currency: forecast.still_expected})
        group.invoiced.add_all(forecast.invoiced)
        group.paid.add_all(forecast.paid)
    problems = [member.problem for member in members if member.problem]
    assessable = any(member.expected is not None for member in members)
    problem_summary = (len(problems), min(problems) if problems else None, assessable)
    forecast = _finish(fiscal_year, groups, record_years, rates, reporting_currency, problem_summary)
    forecast.members = members
    return forecast


def _finish(
    fiscal_year: int,
    groups: dict[str, GroupForecast],
    record_years: list[int],
    rates: RateTable,
    reporting_currency: str,
    problems: tuple[int, str | None, bool],
) -> ContributionForecast:
    """The groups' sums with the total, each converted at the plan's rates (the rates used and missing).
    `problems`: how many members cannot be assessed, one reason, and whether any member can be."""
    total = GroupForecast("total")
    rates_used: dict[tuple[int, str], Decimal] = {}
    missing: set[MissingPlanRate] = set()
    for group in [*groups.values(), total]:
        if group is total:
            for other in groups.values():
                total.members += other.members
                for mine, theirs in zip(total.measures(), other.measures(), strict=True):
                    mine.add_all(theirs.by_currency)
        for sums in group.measures():
            sums.by_currency = dict(sorted((c, a) for c, a in sums.by_currency.items() if a))
            converted = ZERO
            for currency, amount in sums.by_currency.items():
                conversion = to_reporting(amount, currency, fiscal_year, rates, reporting_currency)
                if isinstance(conversion, MissingPlanRate):
                    missing.add(conversion)
                    converted = None
                    continue
                if conversion.rate is not None:
                    rates_used[(fiscal_year, currency)] = conversion.rate
                if converted is not None:
                    converted += conversion.amount
            sums.converted = converted
    shown = [group for group in groups.values() if group.members]
    problem_count, first_problem, assessable = problems
    return ContributionForecast(
        fiscal_year, record_years, reporting_currency, [], shown, total, rates_used, sorted(missing),
        problem_count=problem_count, first_problem=first_problem, assessable=assessable,
    )  # fmt: skip
