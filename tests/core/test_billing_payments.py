from decimal import Decimal

import pytest

from gigafibre_fsm.core.billing import payments as p


@pytest.mark.parametrize(
	("event", "kw", "action"),
	[
		("checkout.session.completed", {"payment_status": "paid"}, p.RECORD_PAYMENT),
		("checkout.session.completed", {"payment_status": "unpaid"}, p.IGNORE),
		("payment_intent.succeeded", {"object_status": "succeeded"}, p.RECORD_PAYMENT),
		("payment_intent.succeeded", {"object_status": "processing"}, p.IGNORE),
		("charge.refunded", {}, p.RECORD_REFUND),
		("payment_intent.payment_failed", {}, p.PAYMENT_FAILED),
		("charge.dispute.created", {}, p.OPEN_DISPUTE),
		("setup_intent.succeeded", {}, p.SAVE_CARD),
		("customer.created", {}, p.IGNORE),
		("", {}, p.IGNORE),
	],
)
def test_action_for(event, kw, action):
	assert p.action_for(event, **kw) == action


def test_allocation_books_everything_and_allocates_at_most_the_outstanding():
	a = p.allocation(4594, Decimal("45.94"))
	assert (a.paid, a.allocated, a.unallocated) == (Decimal("45.94"), Decimal("45.94"), Decimal("0.00"))
	a = p.allocation(5000, "45.94")
	assert (a.paid, a.allocated, a.unallocated) == (Decimal("50.00"), Decimal("45.94"), Decimal("4.06"))
	a = p.allocation(1000, 0)  # paid already by another means: all unallocated, never refused
	assert (a.allocated, a.unallocated) == (Decimal("0.00"), Decimal("10.00"))
	a = p.allocation(1000, Decimal("-5"))  # a credit balance: nothing to allocate
	assert a.allocated == Decimal("0.00")


def test_refund_due_books_each_cent_once_whatever_the_repetition():
	assert p.refund_due(1000, 0) == Decimal("10.00")
	assert p.refund_due(1000, "10.00") == Decimal("0.00")  # the same event again
	assert p.refund_due(2500, "10.00") == Decimal("15.00")  # a second partial refund
	assert p.refund_due(1000, "25.00") == Decimal("0.00")  # an older event after a newer one


@pytest.mark.parametrize(
	("text", "kind", "value"),
	[
		(" Marie@Example.COM ", "email", "marie@example.com"),
		("514 555-0199", "phone", "5145550199"),
		("+1 (514) 555-0199", "phone", "5145550199"),
		("15145550199", "phone", "5145550199"),
		("not an email@", "", ""),
		("12345", "", ""),
		("", "", ""),
		("1" * 40, "", ""),
	],
)
def test_account_identifier(text, kind, value):
	ident = p.account_identifier(text)
	assert (ident.kind, ident.value) == (kind, value)
	assert len(ident.key) == 32
	assert not value or value not in ident.key


def test_same_person_same_counter_key():
	assert p.account_identifier("514-555-0199").key == p.account_identifier("+15145550199").key
	assert p.account_identifier("A@b.ca").key == p.account_identifier("a@B.CA").key
	assert p.account_identifier("x1").key != p.account_identifier("x2").key
