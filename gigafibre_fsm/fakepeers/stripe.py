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

The parts live beside this module, as mixins of :class:`FakeStripe`: Checkout Sessions and
PaymentIntents in stripe_intents.py, events and webhooks in stripe_events.py, the test controls in
stripe_controls.py, cards and Stripe.js in stripe_cards.py.
"""

from __future__ import annotations

import hmac
import itertools
import secrets
import threading
import time
from urllib.parse import parse_qsl

from gigafibre_fsm.fakepeers.http import FakePeer, Request, Response
from gigafibre_fsm.fakepeers.stripe_cards import CardsMixin
from gigafibre_fsm.fakepeers.stripe_controls import ControlsMixin
from gigafibre_fsm.fakepeers.stripe_events import Delivery, EventsMixin
from gigafibre_fsm.fakepeers.stripe_intents import IntentsMixin
from gigafibre_fsm.fakepeers.stripe_wire import decode_form, no_such_customer
from gigafibre_fsm.fakepeers.stripe_wire import error as _error


class FakeStripe(CardsMixin, ControlsMixin, EventsMixin, IntentsMixin, FakePeer):
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
				return no_such_customer(customer)
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
