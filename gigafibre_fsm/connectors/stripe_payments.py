"""Stripe payments through the official SDK (``stripe.StripeClient``), with our timeout and typed errors.

What this client does (Stripe API reference, https://docs.stripe.com/api):

- :func:`checkout_for_invoice`: a Checkout Session (``mode=payment``) for an invoice's outstanding
  amount in CAD, ``metadata`` ``{invoice, customer}`` on the session and on its PaymentIntent (so
  ``checkout.session.completed`` and ``payment_intent.succeeded`` both name the invoice),
  ``client_reference_id`` = the invoice. **Reuse**: the caller stores the session id on the
  invoice and passes it back; a session still open for the same amount and currency is returned
  as is (``reused=True``); one open for another amount is expired first; a completed one is
  returned (``paid``) and no new one is made — the webhook will record that payment. Creation
  carries the idempotency key ``checkout-<invoice>-<cents>-<previous session or "first">``, so two
  workers that both find no open session make one, and a retry after a timeout gets the same.
- :func:`create_customer` and :func:`create_setup_intent` (``usage=off_session``): to save a card
  for autopay.
- :func:`charge_off_session`: a PaymentIntent confirmed at once with a saved payment method
  (``off_session=true``) under the caller's idempotency key (core/billing/autopay.py gives one per
  invoice and attempt): a retry with the same key never charges twice.
- ``retrieve_*``: one object by id.

The API base is ``StripeSettings.api_base`` (gigafibre_fsm.core.settings: Gigafibre Settings' Stripe
section) (``base_addresses={"api": ...}``), so tests point it at
a fake Stripe on loopback (gigafibre_fsm.fakepeers.stripe). Requests time out after
``timeout`` seconds; the SDK retries ``max_network_retries`` times on network errors and 409/429/5xx,
with its own idempotency key on POSTs (0 in tests).

Errors: a declined card (402) → :class:`PaymentFailed` (``code``, ``decline_code``, the
PaymentIntent id); 401/403 → :class:`StripeAuthError`; 404 → :class:`StripeNotFound`; other 400s →
:class:`StripeInvalidRequest`; an idempotency key reused with other parameters →
:class:`StripeIdempotencyConflict`; unreachable, 429 and 5xx → :class:`StripeUnavailable`; a
timeout → :class:`StripeTimeout` (an unavailable *and* a timeout).

Webhooks (a body verified and read into a StripeEvent): stripe_webhooks.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests
import stripe

from gigafibre_fsm.connectors.errors import (
	ConnectorAuthError,
	ConnectorResponseError,
	ConnectorTimeout,
	ConnectorUnavailable,
)
from gigafibre_fsm.core.billing.autopay import to_cents
from gigafibre_fsm.core.errors import InvalidInput
from gigafibre_fsm.core.settings import StripeSettings

SOURCE = "stripe"
DEFAULT_API_BASE = "https://api.stripe.com"
CURRENCY = "cad"


# -- errors


class StripeAuthError(ConnectorAuthError):
	"""Stripe refused the API key (401) or the key may not do this (403)."""

	source = SOURCE


class StripeUnavailable(ConnectorUnavailable):
	"""Not configured, unreachable, rate limited (429) or failing (5xx): retry later."""

	source = SOURCE


class StripeTimeout(StripeUnavailable, ConnectorTimeout):
	"""Stripe did not answer in time: the request may or may not have been carried out."""


class StripeResponseError(ConnectorResponseError):
	source = SOURCE

	def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
		super().__init__(message, status=status)
		self.code = code


class StripeInvalidRequest(StripeResponseError):
	"""Stripe refused the request (400): retrying it unchanged will not help."""


class StripeNotFound(StripeInvalidRequest):
	"""No such object (404)."""


class StripeIdempotencyConflict(StripeInvalidRequest):
	"""An idempotency key was reused with other parameters (e.g. another amount)."""


class PaymentFailed(StripeResponseError):
	"""The card was declined (402). ``decline_code`` is the issuer's reason when there is one."""

	def __init__(
		self,
		message: str,
		*,
		status: int | None = 402,
		code: str | None = None,
		decline_code: str | None = None,
		payment_intent: str | None = None,
		payment_intent_status: str | None = None,
		advice_code: str | None = None,
	):
		super().__init__(message, status=status, code=code)
		self.decline_code = decline_code
		self.payment_intent = payment_intent
		self.payment_intent_status = payment_intent_status
		self.advice_code = advice_code


# -- values


@dataclass(frozen=True)
class CheckoutSession:
	id: str
	url: str | None
	status: str  # open, complete, expired
	payment_status: str  # unpaid, paid, no_payment_required
	amount_total: int | None  # cents
	currency: str | None
	metadata: dict[str, str]
	payment_intent: str | None
	customer: str | None
	expires_at: int | None
	reused: bool = False

	@property
	def paid(self) -> bool:
		return self.payment_status == "paid"

	def as_dict(self) -> dict:
		return {
			"id": self.id,
			"url": self.url,
			"status": self.status,
			"payment_status": self.payment_status,
			"amount_total": self.amount_total,
			"currency": self.currency,
			"metadata": dict(self.metadata),
			"payment_intent": self.payment_intent,
			"customer": self.customer,
			"expires_at": self.expires_at,
			"reused": self.reused,
		}


@dataclass(frozen=True)
class SetupIntent:
	id: str
	client_secret: str | None
	status: str
	customer: str | None
	payment_method: str | None
	metadata: dict[str, str]


@dataclass(frozen=True)
class PaymentIntent:
	id: str
	status: str  # succeeded, processing, requires_action, requires_payment_method, ...
	amount: int  # cents
	amount_received: int
	currency: str
	customer: str | None
	payment_method: str | None
	metadata: dict[str, str]
	latest_charge: str | None = None

	@property
	def succeeded(self) -> bool:
		return self.status == "succeeded"


@dataclass(frozen=True)
class StripeCustomer:
	id: str
	name: str | None
	email: str | None
	metadata: dict[str, str]


# -- the client


@contextmanager
def client(settings: StripeSettings) -> Iterator[stripe.StripeClient]:
	"""The SDK client for ``settings``, pointed at ``api_base``; its connections close on exit."""
	if not settings.configured:
		raise StripeUnavailable("Stripe is not configured")
	http = stripe.RequestsClient(timeout=settings.timeout)
	try:
		yield stripe.StripeClient(
			settings.api_key,
			base_addresses={"api": settings.api_base},
			max_network_retries=settings.max_network_retries,
			http_client=http,
		)
	finally:
		http.close()


def _translate(error: stripe.StripeError, settings: StripeSettings) -> Exception:
	"""A stripe exception as one of ours."""
	status = error.http_status
	message = error.user_message or str(error)
	if isinstance(error, stripe.CardError):
		body = error.json_body if isinstance(error.json_body, Mapping) else {}
		details = body.get("error") or {}
		intent = details.get("payment_intent") or {}
		return PaymentFailed(
			f"The payment was declined: {message}",
			status=status,
			code=error.code or details.get("code"),
			decline_code=details.get("decline_code"),
			payment_intent=id_of(intent),
			payment_intent_status=intent.get("status") if isinstance(intent, Mapping) else None,
			advice_code=details.get("advice_code"),
		)
	if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
		return StripeAuthError(f"Stripe refused the API key: {message}", status=status)
	if isinstance(error, stripe.IdempotencyError):
		return StripeIdempotencyConflict(message, status=status, code="idempotency_error")
	if isinstance(error, stripe.RateLimitError):
		return StripeUnavailable(f"Stripe is rate limiting: {message}", status=status)
	if isinstance(error, stripe.APIConnectionError):
		cause = error.__cause__
		if isinstance(cause, requests.Timeout):
			return StripeTimeout(f"Stripe did not answer within {settings.timeout}s")
		return StripeUnavailable(f"Stripe could not be reached: {cause or message}")
	if isinstance(error, stripe.InvalidRequestError):
		if status == 404:
			return StripeNotFound(message, status=status, code=error.code)
		return StripeInvalidRequest(message, status=status, code=error.code)
	if status is None or status >= 500:
		return StripeUnavailable(f"Stripe error {status}: {message}", status=status)
	return StripeResponseError(f"Stripe error {status}: {message}", status=status, code=error.code)


def _call(settings: StripeSettings, fn, *args, **kwargs):
	try:
		return fn(*args, **kwargs)
	except stripe.StripeError as e:
		raise _translate(e, settings) from e


def as_plain(obj) -> dict:
	"""A StripeObject as a plain dict (its ``str()`` is its JSON in every SDK version)."""
	if isinstance(obj, Mapping):
		return dict(obj)
	return json.loads(str(obj))


def metadata_of(value) -> dict[str, str]:
	return {str(k): str(v) for k, v in (value or {}).items()}


def id_of(value) -> str | None:
	"""An expandable field: an id, or the object (then its id)."""
	if value is None or isinstance(value, str):
		return value
	return value.get("id") if isinstance(value, Mapping) else None


def _session(obj, *, reused: bool = False) -> CheckoutSession:
	obj = as_plain(obj)
	return CheckoutSession(
		id=obj["id"],
		url=obj.get("url"),
		status=obj.get("status"),
		payment_status=obj.get("payment_status"),
		amount_total=obj.get("amount_total"),
		currency=obj.get("currency"),
		metadata=metadata_of(obj.get("metadata")),
		payment_intent=id_of(obj.get("payment_intent")),
		customer=id_of(obj.get("customer")),
		expires_at=obj.get("expires_at"),
		reused=reused,
	)


def _payment_intent(obj) -> PaymentIntent:
	obj = as_plain(obj)
	return PaymentIntent(
		id=obj["id"],
		status=obj.get("status"),
		amount=obj.get("amount"),
		amount_received=obj.get("amount_received") or 0,
		currency=obj.get("currency"),
		customer=id_of(obj.get("customer")),
		payment_method=id_of(obj.get("payment_method")),
		metadata=metadata_of(obj.get("metadata")),
		latest_charge=id_of(obj.get("latest_charge")),
	)


def _setup_intent(obj) -> SetupIntent:
	obj = as_plain(obj)
	return SetupIntent(
		id=obj["id"],
		client_secret=obj.get("client_secret"),
		status=obj.get("status"),
		customer=id_of(obj.get("customer")),
		payment_method=id_of(obj.get("payment_method")),
		metadata=metadata_of(obj.get("metadata")),
	)


def _cents(amount: Decimal | int | str) -> int:
	"""Dollars (Decimal or str) to cents; an int is taken as cents already."""
	if isinstance(amount, bool):
		raise StripeInvalidRequest("An amount cannot be a boolean")
	if isinstance(amount, int):
		return amount
	try:
		return to_cents(amount)
	except InvalidInput as e:
		raise StripeInvalidRequest(str(e)) from e


# -- customers and saved cards


def create_customer(
	settings: StripeSettings,
	*,
	customer: str,
	name: str | None = None,
	email: str | None = None,
	idempotency_key: str | None = None,
) -> StripeCustomer:
	"""A Stripe Customer for ERPNext customer ``customer`` (kept in its metadata)."""
	params: dict[str, Any] = {"metadata": {"customer": customer}}
	if name:
		params["name"] = name
	if email:
		params["email"] = email
	options = {"idempotency_key": idempotency_key or f"customer-{customer}"}
	with client(settings) as c:
		obj = as_plain(_call(settings, c.v1.customers.create, params, options))
	return StripeCustomer(obj["id"], obj.get("name"), obj.get("email"), metadata_of(obj.get("metadata")))


def create_setup_intent(
	settings: StripeSettings,
	*,
	stripe_customer: str,
	customer: str,
	idempotency_key: str | None = None,
) -> SetupIntent:
	"""A SetupIntent to save a card of ``stripe_customer`` for later off-session charges."""
	params = {
		"customer": stripe_customer,
		"usage": "off_session",
		"payment_method_types": ["card"],
		"metadata": {"customer": customer},
	}
	options = {"idempotency_key": idempotency_key} if idempotency_key else {}
	with client(settings) as c:
		return _setup_intent(_call(settings, c.v1.setup_intents.create, params, options))


# -- checkout


def checkout_for_invoice(
	settings: StripeSettings,
	*,
	invoice: str,
	customer: str,
	amount: Decimal | int | str,
	success_url: str,
	cancel_url: str,
	existing_session: str | None = None,
	stripe_customer: str | None = None,
	description: str | None = None,
	locale: str = "auto",
	save_card: bool = False,
	currency: str = CURRENCY,
) -> CheckoutSession:
	"""An open Checkout Session to pay ``amount`` (dollars as Decimal/str, or cents as int) of ``invoice``.

	``existing_session``: the session id stored on the invoice last time (see the module's reuse
	rule). ``save_card`` also saves the card for autopay (``setup_future_usage=off_session``).
	"""
	cents = _cents(amount)
	if cents <= 0:
		raise StripeInvalidRequest(f"Nothing to pay on invoice {invoice}")
	currency = currency.lower()
	metadata = {"invoice": invoice, "customer": customer}
	intent_data: dict[str, Any] = {"metadata": metadata, "description": description or invoice}
	if save_card:
		intent_data["setup_future_usage"] = "off_session"
	params: dict[str, Any] = {
		"mode": "payment",
		"line_items": [
			{
				"quantity": 1,
				"price_data": {
					"currency": currency,
					"unit_amount": cents,
					"product_data": {"name": description or invoice},
				},
			}
		],
		"metadata": metadata,
		"client_reference_id": invoice,
		"payment_intent_data": intent_data,
		"success_url": success_url,
		"cancel_url": cancel_url,
		"locale": locale,
	}
	if stripe_customer:
		params["customer"] = stripe_customer
	key = f"checkout-{invoice}-{cents}-{existing_session or 'first'}"
	with client(settings) as c:
		if existing_session:
			try:
				current = _session(
					_call(settings, c.v1.checkout.sessions.retrieve, existing_session), reused=True
				)
			except StripeNotFound:
				current = None
			if current is not None and current.status == "complete":
				return current  # paid: the webhook records it; never a second payment
			if current is not None and current.status == "open":
				if (current.amount_total, current.currency, current.metadata.get("invoice")) == (
					cents,
					currency,
					invoice,
				):
					return current
				_call(settings, c.v1.checkout.sessions.expire, existing_session)
		return _session(_call(settings, c.v1.checkout.sessions.create, params, {"idempotency_key": key}))


# -- off-session charges


def charge_off_session(
	settings: StripeSettings,
	*,
	invoice: str,
	customer: str,
	stripe_customer: str,
	payment_method: str,
	amount: Decimal | int | str,
	idempotency_key: str,
	currency: str = CURRENCY,
	description: str | None = None,
) -> PaymentIntent:
	"""Charge a saved card now. Raises :class:`PaymentFailed` when the card is declined."""
	if not idempotency_key:
		raise StripeInvalidRequest("An off-session charge needs an idempotency key")
	params = {
		"amount": _cents(amount),
		"currency": currency.lower(),
		"customer": stripe_customer,
		"payment_method": payment_method,
		"off_session": True,
		"confirm": True,
		"metadata": {"invoice": invoice, "customer": customer},
		"description": description or invoice,
	}
	with client(settings) as c:
		obj = _call(settings, c.v1.payment_intents.create, params, {"idempotency_key": idempotency_key})
	return _payment_intent(obj)


# -- retrieve


def retrieve_payment_intent(settings: StripeSettings, payment_intent: str) -> PaymentIntent:
	with client(settings) as c:
		return _payment_intent(_call(settings, c.v1.payment_intents.retrieve, payment_intent))


def retrieve_checkout_session(settings: StripeSettings, session: str) -> CheckoutSession:
	with client(settings) as c:
		return _session(_call(settings, c.v1.checkout.sessions.retrieve, session))


def retrieve_setup_intent(settings: StripeSettings, setup_intent: str) -> SetupIntent:
	with client(settings) as c:
		return _setup_intent(_call(settings, c.v1.setup_intents.retrieve, setup_intent))
