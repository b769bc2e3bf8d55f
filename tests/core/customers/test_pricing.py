from datetime import date, datetime
from decimal import Decimal

import pytest

from gigafibre_fsm.core.customers.pricing import (
	Plan,
	Promotion,
	best_promotion,
	connection_type,
	earliest_install_date,
	plan_offers,
)
from gigafibre_fsm.core.errors import InvalidInput
from tests.core.customers.factory import BLACK_FRIDAY, EST_TEN_OFF, PLANS, PROMOTIONS

THU = date(2026, 11, 26)


def prices(offers):
	return {
		o.item_code: (str(o.regular_price), str(o.price), o.promotion.code if o.promotion else None)
		for o in offers
	}


@pytest.mark.parametrize(
	("today", "uses", "active"),
	[
		(date(2026, 11, 26), 0, False),  # the day before the start
		(date(2026, 11, 27), 0, True),  # the first day
		(date(2026, 12, 1), 0, True),  # the last day
		(date(2026, 12, 2), 0, False),  # the day after the end
		(date(2026, 11, 28), 99, True),  # one use left
		(date(2026, 11, 28), 100, False),  # limit reached
		(date(2026, 11, 28), 250, False),
	],
)
def test_a_promotion_is_active_between_its_dates_and_under_its_limit(today, uses, active):
	assert BLACK_FRIDAY.is_active(today, uses) is active
	offers = plan_offers(
		PLANS, None, zone="Z1", connection="FTTH", promotions=PROMOTIONS, today=today, uses={"BF2026": uses}
	)
	fib500 = prices(offers)["FIB-500"]
	assert fib500 == (("69.95", "39.95", "BF2026") if active else ("69.95", "69.95", None))


def test_a_promotion_without_a_limit_never_runs_out():
	assert EST_TEN_OFF.is_active(date(2026, 6, 1), uses=10**6)


def test_zone_prices_and_connection_types_choose_the_plans():
	z1 = {"FIB-100": Decimal("44.95"), "FIB-500": None, "FIB-1000": None}
	offers = plan_offers(PLANS, z1, zone="Z1", connection="FTTH", today=THU)
	assert prices(offers) == {
		"FIB-100": ("44.95", "44.95", None),
		"FIB-500": ("69.95", "69.95", None),
		"FIB-1000": ("89.95", "89.95", None),
	}
	# the whole catalogue, but only what DSL can carry
	assert [o.item_code for o in plan_offers(PLANS, None, zone="Z9", connection="DSL", today=THU)] == [
		"FIB-100",
		"FIB-500",
		"DSL-25",
	]
	assert plan_offers(PLANS, {"FIB-1000": None}, zone="Z5", connection="DSL", today=THU) == []


def test_discount_in_one_zone_and_the_lowest_promotional_price_wins():
	on = date(2026, 11, 28)
	offers = prices(plan_offers(PLANS, None, zone="Z2", connection="FTTH", promotions=PROMOTIONS, today=on))
	assert offers["FIB-100"] == ("49.95", "39.95", "EST10")
	assert offers["FIB-500"] == ("69.95", "39.95", "BF2026")  # 39.95 beats 69.95 - 10
	# the zone discount is for Z2 only
	assert prices(plan_offers(PLANS, None, zone="Z1", connection="FTTH", promotions=PROMOTIONS, today=on))[
		"FIB-100"
	] == ("49.95", "49.95", None)


def test_a_discount_never_goes_below_zero_and_a_promo_price_never_raises_the_price():
	big = Promotion("BIG", THU, THU, discount="100")
	assert big.apply(Decimal("49.95")) == Decimal("0.00")
	high = Promotion("HIGH", THU, THU, price="99")
	assert high.apply(Decimal("49.95")) == Decimal("49.95")


def test_promotion_ties_break_on_the_earliest_end_then_the_code():
	a = Promotion("B", THU, date(2026, 12, 31), price="30")
	b = Promotion("A", THU, date(2026, 12, 31), price="30")
	c = Promotion("C", THU, date(2026, 12, 15), price="30")
	assert best_promotion([a, b, c], "FIB-100", "Z1", Decimal("49.95"), today=THU) is c
	assert best_promotion([a, b], "FIB-100", "Z1", Decimal("49.95"), today=THU) is b


def test_bad_promotions_and_plans_are_refused():
	with pytest.raises(InvalidInput, match="ends before it starts"):
		Promotion("X", date(2026, 2, 1), date(2026, 1, 1), price="10")
	with pytest.raises(InvalidInput, match="either a price or a discount"):
		Promotion("X", THU, THU)
	with pytest.raises(InvalidInput, match="either a price or a discount"):
		Promotion("X", THU, THU, price="10", discount="5")
	with pytest.raises(InvalidInput, match="cannot be negative"):
		Promotion("X", THU, THU, limit=-1, price="10")
	with pytest.raises(InvalidInput, match="not an amount"):
		Plan("P", "P", "-1", 1, 1)
	with pytest.raises(InvalidInput, match="not an amount"):
		Plan("P", "P", "abc", 1, 1)
	with pytest.raises(InvalidInput, match="Unknown connection type"):
		Plan("P", "P", "10", 1, 1, frozenset({"Fibre"}))


def test_connection_types_are_canonical():
	assert [connection_type(v) for v in ("ftth", "FTTB", " cable ", "Dsl")] == [
		"FTTH",
		"FTTB",
		"Cable",
		"DSL",
	]


def test_earliest_install_date_lead_days_and_weekends():
	assert earliest_install_date(THU, "Z1") == THU
	assert earliest_install_date(THU, "Z1", lead_days=1) == date(2026, 11, 27)  # Friday
	assert earliest_install_date(THU, "Z1", lead_days=2) == date(2026, 11, 30)  # Saturday → Monday
	assert earliest_install_date(THU, "Z1", lead_days=3) == date(2026, 11, 30)  # Sunday → Monday
	with pytest.raises(InvalidInput):
		earliest_install_date(THU, "Z1", lead_days=-1)


def test_earliest_install_date_follows_dispatch_capacity():
	later, earlier = date(2026, 12, 3), date(2026, 11, 20)
	assert earliest_install_date(THU, "Z1", lead_days=2, capacity=later) == later
	assert earliest_install_date(THU, "Z1", lead_days=2, capacity=earlier) == date(2026, 11, 30)
	per_zone = {"Z1": later}
	assert earliest_install_date(THU, "Z1", capacity=per_zone) == later
	assert earliest_install_date(THU, "Z2", capacity=per_zone) == THU  # no word from dispatch: no constraint
	assert earliest_install_date(THU, "Z2", capacity=lambda zone: date(2026, 12, 10)) == date(2026, 12, 10)
	assert earliest_install_date(THU, "Z1", capacity=datetime(2026, 12, 4, 8, 0)) == date(2026, 12, 4)
