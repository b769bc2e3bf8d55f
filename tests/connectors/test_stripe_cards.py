"""Saved cards against the fake Stripe (gigafibre_fsm.fakepeers.stripe_cards): the PaymentMethod read
through the SDK, the browser's SetupIntent confirmation and the webhooks it sends."""

from __future__ import annotations

import pytest
import requests

from gigafibre_fsm.connectors.stripe_cards import retrieve_payment_method
from gigafibre_fsm.connectors.stripe_payments import (
	StripeNotFound,
	StripeSettings,
	create_customer,
	create_setup_intent,
)
from gigafibre_fsm.connectors.stripe_webhooks import verify_event
from gigafibre_fsm.core.billing.cards import Card
from gigafibre_fsm.fakepeers.http import FakePeer, Response
from gigafibre_fsm.fakepeers.stripe import FakeStripe
from gigafibre_fsm.fakepeers.stripe_cards import brand_of


class Receiver(FakePeer):
	def setup_routes(self):
		@self.route("POST", r"/hook")
		def hook(request):
			return Response.json({"received": True})


@pytest.fixture
def stripe_peer(fake_peer) -> FakeStripe:
	return fake_peer(FakeStripe())


def settings_for(peer: FakeStripe) -> StripeSettings:
	return StripeSettings(api_key=peer.api_key, api_base=peer.url, timeout=5, max_network_retries=0)


def setup_intent(peer: FakeStripe):
	settings = settings_for(peer)
	customer = create_customer(settings, customer="CUST-1", name="Marie Tremblay").id
	return customer, create_setup_intent(settings, stripe_customer=customer, customer="CUST-1")


def confirm(peer: FakeStripe, intent, number="4242 4242 4242 4242", month="12", year="2030", key=None):
	"""What the fake Stripe.js (and Stripe.js) sends from the browser: the publishable key and the
	client secret in the form body, no Authorization header."""
	return requests.post(
		f"{peer.url}/v1/setup_intents/{intent.id}/confirm",
		data={
			"key": key or peer.publishable_key,
			"client_secret": intent.client_secret,
			"payment_method_data[type]": "card",
			"payment_method_data[card][number]": number.replace(" ", ""),
			"payment_method_data[card][exp_month]": month,
			"payment_method_data[card][exp_year]": year,
			"payment_method_data[card][cvc]": "123",
		},
		timeout=10,
	)


def test_a_test_payment_method_is_read_with_its_card(stripe_peer):
	pm = retrieve_payment_method(settings_for(stripe_peer), "pm_card_mastercard")
	assert (pm.id, pm.card) == ("pm_card_mastercard", Card("mastercard", "4444", 12, 2030))
	(request,) = [r for r in stripe_peer.requests if r.path.startswith("/v1/payment_methods/")]
	assert (request.method, request.path) == ("GET", "/v1/payment_methods/pm_card_mastercard")
	assert request.headers["authorization"] == f"Bearer {stripe_peer.api_key}"
	with pytest.raises(StripeNotFound):
		retrieve_payment_method(settings_for(stripe_peer), "pm_nobody")


def test_the_browser_confirms_a_setup_intent_and_the_card_is_readable(stripe_peer):
	customer, intent = setup_intent(stripe_peer)
	r = confirm(stripe_peer, intent, "5555 5555 5555 4444", "3", "2031")
	assert r.status_code == 200, r.text
	assert r.headers["access-control-allow-origin"] == "*"
	body = r.json()
	assert (body["id"], body["status"]) == (intent.id, "succeeded")
	pm = retrieve_payment_method(settings_for(stripe_peer), body["payment_method"])
	assert (pm.customer, pm.card) == (customer, Card("mastercard", "4444", 3, 2031))
	types = [e["type"] for e in stripe_peer.events.values()]
	assert types[-2:] == ["payment_method.attached", "setup_intent.succeeded"]
	again = confirm(stripe_peer, intent)
	assert (again.status_code, again.json()["error"]["code"]) == (400, "setup_intent_unexpected_state")


def test_a_wrong_key_or_secret_a_declined_or_expired_card_save_nothing(stripe_peer):
	_customer, intent = setup_intent(stripe_peer)
	assert confirm(stripe_peer, intent, key="pk_test_other").status_code == 401
	wrong = requests.post(
		f"{stripe_peer.url}/v1/setup_intents/{intent.id}/confirm",
		data={"key": stripe_peer.publishable_key, "client_secret": intent.id + "_secret_x"},
		timeout=10,
	)
	assert wrong.status_code == 400
	declined = confirm(stripe_peer, intent, "4000 0000 0000 9995")
	assert declined.status_code == 402
	assert (declined.json()["error"]["code"], declined.json()["error"]["decline_code"]) == (
		"card_declined",
		"insufficient_funds",
	)
	expired = confirm(stripe_peer, intent, year="2020")
	assert (expired.status_code, expired.json()["error"]["code"]) == (402, "invalid_expiry_year")
	assert stripe_peer.objects[intent.id]["status"] == "requires_payment_method"
	assert stripe_peer.events_of("setup_intent.succeeded") == []
	assert len(stripe_peer.events_of("setup_intent.setup_failed")) == 2


def test_a_renewed_card_keeps_its_payment_method_and_says_so(stripe_peer):
	stripe_peer.update_card("pm_card_visa", 8, 2033)
	stripe_peer.update_card("pm_card_visa", 9, 2033, automatic=False)
	assert [e["type"] for e in stripe_peer.events.values()] == [
		"payment_method.automatically_updated",
		"payment_method.updated",
	]
	assert retrieve_payment_method(settings_for(stripe_peer), "pm_card_visa").card == Card(
		"visa", "4242", 9, 2033
	)


def test_with_a_webhook_url_the_events_are_delivered_as_the_request_answers(fake_peer, stripe_peer):
	receiver = fake_peer(Receiver())
	_customer, intent = setup_intent(stripe_peer)
	stripe_peer.webhook_url = receiver.url + "/hook"
	assert confirm(stripe_peer, intent).status_code == 200
	delivered = [
		verify_event(r.body, r.headers["stripe-signature"], stripe_peer.webhook_secret)
		for r in receiver.requests
	]
	assert [e.type for e in delivered] == ["payment_method.attached", "setup_intent.succeeded"]
	assert delivered[1].metadata == {"customer": "CUST-1"}


def test_the_fake_stripe_js_is_served_where_stripe_serves_it(stripe_peer):
	r = requests.get(f"{stripe_peer.url}/v3/", timeout=10)
	assert r.status_code == 200
	assert r.headers["content-type"].startswith("application/javascript")
	for api in ("confirmCardSetup", "confirmSetup", "elements", "mount", "window.Stripe"):
		assert api in r.text


@pytest.mark.parametrize(
	("number", "brand"),
	[
		("4242424242424242", "visa"),
		("5555555555554444", "mastercard"),
		("2223003122003222", "mastercard"),
		("378282246310005", "amex"),
		("6011111111111117", "discover"),
		("9999999999999995", "unknown"),
	],
)
def test_brands_from_the_number(number, brand):
	assert brand_of(number) == brand
