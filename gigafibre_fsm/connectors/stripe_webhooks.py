"""Stripe webhooks: a body checked with ``stripe.Webhook.construct_event`` and read into a
:class:`StripeEvent` (no network).

:func:`verify_event` checks ``Stripe-Signature: t=<ts>,v1=<HMAC-SHA256>`` (timestamp tolerance
300 s) and reads the event. Stripe may deliver an event more than once: the event ``id`` is the key
to process it once. Errors: :class:`WebhookUnsigned`, :class:`WebhookForged`,
:class:`WebhookStale` (all :class:`WebhookRejected`), :class:`WebhookMalformed`; no secret
configured: :class:`~gigafibre_fsm.connectors.stripe_payments.StripeUnavailable`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import stripe

from gigafibre_fsm.connectors.errors import ConnectorAuthError
from gigafibre_fsm.connectors.stripe_payments import (
	SOURCE,
	StripeResponseError,
	StripeUnavailable,
	as_plain,
	id_of,
	metadata_of,
)

TOLERANCE = 300  # seconds, Stripe's default
SIGNATURE_HEADER = "Stripe-Signature"


class WebhookRejected(ConnectorAuthError):
	"""An incoming webhook failed authentication. ``reason`` is for logs, never for the caller."""

	source = SOURCE

	def __init__(self, message: str, *, reason: str):
		super().__init__(message)
		self.reason = reason


class WebhookUnsigned(WebhookRejected):
	"""No ``Stripe-Signature`` header (or no timestamp/v1 signature in it)."""


class WebhookForged(WebhookRejected):
	"""No v1 signature matches the body and the endpoint secret."""


class WebhookStale(WebhookRejected):
	"""Correctly signed, but the timestamp is older than the tolerance (a replay)."""


class WebhookMalformed(StripeResponseError):
	"""A correctly signed body that is not a Stripe event we can read."""


@dataclass(frozen=True)
class StripeEvent:
	"""A verified webhook event, with what the Frappe layer needs to find the invoice."""

	id: str  # evt_...: the key to process an event once
	type: str  # checkout.session.completed, payment_intent.succeeded, ...
	created: int
	livemode: bool
	object_type: str | None  # "checkout.session", "payment_intent", ...
	object_id: str | None
	payment_intent: str | None  # the PaymentIntent id (the object itself, or the session's)
	metadata: dict[str, str]
	amount: int | None  # cents: amount_received, amount_total or amount
	currency: str | None
	status: str | None
	customer: str | None
	data: dict = field(repr=False, default_factory=dict)  # the object as sent

	@property
	def invoice(self) -> str | None:
		return self.metadata.get("invoice")

	def as_dict(self) -> dict:
		return {
			"id": self.id,
			"type": self.type,
			"created": self.created,
			"livemode": self.livemode,
			"object_type": self.object_type,
			"object_id": self.object_id,
			"payment_intent": self.payment_intent,
			"metadata": dict(self.metadata),
			"amount": self.amount,
			"currency": self.currency,
			"status": self.status,
			"customer": self.customer,
		}


def _timestamp(sig_header: str) -> int | None:
	for item in sig_header.split(","):
		key, _, value = item.strip().partition("=")
		if key == "t" and value.isdigit():
			return int(value)
	return None


def verify_event(
	payload: bytes,
	sig_header: str | None,
	secret: str,
	now: float | None = None,
	tolerance: int = TOLERANCE,
) -> StripeEvent:
	"""A webhook body checked against its ``Stripe-Signature`` header and read into a StripeEvent.

	``now`` (Unix seconds) replaces the clock for the age check; the signature check is
	``stripe.Webhook.construct_event``'s. A body signed longer ago than ``tolerance`` seconds is
	stale even when correctly signed (Stripe's replay protection).
	"""
	if not secret:
		raise StripeUnavailable("The Stripe webhook secret is not configured")
	if not sig_header:
		raise WebhookUnsigned("Unsigned Stripe webhook", reason="no Stripe-Signature header")
	timestamp = _timestamp(sig_header)
	if timestamp is None or "v1=" not in sig_header:
		raise WebhookUnsigned("Unsigned Stripe webhook", reason="no timestamp or v1 signature in the header")
	try:
		# the SDK checks the age against the wall clock; with ``now`` given we check it below
		event = stripe.Webhook.construct_event(
			payload, sig_header, secret, tolerance=tolerance if now is None else 0
		)
	except stripe.SignatureVerificationError as e:
		if "tolerance" in str(e):
			raise WebhookStale("Stale Stripe webhook", reason=str(e)) from e
		raise WebhookForged("Bad Stripe webhook signature", reason=str(e)) from e
	except (ValueError, UnicodeDecodeError, AttributeError, TypeError) as e:  # signed, not an event object
		raise WebhookMalformed(f"Not a Stripe event: {e}") from e
	if now is not None and tolerance and timestamp < now - tolerance:
		raise WebhookStale("Stale Stripe webhook", reason=f"signed at {timestamp}, now {int(now)}")
	return parse_event(event)


def parse_event(event) -> StripeEvent:
	"""A StripeEvent from a ``stripe.Event`` or the event's JSON (a dict)."""
	raw = json.loads(event) if isinstance(event, bytes | str) else as_plain(event)
	if not isinstance(raw, Mapping) or raw.get("object") != "event" or not raw.get("id"):
		raise WebhookMalformed("Not a Stripe event")
	obj = (raw.get("data") or {}).get("object") or {}
	object_type = obj.get("object")
	if object_type == "payment_intent":
		payment_intent = obj.get("id")
		amount = obj.get("amount_received") or obj.get("amount")
	else:
		payment_intent = id_of(obj.get("payment_intent"))
		amount = obj.get("amount_total") if "amount_total" in obj else obj.get("amount")
	return StripeEvent(
		id=raw["id"],
		type=raw.get("type") or "",
		created=int(raw.get("created") or 0),
		livemode=bool(raw.get("livemode")),
		object_type=object_type,
		object_id=obj.get("id"),
		payment_intent=payment_intent,
		metadata=metadata_of(obj.get("metadata")),
		amount=amount,
		currency=obj.get("currency"),
		status=obj.get("status"),
		customer=id_of(obj.get("customer")),
		data=dict(obj),
	)
