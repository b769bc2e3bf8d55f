"""Card payments as the ledger sees them: what a Stripe event means, what to allocate, what to reverse.

Pure rules over plain values (cents from Stripe, Decimal dollars from ERPNext); the Frappe layer
(gigafibre_fsm.customers.payments) turns them into Payment Entries.

- :func:`action_for`: what a verified webhook event asks for. ``checkout.session.completed``
  counts as a payment only when the session is ``paid`` (a delayed method completes the session
  unpaid and pays later with ``payment_intent.succeeded``); both events of one payment name the
  same PaymentIntent, which is the key a payment is recorded under, once.
- :func:`allocation`: a payment is booked in full (the money arrived); at most the invoice's
  outstanding amount is allocated to it, the rest stays unallocated on the customer (an advance
  the next invoice can use), never an over-allocation ERPNext would refuse.
- :func:`refund_due`: ``charge.refunded`` carries the charge's *cumulative* ``amount_refunded``;
  what to book now is that total minus what was already booked for the PaymentIntent, so repeated
  or reordered refund events book each cent once.
- :func:`account_identifier`: what a customer typed on the account page (an e-mail or a cell phone
  number) as the key to look them up by and to count requests under.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal

from gigafibre_fsm.core.billing.proration import rate
from gigafibre_fsm.core.otp import phone_key

RECORD_PAYMENT = "record_payment"
RECORD_REFUND = "record_refund"
PAYMENT_FAILED = "payment_failed"
OPEN_DISPUTE = "open_dispute"
SAVE_CARD = "save_card"
REFRESH_CARD = "refresh_card"
IGNORE = "ignore"

_ACTIONS = {
	"checkout.session.completed": RECORD_PAYMENT,
	"checkout.session.async_payment_succeeded": RECORD_PAYMENT,
	"payment_intent.succeeded": RECORD_PAYMENT,
	"charge.refunded": RECORD_REFUND,
	"payment_intent.payment_failed": PAYMENT_FAILED,
	"charge.dispute.created": OPEN_DISPUTE,
	"setup_intent.succeeded": SAVE_CARD,
	# the saved card's details (brand, last 4, expiry) are read again from Stripe
	"payment_method.attached": REFRESH_CARD,
	"payment_method.updated": REFRESH_CARD,
	"payment_method.automatically_updated": REFRESH_CARD,
}

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$")


def action_for(
	event_type: str, *, object_status: str | None = None, payment_status: str | None = None
) -> str:
	"""The action for an event type (``IGNORE`` for types this app does not act on)."""
	action = _ACTIONS.get(event_type or "", IGNORE)
	if event_type == "checkout.session.completed" and payment_status != "paid":
		return IGNORE  # the payment itself will come as payment_intent.succeeded
	if event_type == "payment_intent.succeeded" and object_status not in (None, "succeeded"):
		return IGNORE
	return action


def cents_to_amount(cents: int) -> Decimal:
	return (Decimal(int(cents)) / 100).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Allocation:
	paid: Decimal  # the whole payment, booked
	allocated: Decimal  # against the invoice
	unallocated: Decimal  # left on the customer's account


def allocation(amount_cents: int, outstanding: Decimal | str | float) -> Allocation:
	"""Book ``amount_cents`` in full, allocate at most ``outstanding`` (never below 0) to the invoice."""
	paid = cents_to_amount(amount_cents)
	open_amount = max(rate(outstanding), Decimal("0.00"))
	allocated = min(paid, open_amount)
	return Allocation(paid, allocated, paid - allocated)


def refund_due(amount_refunded_cents: int, already_booked: Decimal | str | float) -> Decimal:
	"""What is left to book of a charge's cumulative refunds (0 when all was booked already)."""
	due = cents_to_amount(amount_refunded_cents or 0) - rate(already_booked or 0)
	return max(due, Decimal("0.00"))


@dataclass(frozen=True)
class AccountIdentifier:
	kind: str  # "email", "phone" or "" (neither: looked up as nothing)
	value: str  # the normalised e-mail, the 10 phone digits, or ""
	key: str  # a digest to count requests under (never the identifier itself in cache keys)


def account_identifier(text: str | None) -> AccountIdentifier:
	"""An e-mail (lower-cased) or a North American phone number (its 10 digits) from what was typed."""
	raw = str(text or "").strip()[:320]
	if "@" in raw:
		value = raw.lower()
		kind = "email" if _EMAIL.match(value) else ""
	else:
		value = phone_key(raw) if len(re.sub(r"\D", "", raw)) <= 11 else ""
		kind = "phone" if value else ""
	basis = f"{kind}:{value}" if kind else f"other:{raw.lower()}"
	return AccountIdentifier(kind, value if kind else "", hashlib.sha256(basis.encode()).hexdigest()[:32])
