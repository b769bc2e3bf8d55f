"""Stripe's webhook events, acted on once (:func:`handle_event`, behind api/webhooks.py).

An event's id is the primary key of a ``Stripe Event`` row inserted first in the request's
transaction: a re-delivery (or two deliveries racing: the second insert waits for the first
transaction, then fails on the key) does nothing. Anything failing rolls the whole event back, so
Stripe's retry handles it anew.

- A payment (``checkout.session.completed`` paid, ``payment_intent.succeeded``) is booked once
  (stripe_ledger.record_payment).
- Refunds (``charge.refunded``): a submitted Payment Entry of type *Pay* to the customer, from the
  receipts account, for the part of the charge's cumulative ``amount_refunded`` not booked yet
  (under the Stripe Payment's row lock). The receipt is not cancelled: the money did come in and go
  back out on two dates (Stripe's balance and the bank reconciliation see both, a partial refund
  is possible, the audit trail stays); the customer's receivable shows the refunded amount again
  until staff issue the credit note the refund stands for and reconcile the two (ERPNext's Payment
  Reconciliation) — ERPNext refuses to allocate a *Pay* entry to an invoice that is paid.
- ``payment_intent.payment_failed`` → ``flows.fire("on_payment_failed", invoice)`` once per
  PaymentIntent; ``charge.dispute.created`` → an Issue for billing staff; ``setup_intent.succeeded``
  → the card is saved on the customer and autopay turned on, its brand, last 4 digits and expiry
  read from Stripe (saved_cards.py); ``payment_method.attached`` / ``.updated`` /
  ``.automatically_updated`` of a saved card → its details read again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import frappe
from frappe import _
from frappe.utils import flt, now_datetime

from gigafibre_fsm.connectors import stripe_webhooks as sw
from gigafibre_fsm.core.billing import payments as rules
from gigafibre_fsm.customers import saved_cards
from gigafibre_fsm.customers.payments import amount_text, payment_failed
from gigafibre_fsm.customers.stripe_ledger import (
	INVOICE,
	STRIPE_PAYMENT,
	record_payment,
	refund_entry,
	savepoint_insert,
)

STRIPE_EVENT = "Stripe Event"


@contextmanager
def as_system_user() -> Iterator[None]:
	"""The verified webhook acts with the books' authority: ERPNext checks the session user's
	permissions deep inside Payment Entry (accounts, party), and a webhook's caller is Guest. For
	the call only, the session's user becomes Administrator (the Stripe Event row says where the
	change came from)."""
	session = frappe.local.session
	previous = session.user
	session.user = "Administrator"
	try:
		yield
	finally:
		session.user = previous


def handle_event(event: sw.StripeEvent) -> dict:
	"""Act on one verified event, once per event id."""
	with as_system_user():
		return _handle_event(event)


def _handle_event(event: sw.StripeEvent) -> dict:
	if frappe.db.exists(STRIPE_EVENT, event.id):
		return {"ok": True, "duplicate": True}
	log = frappe.get_doc(
		{
			"doctype": STRIPE_EVENT,
			"event_id": event.id,
			"event_type": event.type[:140],
			"payment_intent": event.payment_intent,
			"invoice": _existing_invoice(event.invoice),
			"livemode": int(event.livemode),
			"received_at": now_datetime(),
		}
	)
	if not savepoint_insert(log, "stripe_event"):
		return {"ok": True, "duplicate": True}
	action = rules.action_for(
		event.type,
		object_status=event.status,
		payment_status=event.data.get("payment_status"),
	)
	outcome = _ACTIONS.get(action, _ignore)(event)
	log.db_set({"outcome": json.dumps(outcome, default=str)[:2000], "customer": outcome.get("customer")})
	return {"ok": True, "duplicate": False, **outcome}


def _existing_invoice(name: str | None) -> str | None:
	return name if name and frappe.db.exists(INVOICE, name) else None


def _ignore(event: sw.StripeEvent) -> dict:
	return {"action": rules.IGNORE}


def _on_payment(event: sw.StripeEvent) -> dict:
	if not event.payment_intent:
		return {"action": rules.IGNORE, "reason": "no PaymentIntent"}
	amount = event.data.get("amount_received") if event.object_type == "payment_intent" else event.amount
	result = record_payment(
		event.payment_intent,
		invoice=event.invoice,
		amount_cents=int(amount or 0),
		currency=event.currency,
		source="Autopay" if event.data.get("off_session") else "Checkout",
		charge=event.data.get("latest_charge") if event.object_type == "payment_intent" else None,
	)
	if event.object_type == "payment_intent" and event.data.get("setup_future_usage") == "off_session":
		_save_card(event.metadata.get("customer"), event.customer, sw.id_of(event.data.get("payment_method")))
	return {"action": rules.RECORD_PAYMENT, **result}


def _on_refund(event: sw.StripeEvent) -> dict:
	payment_intent = event.payment_intent
	if not payment_intent or not frappe.db.exists(STRIPE_PAYMENT, payment_intent):
		return {"action": rules.IGNORE, "reason": "no recorded payment"}
	row = frappe.get_doc(STRIPE_PAYMENT, payment_intent, for_update=True)
	due = rules.refund_due(int(event.data.get("amount_refunded") or 0), row.refunded_amount or 0)
	if due <= 0:
		return {"action": rules.RECORD_REFUND, "refund_entry": None, "customer": row.customer}
	pe = refund_entry(row, due, event.object_id or payment_intent)
	entries = [e for e in (row.refund_entries or "").split("\n") if e] + [pe.name]
	row.db_set(
		{"refunded_amount": flt(row.refunded_amount) + float(due), "refund_entries": "\n".join(entries)}
	)
	return {
		"action": rules.RECORD_REFUND,
		"refund_entry": pe.name,
		"amount": float(due),
		"customer": row.customer,
	}


def _on_failed(event: sw.StripeEvent) -> dict:
	invoice = _existing_invoice(event.invoice)
	if not invoice:
		return {"action": rules.IGNORE, "reason": "no invoice"}
	runs = payment_failed(invoice, event.payment_intent or event.id)
	return {"action": rules.PAYMENT_FAILED, "invoice": invoice, "runs": runs}


def _on_dispute(event: sw.StripeEvent) -> dict:
	payment_intent = event.payment_intent
	row = frappe.db.get_value(STRIPE_PAYMENT, payment_intent or "", ["invoice", "customer"], as_dict=True)
	invoice = (row or {}).get("invoice") or _existing_invoice(event.invoice)
	customer = (row or {}).get("customer") or (
		frappe.db.get_value(INVOICE, invoice, "customer") if invoice else None
	)
	if row:
		frappe.db.set_value(STRIPE_PAYMENT, payment_intent, "disputed", 1, update_modified=False)
	issue = frappe.new_doc("Issue")
	issue.subject = _("Card payment disputed: {0} $ on invoice {1}").format(
		amount_text((event.amount or 0) / 100), invoice or "?"
	)[:140]
	issue.description = _(
		"The customer's bank opened a dispute ({0}) on Stripe payment {1}. Answer it in Stripe before its deadline; the evidence: invoice {2}, its services and the customer's contract."
	).format(event.data.get("reason") or "?", payment_intent or event.object_id, invoice or "?")
	if customer and issue.meta.has_field("customer"):
		issue.customer = customer
	if frappe.db.exists("Issue Priority", "High"):
		issue.priority = "High"
	issue.flags.ignore_permissions = True
	issue.insert()
	return {"action": rules.OPEN_DISPUTE, "issue": issue.name, "invoice": invoice, "customer": customer}


def _on_setup(event: sw.StripeEvent) -> dict:
	customer = event.metadata.get("customer")
	payment_method = sw.id_of(event.data.get("payment_method"))
	card = _save_card(customer, event.customer, payment_method)
	return {
		"action": rules.SAVE_CARD,
		"customer": customer if card else None,
		"saved": bool(card),
		"card": card.expiry if card else None,
	}


def _on_card(event: sw.StripeEvent) -> dict:
	"""A PaymentMethod changed (attached, edited, renewed by the card network): if it is a
	customer's saved card, its details are read again from Stripe."""
	customer = saved_cards.customer_with_card(event.object_id)
	if not customer:
		return {"action": rules.IGNORE, "reason": "not a saved card"}
	card = saved_cards.refresh_card(customer, event.object_id)
	return {"action": rules.REFRESH_CARD, "customer": customer, "card": card.expiry}


def _save_card(customer: str | None, stripe_customer: str | None, payment_method: str | None):
	"""Save the card on the customer, turn autopay on, read the card's details from Stripe: its
	Card, or None when the event names no customer of ours (or another Stripe customer)."""
	if not (customer and stripe_customer and payment_method) or not frappe.db.exists("Customer", customer):
		return None
	known = frappe.db.get_value("Customer", customer, "gigafibre_stripe_customer")
	if known and known != stripe_customer:
		return None  # a card of another Stripe customer is never attached here
	frappe.db.set_value(
		"Customer",
		customer,
		{
			"gigafibre_stripe_customer": stripe_customer,
			"gigafibre_payment_method": payment_method,
			"gigafibre_autopay": 1,
		},
	)
	return saved_cards.refresh_card(customer, payment_method)


_ACTIONS = {
	rules.RECORD_PAYMENT: _on_payment,
	rules.RECORD_REFUND: _on_refund,
	rules.PAYMENT_FAILED: _on_failed,
	rules.OPEN_DISPUTE: _on_dispute,
	rules.SAVE_CARD: _on_setup,
	rules.REFRESH_CARD: _on_card,
}
