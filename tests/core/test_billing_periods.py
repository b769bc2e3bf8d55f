"""Billing periods and proration (gigafibre_fsm.core.billing.periods / proration)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from gigafibre_fsm.core.billing.periods import (
	CYCLE_MONTHS,
	Period,
	billing_date,
	next_billing_date,
	period_for,
	periods_overlapping,
)
from gigafibre_fsm.core.billing.proration import prorate
from gigafibre_fsm.core.contracts import BILLING_CYCLES
from gigafibre_fsm.core.dispatch.chains import prorate as chain_prorate
from gigafibre_fsm.core.errors import InvalidInput

D = date


def test_the_cycles_are_the_contract_cycles():
	assert set(CYCLE_MONTHS) == set(BILLING_CYCLES)


def test_monthly_on_day_one_is_the_calendar_month():
	assert period_for("Monthly", 1, D(2026, 11, 24)) == Period(D(2026, 11, 1), D(2026, 11, 30))
	assert period_for("Monthly", 1, D(2026, 12, 31)) == Period(D(2026, 12, 1), D(2026, 12, 31))
	assert period_for("Monthly", 1, D(2027, 1, 1)) == Period(D(2027, 1, 1), D(2027, 1, 31))


def test_monthly_mid_month():
	assert period_for("Monthly", 15, D(2026, 1, 14)) == Period(D(2025, 12, 15), D(2026, 1, 14))
	assert period_for("Monthly", 15, D(2026, 1, 15)) == Period(D(2026, 1, 15), D(2026, 2, 14))


@pytest.mark.parametrize(
	("day", "on", "period"),
	[
		# day 31: short months clamp to their last day, the next month is back on the 31st
		(31, D(2026, 1, 31), (D(2026, 1, 31), D(2026, 2, 27))),
		(31, D(2026, 2, 27), (D(2026, 1, 31), D(2026, 2, 27))),
		(31, D(2026, 2, 28), (D(2026, 2, 28), D(2026, 3, 30))),
		(31, D(2026, 3, 30), (D(2026, 2, 28), D(2026, 3, 30))),
		(31, D(2026, 3, 31), (D(2026, 3, 31), D(2026, 4, 29))),
		(31, D(2026, 4, 30), (D(2026, 4, 30), D(2026, 5, 30))),
		# leap year: February 29 is the billing date for days 29, 30 and 31
		(31, D(2024, 2, 28), (D(2024, 1, 31), D(2024, 2, 28))),
		(31, D(2024, 2, 29), (D(2024, 2, 29), D(2024, 3, 30))),
		(30, D(2024, 2, 29), (D(2024, 2, 29), D(2024, 3, 29))),
		(29, D(2024, 2, 29), (D(2024, 2, 29), D(2024, 3, 28))),
		(29, D(2024, 2, 28), (D(2024, 1, 29), D(2024, 2, 28))),
		# not leap: February 28 for days 29, 30 and 31
		(29, D(2026, 2, 28), (D(2026, 2, 28), D(2026, 3, 28))),
		(29, D(2026, 2, 27), (D(2026, 1, 29), D(2026, 2, 27))),
		(30, D(2026, 2, 28), (D(2026, 2, 28), D(2026, 3, 29))),
		(28, D(2026, 2, 28), (D(2026, 2, 28), D(2026, 3, 27))),
	],
)
def test_billing_days_29_to_31(day, on, period):
	assert period_for("Monthly", day, on) == Period(*period)


def test_billing_date_clamps():
	assert billing_date(2026, 2, 31) == D(2026, 2, 28)
	assert billing_date(2028, 2, 30) == D(2028, 2, 29)
	assert billing_date(2026, 4, 31) == D(2026, 4, 30)
	assert billing_date(2026, 5, 31) == D(2026, 5, 31)


def test_semestrial_periods_follow_the_anchor_month():
	assert period_for("Semestrial", 15, D(2026, 3, 15), anchor_month=3) == Period(
		D(2026, 3, 15), D(2026, 9, 14)
	)
	assert period_for("Semestrial", 15, D(2026, 3, 14), anchor_month=3) == Period(
		D(2025, 9, 15), D(2026, 3, 14)
	)
	assert period_for("Semestrial", 15, D(2026, 12, 1), anchor_month=3) == Period(
		D(2026, 9, 15), D(2027, 3, 14)
	)
	# default anchor: January and July
	assert period_for("Semestrial", 1, D(2026, 5, 5)) == Period(D(2026, 1, 1), D(2026, 6, 30))
	assert period_for("Semestrial", 1, D(2026, 7, 1)) == Period(D(2026, 7, 1), D(2026, 12, 31))
	# day 31 with an August anchor: February 28 (or 29) to August 30, then August 31 on
	assert period_for("Semestrial", 31, D(2026, 3, 1), anchor_month=2) == Period(
		D(2026, 2, 28), D(2026, 8, 30)
	)
	assert period_for("Semestrial", 31, D(2026, 8, 31), anchor_month=2) == Period(
		D(2026, 8, 31), D(2027, 2, 27)
	)


def test_annual_periods():
	assert period_for("Annual", 1, D(2026, 6, 30)) == Period(D(2026, 1, 1), D(2026, 12, 31))
	assert period_for("Annual", 10, D(2026, 11, 9), anchor_month=11) == Period(
		D(2025, 11, 10), D(2026, 11, 9)
	)
	leap = period_for("Annual", 29, D(2024, 3, 1), anchor_month=2)
	assert leap == Period(D(2024, 2, 29), D(2025, 2, 27)) and leap.days == 365
	following = period_for("Annual", 29, D(2025, 2, 28), anchor_month=2)
	assert following == Period(D(2025, 2, 28), D(2026, 2, 27))
	assert period_for("Annual", 29, D(2027, 6, 1), anchor_month=2) == Period(D(2027, 2, 28), D(2028, 2, 28))
	assert period_for("Annual", 29, D(2028, 2, 29), anchor_month=2).days == 365


@pytest.mark.parametrize("cycle", ["Monthly", "Semestrial", "Annual"])
@pytest.mark.parametrize("day", [1, 15, 28, 29, 30, 31])
def test_periods_tile_the_calendar_on_the_billing_day(cycle, day):
	"""Over eight years: no gap, no overlap, every start on the (clamped) billing day."""
	day_one = D(2023, 1, 1)
	period = period_for(cycle, day, day_one, anchor_month=2)
	while period.start < D(2031, 1, 1):
		following = period_for(cycle, day, period.end + timedelta(days=1), anchor_month=2)
		assert following.start == period.end + timedelta(days=1)
		assert following.start == billing_date(following.start.year, following.start.month, day)
		assert next_billing_date(cycle, day, period.start, anchor_month=2) == following.start
		assert period_for(cycle, day, period.end, anchor_month=2) == period
		period = following


def test_next_billing_date_is_strictly_after():
	assert next_billing_date("Monthly", 31, D(2026, 1, 31)) == D(2026, 2, 28)
	assert next_billing_date("Monthly", 31, D(2026, 2, 28)) == D(2026, 3, 31)
	assert next_billing_date("Monthly", 15, D(2026, 1, 14)) == D(2026, 1, 15)
	assert next_billing_date("Annual", 1, D(2026, 1, 1)) == D(2027, 1, 1)
	assert next_billing_date("Semestrial", 31, D(2028, 1, 5), anchor_month=2) == D(2028, 2, 29)


def test_periods_overlapping():
	got = list(periods_overlapping("Monthly", 15, D(2026, 1, 1), D(2026, 3, 1)))
	assert [p.start for p in got] == [D(2025, 12, 15), D(2026, 1, 15), D(2026, 2, 15)]


@pytest.mark.parametrize(
	("args", "kwargs"),
	[
		(("Weekly", 1, D(2026, 1, 1)), {}),
		(("Monthly", 0, D(2026, 1, 1)), {}),
		(("Monthly", 32, D(2026, 1, 1)), {}),
		(("Monthly", True, D(2026, 1, 1)), {}),
		(("Monthly", "1", D(2026, 1, 1)), {}),
		(("Annual", 1, D(2026, 1, 1)), {"anchor_month": 13}),
	],
)
def test_bad_cycle_day_or_anchor(args, kwargs):
	with pytest.raises(InvalidInput):
		period_for(*args, **kwargs)


# -- proration


def test_installation_proration_is_the_chains_rule():
	month = period_for("Monthly", 1, D(2026, 11, 24))
	charge = prorate("39.95", "Monthly", month, D(2026, 11, 24), month.end)
	assert (charge.days, charge.period_days, charge.amount) == (7, 30, Decimal("9.32"))
	assert chain_prorate("39.95", D(2026, 11, 24)) == (7, 30, Decimal("9.32"))
	for start in (D(2026, 2, 28), D(2028, 2, 1), D(2026, 12, 1), D(2026, 4, 17)):
		month = period_for("Monthly", 1, start)
		charge = prorate("10.05", "Monthly", month, start, month.end)
		assert chain_prorate("10.05", start) == (charge.days, charge.period_days, charge.amount)


def test_a_part_of_a_period_never_costs_more_than_the_period():
	period = period_for("Monthly", 15, D(2026, 1, 15))  # 31 days
	charge = prorate("39.95", "Monthly", period, D(2026, 1, 16), period.end)
	assert (charge.days, charge.period_days, charge.amount) == (30, 31, Decimal("38.66"))  # 38.6612...
	assert prorate("39.95", "Monthly", period, period.start, period.end).amount == Decimal("39.95")


def test_whole_semestrial_and_annual_prices():
	semester = period_for("Semestrial", 1, D(2026, 3, 1), anchor_month=3)
	assert prorate("39.95", "Semestrial", semester, semester.start, semester.end).amount == Decimal("239.70")
	year = period_for("Annual", 1, D(2026, 3, 1), anchor_month=3)
	assert prorate(Decimal(500) / 12, "Annual", year, year.start, year.end).amount == Decimal("500.00")
	part = prorate("39.95", "Semestrial", semester, D(2026, 3, 10), semester.end)
	assert (part.days, part.period_days, part.amount) == (175, 184, Decimal("227.98"))  # 227.9755


def test_proration_refuses_days_outside_the_period_and_negative_rates():
	period = period_for("Monthly", 1, D(2026, 11, 1))
	with pytest.raises(InvalidInput):
		prorate("39.95", "Monthly", period, D(2026, 10, 31), period.end)
	with pytest.raises(InvalidInput):
		prorate("-1", "Monthly", period, period.start, period.end)
	with pytest.raises(InvalidInput):
		prorate("abc", "Monthly", period, period.start, period.end)
