"""The customer's saved card: its brand, last 4 digits and expiry read from Stripe, and the notice
before it expires (core/billing/cards.py decides; connectors/stripe_cards.py reads Stripe).

- :func:`refresh_card`: reads the PaymentMethod (``GET /v1/payment_methods/{id}`` through the
  stripe SDK) and stores its card on the Customer (``gigafibre_card_brand``, ``_last4``,
  ``_expiry`` "MM/YYYY", ``_exp_month``, ``_exp_year``). Called by the webhook handlers
  (stripe_events.py) on ``setup_intent.succeeded`` (the card just saved) and on
  ``payment_method.attached`` / ``.updated`` / ``.automatically_updated`` for the saved card: the
  PaymentMethod is read each time rather than the event's copy, so an older event delivered late
  never writes an older expiry. Stripe failing raises (the event is rolled back and Stripe retries).
- :func:`warn_expiring` (daily): a saved card that expires this month or the next fires
  ``on_card_expiring`` on its Customer, once per card and expiry (the key
  ``<payment method>:<YYYY-MM>`` is the flow occurrence and is kept in
  ``gigafibre_card_expiry_notice``); the seeded template "Avis de carte bientôt expirée" texts and
  e-mails the customer a link to their account page.
- :func:`card_view`: what the account page shows of the card.
"""

from __future__ import annotations

import frappe
from frappe.utils import getdate

from gigafibre_fsm.connectors import stripe_cards
from gigafibre_fsm.core.billing import cards
from gigafibre_fsm.core.billing.cards import Card
from gigafibre_fsm.customers.stripe_ledger import stripe_settings

EVENT = "on_card_expiring"
CARD_FIELDS = (
	"gigafibre_payment_method",
	"gigafibre_card_brand",
	"gigafibre_card_last4",
	"gigafibre_card_exp_month",
	"gigafibre_card_exp_year",
	"gigafibre_card_expiry_notice",
)


def card_values(card: Card) -> dict:
	return {
		"gigafibre_card_brand": card.brand,
		"gigafibre_card_last4": card.last4,
		"gigafibre_card_expiry": card.expiry,
		"gigafibre_card_exp_month": card.exp_month,
		"gigafibre_card_exp_year": card.exp_year,
	}


def refresh_card(customer: str, payment_method: str) -> Card:
	"""Read ``payment_method``'s card from Stripe and store it on ``customer`` (its saved card)."""
	card = stripe_cards.retrieve_payment_method(stripe_settings(), payment_method).card
	frappe.db.set_value("Customer", customer, card_values(card))
	return card


def customer_with_card(payment_method: str | None) -> str | None:
	"""The customer whose saved card is ``payment_method`` (None if nobody's)."""
	if not payment_method:
		return None
	return frappe.db.get_value("Customer", {"gigafibre_payment_method": payment_method}, "name")


def card_of(row) -> Card | None:
	"""The stored card of a Customer row (None while its details are not known)."""
	if not (row.get("gigafibre_payment_method") and row.get("gigafibre_card_exp_year")):
		return None
	return Card(
		row.get("gigafibre_card_brand") or "unknown",
		row.get("gigafibre_card_last4") or "????",
		int(row.get("gigafibre_card_exp_month") or 1),
		int(row.get("gigafibre_card_exp_year")),
	)


def card_view(row, today=None) -> dict | None:
	"""The saved card for the account page: brand, last 4, expiry, labels and where it stands."""
	card = card_of(row)
	if card is None:
		return None
	return {
		"brand": card.brand,
		"last4": card.last4,
		"expiry": card.expiry,
		"label": {lang: cards.card_label(card, lang) for lang in ("fr", "en")},
		"window": cards.expiry_window(card, getdate(today)),
	}


def warn_expiring(today=None) -> int:
	"""Daily: fire ``on_card_expiring`` for each saved card expiring this month or the next, once per
	card and expiry. Returns how many cards were newly warned about."""
	from gigafibre_fsm import flows

	today = getdate(today)
	months = cards.warning_months(today)
	rows = frappe.get_all(
		"Customer",
		filters={
			"disabled": 0,
			"gigafibre_payment_method": ["is", "set"],
			"gigafibre_card_exp_year": ["in", sorted({year for year, _month in months})],
			"gigafibre_card_exp_month": ["in", sorted({month for _year, month in months})],
		},
		fields=["name", *CARD_FIELDS],
		order_by="name asc",
	)
	warned = 0
	for row in rows:
		card = card_of(row)
		if card is None or cards.expiry_window(card, today) not in (cards.THIS_MONTH, cards.NEXT_MONTH):
			continue  # e.g. 12/2031 matched the year of 01/2031 and the month of 12/2030
		key = cards.notice_key(row.gigafibre_payment_method, card)
		if row.gigafibre_card_expiry_notice == key:
			continue
		frappe.db.set_value("Customer", row.name, "gigafibre_card_expiry_notice", key, update_modified=False)
		flows.fire(EVENT, frappe.get_doc("Customer", row.name), occurrence=key)
		warned += 1
	return warned
