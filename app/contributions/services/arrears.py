"""The arrears matrix for the Steering Committee: every member's contribution by fiscal year (assessed,
invoiced, paid and outstanding), flagging consecutive unpaid years.

Computed with SQL aggregates in a constant number of queries, whatever the number of members: a page reads
only the rows it shows (totals and flags come from aggregates over every member the filters select), and
exports read members in batches, so that memory stays flat. Invoice figures come from the totals kept per
member, fiscal year and currency (`invoice_year_totals`, app/contributions/totals.py), not the invoices.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache

import sqlalchemy as sa

from ...common.exports import (
    INTEGER_FORMAT,
    MONEY_FORMAT,
    RATE_FORMAT,
    XlsxColumn,
    XlsxSheet,
    merge_related,
    streamed_rows,
)
from ...common.fiscal import current_fiscal_year
from ...common.money import convert, format_rate, rate_label
from ...extensions import db
from ...hubs.models import Hub
from ..models import (
    STANDING_ANNUAL_INVOICE,
    ZERO,
    ContributionAdjustment,
    ContributionPolicy,
    Invoice,
    InvoiceStatus,
    Member,
    MemberIncomeGroup,
    MemberKind,
)
from ..totals import InvoiceYearTotal, MemberUnpaidYear, from_cents
from .assessments import AlikeAssessments, AssessedAmount, billing_amount

#: A member is flagged for the Steering Committee once this many consecutive fiscal years are unpaid.
ARREARS_THRESHOLD_YEARS = 2
_IN_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}
#: The threshold as the pages and the filter quote it: "two or more consecutive unpaid years".
ARREARS_RULE = (
    f"{_IN_WORDS.get(ARREARS_THRESHOLD_YEARS, ARREARS_THRESHOLD_YEARS)} or more consecutive unpaid years"
)


@dataclass
class YearCell:
    """One member's contribution for one fiscal year. Invoice figures are per currency.

    `assessed` is in the currency the member is billed in, so that it compares with `invoiced`: for a year
    invoiced from an assessment, converted at the rate that invoice keeps; otherwise at the policy's budget
    rate for the year. `policy_assessed` is the same figure in the policy's currency, before conversion."""

    fiscal_year: int
    #: In `assessed_currency`, the billing currency; None when it cannot be computed (see `assessed_problem`).
    assessed: Decimal | None = None
    assessed_currency: str | None = None
    #: In `policy_currency`, before any conversion.
    policy_assessed: Decimal | None = None
    policy_currency: str | None = None
    #: Units of `assessed_currency` per one unit of `policy_currency`; None when no conversion.
    exchange_rate: Decimal | None = None
    #: "invoice" when the rate is the one an issued invoice keeps, "policy" when it is the year's budget rate.
    rate_source: str | None = None
    assessed_problem: str | None = None
    waived: bool = False
    waived_amount: Decimal | None = None
    invoiced: dict[str, Decimal] = field(default_factory=dict)
    paid: dict[str, Decimal] = field(default_factory=dict)
    credited: dict[str, Decimal] = field(default_factory=dict)
    written_off: dict[str, Decimal] = field(default_factory=dict)
    outstanding: dict[str, Decimal] = field(default_factory=dict)

    @property
    def unpaid(self) -> bool:
        """Something invoiced for this year is still outstanding."""
        return any(amount > ZERO for amount in self.outstanding.values())

    @property
    def currencies(self) -> list[str]:
        return sorted(self.invoiced)

    @property
    def invoiced_anything(self) -> bool:
        return bool(self.invoiced)

    @property
    def converted(self) -> bool:
        return self.exchange_rate is not None

    @property
    def rate_text(self) -> str:
        """The rate alone, `0.9200`, or empty when the assessment was not converted."""
        return format_rate(self.exchange_rate) if self.exchange_rate is not None else ""

    @property
    def rate_label(self) -> str:
        """`1 USD = 0.9200 EUR`, or empty when the assessment was not converted."""
        if self.exchange_rate is None:
            return ""
        return rate_label(self.policy_currency, self.exchange_rate, self.assessed_currency)


def longest_run(unpaid: list[bool]) -> int:
    """The longest run of consecutive True in a row of years (`ArrearsRow.consecutive_unpaid`'s rule)."""
    best = run = 0
    for flag in unpaid:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


@dataclass
class ArrearsRow:
    member: Member
    cells: list[YearCell]

    @cached_property
    def consecutive_unpaid(self) -> int:
        """The longest run of consecutive unpaid years in the range (worked out once: a page's template
        asks each row several times, and a row's cells are complete when it is made)."""
        return longest_run([cell.unpaid for cell in self.cells])

    @property
    def flagged(self) -> bool:
        """ARREARS_THRESHOLD_YEARS or more consecutive unpaid years (Python twin of `flagged_member_ids`)."""
        return self.consecutive_unpaid >= ARREARS_THRESHOLD_YEARS

    @property
    def outstanding(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for cell in self.cells:
            for currency, amount in cell.outstanding.items():
                totals[currency] += amount
        return {c: a for c, a in sorted(totals.items()) if a}


@dataclass
class ArrearsReport:
    first_year: int
    last_year: int
    rows: list[ArrearsRow]

    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.last_year + 1))

    def totals(self) -> dict[int, dict[str, Decimal]]:
        """Outstanding per year and currency over the rows shown."""
        result: dict[int, dict[str, Decimal]] = {year: defaultdict(lambda: ZERO) for year in self.years}
        for row in self.rows:
            for cell in row.cells:
                for currency, amount in cell.outstanding.items():
                    result[cell.fiscal_year][currency] += amount
        return {year: dict(sorted(values.items())) for year, values in result.items()}

    def assessed_totals(self) -> dict[int, dict[str, Decimal]]:
        """Assessed per year and billing currency over the rows shown (waivers count as nothing)."""
        result: dict[int, dict[str, Decimal]] = {year: defaultdict(lambda: ZERO) for year in self.years}
        for row in self.rows:
            for cell in row.cells:
                if cell.assessed is not None and cell.assessed_currency and not cell.waived:
                    result[cell.fiscal_year][cell.assessed_currency] += cell.assessed
        return {
            year: {currency: amount for currency, amount in sorted(values.items()) if amount}
            for year, values in result.items()
        }


def default_year_range() -> tuple[int, int]:
    """The last four fiscal years, the current one included."""
    current = current_fiscal_year()
    return current - 3, current


def _year_range(first_year: int | None, last_year: int | None) -> tuple[int, int]:
    default_first, default_last = default_year_range()
    first_year = first_year or default_first
    last_year = last_year or default_last
    return (last_year, first_year) if first_year > last_year else (first_year, last_year)


def flagged_members_query(first_year: int, last_year: int, hub_id: int | None = None) -> sa.Select:
    """The ids of members (of the hub, when given) with ARREARS_THRESHOLD_YEARS or more consecutive unpaid
    years in the range, read along the index of the kept unpaid years (usable as a subquery).

    A year is unpaid when, in some currency, what was invoiced for it (issued invoices) is still partly
    outstanding (`UNPAID_YEAR`, the SQL twin of `YearCell.unpaid`); each kept unpaid year knows the run of
    unpaid years it ends, so enough of them in a row within the range (`ArrearsRow.flagged`) is a run of at
    least the threshold ending in a year at least (threshold - 1) years after the first."""
    kept = MemberUnpaidYear
    query = (
        sa.select(kept.member_id)
        .where(
            kept.fiscal_year.between(first_year + ARREARS_THRESHOLD_YEARS - 1, last_year),
            kept.unpaid_run >= ARREARS_THRESHOLD_YEARS,
        )
        .distinct()
    )
    if hub_id:
        query = query.join(Member, Member.id == kept.member_id).where(Member.hub_id == hub_id)
    return query


def _longest_run_in_range(first_year: int):
    """Per member (grouped), the longest run of consecutive unpaid years within a range starting at
    `first_year` (the kept rows of the range only): each year's run, cut at the range's start, at its
    longest (the SQL twin of `ArrearsRow.consecutive_unpaid`)."""
    kept = MemberUnpaidYear
    in_range = kept.fiscal_year - first_year + 1
    return sa.func.max(sa.case((kept.unpaid_run < in_range, kept.unpaid_run), else_=in_range))


def flagged_member_ids(first_year: int, last_year: int, hub_id: int | None = None) -> list[int]:
    """The ids `flagged_members_query` selects, as a list (one query), read once so that a page, its count
    and its totals do not compute them again."""
    return list(db.session.scalars(flagged_members_query(first_year, last_year, hub_id)))


def arrears_members_query(hub_id: int | None = None, member_ids=None) -> sa.Select:
    """The members the arrears matrix lists, by name: of one hub, and only those of `member_ids` (ids, or a
    select of ids such as `flagged_members_query`) when given (the flagged ones: restricting the query, not
    the page, keeps every page of flagged members full)."""
    query = sa.select(Member).order_by(Member.name, Member.id)
    if hub_id:
        query = query.where(Member.hub_id == hub_id)
    if isinstance(member_ids, sa.Select):
        query = query.where(Member.id.in_(member_ids))
    elif member_ids is not None:
        # Hundreds of ids (nearly every member may be flagged) are written into the SQL as numbers rather
        # than sent as as many bound parameters, which psycopg spends longer preparing than the query runs.
        ids = sorted({int(member_id) for member_id in member_ids})
        query = query.where(
            Member.id.in_(sa.bindparam("member_ids", ids, expanding=True, literal_execute=True))
        )
    return query


def year_policies(first_year: int, last_year: int) -> dict[int, ContributionPolicy]:
    """The policies of the range, with their exchange rates (two queries): read once by a page for its rows
    and its totals."""
    return {
        policy.fiscal_year: policy
        for policy in db.session.scalars(
            sa.select(ContributionPolicy).where(ContributionPolicy.fiscal_year.between(first_year, last_year))
        )
    }


def _inputs(member_ids, first_year: int, last_year: int) -> tuple[dict, dict]:
    """(member, year) -> income group, and (member, year) -> adjustment, for every year of the range: one
    query each."""
    groups = {
        (member_id, year): group
        for member_id, year, group in db.session.execute(
            sa.select(
                MemberIncomeGroup.member_id, MemberIncomeGroup.fiscal_year, MemberIncomeGroup.income_group
            ).where(
                MemberIncomeGroup.member_id.in_(member_ids),
                MemberIncomeGroup.fiscal_year.between(first_year, last_year),
            )
        )
    }
    adjustments = {
        (adjustment.member_id, adjustment.fiscal_year): adjustment
        for adjustment in db.session.scalars(
            sa.select(ContributionAdjustment).where(
                ContributionAdjustment.member_id.in_(member_ids),
                ContributionAdjustment.fiscal_year.between(first_year, last_year),
            )
        )
    }
    return groups, adjustments


def _invoice_sums(first_year: int, last_year: int) -> sa.Select:
    """Member, year, currency and the sums in cents (invoiced, paid, credited, written off, outstanding) of
    the issued invoices of those years, from the kept totals: what every cell shows."""
    kept = InvoiceYearTotal
    return sa.select(
        kept.member_id,
        kept.fiscal_year,
        kept.currency,
        kept.invoiced_cents,
        kept.paid_cents,
        kept.credited_cents,
        kept.written_off_cents,
        kept.outstanding_cents,
    ).where(kept.invoice_count > 0, kept.fiscal_year.between(first_year, last_year))


def arrears_rows(members, first_year: int, last_year: int, policies=None) -> list[ArrearsRow]:
    """The matrix rows of these members (a page), in a constant number of queries: one aggregate over their
    invoices, their annual invoices' conversions, income groups, adjustments, and the range's policies
    unless given."""
    members = list(members)
    if not members:
        return []
    policies = year_policies(first_year, last_year) if policies is None else policies
    member_ids = [member.id for member in members]
    invoice_rows = db.session.execute(
        _invoice_sums(first_year, last_year).where(InvoiceYearTotal.member_id.in_(member_ids))
    ).all()
    conversions = _invoiced_conversions(member_ids, first_year, last_year)
    groups, adjustments = _inputs(member_ids, first_year, last_year)
    sums_by_member = defaultdict(list)
    for line in invoice_rows:
        sums_by_member[line[0]].append(line)
    assessor = _CellAssessor(policies)
    return [
        ArrearsRow(
            member,
            _year_cells(
                member.id,
                member.kind,
                member.hub.base_currency,
                first_year,
                last_year,
                sums_by_member[member.id],
                conversions,
                groups,
                adjustments,
                assessor,
            ),
        )
        for member in members
    ]


def _year_cells(
    member_id: int,
    kind: MemberKind,
    hub_currency: str,
    first_year: int,
    last_year: int,
    invoice_rows,
    conversions,
    groups,
    adjustments,
    assessor: _CellAssessor,
) -> list[YearCell]:
    """One member's cells from what was read: its invoice sums (member, year, currency, five sums), and
    (member, year) -> annual invoice conversion, income group and adjustment (with a kind and an amount)."""
    cells = {year: YearCell(year) for year in range(first_year, last_year + 1)}
    for _member_id, year, currency, total, paid, credited, written_off, outstanding in invoice_rows:
        cell, amount = cells[year], assessor.amounts
        cell.invoiced[currency] = amount[total]
        cell.paid[currency] = amount[paid]
        cell.credited[currency] = amount[credited]
        cell.written_off[currency] = amount[written_off]
        cell.outstanding[currency] = amount[outstanding]
    for year, cell in cells.items():
        key = (member_id, year)
        adjustment = adjustments.get(key)
        assessor.cell(
            year,
            kind,
            hub_currency,
            groups.get(key),
            adjustment.kind if adjustment is not None else None,
            adjustment.amount if adjustment is not None else None,
            conversions.get(key),
        ).set_on(cell)
    return list(cells.values())


def arrears_report(
    first_year: int | None = None, last_year: int | None = None, hub_id: int | None = None, only_flagged=False
) -> ArrearsReport:
    """Every member's row at once: by fiscal year, assessed, invoiced, paid, waived and outstanding, flagging
    ARREARS_THRESHOLD_YEARS or more consecutive unpaid years (for small sets and tests; the page paginates
    `arrears_members_query` and exports read `arrears_records`)."""
    first_year, last_year = _year_range(first_year, last_year)
    flagged = flagged_member_ids(first_year, last_year, hub_id) if only_flagged else None
    members = db.session.scalars(arrears_members_query(hub_id, flagged)).all()
    return ArrearsReport(first_year, last_year, arrears_rows(members, first_year, last_year))


@dataclass
class FlaggedArrears(ArrearsReport):
    """The flagged members with the longest runs of unpaid years (their outstanding only, no assessments),
    and how many are flagged in all: what the board's dashboard and pack list."""

    flagged_count: int = 0


#: How many flagged members the board lists; the arrears report lists them all.
BOARD_ARREARS_LISTED = 25


def flagged_arrears(first_year: int, last_year: int, listed: int = BOARD_ARREARS_LISTED) -> FlaggedArrears:
    """The flagged members with the longest runs of consecutive unpaid years (then by name), and how many are
    flagged, read from the kept unpaid years: the members listed ranked with the count, their outstanding
    per year, and the members (three queries)."""
    kept = MemberUnpaidYear
    longest = _longest_run_in_range(first_year)
    ranked = db.session.execute(
        sa.select(kept.member_id, sa.func.count().over())
        .join(Member, Member.id == kept.member_id)
        .where(kept.fiscal_year.between(first_year, last_year))
        .group_by(kept.member_id, Member.id, Member.name)
        .having(longest >= ARREARS_THRESHOLD_YEARS)
        .order_by(longest.desc(), Member.name, Member.id)
        .limit(listed)
    ).all()
    chosen = [member_id for member_id, _count in ranked]
    flagged_count = ranked[0][1] if ranked else 0
    years = range(first_year, last_year + 1)
    cells: dict[int, dict[int, YearCell]] = {member_id: {} for member_id in chosen}
    if chosen:
        totals = InvoiceYearTotal
        for member_id, year, currency, owed in db.session.execute(
            sa.select(totals.member_id, totals.fiscal_year, totals.currency, totals.outstanding_cents).where(
                totals.member_id.in_(chosen), totals.fiscal_year.between(first_year, last_year)
            )
        ):
            cells[member_id].setdefault(year, YearCell(year)).outstanding[currency] = from_cents(owed)
    members = {
        member.id: member for member in db.session.scalars(sa.select(Member).where(Member.id.in_(chosen)))
    }
    top = [
        ArrearsRow(members[member_id], [cells[member_id].get(year) or YearCell(year) for year in years])
        for member_id in chosen
    ]
    return FlaggedArrears(first_year, last_year, top, flagged_count=flagged_count)


@dataclass
class ArrearsTotals:
    """Per fiscal year and currency, over every member the filters select (not only one page)."""

    #: Assessed, in each member's billing currency (waivers count as nothing).
    assessed: dict[int, dict[str, Decimal]]
    #: Still outstanding on issued invoices, in the invoices' currencies.
    outstanding: dict[int, dict[str, Decimal]]


def arrears_totals(
    first_year: int, last_year: int, hub_id: int | None = None, member_ids=None, policies=None
) -> ArrearsTotals:
    """The totals of the members `arrears_members_query(hub_id, member_ids)` lists, from SQL aggregates, never
    by loading every member (two queries, and two more for the range's policies unless given)."""
    member_ids = arrears_members_query(hub_id, member_ids).with_only_columns(Member.id).order_by(None)
    years = list(range(first_year, last_year + 1))
    outstanding: dict[int, dict[str, Decimal]] = {year: {} for year in years}
    kept = InvoiceYearTotal
    for year, currency, amount in db.session.execute(
        sa.select(kept.fiscal_year, kept.currency, sa.func.sum(kept.outstanding_cents))
        .where(kept.fiscal_year.between(first_year, last_year), kept.member_id.in_(member_ids))
        .group_by(kept.fiscal_year, kept.currency)
        .order_by(kept.fiscal_year, kept.currency)
    ):
        if from_cents(amount):
            outstanding[year][currency] = from_cents(amount)
    policies = year_policies(first_year, last_year) if policies is None else policies
    return ArrearsTotals(_assessed_totals(member_ids, first_year, last_year, policies), outstanding)


def _assessed_totals(
    member_ids: sa.Select, first_year: int, last_year: int, policies
) -> dict[int, dict[str, Decimal]]:
    """Assessed per year and billing currency for the selected members, exactly as their cells would add up.

    Members whose assessment has the same inputs (year, kind, income group, adjustment, the annual invoice's
    currency and stored conversion, the hub's currency) are assessed alike, so one aggregate query counts
    them per set of inputs, and each set is assessed once as a cell is (`_CellAssessor`), in Decimal, then
    multiplied by its count."""
    years = sa.union_all(
        *(
            sa.select(sa.literal(year, sa.Integer).label("fiscal_year"))
            for year in range(first_year, last_year + 1)
        )
    ).subquery("years")
    # At most one per member and year: the partial unique index allows one annual invoice per member and year
    # that is not credited (the same invoice `_invoiced_conversions` finds), and the join names that index's
    # condition, so that each member's year is one lookup in it rather than a read of every invoice.

    inputs = (
        sa.select(
            years.c.fiscal_year,
            Member.kind,
            MemberIncomeGroup.income_group,
            ContributionAdjustment.kind,
            ContributionAdjustment.amount,
            Invoice.currency,
            Invoice.assessed_amount,
            Invoice.assessed_currency,
            Invoice.exchange_rate,
            Hub.base_currency,
            sa.func.count(),
        )
        .select_from(Member)
        .join(years, sa.true())
        .join(Hub, Hub.id == Member.hub_id)
        .outerjoin(
            MemberIncomeGroup,
            sa.and_(
                MemberIncomeGroup.member_id == Member.id, MemberIncomeGroup.fiscal_year == years.c.fiscal_year
            ),
        )
        .outerjoin(
            ContributionAdjustment,
            sa.and_(
                ContributionAdjustment.member_id == Member.id,
                ContributionAdjustment.fiscal_year == years.c.fiscal_year,
            ),
        )
        .outerjoin(
            Invoice,
            sa.and_(
                Invoice.member_id == Member.id,
                Invoice.fiscal_year == years.c.fiscal_year,
                STANDING_ANNUAL_INVOICE,
                Invoice.status != InvoiceStatus.DRAFT,
            ),
        )
        .where(Member.id.in_(member_ids))
        .group_by(
            years.c.fiscal_year,
            Member.kind,
            MemberIncomeGroup.income_group,
            ContributionAdjustment.kind,
            ContributionAdjustment.amount,
            Invoice.currency,
            Invoice.assessed_amount,
            Invoice.assessed_currency,
            Invoice.exchange_rate,
            Hub.base_currency,
        )
    )
    totals: dict[int, dict[str, Decimal]] = {
        year: defaultdict(lambda: ZERO) for year in range(first_year, last_year + 1)
    }
    assessor = _CellAssessor(policies)
    for (
        year,
        kind,
        income_group,
        adjustment_kind,
        adjustment_amount,
        invoice_currency,
        assessed_amount,
        assessed_currency,
        exchange_rate,
        hub_currency,
        members,
    ) in db.session.execute(inputs):
        annual_invoice = (
            (invoice_currency, assessed_amount, assessed_currency, exchange_rate)
            if invoice_currency is not None
            else None
        )
        cell = assessor.cell(
            year, kind, hub_currency, income_group, adjustment_kind, adjustment_amount, annual_invoice
        )
        if cell.counted:
            totals[year][cell.assessed_currency] += cell.assessed * members
    return {
        year: {currency: amount for currency, amount in sorted(values.items()) if amount}
        for year, values in totals.items()
    }


def _annual_invoice_conversions(first_year: int, last_year: int) -> sa.Select:
    """Member, year, currency and the assessed amount, currency and rate of the issued (not credited) annual
    invoices of those years: what the arrears compare assessments with (read through the partial index of
    standing annual invoices)."""
    return sa.select(
        Invoice.member_id,
        Invoice.fiscal_year,
        Invoice.currency,
        Invoice.assessed_amount,
        Invoice.assessed_currency,
        Invoice.exchange_rate,
    ).where(
        STANDING_ANNUAL_INVOICE,
        Invoice.status != InvoiceStatus.DRAFT,
        Invoice.fiscal_year.between(first_year, last_year),
    )


def _invoiced_conversions(member_ids, first_year: int, last_year: int) -> dict[tuple[int, int], tuple]:
    """(member, year) -> (currency, assessed amount, assessed currency, rate) of the year's issued annual
    invoice (the latest, when a credited one was replaced); the last three are None when it was not made from
    an assessment. One query."""
    rows = db.session.execute(
        _annual_invoice_conversions(first_year, last_year)
        .where(Invoice.member_id.in_(member_ids))
        .order_by(Invoice.id)
    )
    return {
        (row.member_id, row.fiscal_year): (
            row.currency,
            row.assessed_amount,
            row.assessed_currency,
            row.exchange_rate,
        )
        for row in rows
    }


@dataclass(frozen=True)
class _CellAssessment:
    """A year's assessment as its cell shows it (the `YearCell` fields of the same names): the same for
    every member with the same inputs."""

    assessed: Decimal | None = None
    assessed_currency: str | None = None
    policy_assessed: Decimal | None = None
    policy_currency: str | None = None
    exchange_rate: Decimal | None = None
    rate_source: str | None = None
    assessed_problem: str | None = None
    waived: bool = False
    waived_amount: Decimal | None = None

    @property
    def counted(self) -> bool:
        """What the assessed totals add up: an amount in a billing currency, a waiver counting as nothing."""
        return self.assessed is not None and bool(self.assessed_currency) and not self.waived

    def set_on(self, cell: YearCell) -> None:
        cell.assessed, cell.assessed_currency = self.assessed, self.assessed_currency
        cell.policy_assessed, cell.policy_currency = self.policy_assessed, self.policy_currency
        cell.exchange_rate, cell.rate_source = self.exchange_rate, self.rate_source
        cell.assessed_problem = self.assessed_problem
        cell.waived, cell.waived_amount = self.waived, self.waived_amount


class _Amounts(dict):
    """Whole cents -> the money amount, each distinct value converted once (an export reads thousands of
    sums, most of them alike: zeros, the same contribution)."""

    def __missing__(self, value) -> Decimal:
        amount = self[value] = from_cents(value)
        return amount


class _CellAssessor:
    """The cells' assessments, each distinct set of inputs (year, member kind, hub currency, income group,
    adjustment, annual invoice's conversion) assessed and converted once: the cells of a page, the rows of
    an export and the sets of alike members the totals count. (`amounts` does the same for the cells'
    invoice sums.)"""

    def __init__(self, policies: dict[int, ContributionPolicy]):
        self.assessments = AlikeAssessments(policies)
        self._cells: dict[tuple, _CellAssessment] = {}
        self.amounts = _Amounts()

    def cell(
        self,
        fiscal_year: int,
        kind: MemberKind,
        hub_currency: str,
        income_group,
        adjustment_kind,
        adjustment_amount: Decimal | None,
        annual_invoice: tuple | None,
    ) -> _CellAssessment:
        """The cell's assessment; `annual_invoice` is the year's issued annual invoice's currency, assessed
        amount, assessed currency and rate (None when not invoiced)."""
        key = (fiscal_year, kind, hub_currency, income_group, adjustment_kind, adjustment_amount)
        key += (annual_invoice,)
        found = self._cells.get(key)
        if found is None:
            assessed = self.assessments.amount(
                kind, fiscal_year, income_group, adjustment_kind, adjustment_amount
            )
            found = self._cells[key] = _cell_assessment(assessed, hub_currency, annual_invoice)
        return found


def _cell_assessment(
    assessment: AssessedAmount, hub_currency: str, annual_invoice: tuple | None
) -> _CellAssessment:
    """The year's assessment in the billing currency: as the issued annual invoice assessed and converted
    it, or else at the policy's budget rate into the currency billed (the invoice's, or the member's hub's
    for a year not invoiced yet). A missing rate leaves it in the policy's currency, with the problem."""
    waived = dict(
        waived=assessment.waived, waived_amount=assessment.policy_amount if assessment.waived else None
    )
    if assessment.amount is None:
        return _CellAssessment(
            policy_assessed=assessment.amount,
            policy_currency=assessment.currency,
            assessed_problem=assessment.problem,
            **waived,
        )
    billed_in = None
    if annual_invoice is not None:
        billed_in, assessed_amount, assessed_currency, rate = annual_invoice
        if assessed_amount is not None and assessed_currency == assessment.currency:
            # What the invoice assessed, at the rate it was issued with: the figure it actually billed.
            return _CellAssessment(
                assessed=(
                    assessed_amount
                    if rate is None
                    else convert(assessed_amount, assessed_currency, billed_in, rate).amount
                ),
                assessed_currency=billed_in,
                policy_assessed=assessed_amount,
                policy_currency=assessment.currency,
                exchange_rate=rate,
                rate_source="invoice" if rate is not None else None,
                **waived,
            )
    billing = billing_amount(assessment, currency=billed_in or hub_currency)
    return _CellAssessment(
        assessed=billing.amount,
        assessed_currency=billing.currency,
        policy_assessed=assessment.amount,
        policy_currency=assessment.currency,
        exchange_rate=billing.exchange_rate,
        rate_source="policy" if billing.exchange_rate is not None else None,
        assessed_problem=billing.problem or None,
        **waived,
    )


ARREARS_COLUMNS = [
    "Member",
    "Country",
    "Hub",
    "Fiscal year",
    "Assessed",
    "Assessed currency",
    "Assessed in policy currency",
    "Policy currency",
    "Exchange rate",
    "Waived",
    "Invoice currency",
    "Invoiced",
    "Paid",
    "Credited",
    "Written off",
    "Outstanding",
    "Unpaid year",
    "Consecutive unpaid years",
    "Flagged",
]


def _records(rows):
    """One record per member, fiscal year and invoice currency of these rows, in the order of
    ARREARS_COLUMNS."""
    for row in rows:
        member = row.member
        yield from _row_records(member.name, member.country_code, member.hub.name if member.hub else "", row)


def _row_records(name: str, country_code: str, hub_name: str, row: ArrearsRow):
    """One record per fiscal year and invoice currency of a member's row, in the order of ARREARS_COLUMNS."""
    consecutive = row.consecutive_unpaid
    flagged = "yes" if consecutive >= ARREARS_THRESHOLD_YEARS else "no"
    for cell in row.cells:
        waived, unpaid = "yes" if cell.waived else "no", "yes" if cell.unpaid else "no"
        for currency in cell.currencies or [None]:
            yield [
                name,
                country_code,
                hub_name,
                cell.fiscal_year,
                cell.assessed,
                cell.assessed_currency or "",
                cell.policy_assessed,
                cell.policy_currency or "",
                _plain_rate(cell.exchange_rate),
                waived,
                currency or "",
                cell.invoiced.get(currency, ZERO) if currency else ZERO,
                cell.paid.get(currency, ZERO) if currency else ZERO,
                cell.credited.get(currency, ZERO) if currency else ZERO,
                cell.written_off.get(currency, ZERO) if currency else ZERO,
                cell.outstanding.get(currency, ZERO) if currency else ZERO,
                unpaid,
                consecutive,
                flagged,
            ]


def arrears_records(first_year: int, last_year: int, hub_id: int | None = None, only_flagged: bool = False):
    """The export's records (one per member, fiscal year and invoice currency), from a fixed number of
    queries whatever the number of members: the flagged ids (when only those), the policies, then five
    streamed queries in the members' order (members, invoice sums, annual invoice conversions, income
    groups, adjustments), merged one member at a time so that memory stays flat."""
    flagged = flagged_member_ids(first_year, last_year, hub_id) if only_flagged else None
    policies = year_policies(first_year, last_year)
    listed = arrears_members_query(hub_id, flagged)  # by name and id: every stream below keeps that order
    members = streamed_rows(
        listed.with_only_columns(
            Member.id, Member.name, Member.kind, Member.country_code, Hub.name, Hub.base_currency
        ).outerjoin(Hub, Hub.id == Member.hub_id)
    )
    sums = _invoice_sums(first_year, last_year).subquery("invoice_sums")
    invoice_sums = streamed_rows(
        listed.with_only_columns(
            Member.id, *[column for name, column in sums.c.items() if name != "member_id"]
        )
        .join(sums, sums.c.member_id == Member.id)
        .order_by(sums.c.fiscal_year, sums.c.currency)
    )
    annual = _annual_invoice_conversions(first_year, last_year).add_columns(Invoice.id.label("invoice_id"))
    annual = annual.subquery("annual_invoices")
    conversions = streamed_rows(
        listed.with_only_columns(
            Member.id,
            annual.c.fiscal_year,
            annual.c.currency,
            annual.c.assessed_amount,
            annual.c.assessed_currency,
            annual.c.exchange_rate,
        )
        .join(annual, annual.c.member_id == Member.id)
        .order_by(annual.c.invoice_id)
    )
    group = sa.orm.aliased(MemberIncomeGroup)
    groups = streamed_rows(
        listed.with_only_columns(Member.id, group.fiscal_year, group.income_group).join(
            group,
            sa.and_(group.member_id == Member.id, group.fiscal_year.between(first_year, last_year)),
        )
    )
    adjustment = sa.orm.aliased(ContributionAdjustment)
    adjustments = streamed_rows(
        listed.with_only_columns(Member.id, adjustment.fiscal_year, adjustment.kind, adjustment.amount).join(
            adjustment,
            sa.and_(adjustment.member_id == Member.id, adjustment.fiscal_year.between(first_year, last_year)),
        )
    )
    assessor = _CellAssessor(policies)
    for row, its_sums, its_conversions, its_groups, its_adjustments in merge_related(
        members, invoice_sums, conversions, groups, adjustments
    ):
        member_id, name, kind, country_code, hub_name, base_currency = row
        # The latest annual invoice of a year wins (they come by invoice id), as in _invoiced_conversions.
        member_conversions = {
            (member_id, line.fiscal_year): (
                line.currency,
                line.assessed_amount,
                line.assessed_currency,
                line.exchange_rate,
            )
            for line in its_conversions
        }
        cells = _year_cells(
            member_id,
            kind,
            base_currency,
            first_year,
            last_year,
            its_sums,
            member_conversions,
            {(member_id, year): income_group for _id, year, income_group in its_groups},
            {(member_id, line.fiscal_year): line for line in its_adjustments},
            assessor,
        )
        yield from _row_records(name, country_code, hub_name or "", ArrearsRow(None, cells))


@lru_cache(maxsize=256)
def _plain_rate(rate: Decimal | None) -> Decimal | None:
    """0.92000000 as 0.92 (and 10.00000000 as 10, not 1E+1)."""
    return None if rate is None else Decimal(f"{rate.normalize():f}")


def arrears_csv_rows(records):
    """The CSV lines: the header, then the records with empty cells for None."""
    yield ARREARS_COLUMNS
    for record in records:
        yield ["" if value is None else value for value in record]


_ARREARS_FORMATS = {
    **{
        name: MONEY_FORMAT
        for name in (
            "Assessed",
            "Assessed in policy currency",
            "Invoiced",
            "Paid",
            "Credited",
            "Written off",
            "Outstanding",
        )
    },
    "Fiscal year": INTEGER_FORMAT,
    "Exchange rate": RATE_FORMAT,
}
_ARREARS_WIDTHS = {"Member": 32, "Hub": 20}


def arrears_sheet(records, title: str) -> XlsxSheet:
    """The arrears as a spreadsheet's sheet, written as the records stream in: amounts, years and rates as
    numbers with their formats, the member's column frozen beside the header."""
    columns = [
        XlsxColumn(name, _ARREARS_FORMATS.get(name), _ARREARS_WIDTHS.get(name)) for name in ARREARS_COLUMNS
    ]
    return XlsxSheet(title, columns, records, frozen_columns=1)
