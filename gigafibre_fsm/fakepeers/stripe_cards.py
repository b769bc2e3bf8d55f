"""The fake Stripe's cards: PaymentMethods, confirming a SetupIntent from the browser, and a fake
Stripe.js (a mixin of gigafibre_fsm.fakepeers.stripe.FakeStripe).

Imitates, as Stripe's API reference documents them (https://docs.stripe.com/api):

- ``GET /v1/payment_methods/{id}`` ("Retrieve a PaymentMethod", secret key): ``{id, object:
  "payment_method", type: "card", customer, card: {brand, last4, exp_month, exp_year, country,
  funding, ...}, billing_details, metadata}``; 404 ``resource_missing`` for an unknown id. Stripe's
  test PaymentMethods (``pm_card_visa``, ``pm_card_mastercard``, ``pm_card_amex``, and the decline
  ones of stripe_intents.py) answer with their test card (Visa 4242, Mastercard 4444, Amex 8431) and the
  fake's expiry :data:`TEST_CARD_EXPIRY` (12/2030).
- ``POST /v1/setup_intents/{id}/confirm`` ("Confirm a SetupIntent"), as Stripe.js calls it from the
  browser: form-encoded ``key=<publishable key>`` and ``client_secret`` (or the secret key in
  ``Authorization``), ``payment_method`` or ``payment_method_data[type]=card`` with
  ``payment_method_data[card][number|exp_month|exp_year|cvc]``; answers with CORS
  (``Access-Control-Allow-Origin: *``) as api.stripe.com does for publishable-key requests. A new
  card PaymentMethod is made (brand from the number: 4 Visa, 51–55 / 2221–2720 Mastercard, 34 / 37
  Amex, 6011 / 65 Discover), attached to the SetupIntent's customer; events
  ``payment_method.attached`` then ``setup_intent.succeeded``. Stripe's declining test numbers
  4000 0000 0000 0002 (``card_declined`` / ``generic_decline``) and 4000 0000 0000 9995
  (``insufficient_funds``) answer 402 ``card_error`` and ``setup_intent.setup_failed``; an expiry
  in the past answers 402 ``invalid_expiry_year``. A SetupIntent that succeeded already: 400
  ``setup_intent_unexpected_state``.
- ``GET /v3/``: a fake Stripe.js v3 (stripe_v3.js: ``Stripe(pk)``, ``elements()``,
  ``create('card'|'payment')``, ``mount``, ``confirmCardSetup`` / ``confirmSetup``), so a headless
  browser test can save a card with no internet: point Gigafibre Settings' Stripe.js URL at
  ``<peer>/v3/``.
- Test controls: :meth:`CardsMixin.update_card` (the card network renews a card:
  ``payment_method.automatically_updated``, or the customer edits it: ``payment_method.updated``).
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl

from gigafibre_fsm.fakepeers.http import Request, Response
from gigafibre_fsm.fakepeers.stripe_wire import decode_form, error

TEST_CARD_EXPIRY = (12, 2030)
TEST_CARDS = {  # Stripe's test PaymentMethods → (brand, last4)
	"pm_card_visa": ("visa", "4242"),
	"pm_card_visa_debit": ("visa", "5556"),
	"pm_card_mastercard": ("mastercard", "4444"),
	"pm_card_amex": ("amex", "8431"),
	"pm_card_discover": ("discover", "1117"),
}
DECLINING_NUMBERS = {
	"4000000000000002": ("card_declined", "generic_decline", "Your card was declined."),
	"4000000000009995": ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
}
CORS = {"Access-Control-Allow-Origin": "*"}
STRIPE_JS = Path(__file__).with_name("stripe_v3.js")


def brand_of(number: str) -> str:
	"""The card brand from its number's first digits (Stripe's test numbers follow the networks)."""
	if number.startswith("4"):
		return "visa"
	if number[:2] in ("34", "37"):
		return "amex"
	if number[:2] in {"51", "52", "53", "54", "55"} or 2221 <= int(number[:4] or 0) <= 2720:
		return "mastercard"
	if number.startswith(("6011", "65")):
		return "discover"
	return "unknown"


def _with_cors(response: Response) -> Response:
	response.headers.update(CORS)
	return response


class CardsMixin:
	"""PaymentMethods, SetupIntent confirmation and the fake Stripe.js (see the module's docstring)."""

	publishable_key = "pk_test_" + "TYooMQauvdEDq54NiTphI7jx"

	# -- objects

	def _card(self, brand: str, last4: str, exp_month: int, exp_year: int) -> dict:
		return {
			"brand": brand,
			"checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"},
			"country": "US",
			"display_brand": brand,
			"exp_month": int(exp_month),
			"exp_year": int(exp_year),
			"funding": "credit",
			"last4": last4,
			"networks": {"available": [brand], "preferred": None},
			"three_d_secure_usage": {"supported": True},
			"wallet": None,
		}

	def payment_method(self, payment_method_id: str, customer: str | None = None) -> dict:
		"""The PaymentMethod ``payment_method_id`` (one of Stripe's test ids is made on first use)."""
		with self._data_lock:
			found = self.objects.get(payment_method_id)
			if found is not None:
				if customer and not found.get("customer"):
					found["customer"] = customer
				return found
			brand, last4 = TEST_CARDS.get(payment_method_id, ("visa", "4242"))
			obj = {
				"id": payment_method_id,
				"object": "payment_method",
				"created": int(time.time()),
				"livemode": False,
			}
			self.objects[payment_method_id] = obj
			obj.update(self._payment_method_fields(customer, self._card(brand, last4, *TEST_CARD_EXPIRY)))
			return obj

	def _payment_method_fields(self, customer: str | None, card: dict) -> dict:
		return {
			"type": "card",
			"customer": customer,
			"card": card,
			"billing_details": {"address": {}, "email": None, "name": None, "phone": None},
			"allow_redisplay": "unspecified",
			"metadata": {},
		}

	def update_card(
		self, payment_method_id: str, exp_month: int, exp_year: int, *, automatic: bool = True
	) -> dict:
		"""A new expiry on the same PaymentMethod: ``payment_method.automatically_updated`` (the card
		network renewed the card) or ``payment_method.updated`` (``automatic=False``)."""
		with self._data_lock:
			pm = self.payment_method(payment_method_id)
			pm["card"].update(exp_month=int(exp_month), exp_year=int(exp_year))
			self._event("payment_method.automatically_updated" if automatic else "payment_method.updated", pm)
			return pm

	def _succeed_setup(self, intent: dict, payment_method: dict, request: Request | None = None) -> dict:
		"""The SetupIntent succeeds with ``payment_method``: attached to its customer, the events."""
		if intent.get("customer") and not payment_method.get("customer"):
			payment_method["customer"] = intent["customer"]
			self._event("payment_method.attached", payment_method, request)
		intent.update(status="succeeded", payment_method=payment_method["id"], last_setup_error=None)
		self._event("setup_intent.succeeded", intent, request)
		return intent

	# -- routes

	def card_routes(self, route) -> None:
		@route("GET", r"/v1/payment_methods/(?P<id>[^/]+)")
		@self._api
		def get_payment_method(request, params, id):
			if id in TEST_CARDS and id not in self.objects:
				self.payment_method(id)
			found = self._get("payment_method", id, "payment_method")
			return found if isinstance(found, Response) else Response.json(found)

		@route("POST", r"/v1/setup_intents/(?P<id>[^/]+)/confirm")
		def confirm_setup_intent(request, id):
			params = decode_form(parse_qsl(request.body.decode(), keep_blank_values=True))
			with self._data_lock:
				answer = _with_cors(self._confirm_setup(request, params, id))
			self.deliver_pending()
			return answer

		@route("GET", r"/v3/?")
		def stripe_js(request):
			return Response(
				200,
				STRIPE_JS.read_bytes(),
				{
					"Content-Type": "application/javascript; charset=utf-8",
					"Cache-Control": "no-store",
					**CORS,
				},
			)

	def _confirm_setup(self, request: Request, params: dict, id: str) -> Response:
		if request.headers.get("authorization"):
			refused = self._authorised(request)
			if refused:
				return refused
		elif params.get("key") != self.publishable_key:
			return error(401, "invalid_request_error", f"Invalid API Key provided: {params.get('key')}")
		intent = self.objects.get(id)
		if intent is None or intent["object"] != "setup_intent":
			return error(
				404, "invalid_request_error", f"No such setupintent: '{id}'", code="resource_missing"
			)
		if (
			not request.headers.get("authorization")
			and params.get("client_secret") != intent["client_secret"]
		):
			return error(
				400,
				"invalid_request_error",
				"The client_secret provided does not match the client_secret associated with the SetupIntent.",
				param="client_secret",
			)
		if intent["status"] == "succeeded":
			return error(
				400,
				"invalid_request_error",
				"You cannot confirm this SetupIntent because it has already succeeded.",
				code="setup_intent_unexpected_state",
			)
		if params.get("payment_method"):
			return Response.json(
				self._succeed_setup(intent, self.payment_method(params["payment_method"]), request)
			)
		data = params.get("payment_method_data") or {}
		card = data.get("card") or {}
		if data.get("type") != "card" or not card.get("number"):
			return error(
				400,
				"invalid_request_error",
				"Missing required param: payment_method_data[card][number].",
				code="parameter_missing",
				param="payment_method_data[card][number]",
			)
		number = "".join(ch for ch in str(card["number"]) if ch.isdigit())
		try:
			month, year = int(card.get("exp_month") or 0), int(card.get("exp_year") or 0)
		except ValueError:
			month, year = 0, 0
		today = date.today()
		decline = DECLINING_NUMBERS.get(number)
		if not 1 <= month <= 12 or (year, month) < (today.year, today.month):
			decline = ("invalid_expiry_year", None, "Your card's expiration year is invalid.")
		if decline:
			code, decline_code, message = decline
			intent.update(
				status="requires_payment_method",
				last_setup_error={
					"type": "card_error",
					"code": code,
					"decline_code": decline_code,
					"message": message,
				},
			)
			self._event("setup_intent.setup_failed", intent, request)
			return error(
				402,
				"card_error",
				message,
				code=code,
				decline_code=decline_code,
				setup_intent=dict(intent),
			)
		pm = {
			"id": self._id("pm"),
			"object": "payment_method",
			"created": int(time.time()),
			"livemode": False,
		}
		pm.update(self._payment_method_fields(None, self._card(brand_of(number), number[-4:], month, year)))
		self.objects[pm["id"]] = pm
		return Response.json(self._succeed_setup(intent, pm, request))
