"""Termination fees (Consumer Protection Act s. 214.7, Regulation s. 79.10) and contract progress."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gigafibre_fsm.core.contracts import (
	Benefit,
	add_months,
	contract_progress,
	months_elapsed,
	prorate_down,
)
from gigafibre_fsm.core.errors import InvalidInput
from gigafibre_fsm.core.termination import (
	RULE_CONTRACT_CLAUSE,
	RULE_DEVICE_REBATE,
	RULE_NO_FIXED_TERM,
	RULE_SERVICES_NOT_SUPPLIED,
	RULE_TERM_ENDED,
	CommercialClause,
	device_rebates_of,
	termination_fee,
)

START = date(2026, 1, 1)


def month(n: int, start: date = START, day_offset: int = 10) -> date:
	"""A date inside contract month ``n`` (1-based)."""
	return date.fromordinal(add_months(start, n - 1).toordinal() + day_offset)


def fee(**kwargs):
	kwargs.setdefault("start", START)
	kwargs.setdefault("monthly_price", 30)
	return termination_fee(**kwargs)


# -- months elapsed


def test_month_in_progress_counts_as_elapsed():
	assert months_elapsed(START, START) == 1
	assert months_elapsed(START, date(2026, 1, 31)) == 1
	assert months_elapsed(START, date(2026, 2, 1)) == 2
	assert months_elapsed(START, date(2027, 12, 31)) == 24
	assert months_elapsed(START, date(2028, 1, 1)) == 25  # not capped: the callers cap


def test_months_follow_clamped_anniversaries():
	start = date(2026, 1, 31)
	assert months_elapsed(start, date(2026, 2, 27)) == 1
	assert months_elapsed(start, date(2026, 2, 28)) == 2  # add_months clamps Jan 31 + 1 to Feb 28
	assert months_elapsed(start, date(2026, 3, 30)) == 2
	assert months_elapsed(start, date(2026, 3, 31)) == 3


def test_months_elapsed_refuses_a_date_before_the_start():
	with pytest.raises(InvalidInput):
		months_elapsed(START, date(2025, 12, 31))


def test_prorate_rounds_down_to_the_cent():
	assert prorate_down(100, 2, 3) == Decimal("66.66")
	assert prorate_down(300, 2, 24) == Decimal("25.00")
	with pytest.raises(InvalidInput):
		prorate_down(100, 1, 0)


# -- the Office's two examples, exactly


def test_device_rebate_example_24_months_300_modem_month_22():
	result = fee(term_months=24, on=month(22), monthly_price=60, device_rebates=[300])
	assert result.fee == Decimal("25.00")
	assert result.rule == RULE_DEVICE_REBATE
	assert (result.months_elapsed, result.months_left) == (22, 2)
	assert "300.00 $ - 300.00 $ × 22 ÷ 24 = 25.00 $" in result.text
	assert "79.10" in result.text


def test_no_rebate_example_12_months_at_30_month_7():
	result = fee(term_months=12, on=month(7), monthly_price=30)
	assert result.fee == Decimal("15.00")
	assert result.rule == RULE_SERVICES_NOT_SUPPLIED
	assert (result.months_elapsed, result.months_left) == (7, 5)
	assert "5 month(s) × 30.00 $ = 150.00 $" in result.text


def test_the_whole_month_in_progress_is_elapsed():
	# first and last day of month 22 give the same fee
	first, last = add_months(START, 21), date.fromordinal(add_months(START, 22).toordinal() - 1)
	for day in (first, last):
		assert fee(term_months=24, on=day, device_rebates=[300]).fee == Decimal("25.00")


# -- edges


def test_termination_on_the_start_date_is_month_one():
	with_rebate = fee(term_months=24, on=START, device_rebates=[300])
	assert (with_rebate.months_elapsed, with_rebate.months_left) == (1, 23)
	assert with_rebate.fee == Decimal("287.50")  # 300 - 300 × 1/24
	without = fee(term_months=12, on=START, monthly_price=30)
	assert without.fee == Decimal("33.00")  # 10 % × 11 × 30 $


def test_fifty_dollars_caps_the_no_rebate_fee():
	result = fee(term_months=24, on=month(1), monthly_price=80)
	assert result.fee == Decimal("50.00")  # 10 % of 23 × 80 $ = 184 $ > 50 $
	assert "the lesser of 50.00 $ and 10 % of 1840.00 $ (184.00 $) = 50.00 $" in result.text


def test_last_month_costs_nothing():
	assert fee(term_months=24, on=month(24), device_rebates=[300]).fee == Decimal("0.00")
	last = fee(term_months=12, on=month(12), monthly_price=30)
	assert last.fee == Decimal("0.00") and last.months_left == 0 and last.rule == RULE_SERVICES_NOT_SUPPLIED


def test_after_the_end_there_is_no_fee():
	for on in (date(2028, 1, 1), date(2031, 6, 1)):
		result = fee(term_months=24, on=on, device_rebates=[300])
		assert result.fee == Decimal("0.00")
		assert result.rule == RULE_TERM_ENDED
		assert (result.months_elapsed, result.months_left) == (24, 0)
		assert "ended on 2027-12-31" in result.text


def test_before_the_start_is_refused():
	with pytest.raises(InvalidInput) as err:
		fee(term_months=24, on=date(2025, 12, 31))
	assert err.value.template.startswith("The termination date")
	assert err.value.params == ("2025-12-31", "2026-01-01")


def test_several_device_rebates_add_up():
	result = fee(term_months=24, on=month(12), device_rebates=["150", Decimal("90"), 60])
	assert result.fee == Decimal("150.00")  # 300 - 300 × 12/24


def test_fees_are_rounded_down_to_stay_under_the_cap():
	# 100 $ over 36 months, month 1: 100 × 35/36 = 97.2222...
	assert fee(term_months=36, on=START, device_rebates=[100]).fee == Decimal("97.22")
	# 10 % of 7 × 29.95 $ = 20.965 $
	assert fee(term_months=12, on=month(5), monthly_price="29.95").fee == Decimal("20.96")


def test_service_price_rebates_do_not_raise_the_cap():
	modem = Benefit("Modem XX230v", regular_price=300, granted_price=0, kind="Device")
	promo = Benefit("Fibre 1 Gb/s promo", regular_price=80, granted_price=30)
	both = fee(
		term_months=24, on=month(22), monthly_price=30, device_rebates=device_rebates_of([modem, promo])
	)
	assert both.fee == Decimal("25.00") and both.rule == RULE_DEVICE_REBATE
	# a service rebate alone: still the 50 $ / 10 % rule, on the price actually paid
	only_promo = fee(term_months=12, on=month(7), monthly_price=30, device_rebates=device_rebates_of([promo]))
	assert only_promo.fee == Decimal("15.00") and only_promo.rule == RULE_SERVICES_NOT_SUPPLIED


def test_a_discounted_device_counts_its_rebate_only():
	router = Benefit("Deco XE75", regular_price="249.99", granted_price="49.99", kind="Device")
	assert device_rebates_of([router]) == [Decimal("200.00")]
	assert fee(term_months=24, on=month(12), device_rebates=device_rebates_of([router])).fee == Decimal(
		"100.00"
	)


def test_no_fixed_term_has_no_fee():
	result = fee(term_months=None, on=month(3), device_rebates=[300])
	assert result.fee == Decimal("0.00") and result.rule == RULE_NO_FIXED_TERM
	assert result.months_elapsed == 3 and result.months_left == 0


def test_bad_values_are_refused():
	with pytest.raises(InvalidInput):
		fee(term_months=12, on=month(2), monthly_price=-1)
	with pytest.raises(InvalidInput):
		fee(term_months=12, on=month(2), device_rebates=[-5])
	with pytest.raises(InvalidInput):
		fee(term_months=12, on=month(2), contract_type="Consumer")
	with pytest.raises(InvalidInput):
		fee(term_months=-12, on=month(2))


# -- commercial clause


def test_commercial_contract_needs_its_clause():
	with pytest.raises(InvalidInput):
		fee(term_months=36, on=month(2), contract_type="Commercial")


def test_commercial_fixed_fee():
	result = fee(
		term_months=36, on=month(30), contract_type="Commercial", clause=CommercialClause(fixed_fee=500)
	)
	assert result.fee == Decimal("500.00") and result.rule == RULE_CONTRACT_CLAUSE
	assert result.months_left == 6


def test_commercial_percentage_of_remaining_months():
	clause = CommercialClause(percent_of_remaining=50)
	result = fee(
		term_months=36, on=month(12), monthly_price="149.95", contract_type="Commercial", clause=clause
	)
	# 50 % × 24 × 149.95 $ = 1799.40 $ (no 50 $ cap: the Act does not apply)
	assert result.fee == Decimal("1799.40")
	assert "50 % of the 24 month(s) left at 149.95 $: 1799.40 $" in result.text


def test_commercial_clause_can_add_the_device_residual():
	clause = CommercialClause(fixed_fee=100, percent_of_remaining=10, repay_device_residual=True)
	result = fee(
		term_months=12,
		on=month(7),
		monthly_price=30,
		contract_type="Commercial",
		clause=clause,
		device_rebates=[240],
	)
	# 100 + 10 % × 5 × 30 (15) + 240 × 5/12 (100)
	assert result.fee == Decimal("215.00")


def test_commercial_after_the_end_is_free_too():
	clause = CommercialClause(fixed_fee=500)
	assert fee(term_months=12, on=date(2027, 1, 1), contract_type="Commercial", clause=clause).fee == 0


def test_clause_values_are_checked():
	with pytest.raises(InvalidInput):
		CommercialClause(fixed_fee=-1)
	with pytest.raises(InvalidInput):
		CommercialClause(percent_of_remaining=101)


def test_a_consumer_clause_applies_only_below_the_legal_maximum():
	low = fee(term_months=24, on=month(22), device_rebates=[300], clause=CommercialClause(fixed_fee=10))
	assert low.fee == Decimal("10.00") and low.rule == RULE_CONTRACT_CLAUSE
	high = fee(term_months=24, on=month(22), device_rebates=[300], clause=CommercialClause(fixed_fee=200))
	assert high.fee == Decimal("25.00") and high.rule == RULE_DEVICE_REBATE
	assert "the legal maximum of 25.00 $ applies" in high.text


def test_breakdown_is_translatable():
	result = fee(term_months=12, on=month(7))
	data = result.as_dict()
	assert data["fee"] == "15.00" and data["rule"] == RULE_SERVICES_NOT_SUPPLIED
	first = data["breakdown"][0]
	assert first["template"] == "Month {0} of {1} in progress (counted as elapsed): {2} month(s) left"
	assert first["params"] == [7, 12, 5]
	assert all(line["template"].format(*line["params"]) == line["text"] for line in data["breakdown"])


# -- contract progress (the contract view)


def test_progress_recognises_benefits_straight_line():
	modem = Benefit("Modem", 300, 0, kind="Device")
	promo = Benefit("Promo", 50, 30)
	progress = contract_progress(START, 24, month(22), [modem, promo])
	assert (progress.months_elapsed, progress.months_left) == (22, 2)
	assert progress.end == date(2027, 12, 31)
	device, service = progress.benefits
	assert (device.value, device.recognised, device.residual) == (Decimal(300), Decimal(275), Decimal(25))
	assert device.per_month is None
	assert service.per_month == Decimal("20.00")
	assert (service.value, service.recognised, service.residual) == (Decimal(480), Decimal(440), Decimal(40))
	assert (progress.value, progress.recognised, progress.residual) == (
		Decimal(780),
		Decimal(715),
		Decimal(65),
	)


def test_device_residual_equals_the_consumer_cap():
	modem = Benefit("Modem", "279.99", 0, kind="Device")
	for n in (1, 5, 17, 36):
		on = month(n)
		residual = contract_progress(START, 36, on, [modem]).benefits[0].residual
		assert residual == fee(term_months=36, on=on, device_rebates=[modem.value(36)]).fee


def test_progress_before_start_and_after_end():
	modem = Benefit("Modem", 300, 0, kind="Device")
	before = contract_progress(START, 24, date(2025, 12, 20), [modem])
	assert before.months_elapsed == 0 and before.residual == Decimal(300) and before.recognised == 0
	after = contract_progress(START, 24, date(2029, 1, 1), [modem])
	assert (after.months_elapsed, after.months_left) == (24, 0)
	assert after.residual == 0 and after.recognised == Decimal(300)
	assert after.as_dict()["benefits"][0]["recognised"] == "300.00"


def test_progress_refuses_bad_benefits_and_terms():
	with pytest.raises(InvalidInput):
		Benefit("Promo", 30, 50)  # granted above regular
	with pytest.raises(InvalidInput):
		Benefit("Promo", 50, 30, kind="Gift")
	with pytest.raises(InvalidInput):
		contract_progress(START, 0, START)


def test_a_waived_fee_is_one_time_and_no_device_rebate():
	install = Benefit("Installation", 99, 0, kind="Fee")
	modem = Benefit("Modem", 300, 0, kind="Device")
	assert not install.recurring and install.value(24) == Decimal("99.00")
	assert device_rebates_of([install, modem]) == [Decimal("300.00")]
	progress = contract_progress(START, 24, month(22), [install])
	(line,) = progress.benefits
	assert (line.per_month, line.value, line.residual) == (None, Decimal("99.00"), Decimal("8.25"))
	# the fee waived alone: still the 50 $ / 10 % rule
	alone = fee(term_months=12, on=month(7), monthly_price=30, device_rebates=device_rebates_of([install]))
	assert alone.fee == Decimal("15.00") and alone.rule == RULE_SERVICES_NOT_SUPPLIED
