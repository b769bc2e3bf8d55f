"""The fake Stripe's Checkout Sessions and PaymentIntents (a mixin of
gigafibre_fsm.fakepeers.stripe.FakeStripe): creating them, with Stripe's test payment methods
deciding a charge's outcome (see stripe.py's docstring)."""

from __future__ import annotations

import secrets
import time

from gigafibre_fsm.fakepeers.http import Request, Response
from gigafibre_fsm.fakepeers.stripe_wire import as_bool as _bool
from gigafibre_fsm.fakepeers.stripe_wire import error as _error
from gigafibre_fsm.fakepeers.stripe_wire import missing as _missing
from gigafibre_fsm.fakepeers.stripe_wire import no_such_customer

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


class IntentsMixin:
	"""Checkout Sessions and PaymentIntents (see the module's docstring)."""

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
			return no_such_customer(customer)
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
