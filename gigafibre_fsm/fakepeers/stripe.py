"""Fake peer speaking the parts of Stripe's REST API (v1) that connectors/stripe_payments.py uses.

Imitates Stripe as its API reference describes it (https://docs.stripe.com/api: "Authentication",
"Errors", "Idempotent requests", "Checkout Sessions", "Payment Intents", "Setup Intents",
"Customers", "Events"; webhook signatures: https://docs.stripe.com/webhooks#verify-manually):

- Requests: ``Authorization: Bearer sk_test_...`` (else 401 ``invalid_request_error``); POST bodies
  are form-encoded with Stripe's bracket notation (``metadata[invoice]=...``,
  ``line_items[0][price_data][unit_amount]=3995``); GET parameters in the query string.
- Answers: JSON objects with ``id``, ``object``, ``created``, ``livemode: false``, ``metadata``
  and the resource's fields; lists as ``{"object": "list", "data": [...], "has_more": false}``.
- Errors: ``{"error": {"type", "code", "decline_code", "message", "param", ...}}`` with Stripe's
  status codes: 400 (missing or bad parameter, ``idempotency_error``), 401 (bad key), 402
  (``card_error``: a declined card, with the PaymentIntent in ``error.payment_intent``), 404
  (``resource_missing``).
- ``Idempotency-Key``: the same key with the same parameters replays the first answer (header
  ``Idempotent-Replayed: true``); with other parameters → 400 ``idempotency_error``.
- ``POST /v1/customers``, ``GET /v1/customers/{id}``.
- ``POST /v1/checkout/sessions`` (mode ``payment``: ``line_items`` with ``price_data``) → an open
  session with a ``url``; ``GET /v1/checkout/sessions/{id}``; ``GET /v1/checkout/sessions``
  (filters ``customer``, ``status``, ``payment_intent``); ``POST .../{id}/expire`` (only an open
  session, else 400).
- ``POST /v1/setup_intents`` → ``requires_payment_method`` with a ``client_secret``; ``GET``.
- ``POST /v1/payment_intents`` (amount ≥ 50 cents, currency; ``confirm=true`` with a
  ``payment_method`` charges at once). Stripe's test payment methods decide the outcome:
  ``pm_card_visa`` (and any other id) succeeds; ``pm_card_chargeDeclined`` (generic_decline),
  ``pm_card_chargeDeclinedInsufficientFunds``, ``pm_card_chargeDeclinedLostCard``,
  ``pm_card_chargeDeclinedStolenCard``, ``pm_card_chargeDeclinedFraudulent`` → 402 ``card_declined``
  with that ``decline_code``; ``pm_card_chargeDeclinedExpiredCard`` → 402 ``expired_card``;
  ``pm_card_authenticationRequired`` with ``off_session=true`` → 402 ``authentication_required``.
  ``GET /v1/payment_intents/{id}``.
- Events (``evt_...``) are recorded as Stripe creates them: ``payment_intent.succeeded`` /
  ``payment_intent.payment_failed`` on a charge, ``checkout.session.completed`` and
  ``payment_intent.succeeded`` when :meth:`FakeStripe.mark_paid` pays a session (or, for an intent
  left unpaid, ``payment_intent.succeeded`` alone),
  ``checkout.session.expired``, ``payment_method.attached`` and ``setup_intent.succeeded``
  (:meth:`FakeStripe.complete_setup`).
- PaymentMethods, confirming a SetupIntent from the browser and a fake Stripe.js: stripe_cards.py.
- ``webhook_url``: when set, the events an API request makes are delivered there as it answers
  (:meth:`FakeStripe.deliver_pending`), as Stripe sends them.
- ``charge.refunded`` (:meth:`FakeStripe.refund`, cumulative ``amount_refunded``) and
  ``charge.dispute.created`` (:meth:`FakeStripe.dispute`) for a paid PaymentIntent.
- The hosted Checkout page at the session's ``url`` (``/c/pay/{id}``): one Pay button; paying
  redirects to the session's ``success_url`` (a browser test can click through).
- Webhooks: :meth:`FakeStripe.deliver` POSTs an event to a URL as Stripe does: ``Content-Type:
  application/json; charset=utf-8``, ``User-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)``,
  ``Stripe-Signature: t=<unix ts>,v1=<hex HMAC-SHA256(endpoint secret, "<t>.<body>")>``;
  :meth:`FakeStripe.resend` delivers the same event again (same body and event id, a new
  timestamp and signature, as Stripe's retries); :meth:`FakeStripe.signed` gives the body and
  header without sending (any timestamp: stale deliveries).

``fail_next`` queues canned answers (a 500, a delay) for the next API request.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import requests

from gigafibre_fsm.fakepeers.http import FakePeer, Request, Response
from gigafibre_fsm.fakepeers.stripe_cards import CardsMixin
from gigafibre_fsm.fakepeers.stripe_wire import as_bool as _bool
from gigafibre_fsm.fakepeers.stripe_wire import decode_form
from gigafibre_fsm.fakepeers.stripe_wire import error as _error
from gigafibre_fsm.fakepeers.stripe_wire import missing as _missing

API_VERSION = "2026-10-28.endive"  # what the stripe SDK this app pins sends
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
SIGNATURE_HEADER = "Stripe-Signature"
MINIMUM_AMOUNT = 50  # cents, CAD and USD

# Stripe's test payment methods → (code, decline_code, message)
TEST_PAYMENT_METHODS: dict[str, tuple[str, str | None, str]] = {
	"pm_card_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
	"pm_card_chargeDeclinedInsufficientFunds": (
		"card_declined",
		"insufficient_funds",
		"Your card has insufficient funds.",
	),
	"pm_card_chargeDeclinedLostCard": ("card_declined", "lost_card", "Your card was declined."),
	"pm_card_chargeDeclinedStolenCard": ("card_declined", "stolen_card", "Your card was declined."),
	"pm_card_chargeDeclinedFraudulent": ("card_declined", "fraudulent", "Your card was declined."),
	"pm_card_chargeDeclinedExpiredCard": ("expired_card", None, "Your card has expired."),
}
AUTHENTICATION_REQUIRED = "pm_card_authenticationRequired"


@dataclass
class Delivery:
	event_id: str
	url: str
	attempts: list[dict] = field(default_factory=list)  # {"status", "timestamp", "signature"}


class FakeStripe(CardsMixin, FakePeer):
	def __init__(
		self, api_key: str = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc", webhook_secret: str | None = None
	):
		self.api_key = api_key
		self.webhook_secret = webhook_secret or "whsec_" + secrets.token_urlsafe(24)
		self.objects: dict[str, dict] = {}  # id → object (customers, sessions, intents)
		self.events: dict[str, dict] = {}  # id → event, in creation order
		self.deliveries: list[Delivery] = []
		self.idempotent: dict[str, tuple[str, str, dict, Response]] = {}
		self.fail_next: list[Response] = []
		self.webhook_url: str | None = None  # set: each event is delivered there (deliver_pending)
		self._outbox: list[str] = []
		self._ids = itertools.count(1)
		self._data_lock = threading.RLock()
		super().__init__()

	# -- ids, objects, events

	def _id(self, prefix: str) -> str:
		return f"{prefix}_test_{next(self._ids):06d}{secrets.token_hex(6)}"

	def _new(self, prefix: str, object_: str, **fields) -> dict:
		obj = {"id": self._id(prefix), "object": object_, "created": int(time.time()), "livemode": False}
		obj.update(fields)
		self.objects[obj["id"]] = obj
		return obj

	def _event(self, type_: str, obj: dict, request: Request | None = None) -> dict:
		event = {
			"id": self._id("evt"),
			"object": "event",
			"api_version": API_VERSION,
			"created": int(time.time()),
			"data": {"object": json.loads(json.dumps(obj))},  # a snapshot
			"livemode": False,
			"pending_webhooks": 1,
			"request": {
				"id": None,
				"idempotency_key": request.headers.get("idempotency-key") if request else None,
			},
			"type": type_,
		}
		self.events[event["id"]] = event
		if self.webhook_url:
			self._outbox.append(event["id"])
		return event

	def deliver_pending(self) -> list[int]:
		"""Deliver the events made since the last call to ``webhook_url`` (as Stripe sends them,
		in creation order). The API routes call it after answering work and releasing the lock, so
		the receiver may call the fake back; test controls leave their events for the caller."""
		with self._data_lock:
			pending, self._outbox = self._outbox, []
		return [self.deliver(event_id, self.webhook_url) for event_id in pending if self.webhook_url]

	def events_of(self, type_: str) -> list[dict]:
		with self._data_lock:
			return [e for e in self.events.values() if e["type"] == type_]

	# -- test controls (what a customer or Stripe does outside the API)

	def pay_checkout(self, session_id: str) -> dict:
		"""The customer pays an open Checkout Session: a succeeded PaymentIntent, the events."""
		with self._data_lock:
			session = self.objects[session_id]
			if session["status"] != "open":
				raise ValueError(f"session {session_id} is {session['status']}")
			data = session.pop("_payment_intent_data", {})
			intent = self._new(
				"pi",
				"payment_intent",
				amount=session["amount_total"],
				amount_received=session["amount_total"],
				currency=session["currency"],
				customer=session["customer"],
				description=data.get("description"),
				metadata=dict(data.get("metadata") or {}),
				payment_method=self.payment_method(self._id("pm"), session["customer"])["id"],
				status="succeeded",
				client_secret=None,
				last_payment_error=None,
				latest_charge=self._id("ch"),
				setup_future_usage=data.get("setup_future_usage"),
			)
			intent["client_secret"] = f"{intent['id']}_secret_{secrets.token_hex(8)}"
			session.update(status="complete", payment_status="paid", payment_intent=intent["id"], url=None)
			self._event("checkout.session.completed", session)
			self._event("payment_intent.succeeded", intent)
			return session

	def pay_intent(self, payment_intent_id: str, payment_method: str = "pm_card_visa") -> dict:
		"""A PaymentIntent not paid yet (declined, waiting for authentication) is paid after all."""
		with self._data_lock:
			intent = self.objects[payment_intent_id]
			if intent["status"] in ("succeeded", "canceled"):
				raise ValueError(f"payment intent {payment_intent_id} is {intent['status']}")
			intent.update(
				status="succeeded",
				amount_received=intent["amount"],
				payment_method=payment_method,
				last_payment_error=None,
				latest_charge=self._id("ch"),
			)
			self._event("payment_intent.succeeded", intent)
			return intent

	def refund(self, payment_intent_id: str, amount: int | None = None) -> dict:
		"""Refund ``amount`` cents (default: what is left) of a paid PaymentIntent's charge:
		``charge.refunded`` with the charge's cumulative ``amount_refunded``, as Stripe sends it."""
		with self._data_lock:
			intent = self.objects[payment_intent_id]
			charge_id = intent.get("latest_charge")
			if intent["status"] != "succeeded" or not charge_id:
				raise ValueError(f"payment intent {payment_intent_id} has no charge to refund")
			charge = self.objects.get(charge_id) or {
				"id": charge_id,
				"object": "charge",
				"created": int(time.time()),
				"livemode": False,
				"amount": intent["amount_received"],
				"amount_refunded": 0,
				"currency": intent["currency"],
				"customer": intent.get("customer"),
				"metadata": dict(intent.get("metadata") or {}),
				"paid": True,
				"payment_intent": intent["id"],
				"refunded": False,
				"refunds": {"object": "list", "data": [], "has_more": False},
				"status": "succeeded",
			}
			self.objects[charge_id] = charge
			left = charge["amount"] - charge["amount_refunded"]
			amount = left if amount is None else int(amount)
			if amount <= 0 or amount > left:
				raise ValueError(f"cannot refund {amount} of {left} cents left")
			refund = self._new(
				"re",
				"refund",
				amount=amount,
				charge=charge_id,
				currency=charge["currency"],
				payment_intent=intent["id"],
				status="succeeded",
				metadata={},
			)
			charge["amount_refunded"] += amount
			charge["refunded"] = charge["amount_refunded"] == charge["amount"]
			charge["refunds"]["data"].insert(0, refund)
			self._event("charge.refunded", charge)
			return charge

	def dispute(self, payment_intent_id: str, reason: str = "fraudulent") -> dict:
		"""The customer's bank disputes a paid PaymentIntent's charge: ``charge.dispute.created``."""
		with self._data_lock:
			intent = self.objects[payment_intent_id]
			dispute = self._new(
				"dp",
				"dispute",
				amount=intent["amount_received"],
				charge=intent.get("latest_charge"),
				currency=intent["currency"],
				payment_intent=intent["id"],
				reason=reason,
				status="needs_response",
				metadata={},
				is_charge_refundable=False,
			)
			self._event("charge.dispute.created", dispute)
			return dispute

	def mark_paid(self, object_id: str) -> dict:
		"""Pay a Checkout Session (``cs_...``) or a PaymentIntent (``pi_...``)."""
		if self.objects[object_id]["object"] == "checkout.session":
			return self.pay_checkout(object_id)
		return self.pay_intent(object_id)

	def complete_setup(self, setup_intent_id: str, payment_method: str = "pm_card_visa") -> dict:
		"""The customer saves a card on a SetupIntent."""
		with self._data_lock:
			intent = self.objects[setup_intent_id]
			return self._succeed_setup(intent, self.payment_method(payment_method))

	# -- webhooks

	def signed(
		self, event_id: str, timestamp: int | None = None, secret: str | None = None
	) -> tuple[bytes, str]:
		"""(body, Stripe-Signature header) of ``event_id`` signed at ``timestamp`` (default: now)."""
		body = json.dumps(self.events[event_id], indent=2).encode()
		ts = int(time.time()) if timestamp is None else int(timestamp)
		mac = hmac.new((secret or self.webhook_secret).encode(), f"{ts}.".encode() + body, hashlib.sha256)
		return body, f"t={ts},v1={mac.hexdigest()}"

	def deliver(self, event_id: str, url: str, *, timestamp: int | None = None, timeout: float = 5.0) -> int:
		"""POST the event to ``url`` as a Stripe webhook; returns the receiver's status code."""
		body, signature = self.signed(event_id, timestamp)
		headers = {
			"Content-Type": "application/json; charset=utf-8",
			"User-Agent": USER_AGENT,
			SIGNATURE_HEADER: signature,
			"Cache-Control": "no-cache",
		}
		delivery = next((d for d in self.deliveries if d.event_id == event_id and d.url == url), None)
		if delivery is None:
			delivery = Delivery(event_id, url)
			self.deliveries.append(delivery)
		try:
			status = requests.post(url, data=body, headers=headers, timeout=timeout).status_code
		except requests.RequestException:
			status = 0
		delivery.attempts.append({"status": status, "signature": signature})
		return status

	def resend(self, event_id: str, url: str | None = None) -> int:
		"""Deliver the event again (a Stripe retry): same event, new timestamp and signature."""
		previous = [d for d in self.deliveries if d.event_id == event_id]
		if not previous and url is None:
			raise ValueError(f"event {event_id} was never delivered")
		return self.deliver(event_id, url or previous[-1].url)

	# -- protocol

	def _authorised(self, request: Request) -> Response | None:
		header = request.headers.get("authorization", "")
		if not header:
			return _error(
				401,
				"invalid_request_error",
				"You did not provide an API key. You need to provide your API key in the Authorization header, "
				"using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
			)
		key = header.removeprefix("Bearer ").strip()
		if not header.startswith("Bearer ") or not hmac.compare_digest(key.encode(), self.api_key.encode()):
			return _error(401, "invalid_request_error", f"Invalid API Key provided: {key[:8]}****{key[-4:]}")
		return None

	def _api(self, handler):
		"""Wrap a handler: authentication, canned failures, idempotency, the lock."""

		def wrapped(request: Request, **groups) -> Response:
			refused = self._authorised(request)
			if refused:
				return refused
			if self.fail_next:
				return self.fail_next.pop(0)
			params = (
				decode_form(parse_qsl(request.body.decode(), keep_blank_values=True)) if request.body else {}
			)
			if request.method == "GET":
				params = {k: v[-1] for k, v in request.query.items()}
			key = request.headers.get("idempotency-key") if request.method == "POST" else None
			answer = locked(request, params, key, groups)
			self.deliver_pending()
			return answer

		def locked(request: Request, params: dict, key: str | None, groups: dict) -> Response:
			with self._data_lock:
				if key and key in self.idempotent:
					method, path, first_params, answer = self.idempotent[key]
					if (method, path, first_params) != (request.method, request.path, params):
						return _error(
							400,
							"idempotency_error",
							"Keys for idempotent requests can only be used with the same parameters they were "
							f"first used with. Try using a key other than '{key}' if you meant to execute a "
							"different request.",
						)
					return Response(
						answer.status, answer.body, {**answer.headers, "Idempotent-Replayed": "true"}
					)
				answer = handler(request, params, **groups)
				if key and answer.status < 500:
					self.idempotent[key] = (request.method, request.path, params, answer)
				return answer

		return wrapped

	def _get(self, object_: str, id_: str, param: str = "id") -> dict | Response:
		obj = self.objects.get(id_)
		if obj is None or obj["object"] != object_:
			return _error(
				404,
				"invalid_request_error",
				f"No such {object_.split('.')[-1]}: '{id_}'",
				code="resource_missing",
				param=param,
			)
		return obj

	@staticmethod
	def _public(obj: dict) -> dict:
		return {k: v for k, v in obj.items() if not k.startswith("_")}

	def setup_routes(self):
		route = self.route

		@route("POST", r"/v1/customers")
		@self._api
		def create_customer(request, params):
			customer = self._new(
				"cus",
				"customer",
				name=params.get("name"),
				email=params.get("email"),
				description=params.get("description"),
				metadata=params.get("metadata") or {},
				invoice_settings={"default_payment_method": None},
			)
			return Response.json(customer)

		@route("GET", r"/v1/customers/(?P<id>[^/]+)")
		@self._api
		def get_customer(request, params, id):
			found = self._get("customer", id)
			return found if isinstance(found, Response) else Response.json(found)

		@route("POST", r"/v1/checkout/sessions")
		@self._api
		def create_session(request, params):
			return self._create_session(params)

		@route("GET", r"/v1/checkout/sessions")
		@self._api
		def list_sessions(request, params):
			data = [
				self._public(o)
				for o in reversed(list(self.objects.values()))
				if o["object"] == "checkout.session"
				and all(
					o.get(k) == params[k] for k in ("customer", "status", "payment_intent") if k in params
				)
			]
			limit = int(params.get("limit") or 10)
			return Response.json(
				{
					"object": "list",
					"data": data[:limit],
					"has_more": len(data) > limit,
					"url": "/v1/checkout/sessions",
				}
			)

		@route("GET", r"/v1/checkout/sessions/(?P<id>[^/]+)")
		@self._api
		def get_session(request, params, id):
			found = self._get("checkout.session", id, "session")
			return found if isinstance(found, Response) else Response.json(self._public(found))

		@route("POST", r"/v1/checkout/sessions/(?P<id>[^/]+)/expire")
		@self._api
		def expire_session(request, params, id):
			found = self._get("checkout.session", id, "session")
			if isinstance(found, Response):
				return found
			if found["status"] != "open":
				return _error(
					400,
					"invalid_request_error",
					f"Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has "
					f"a status of \"{found['status']}\".",
				)
			found.update(status="expired", url=None)
			self._event("checkout.session.expired", self._public(found), request)
			return Response.json(self._public(found))

		@route("POST", r"/v1/setup_intents")
		@self._api
		def create_setup_intent(request, params):
			customer = params.get("customer")
			if customer and customer not in self.objects:
				return _error(
					400,
					"invalid_request_error",
					f"No such customer: '{customer}'",
					code="resource_missing",
					param="customer",
				)
			intent = self._new(
				"seti",
				"setup_intent",
				customer=customer,
				description=params.get("description"),
				metadata=params.get("metadata") or {},
				payment_method=None,
				payment_method_types=params.get("payment_method_types") or ["card"],
				status="requires_payment_method",
				usage=params.get("usage") or "off_session",
				last_setup_error=None,
			)
			intent["client_secret"] = f"{intent['id']}_secret_{secrets.token_hex(8)}"
			return Response.json(intent)

		@route("GET", r"/v1/setup_intents/(?P<id>[^/]+)")
		@self._api
		def get_setup_intent(request, params, id):
			found = self._get("setup_intent", id, "intent")
			return found if isinstance(found, Response) else Response.json(found)

		@route("POST", r"/v1/payment_intents")
		@self._api
		def create_payment_intent(request, params):
			return self._create_payment_intent(request, params)

		@route("GET", r"/v1/payment_intents/(?P<id>[^/]+)")
		@self._api
		def get_payment_intent(request, params, id):
			found = self._get("payment_intent", id, "intent")
			return found if isinstance(found, Response) else Response.json(found)

		# Stripe's hosted Checkout page, reduced to one button: POST pays the session (as
		# pay_checkout) and sends the browser to the session's success_url.
		@route("GET", r"/c/pay/(?P<id>[^/]+)")
		def checkout_page(request, id):
			session = self.objects.get(id)
			if not session or session["object"] != "checkout.session" or session["status"] != "open":
				return Response.text("This Checkout Session is no longer available.", status=404)
			amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
			return Response.text(
				"<!DOCTYPE html><html><head><title>Fake Stripe Checkout</title></head><body>"
				f"<h1 data-testid='amount'>{amount}</h1><form method='post'>"
				"<button type='submit' data-testid='pay'>Pay</button></form></body></html>",
				content_type="text/html; charset=utf-8",
			)

		@route("POST", r"/c/pay/(?P<id>[^/]+)")
		def checkout_pay(request, id):
			session = self.objects.get(id)
			if not session or session["object"] != "checkout.session" or session["status"] != "open":
				return Response.text("This Checkout Session is no longer available.", status=404)
			self.pay_checkout(id)
			return Response(303, b"", {"Location": session["success_url"] or "/"})

		self.card_routes(route)

		for method in ("GET", "POST", "DELETE"):

			@route(method, r"/.*")
			def unknown(request):
				return _error(
					404,
					"invalid_request_error",
					f"Unrecognized request URL ({request.method}: {request.path}). Please see https://stripe.com/docs "
					"or we can help at https://support.stripe.com/.",
				)

	# -- resources

	def _create_session(self, params: dict) -> Response:
		mode = params.get("mode")
		if not mode:
			return _missing("mode")
		if mode != "payment":
			return _error(
				400,
				"invalid_request_error",
				f"This fake only supports mode=payment, not {mode}.",
				param="mode",
			)
		items = params.get("line_items")
		if not items:
			return _missing("line_items")
		total, currency = 0, None
		for i, item in enumerate(items):
			price = item.get("price_data") or {}
			if "unit_amount" not in price or "currency" not in price:
				return _missing(f"line_items[{i}][price_data][unit_amount]")
			if not (price.get("product_data") or {}).get("name"):
				return _missing(f"line_items[{i}][price_data][product_data][name]")
			total += int(price["unit_amount"]) * int(item.get("quantity") or 1)
			currency = price["currency"].lower()
		if total < MINIMUM_AMOUNT:
			return _error(
				400,
				"invalid_request_error",
				"The Checkout Session's total amount due must add up to at least $0.50 cad",
				code="amount_too_small",
				param="line_items",
			)
		session = self._new(
			"cs",
			"checkout.session",
			amount_subtotal=total,
			amount_total=total,
			cancel_url=params.get("cancel_url"),
			client_reference_id=params.get("client_reference_id"),
			currency=currency,
			customer=params.get("customer"),
			customer_email=params.get("customer_email"),
			expires_at=int(params.get("expires_at") or time.time() + 24 * 3600),
			locale=params.get("locale"),
			metadata=params.get("metadata") or {},
			mode=mode,
			payment_intent=None,  # created when the customer pays
			payment_status="unpaid",
			status="open",
			success_url=params.get("success_url"),
			_payment_intent_data=params.get("payment_intent_data") or {},
		)
		session["url"] = f"{self.url}/c/pay/{session['id']}"
		return Response.json(self._public(session))

	def _create_payment_intent(self, request: Request, params: dict) -> Response:
		for required in ("amount", "currency"):
			if not params.get(required):
				return _missing(required)
		try:
			amount = int(params["amount"])
		except ValueError:
			return _error(
				400, "invalid_request_error", "Invalid integer: " + params["amount"], param="amount"
			)
		if amount < MINIMUM_AMOUNT:
			return _error(
				400,
				"invalid_request_error",
				"Amount must be at least $0.50 cad",
				code="amount_too_small",
				param="amount",
			)
		customer = params.get("customer")
		if customer and customer not in self.objects:
			return _error(
				400,
				"invalid_request_error",
				f"No such customer: '{customer}'",
				code="resource_missing",
				param="customer",
			)
		method = params.get("payment_method")
		confirm = _bool(params.get("confirm"))
		if confirm and not method:
			return _missing("payment_method")
		intent = self._new(
			"pi",
			"payment_intent",
			amount=amount,
			amount_received=0,
			currency=params["currency"].lower(),
			customer=customer,
			description=params.get("description"),
			metadata=params.get("metadata") or {},
			payment_method=method,
			status="requires_confirmation" if method else "requires_payment_method",
			last_payment_error=None,
			latest_charge=None,
			setup_future_usage=params.get("setup_future_usage"),
		)
		intent["client_secret"] = f"{intent['id']}_secret_{secrets.token_hex(8)}"
		if not confirm:
			return Response.json(intent)
		decline = TEST_PAYMENT_METHODS.get(method)
		if method == AUTHENTICATION_REQUIRED:
			if _bool(params.get("off_session")):
				decline = (
					"authentication_required",
					"authentication_required",
					"Your card was declined. This transaction requires authentication.",
				)
			else:
				intent["status"] = "requires_action"
				return Response.json(intent)
		charge = self._id("ch")
		if decline is None:
			intent.update(status="succeeded", amount_received=amount, latest_charge=charge)
			self._event("payment_intent.succeeded", intent, request)
			return Response.json(intent)
		code, decline_code, message = decline
		error = {
			"type": "card_error",
			"code": code,
			"decline_code": decline_code,
			"message": message,
			"charge": charge,
			"payment_method": {"id": method, "object": "payment_method", "type": "card"},
		}
		intent.update(
			status="requires_payment_method",
			latest_charge=charge,
			last_payment_error={k: v for k, v in error.items() if v is not None},
		)
		self._event("payment_intent.payment_failed", intent, request)
		return _error(
			402,
			"card_error",
			message,
			code=code,
			decline_code=decline_code,
			charge=charge,
			payment_method=error["payment_method"],
			payment_intent=dict(intent),
		)
