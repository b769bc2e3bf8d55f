"""Autopay decisions (gigafibre_fsm.core.billing.autopay)."""

from datetime import datetime, timedelta

import pytest

from gigafibre_fsm.core.billing.autopay import (
	Attempt,
	AutopayInvoice,
	PaymentMethod,
	decide_autopay,
	to_cents,
)
from gigafibre_fsm.core.errors import InvalidInput

NOW = datetime(2026, 12, 2, 9, 0)
CARD = PaymentMethod("pm_visa", "cus_1", exp_year=2028, exp_month=4)


def invoice(**kw):
	values = dict(name="ACC-SINV-2026-00001", customer="CUST-1", outstanding="45.94")
	values.update(kw)
	return AutopayInvoice(**values)


def failed(number, days_ago, decline_code="insufficient_funds", method="pm_visa", code="card_declined"):
	return Attempt(number, "failed", NOW - timedelta(days=days_ago), method, code, decline_code)


def test_charges_the_outstanding_amount_with_a_key_per_invoice_and_attempt():
	decision = decide_autopay(invoice(), CARD, [], now=NOW)
	assert decision.charge and decision.action == "charge"
	assert (decision.attempt, decision.amount_cents, decision.currency) == (1, 4594, "CAD")
	assert decision.idempotency_key == "autopay-ACC-SINV-2026-00001-1"
	assert (decision.payment_method, decision.customer) == ("pm_visa", "cus_1")
	assert decision.reason is None and decision.text is None


@pytest.mark.parametrize(
	("inv", "method", "reason"),
	[
		(invoice(docstatus=0, status="Draft"), CARD, "Invoice {0} is not submitted"),
		(invoice(status="Paid", outstanding="0"), CARD, "Invoice {0} is {1}: nothing to collect"),
		(invoice(status="Cancelled", docstatus=2), CARD, "Invoice {0} is not submitted"),
		(invoice(status="Unpaid and Discounted"), CARD, "Invoice {0} is {1}: nothing to collect"),
		(invoice(currency="USD"), CARD, "Invoice {0} is in {1}; autopay only charges CAD"),
		(invoice(outstanding="0"), CARD, "Invoice {0} has nothing outstanding"),
		(invoice(status="Overdue", outstanding="-5"), CARD, "Invoice {0} has nothing outstanding"),
		(
			invoice(outstanding="0.49"),
			CARD,
			"The outstanding amount {0} $ is below the minimum card payment of 0.50 $",
		),
		(invoice(), None, "No saved payment method"),
		(
			invoice(),
			PaymentMethod("pm_visa", "cus_1", autopay=False),
			"Autopay is turned off for this customer",
		),
		(invoice(), PaymentMethod("pm_old", "cus_1", 2026, 11), "The saved card expired at the end of {0}"),
	],
)
def test_skips_with_a_reason(inv, method, reason):
	decision = decide_autopay(inv, method, [], now=NOW)
	assert decision.action == "skip" and not decision.charge
	assert decision.reason == reason
	assert decision.idempotency_key is None


def test_skip_reasons_carry_their_params():
	decision = decide_autopay(invoice(currency="USD"), CARD, [], now=NOW)
	assert decision.params == ("ACC-SINV-2026-00001", "USD")
	assert decision.text == "Invoice ACC-SINV-2026-00001 is in USD; autopay only charges CAD"
	expired = decide_autopay(invoice(), PaymentMethod("pm_old", "cus_1", 2026, 11), [], now=NOW)
	assert expired.text == "The saved card expired at the end of 11/2026"
	# a card is good through its expiry month
	assert decide_autopay(invoice(), PaymentMethod("pm_x", "cus_1", 2026, 12), [], now=NOW).charge
	assert (
		decide_autopay(invoice(status="Partly Paid", outstanding="0.50"), CARD, [], now=NOW).amount_cents
		== 50
	)


@pytest.mark.parametrize(
	("status", "reason"),
	[
		("succeeded", "A payment of this invoice succeeded (attempt {0}); it will be recorded shortly"),
		("processing", "A payment of this invoice is in progress (attempt {0})"),
		("requires_action", "The bank asks the customer to confirm the payment (attempt {0})"),
	],
)
def test_never_charges_twice(status, reason):
	attempts = [failed(1, 5), Attempt(2, status, NOW - timedelta(hours=1), "pm_visa")]
	decision = decide_autopay(invoice(status="Overdue"), CARD, attempts, now=NOW)
	assert (decision.action, decision.reason, decision.params) == ("skip", reason, (2,))


def test_an_unknown_outcome_is_retried_under_the_same_key():
	attempts = [Attempt(1, "unknown", NOW - timedelta(minutes=5), "pm_visa")]
	decision = decide_autopay(invoice(), CARD, attempts, now=NOW)
	assert decision.charge and decision.attempt == 1
	assert decision.idempotency_key == "autopay-ACC-SINV-2026-00001-1"


def test_soft_declines_are_retried_after_3_5_7_days_then_given_up():
	one = [failed(1, 1)]
	wait = decide_autopay(invoice(), CARD, one, now=NOW)
	assert wait.action == "skip" and wait.reason == "The card was declined ({0}); next attempt on {1}"
	assert wait.next_attempt_at == NOW - timedelta(days=1) + timedelta(days=3)
	assert wait.text == "The card was declined (insufficient_funds); next attempt on 2026-12-04"
	retry = decide_autopay(invoice(), CARD, [failed(1, 3)], now=NOW)
	assert (retry.attempt, retry.idempotency_key) == (2, "autopay-ACC-SINV-2026-00001-2")
	assert not decide_autopay(invoice(), CARD, [failed(1, 9), failed(2, 4)], now=NOW).charge  # 5 days
	assert decide_autopay(invoice(), CARD, [failed(1, 10), failed(2, 5)], now=NOW).attempt == 3
	assert decide_autopay(invoice(), CARD, [failed(1, 20), failed(2, 15), failed(3, 7)], now=NOW).attempt == 4
	four = [failed(1, 30), failed(2, 25), failed(3, 20), failed(4, 10)]
	gave_up = decide_autopay(invoice(), CARD, four, now=NOW)
	assert (
		gave_up.reason == "The card was declined {0} times; no more automatic attempts"
		and gave_up.params == (4,)
	)


@pytest.mark.parametrize(
	("code", "decline_code"),
	[
		("card_declined", "stolen_card"),
		("card_declined", "lost_card"),
		("card_declined", "fraudulent"),
		("expired_card", None),
		("authentication_required", None),
	],
)
def test_hard_declines_need_a_new_card(code, decline_code):
	attempts = [failed(1, 30, decline_code=decline_code, code=code)]
	decision = decide_autopay(invoice(), CARD, attempts, now=NOW)
	assert decision.reason == "The card was declined ({0}); a new payment method is needed"
	assert decision.params == (decline_code or code,)
	# a new card is tried at once, as the next attempt
	new_card = PaymentMethod("pm_new", "cus_1", 2030, 1)
	assert decide_autopay(invoice(), new_card, attempts, now=NOW).idempotency_key.endswith("-2")
	assert (
		decide_autopay(invoice(), new_card, [*attempts, failed(2, 0, method="pm_new")], now=NOW).action
		== "skip"
	)


def test_bad_values_are_refused():
	with pytest.raises(InvalidInput):
		decide_autopay(invoice(outstanding="45.945"), CARD, [], now=NOW)
	with pytest.raises(InvalidInput):
		decide_autopay(invoice(), CARD, [failed(1, 9), failed(1, 3)], now=NOW)
	with pytest.raises(InvalidInput):
		Attempt(1, "declined", NOW)
	with pytest.raises(InvalidInput):
		Attempt(0, "failed", NOW)
	assert to_cents("45.94") == 4594 and to_cents("0.5") == 50 and to_cents(39.95) == 3995
