"""The plan's arithmetic on hand-computed cases: splits, weighting, fiscal years, schedules, conversion."""

from datetime import date
from decimal import Decimal

import pytest

from app.common.fiscal import fiscal_year, fiscal_year_of
from app.common.money import Converted, convert
from app.pipeline.services.arithmetic import (
    AwardBelowPaid,
    ScheduledInstalment,
    SplitDoesNotAddUp,
    SplitRow,
    check_split,
    even_split,
    regenerate_schedule,
    schedule_from_split,
    weighted,
)
from app.pipeline.services.conversion import MissingPlanRate, to_reporting
from app.pipeline.stages import Stage

D = Decimal


def test_stages_carry_the_default_probabilities_of_the_design():
    assert {stage.value: stage.default_probability for stage in Stage} == {
        "identified": 10,
        "qualified": 20,
        "cultivation": 40,
        "proposal": 60,
        "verbal_commitment": 80,
        "won": 100,
        "lost": 0,
        "declined": 0,
    }
    assert [stage for stage in Stage if stage.needs_reason] == [Stage.LOST, Stage.DECLINED]


# --- Fiscal years starting in July: FY2027 runs from 1 July 2026 to 30 June 2027 ---------------------------


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (date(2026, 6, 30), 2026),
        (date(2026, 7, 1), 2027),
        (date(2026, 12, 31), 2027),
        (date(2027, 1, 1), 2027),
        (date(2027, 6, 30), 2027),
        (date(2027, 7, 1), 2028),
    ],
)
def test_a_july_fiscal_year_is_named_by_the_year_it_ends_in(day, year):
    assert fiscal_year_of(day, 7) == year


def test_a_july_fiscal_year_runs_from_the_first_of_july_to_the_thirtieth_of_june():
    period = fiscal_year(2027, 7)
    assert (period.starts_on, period.ends_on) == (date(2026, 7, 1), date(2027, 6, 30))
    assert date(2026, 6, 30) not in period and date(2027, 7, 1) not in period


def test_the_configured_start_month_names_the_years_in_the_app(app):
    app.config["FISCAL_YEAR_START_MONTH"] = 4
    try:
        assert fiscal_year_of(date(2027, 3, 31)) == 2027
        assert fiscal_year_of(date(2027, 4, 1)) == 2028
        assert fiscal_year(2028).starts_on == date(2027, 4, 1)
    finally:
        app.config["FISCAL_YEAR_START_MONTH"] = 1


# --- Splits ------------------------------------------------------------------------------------------------


def test_a_split_must_add_up_to_its_total():
    rows = check_split(
        D("300000.00"), [SplitRow(2028, D("100000.00")), SplitRow(2027, D("200000.00"))], "USD"
    )
    assert [row.fiscal_year for row in rows] == [2027, 2028]
    with pytest.raises(SplitDoesNotAddUp, match="add up to 299999.99"):
        check_split(D("300000.00"), [SplitRow(2027, D("200000.00")), SplitRow(2028, D("99999.99"))], "USD")


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [SplitRow(2027, D("50.00")), SplitRow(2027, D("50.00"))],
        [SplitRow(2027, D("100.00")), SplitRow(2028, D("0.00"))],
        [SplitRow(2027, D("99.995")), SplitRow(2028, D("0.005"))],
    ],
)
def test_a_split_refuses_empty_repeated_zero_or_sub_cent_rows(rows):
    with pytest.raises(SplitDoesNotAddUp):
        check_split(D("100.00"), rows, "USD")


def test_an_even_split_puts_the_rounding_on_the_last_year():
    rows = even_split(D("100000.00"), [2027, 2028, 2029], "EUR")
    assert [row.amount for row in rows] == [D("33333.33"), D("33333.33"), D("33333.34")]
    assert sum(row.amount for row in rows) == D("100000.00")


def test_an_even_split_in_yen_has_no_decimals():
    rows = even_split(D("1000000"), [2027, 2028, 2029], "JPY")
    assert [row.amount for row in rows] == [D("333333"), D("333333"), D("333334")]


# --- Weighting ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "probability", "expected"),
    [
        (D("250000.00"), 60, D("150000.00")),
        (D("33333.33"), 40, D("13333.33")),  # 13333.332 rounds down
        (D("12345.67"), 10, D("1234.57")),  # 1234.567 rounds up
        (D("80000.00"), 0, D("0.00")),
        (D("80000.00"), 100, D("80000.00")),
    ],
)
def test_the_weighted_amount_is_amount_times_probability(amount, probability, expected):
    assert weighted(amount, probability, "USD") == expected


# --- Instalment schedules ----------------------------------------------------------------------------------


def test_a_schedule_from_a_split_has_one_instalment_per_year_at_agreement_then_each_year_start():
    split = [SplitRow(2027, D("60000.00")), SplitRow(2028, D("40000.00"))]
    schedule = schedule_from_split(split, agreed_on=date(2026, 9, 15), first_month=7)
    assert [(i.amount, i.expected_on) for i in schedule] == [
        (D("60000.00"), date(2026, 9, 15)),
        (D("40000.00"), date(2027, 7, 1)),
    ]


def test_an_agreement_signed_before_the_first_year_expects_its_first_instalment_when_that_year_starts():
    schedule = schedule_from_split([SplitRow(2028, D("10.00"))], agreed_on=date(2027, 2, 1), first_month=7)
    assert schedule[0].expected_on == date(2027, 7, 1)


def _instalment(amount, on, received="0.00", id=None):
    return ScheduledInstalment(D(amount), on, D(received), id)


def test_regenerating_keeps_paid_instalments_and_spreads_the_rest_of_a_larger_award():
    current = [
        _instalment("50000.00", date(2027, 1, 10), received="50000.00", id=1),
        _instalment("25000.00", date(2028, 1, 10), id=2),
        _instalment("25000.00", date(2029, 1, 10), id=3),
    ]
    new = regenerate_schedule(current, D("110000.00"), current, "USD")
    assert [(i.amount, i.expected_on, i.id) for i in new] == [
        (D("50000.00"), date(2027, 1, 10), 1),
        (D("30000.00"), date(2028, 1, 10), 2),
        (D("30000.00"), date(2029, 1, 10), 3),
    ]
    assert sum(i.amount for i in new) == D("110000.00")


def test_a_partly_paid_instalment_is_kept_whole_and_the_last_unpaid_one_takes_the_remainder():
    current = [
        _instalment("40000.00", date(2027, 1, 10), received="10000.00", id=1),
        _instalment("30000.00", date(2028, 1, 10), id=2),
        _instalment("30000.00", date(2029, 1, 10), id=3),
    ]
    new = regenerate_schedule(current, D("90000.01"), current, "USD")
    # 50000.01 shared 1:1 -> 25000.005 rounds half-up to 25000.01, and the last takes what is left.
    assert [i.amount for i in new] == [D("40000.00"), D("25000.01"), D("25000.00")]


def test_new_dates_apply_to_unpaid_instalments_only():
    current = [
        _instalment("500.00", date(2027, 1, 10), received="500.00", id=1),
        _instalment("500.00", date(2028, 1, 10), id=2),
    ]
    wanted = [
        current[0].__class__(D("999.00"), date(2000, 1, 1), D("500.00"), 1),
        _instalment("1.00", date(2028, 6, 30)),
    ]
    new = regenerate_schedule(current, D("1000.00"), wanted, "USD")
    assert [(i.amount, i.expected_on) for i in new] == [
        (D("500.00"), date(2027, 1, 10)),
        (D("500.00"), date(2028, 6, 30)),
    ]


def test_an_award_below_what_was_received_is_refused():
    current = [
        _instalment("60000.00", date(2027, 1, 10), received="60000.00"),
        _instalment("40000.00", date(2028, 1, 1)),
    ]
    with pytest.raises(AwardBelowPaid):
        regenerate_schedule(current, D("59999.99"), current, "USD")


def test_an_award_that_equals_the_paid_instalments_drops_the_unpaid_ones():
    current = [
        _instalment("60000.00", date(2027, 1, 10), received="1.00"),
        _instalment("40000.00", date(2028, 1, 1)),
    ]
    new = regenerate_schedule(current, D("60000.00"), current, "USD")
    assert [i.amount for i in new] == [D("60000.00")]


# --- Conversion --------------------------------------------------------------------------------------------


def test_conversion_divides_by_the_years_rate_and_names_it():
    rates = {(2027, "EUR"): D("0.92000000")}
    converted = to_reporting(D("92000.00"), "EUR", 2027, rates, "USD")
    assert converted == Converted(D("100000.00"), "USD", D("0.92000000"))
    assert to_reporting(D("1000.00"), "EUR", 2027, rates, "USD").amount == D("1086.96")  # 1086.9565...


def test_a_missing_rate_is_a_problem_never_one_to_one():
    rates = {(2027, "EUR"): D("0.92")}
    assert to_reporting(D("1000.00"), "EUR", 2028, rates, "USD") == MissingPlanRate(2028, "EUR")
    assert to_reporting(D("1000.00"), "USD", 2028, rates, "USD").rate is None


def test_the_plan_converts_with_the_common_conversion_dividing_exactly():
    """An exact half cent rounds up, as a division gives it (a rounded inverse rate would give 0.02)."""
    assert to_reporting(D("0.03"), "EUR", 2027, {(2027, "EUR"): D("1.2")}, "USD").amount == D("0.03")
    assert convert(D("0.03"), "EUR", "USD", D("1.2"), per_target=True) == Converted(
        D("0.03"), "USD", D("1.2")
    )
    assert convert(D("100.00"), "USD", "EUR", D("0.92")).amount == D("92.00")  # the usual way round
