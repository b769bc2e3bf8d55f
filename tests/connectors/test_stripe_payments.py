"""The Stripe connector against a fake Stripe on loopback (gigafibre_fsm.fakepeers.stripe)."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime
from decimal import Decimal

import pytest

from gigafibre_fsm.connectors.stripe_payments import (
	PaymentFailed,
	StripeAuthError,
	StripeIdempotencyConflict,
	StripeInvalidRequest,
	StripeNotFound,
	StripeSettings,
	StripeTimeout,
	StripeUnavailable,
	charge_off_session,
	checkout_for_invoice,
	create_customer,
	create_setup_intent,
	retrieve_checkout_session,
	retrieve_payment_intent,
	retrieve_setup_intent,
)
from gigafibre_fsm.connectors.stripe_webhooks import (
	WebhookForged,
	WebhookMalformed,
	WebhookRejected,
	WebhookStale,
	WebhookUnsigned,
	parse_event,
	verify_event,
)
from gigafibre_fsm.core.billing.autopay import AutopayInvoice, PaymentMethod, decide_autopay
from gigafibre_fsm.fakepeers.http import FakePeer, Response
from gigafibre_fsm.fakepeers.stripe import FakeStripe, decode_form

INVOICE = "ACC-SINV-2026-00042"
URLS = dict(success_url="https://ops.example/paid", cancel_url="https://ops.example/cancel")


class Receiver(FakePeer):
	"""Our webhook endpoint, as Stripe sees it: records each delivery and answers 200."""

	def setup_routes(self):
		@self.route("POST", r"/api/method/stripe")
		def hook(request):
			return Response.json({"received": True})


def settings_for(peer: FakeStripe, **kw) -> StripeSettings:
	values = dict(api_key=peer.api_key, api_base=peer.url, timeout=2, max_network_retries=0)
	values.update(kw)
	return StripeSettings(**values)


@pytest.fixture
def stripe_peer(fake_peer) -> FakeStripe:
	return fake_peer(FakeStripe())


def checkout(peer, amount="45.94", **kw):
	return checkout_for_invoice(
		settings_for(peer), invoice=INVOICE, customer="CUST-1", amount=Decimal(amount), **URLS, **kw
	)


# -- checkout


def test_checkout_session_for_the_outstanding_amount(stripe_peer):
	session = checkout(stripe_peer, description="Facture ACC-SINV-2026-00042", locale="fr-CA")
	assert session.id.startswith("cs_test_") and session.status == "open" and not session.reused
	assert session.url.startswith(stripe_peer.url + "/c/pay/")
	assert (session.amount_total, session.currency) == (4594, "cad")
	assert session.metadata == {"invoice": INVOICE, "customer": "CUST-1"}
	request = stripe_peer.requests[-1]
	assert request.headers["authorization"] == f"Bearer {stripe_peer.api_key}"
	assert request.headers["content-type"] == "application/x-www-form-urlencoded"
	form = request.form()  # form-encoded like the real API
	assert form["line_items[0][price_data][unit_amount]"] == ["4594"]
	assert form["payment_intent_data[metadata][invoice]"] == [INVOICE]
	assert form["client_reference_id"] == [INVOICE] and form["locale"] == ["fr-CA"]
	assert request.headers["idempotency-key"] == f"checkout-{INVOICE}-4594-first"
	assert retrieve_checkout_session(settings_for(stripe_peer), session.id).metadata["invoice"] == INVOICE


def test_an_open_session_is_reused_and_one_for_another_amount_replaced(stripe_peer):
	first = checkout(stripe_peer)
	again = checkout(stripe_peer, existing_session=first.id)
	assert again.reused and again.id == first.id and again.url == first.url
	# two workers without a stored id: the idempotency key gives both the same session
	assert checkout(stripe_peer).id == first.id
	# the outstanding changed (a partial payment): the old session is expired, a new one made
	smaller = checkout(stripe_peer, amount="20.00", existing_session=first.id)
	assert smaller.id != first.id and smaller.amount_total == 2000 and not smaller.reused
	assert stripe_peer.objects[first.id]["status"] == "expired"
	assert [e["data"]["object"]["id"] for e in stripe_peer.events_of("checkout.session.expired")] == [
		first.id
	]
	# an expired or unknown session: a new one
	assert checkout(stripe_peer, amount="20.00", existing_session="cs_test_nope").id != smaller.id


def test_a_paid_session_is_returned_not_replaced(stripe_peer):
	first = checkout(stripe_peer)
	stripe_peer.mark_paid(first.id)
	paid = checkout(stripe_peer, existing_session=first.id)
	assert paid.id == first.id and paid.paid and paid.status == "complete"
	intent = retrieve_payment_intent(settings_for(stripe_peer), paid.payment_intent)
	assert intent.succeeded and intent.amount_received == 4594
	assert intent.metadata == {"invoice": INVOICE, "customer": "CUST-1"}


def test_checkout_refuses_nothing_to_pay_and_fractions_of_a_cent(stripe_peer):
	with pytest.raises(StripeInvalidRequest):
		checkout(stripe_peer, amount="0")
	with pytest.raises(StripeInvalidRequest):
		checkout(stripe_peer, amount="10.005")
	with pytest.raises(StripeInvalidRequest) as err:
		checkout(stripe_peer, amount="0.30")  # Stripe's minimum: 0.50
	assert err.value.code == "amount_too_small" and err.value.status == 400


# -- saved cards and off-session charges


def test_setup_intent_for_a_customer(stripe_peer):
	settings = settings_for(stripe_peer)
	customer = create_customer(settings, customer="CUST-1", name="Marie Tremblay", email="marie@example.com")
	assert customer.id.startswith("cus_test_") and customer.metadata == {"customer": "CUST-1"}
	assert (
		create_customer(settings, customer="CUST-1", name="Marie Tremblay", email="marie@example.com")
		== customer
	)
	intent = create_setup_intent(settings, stripe_customer=customer.id, customer="CUST-1")
	assert intent.status == "requires_payment_method" and intent.client_secret.startswith(
		intent.id + "_secret_"
	)
	assert intent.customer == customer.id and intent.metadata == {"customer": "CUST-1"}
	assert stripe_peer.requests[-1].form()["usage"] == ["off_session"]
	stripe_peer.complete_setup(intent.id, "pm_card_visa")
	saved = retrieve_setup_intent(settings, intent.id)
	assert (saved.status, saved.payment_method) == ("succeeded", "pm_card_visa")


def test_an_autopay_decision_charged_off_session(stripe_peer):
	settings = settings_for(stripe_peer)
	customer = create_customer(settings, customer="CUST-1")
	decision = decide_autopay(
		AutopayInvoice(INVOICE, "CUST-1", "45.94"),
		PaymentMethod("pm_card_visa", customer.id, 2030, 1),
		[],
		now=datetime(2026, 12, 2, 9),
	)
	intent = charge_off_session(
		settings,
		invoice=INVOICE,
		customer="CUST-1",
		stripe_customer=decision.customer,
		payment_method=decision.payment_method,
		amount=decision.amount_cents,
		idempotency_key=decision.idempotency_key,
	)
	assert intent.succeeded and (intent.amount, intent.amount_received, intent.currency) == (
		4594,
		4594,
		"cad",
	)
	assert intent.metadata == {"invoice": INVOICE, "customer": "CUST-1"}
	form = stripe_peer.requests[-1].form()
	assert form["off_session"] == ["true"] and form["confirm"] == ["true"]
	assert stripe_peer.requests[-1].headers["idempotency-key"] == f"autopay-{INVOICE}-1"
	(event,) = stripe_peer.events_of("payment_intent.succeeded")
	assert event["data"]["object"]["id"] == intent.id


def charge(peer, payment_method="pm_card_visa", key="autopay-ACC-SINV-2026-00042-1", amount=Decimal("45.94")):
	customer = create_customer(settings_for(peer), customer="CUST-1")
	return charge_off_session(
		settings_for(peer),
		invoice=INVOICE,
		customer="CUST-1",
		stripe_customer=customer.id,
		payment_method=payment_method,
		amount=amount,
		idempotency_key=key,
	)


@pytest.mark.parametrize(
	("method", "code", "decline_code"),
	[
		("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
		("pm_card_chargeDeclined", "card_declined", "generic_decline"),
		("pm_card_chargeDeclinedStolenCard", "card_declined", "stolen_card"),
		("pm_card_chargeDeclinedExpiredCard", "expired_card", None),
		("pm_card_authenticationRequired", "authentication_required", "authentication_required"),
	],
)
def test_a_declined_card_is_a_payment_failed_with_its_codes(stripe_peer, method, code, decline_code):
	with pytest.raises(PaymentFailed) as err:
		charge(stripe_peer, method)
	failure = err.value
	assert (failure.status, failure.code, failure.decline_code) == (402, code, decline_code)
	assert failure.payment_intent.startswith("pi_test_")
	assert failure.payment_intent_status == "requires_payment_method"
	assert (
		retrieve_payment_intent(settings_for(stripe_peer), failure.payment_intent).status
		== "requires_payment_method"
	)
	assert len(stripe_peer.events_of("payment_intent.payment_failed")) == 1
	# the customer fixes it (another card, authentication): the same intent is paid after all
	stripe_peer.mark_paid(failure.payment_intent)
	assert retrieve_payment_intent(settings_for(stripe_peer), failure.payment_intent).succeeded
	(event,) = stripe_peer.events_of("payment_intent.succeeded")
	assert event["data"]["object"]["metadata"]["invoice"] == INVOICE


def test_the_same_idempotency_key_never_charges_twice(stripe_peer):
	first = charge(stripe_peer)
	customer = first.customer
	again = charge_off_session(
		settings_for(stripe_peer),
		invoice=INVOICE,
		customer="CUST-1",
		stripe_customer=customer,
		payment_method="pm_card_visa",
		amount=Decimal("45.94"),
		idempotency_key=f"autopay-{INVOICE}-1",
	)
	assert again == first
	assert len([o for o in stripe_peer.objects.values() if o["object"] == "payment_intent"]) == 1
	assert len(stripe_peer.events_of("payment_intent.succeeded")) == 1
	# the same key for another amount is refused, not charged
	with pytest.raises(StripeIdempotencyConflict):
		charge_off_session(
			settings_for(stripe_peer),
			invoice=INVOICE,
			customer="CUST-1",
			stripe_customer=customer,
			payment_method="pm_card_visa",
			amount=Decimal("20.00"),
			idempotency_key=f"autopay-{INVOICE}-1",
		)
	# a declined attempt replays as the same decline
	with pytest.raises(PaymentFailed) as first_decline:
		charge(stripe_peer, "pm_card_chargeDeclined", key="k-2")
	with pytest.raises(PaymentFailed) as second_decline:
		charge_off_session(
			settings_for(stripe_peer),
			invoice=INVOICE,
			customer="CUST-1",
			stripe_customer=stripe_peer.requests[-1].form()["customer"][0],
			payment_method="pm_card_chargeDeclined",
			amount=Decimal("45.94"),
			idempotency_key="k-2",
		)
	assert first_decline.value.payment_intent == second_decline.value.payment_intent


# -- errors


def test_bad_key_unknown_object_timeout_and_unreachable(stripe_peer):
	with pytest.raises(StripeAuthError) as err:
		retrieve_payment_intent(settings_for(stripe_peer, api_key="sk_test_wrong"), "pi_x")
	assert err.value.status == 401
	with pytest.raises(StripeNotFound) as missing:
		retrieve_payment_intent(settings_for(stripe_peer), "pi_test_missing")
	assert missing.value.code == "resource_missing"
	stripe_peer.fail_next.append(Response.json({}, delay=1.0))
	with pytest.raises(StripeTimeout):
		retrieve_payment_intent(settings_for(stripe_peer, timeout=0.2), "pi_x")
	stripe_peer.fail_next.append(
		Response.json({"error": {"type": "api_error", "message": "Something went wrong"}}, status=500)
	)
	with pytest.raises(StripeUnavailable):
		retrieve_payment_intent(settings_for(stripe_peer), "pi_x")
	settings = settings_for(stripe_peer)
	stripe_peer.stop()
	with pytest.raises(StripeUnavailable) as down:
		retrieve_payment_intent(settings, "pi_x")
	assert not isinstance(down.value, StripeTimeout)
	with pytest.raises(StripeUnavailable):
		retrieve_payment_intent(StripeSettings(), "pi_x")


def test_the_fake_decodes_stripes_bracket_notation():
	pairs = [("a[b][0][c]", "1"), ("a[b][0][d]", "2"), ("a[b][1][c]", "3"), ("m[k]", "v"), ("x", "y")]
	assert decode_form(pairs) == {"a": {"b": [{"c": "1", "d": "2"}, {"c": "3"}]}, "m": {"k": "v"}, "x": "y"}


# -- webhooks


def paid_event(peer) -> dict:
	session = checkout(peer)
	peer.pay_checkout(session.id)
	(event,) = peer.events_of("checkout.session.completed")
	return event


def test_a_delivered_webhook_verifies_into_a_typed_event(fake_peer, stripe_peer):
	receiver = fake_peer(Receiver())
	event = paid_event(stripe_peer)
	url = receiver.url + "/api/method/stripe"
	assert stripe_peer.deliver(event["id"], url) == 200
	(request,) = receiver.requests
	assert request.headers["user-agent"].startswith("Stripe/1.0")
	header = request.headers["stripe-signature"]
	assert header.startswith("t=") and ",v1=" in header
	verified = verify_event(request.body, header, stripe_peer.webhook_secret)
	assert (verified.id, verified.type, verified.object_type) == (
		event["id"],
		"checkout.session.completed",
		"checkout.session",
	)
	assert verified.object_id == event["data"]["object"]["id"]
	assert verified.payment_intent.startswith("pi_test_")
	assert (verified.invoice, verified.metadata["customer"]) == (INVOICE, "CUST-1")
	assert (verified.amount, verified.currency, verified.status) == (4594, "cad", "complete")
	(intent_event,) = stripe_peer.events_of("payment_intent.succeeded")
	stripe_peer.deliver(intent_event["id"], url)
	intent = verify_event(
		receiver.requests[-1].body,
		receiver.requests[-1].headers["stripe-signature"],
		stripe_peer.webhook_secret,
	)
	assert (intent.type, intent.object_id, intent.payment_intent) == (
		"payment_intent.succeeded",
		verified.payment_intent,
		verified.payment_intent,
	)
	assert (intent.amount, intent.invoice) == (4594, INVOICE)


def test_a_replayed_delivery_is_the_same_event(fake_peer, stripe_peer):
	receiver = fake_peer(Receiver())
	event = paid_event(stripe_peer)
	url = receiver.url + "/api/method/stripe"
	stripe_peer.deliver(event["id"], url, timestamp=int(time.time()) - 60)
	assert stripe_peer.resend(event["id"]) == 200
	first, second = receiver.requests
	assert first.body == second.body
	assert first.headers["stripe-signature"] != second.headers["stripe-signature"]  # new timestamp
	one = verify_event(first.body, first.headers["stripe-signature"], stripe_peer.webhook_secret)
	two = verify_event(second.body, second.headers["stripe-signature"], stripe_peer.webhook_secret)
	assert one.id == two.id == event["id"]
	assert one == two


def test_forged_stale_and_unsigned_webhooks_are_rejected(stripe_peer):
	event = paid_event(stripe_peer)
	body, header = stripe_peer.signed(event["id"])
	secret = stripe_peer.webhook_secret
	with pytest.raises(WebhookForged):
		verify_event(body.replace(b"4594", b"1"), header, secret)  # body changed
	with pytest.raises(WebhookForged):
		verify_event(body, header, "whsec_another_endpoint")
	_, other_secret = stripe_peer.signed(event["id"], secret="whsec_attacker")
	with pytest.raises(WebhookForged):
		verify_event(body, other_secret, secret)
	for missing in (None, "", "garbage", "t=123", "v1=abc"):
		with pytest.raises(WebhookUnsigned):
			verify_event(body, missing, secret)
	# stale: signed 10 minutes ago (the SDK's own clock), or judged at a later ``now``
	old_body, old_header = stripe_peer.signed(event["id"], timestamp=int(time.time()) - 600)
	with pytest.raises(WebhookStale):
		verify_event(old_body, old_header, secret)
	signed_at = 1_800_000_000
	body_then, header_then = stripe_peer.signed(event["id"], timestamp=signed_at)
	assert verify_event(body_then, header_then, secret, now=signed_at + 299).id == event["id"]
	with pytest.raises(WebhookStale):
		verify_event(body_then, header_then, secret, now=signed_at + 301)
	assert verify_event(body_then, header_then, secret, now=signed_at + 10_000, tolerance=0).id == event["id"]
	# all of them are authentication failures, with a reason for the logs
	with pytest.raises(WebhookRejected) as err:
		verify_event(body, header, "whsec_another_endpoint")
	assert err.value.reason


def test_signed_bodies_that_are_not_events(stripe_peer):
	secret = stripe_peer.webhook_secret
	for body in (b"not json", b'{"object": "customer", "id": "cus_1"}', b"[1, 2]", b'"text"', b"null"):
		ts = int(time.time())
		sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
		with pytest.raises(WebhookMalformed):
			verify_event(body, f"t={ts},v1={sig}", secret)
	with pytest.raises(StripeUnavailable):
		verify_event(b"{}", "t=1,v1=x", "")
	assert (
		parse_event({"object": "event", "id": "evt_1", "type": "x", "data": {"object": {}}}).object_id is None
	)
