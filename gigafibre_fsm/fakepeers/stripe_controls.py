"""The fake Stripe's test controls (a mixin of gigafibre_fsm.fakepeers.stripe.FakeStripe): what a
customer or Stripe does outside the API (pay a session or an intent, refund, dispute, save a card),
with the events Stripe sends for each."""

from __future__ import annotations

import secrets
import time


class ControlsMixin:
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
