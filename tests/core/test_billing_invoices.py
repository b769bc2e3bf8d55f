"""Due periods, line keys, prorations and invoice plans (gigafibre_fsm.core.billing.invoices, .values)."""

from datetime import date
from decimal import Decimal

import pytest

from gigafibre_fsm.core.billing.invoices import due_lines, due_periods, plan_invoices
from gigafibre_fsm.core.billing.periods import Period
from gigafibre_fsm.core.billing.values import (
	CANCELLATION,
	CREDIT,
	PERIOD,
	PLAN_CHANGE,
	PRORATED,
	BillableSubscription,
	Credit,
	PlanChange,
	line_key,
)
from gigafibre_fsm.core.dispatch.chains import ChainSubscription, activation_plan
from gigafibre_fsm.core.errors import InvalidInput

D = date
M = Decimal


INSTALLED = D(2026, 11, 24)  # the day after an installation completed on November 23


def sub(id="SUB-1", rate="39.95", start=INSTALLED, **kw):
	return BillableSubscription(id=id, monthly_rate=rate, start=start, **kw)


def amounts(lines):
	return [(line.key, line.amount) for line in lines]


# -- due periods


def test_a_new_subscription_is_due_from_its_start_in_advance():
	s = sub()
	assert due_periods(s, D(2026, 11, 23)) == ()
	(first,) = due_periods(s, D(2026, 11, 24))
	assert (first.start, first.end, first.due, first.whole) == (
		D(2026, 11, 24),
		D(2026, 11, 30),
		D(2026, 11, 24),
		False,
	)
	assert first.period == Period(D(2026, 11, 1), D(2026, 11, 30))
	got = due_periods(s, D(2027, 1, 1))
	assert [(p.start, p.end) for p in got] == [
		(D(2026, 11, 24), D(2026, 11, 30)),
		(D(2026, 12, 1), D(2026, 12, 31)),
		(D(2027, 1, 1), D(2027, 1, 31)),
	]
	assert [p.whole for p in got] == [False, True, True]


def test_due_periods_resume_after_the_last_billed_day():
	s = sub(billed_until=D(2026, 12, 31))
	assert due_periods(s, D(2026, 12, 31)) == ()
	assert [(p.start, p.end) for p in due_periods(s, D(2027, 2, 1))] == [
		(D(2027, 1, 1), D(2027, 1, 31)),
		(D(2027, 2, 1), D(2027, 2, 28)),
	]


def test_pending_subscriptions_are_not_billed():
	assert due_periods(sub(status="En attente", start=None), D(2027, 1, 1)) == ()
	assert due_lines(sub(status="En attente"), D(2027, 1, 1)) == ()


def test_a_billing_day_31_subscription_in_february():
	s = sub(start=D(2026, 1, 31), billing_day=31)
	assert [(p.start, p.end) for p in due_periods(s, D(2026, 3, 31))] == [
		(D(2026, 1, 31), D(2026, 2, 27)),
		(D(2026, 2, 28), D(2026, 3, 30)),
		(D(2026, 3, 31), D(2026, 4, 29)),
	]
	assert all(line.amount == M("39.95") and line.kind == PERIOD for line in due_lines(s, D(2026, 3, 31)))


# -- start: the installation chain's invoice and the regular billing agree


def test_the_first_line_is_the_installation_chains_line():
	"""Completed November 23 → the chain bills November 24..30 (9.32); so does the billing, same key."""
	_activations, invoice = activation_plan(
		D(2026, 11, 23), [ChainSubscription("SUB-1", "39.95")], invoice_issued=False
	)
	(chain_line,) = invoice.lines
	(line,) = due_lines(sub(), D(2026, 11, 30))
	assert line.key == line_key(chain_line.subscription, chain_line.period_start, chain_line.period_end)
	assert line.key == "SUB-1:20261124:20261130"
	assert (line.amount, line.days, line.period_days, line.kind) == (chain_line.amount, 7, 30, PRORATED)
	assert line.description.template == "{0}, {1} to {2} (prorated: {3} of {4} days)"
	assert line.description.text == "SUB-1, 2026-11-24 to 2026-11-30 (prorated: 7 of 30 days)"


def test_a_mid_month_billing_day_after_the_chain_invoice():
	"""Billing day 15: the chain billed to November 30, December 1..14 is 14 of 30 days."""
	s = sub(billing_day=15, billed_until=D(2026, 11, 30), label="Fibre 500")
	assert amounts(due_lines(s, D(2026, 12, 1))) == [("SUB-1:20261201:20261214", M("18.64"))]  # 18.6433
	lines = due_lines(s, D(2026, 12, 15))
	assert amounts(lines)[1] == ("SUB-1:20261215:20270114", M("39.95"))
	assert lines[1].description.text == "Fibre 500, 2026-12-15 to 2027-01-14"


def test_semestrial_and_annual_subscriptions():
	semester = sub(start=D(2026, 3, 10), cycle="Semestrial")  # anchor: March
	assert amounts(due_lines(semester, D(2026, 3, 10))) == [("SUB-1:20260310:20260831", M("227.98"))]
	assert amounts(due_lines(semester, D(2026, 9, 1)))[1] == ("SUB-1:20260901:20270228", M("239.70"))
	annual = sub(start=D(2026, 1, 31), billing_day=31, cycle="Annual")
	assert amounts(due_lines(annual, D(2027, 1, 31))) == [
		("SUB-1:20260131:20270130", M("479.40")),
		("SUB-1:20270131:20280130", M("479.40")),
	]
	yearly_price = sub(rate=M(500) / 12, start=D(2026, 1, 1), cycle="Annual")
	assert due_lines(yearly_price, D(2026, 1, 1))[0].amount == M("500.00")


# -- cancellation


def test_cancelled_before_the_period_is_billed_bills_to_the_last_day():
	s = sub(status="Annulé", billed_until=D(2026, 11, 30), end=D(2026, 12, 10))
	assert amounts(due_lines(s, D(2027, 3, 1))) == [("SUB-1:20261201:20261210", M("12.89"))]  # 10/31


def test_cancelled_after_the_period_was_billed_credits_the_rest():
	s = sub(status="Annulé", billed_until=D(2026, 12, 31), end=D(2026, 12, 10))
	assert due_lines(s, D(2026, 12, 10)) == ()  # due the day after the last day of service
	(credit,) = due_lines(s, D(2026, 12, 11))
	assert (credit.key, credit.amount, credit.kind) == (
		"SUB-1:20261211:20261231:cancel",
		M("-27.06"),
		CANCELLATION,
	)
	assert credit.due == D(2026, 12, 11)
	assert (
		credit.description.text
		== "Credit: SUB-1 cancelled after 2026-12-10, 2026-12-11 to 2026-12-31 (21 of 31 days)"
	)
	assert due_lines(s, D(2027, 6, 1)) == (credit,)  # nothing more is billed


def test_a_semestrial_cancellation_credits_each_billed_period():
	s = sub(
		start=D(2026, 1, 1),
		cycle="Semestrial",
		status="Annulé",
		billed_until=D(2026, 12, 31),
		end=D(2026, 5, 31),
	)
	assert amounts(due_lines(s, D(2026, 6, 1))) == [
		("SUB-1:20260601:20260630:cancel", M("-39.73")),  # 239.70 × 30/181 = 39.7293
		("SUB-1:20260701:20261231:cancel", M("-239.70")),
	]


# -- plan changes


def test_a_change_known_before_billing_splits_the_period():
	change = PlanChange(
		D(2026, 12, 10), "59.95", item="FIBRE-1G", label="Fibre 1G", billed_until=D(2026, 11, 30)
	)
	s = sub(billed_until=D(2026, 11, 30), item="FIBRE-500", label="Fibre 500", changes=(change,))
	lines = due_lines(s, D(2026, 12, 1))
	assert amounts(lines) == [
		("SUB-1:20261201:20261209", M("11.60")),  # 39.95 × 9/31 = 11.598
		("SUB-1:20261210:20261231", M("42.55")),  # 59.95 × 22/31 = 42.545
	]
	assert [line.item for line in lines] == ["FIBRE-500", "FIBRE-1G"]
	assert lines[1].description.text == "Fibre 1G, 2026-12-10 to 2026-12-31 (prorated: 22 of 31 days)"
	assert amounts(due_lines(s, D(2027, 1, 1)))[2] == ("SUB-1:20270101:20270131", M("59.95"))


def test_a_change_on_days_already_billed_is_settled_by_the_difference():
	change = PlanChange(D(2026, 12, 10), "59.95", label="Fibre 1G", billed_until=D(2026, 12, 31))
	s = sub(billed_until=D(2026, 12, 31), label="Fibre 500", changes=(change,))
	assert due_lines(s, D(2026, 12, 9)) == ()
	(line,) = due_lines(s, D(2026, 12, 10))
	# 59.95 × 22/31 = 42.55 minus 39.95 × 22/31 = 28.35: the split above gives the same December
	assert (line.key, line.amount, line.kind) == (
		"SUB-1:20261210:20261231:change-20261210",
		M("14.20"),
		PLAN_CHANGE,
	)
	assert M("39.95") + line.amount == M("11.60") + M("42.55")
	assert (
		line.description.text
		== "Plan change from Fibre 500 to Fibre 1G, 2026-12-10 to 2026-12-31 (22 of 31 days)"
	)
	assert dict(amounts(due_lines(s, D(2027, 1, 1))))["SUB-1:20270101:20270131"] == M("59.95")


def test_a_downgrade_is_a_negative_difference():
	change = PlanChange(D(2026, 12, 17), "29.95", billed_until=D(2026, 12, 31))
	s = sub(billed_until=D(2026, 12, 31), changes=(change,))
	(line,) = due_lines(s, D(2026, 12, 17))
	assert line.amount == M("14.49") - M("19.33")  # 29.95 × 15/31 = 14.4919, 39.95 × 15/31 = 19.3306


def test_a_change_then_a_cancellation_on_billed_days():
	change = PlanChange(D(2026, 12, 10), "59.95", billed_until=D(2026, 12, 31))
	s = sub(status="Annulé", billed_until=D(2026, 12, 31), end=D(2026, 12, 20), changes=(change,))
	lines = due_lines(s, D(2026, 12, 21))
	assert amounts(lines) == [
		("SUB-1:20261210:20261231:change-20261210", M("14.20")),
		("SUB-1:20261221:20261231:cancel", M("-21.27")),  # 11 days at the new price
	]
	# December as billed: within a cent of 9 days at 39.95 and 11 at 59.95 (11.60 + 21.27)
	assert abs(M("39.95") + sum(line.amount for line in lines) - (M("11.60") + M("21.27"))) <= M("0.01")


@pytest.mark.parametrize(
	"bad",
	[
		dict(status="Actif", start=None),
		dict(status="Suspendu"),
		dict(status="Annulé"),
		dict(cycle="Weekly"),
		dict(billing_day=0),
		dict(rate="-1"),
		dict(anchor_month=0),
		dict(changes=(PlanChange(D(2026, 11, 24), "1"),)),
		dict(changes=(PlanChange(D(2026, 12, 1), "1"), PlanChange(D(2026, 12, 1), "2"))),
	],
)
def test_bad_subscriptions_are_refused(bad):
	with pytest.raises(InvalidInput):
		sub(**bad)


# -- plans


def two_locations():
	return {
		"CUST-1": [
			sub("SUB-2", "59.95", D(2026, 11, 1), service_location="LOC-00002", billed_until=D(2026, 11, 30)),
			sub("SUB-1", "39.95", D(2026, 11, 1), service_location="LOC-00001", billed_until=D(2026, 11, 30)),
		],
		"CUST-2": [sub("SUB-3", "39.95", D(2026, 11, 1), billed_until=D(2026, 11, 30))],
	}


def test_one_plan_per_customer_and_date_grouped_by_location():
	plans = plan_invoices(two_locations(), D(2026, 12, 1))
	assert [(p.customer, p.posting_date) for p in plans] == [
		("CUST-1", D(2026, 12, 1)),
		("CUST-2", D(2026, 12, 1)),
	]
	first = plans[0]
	assert [g.service_location for g in first.groups] == ["LOC-00001", "LOC-00002"]
	assert first.keys == ("SUB-1:20261201:20261231", "SUB-2:20261201:20261231")
	# 39.95 + 59.95: TPS 1.9975 + 2.9975 = 4.995 → 5.00, TVQ 3.9850125 + 5.9800125 = 9.965025 → 9.97
	assert (first.net_total, first.taxes.amount("TPS"), first.taxes.amount("TVQ")) == (
		M("99.90"),
		M("5.00"),
		M("9.97"),
	)
	assert (first.total_taxes, first.grand_total, first.currency) == (M("14.97"), M("114.87"), "CAD")
	assert [line.taxes for line in first.taxes.lines] == [(M("2.00"), M("3.99")), (M("3.00"), M("5.98"))]
	assert first.as_dict()["grand_total"] == "114.87"


def test_a_late_run_makes_one_plan_per_due_date():
	plans = plan_invoices({"CUST-1": [sub()]}, D(2027, 1, 5))
	assert [(p.posting_date, p.net_total) for p in plans] == [
		(D(2026, 11, 24), M("9.32")),
		(D(2026, 12, 1), M("39.95")),
		(D(2027, 1, 1), M("39.95")),
	]


def test_each_key_exactly_once_across_two_plans():
	state = two_locations()
	first = plan_invoices(state, D(2026, 12, 1))
	# a second worker (or a retried job) with the same state plans the same keys and amounts ...
	again = plan_invoices(state, D(2026, 12, 1))
	assert again == first
	# ... and a later run whose state was not updated yet plans them again, identically, beside
	# the new ones: a unique index on the key keeps one of each
	later = plan_invoices(state, D(2027, 1, 1))
	first_lines = {line.key: line.amount for p in first for line in p.lines}
	later_lines = {line.key: line.amount for p in later for line in p.lines}
	assert first_lines.items() <= later_lines.items()
	# told what was issued, the later run plans only the rest: every key once over the two
	rest = plan_invoices(state, D(2027, 1, 1), issued=first_lines)
	rest_keys = [line.key for p in rest for line in p.lines]
	assert set(rest_keys).isdisjoint(first_lines)
	assert sorted([*first_lines, *rest_keys]) == sorted(later_lines)
	assert len(set(rest_keys)) == len(rest_keys)


def test_a_subscription_listed_twice_is_refused():
	with pytest.raises(InvalidInput):
		plan_invoices({"A": [sub()], "B": [sub()]}, D(2026, 12, 1))


def test_the_referral_credit_is_used_once_never_beyond_the_invoice():
	subs = {"CUST-1": [sub(billed_until=D(2026, 11, 30))]}
	credit = Credit("REF-1", "CUST-1", "50")
	(december,) = plan_invoices(subs, D(2026, 12, 1), [credit])
	(line,) = december.credit_lines
	assert (line.key, line.amount, line.kind) == ("credit:REF-1:0", M("-39.95"), CREDIT)
	assert line.description.template == "Referral credit"
	assert (december.net_total, december.grand_total) == (M("0.00"), M("0.00"))
	(use,) = december.credits
	assert (use.amount, use.remaining) == (M("39.95"), M("10.05"))
	# next month, with what was used recorded: the rest, under its own key
	state = {"CUST-1": [sub(billed_until=D(2026, 12, 31))]}
	(january,) = plan_invoices(state, D(2027, 1, 1), [Credit("REF-1", "CUST-1", "50", applied="39.95")])
	assert amounts(january.credit_lines) == [("credit:REF-1:3995", M("-10.05"))]
	# 39.95 - 10.05 = 29.90: TPS 1.495 → 1.50 (half to even), TVQ 2.982525 → 2.98
	assert (january.net_total, january.taxes.amount("TPS"), january.taxes.amount("TVQ")) == (
		M("29.90"),
		M("1.50"),
		M("2.98"),
	)
	# used up: nothing more
	(february,) = plan_invoices(
		{"CUST-1": [sub(billed_until=D(2027, 1, 31))]},
		D(2027, 2, 1),
		[Credit("REF-1", "CUST-1", "50", applied="50")],
	)
	assert february.credit_lines == ()
	# a credit whose key was already issued means stale state: left alone
	(stale,) = plan_invoices(subs, D(2026, 12, 1), [credit], issued={"credit:REF-1:0"})
	assert stale.credit_lines == ()


def test_a_credit_smaller_than_the_invoice_and_taxes_on_the_net():
	subs = {"CUST-1": two_locations()["CUST-1"]}
	(plan,) = plan_invoices(
		subs, D(2026, 12, 1), [Credit("REF-9", "CUST-1", "50"), Credit("REF-8", "CUST-2", "50")]
	)
	assert amounts(plan.credit_lines) == [("credit:REF-9:0", M("-50.00"))]
	# 99.90 - 50 = 49.90: TPS 4.995 - 2.5 = 2.495 → 2.50 (to even), TVQ 9.965025 - 4.9875 = 4.977525 → 4.98
	assert (plan.net_total, plan.taxes.amount("TPS"), plan.taxes.amount("TVQ"), plan.grand_total) == (
		M("49.90"),
		M("2.50"),
		M("4.98"),
		M("57.38"),
	)


def test_credits_wait_for_their_date_and_spread_over_a_late_run():
	subs = {"CUST-1": [sub()]}
	plans = plan_invoices(
		subs, D(2026, 12, 1), [Credit("REF-1", "CUST-1", "50", available_from=D(2026, 11, 25))]
	)
	assert [amounts(p.credit_lines) for p in plans] == [[], [("credit:REF-1:0", M("-39.95"))]]
	plans = plan_invoices(subs, D(2026, 12, 1), [Credit("REF-1", "CUST-1", "50")])
	assert [amounts(p.credit_lines) for p in plans] == [
		[("credit:REF-1:0", M("-9.32"))],
		[("credit:REF-1:932", M("-39.95"))],
	]


def test_a_cancellation_credit_alone_is_a_credit_note_and_takes_no_referral_credit():
	s = sub(status="Annulé", billed_until=D(2026, 12, 31), end=D(2026, 12, 10))
	(plan,) = plan_invoices({"CUST-1": [s]}, D(2026, 12, 11), [Credit("REF-1", "CUST-1", "50")])
	assert plan.is_credit_note and plan.credit_lines == ()
	assert (plan.net_total, plan.grand_total) == (
		M("-27.06"),
		M("-31.11"),
	)  # TPS -1.353 → -1.35, TVQ -2.699... → -2.70


@pytest.mark.parametrize(
	"bad", [dict(amount="0"), dict(amount="50", applied="60"), dict(amount="50", applied="-1")]
)
def test_bad_credits(bad):
	with pytest.raises(InvalidInput):
		Credit("REF-1", "CUST-1", **bad)
