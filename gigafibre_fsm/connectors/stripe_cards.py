"""A saved card as Stripe knows it: ``GET /v1/payment_methods/{id}`` through the stripe SDK.

Stripe API reference, "Retrieve a PaymentMethod" (https://docs.stripe.com/api/payment_methods/retrieve):
the PaymentMethod's ``type``, its ``customer`` (the Stripe Customer it is attached to, or null) and,
for a card, ``card.brand``, ``card.last4``, ``card.exp_month`` and ``card.exp_year``. The card's
expiry changes on the same PaymentMethod when the card network sends a renewal
(``payment_method.automatically_updated``), so the webhook handlers read it here each time rather
than trusting an event's copy. Errors are stripe_payments.py's (StripeNotFound, StripeUnavailable, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from gigafibre_fsm.connectors.stripe_payments import (
	StripeResponseError,
	_call,
	as_plain,
	client,
	id_of,
	metadata_of,
)
from gigafibre_fsm.core.billing.cards import Card
from gigafibre_fsm.core.errors import InvalidInput
from gigafibre_fsm.core.settings import StripeSettings


class NotACard(StripeResponseError):
	"""The PaymentMethod is not a card, or Stripe did not give its expiry and last 4 digits."""


@dataclass(frozen=True)
class PaymentMethodCard:
	id: str
	customer: str | None  # the Stripe Customer it is attached to
	card: Card
	metadata: dict[str, str]


def retrieve_payment_method(settings: StripeSettings, payment_method: str) -> PaymentMethodCard:
	"""The card of PaymentMethod ``payment_method`` (NotACard when it is not one)."""
	with client(settings) as c:
		obj = as_plain(_call(settings, c.v1.payment_methods.retrieve, payment_method))
	if obj.get("type") != "card":
		raise NotACard(f"Payment method {payment_method} is a {obj.get('type')}, not a card")
	card = obj.get("card")
	try:
		parsed = Card.from_stripe(as_plain(card) if card is not None else None)
	except InvalidInput as e:
		raise NotACard(f"Payment method {payment_method}: {e}") from e
	return PaymentMethodCard(obj["id"], id_of(obj.get("customer")), parsed, metadata_of(obj.get("metadata")))
