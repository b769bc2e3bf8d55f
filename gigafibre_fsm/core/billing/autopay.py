"""Autopay: charge an invoice's outstanding amount to the customer's saved card, or say why not.

:func:`decide_autopay` takes the invoice (ERPNext Sales Invoice values), the saved payment method
and the attempts already made for this invoice, and answers *charge* (with the amount in cents and
the idempotency key) or *skip* (with a reason as an English template and its params). It never
charges twice:

- only a submitted invoice in CAD whose status is Unpaid, Overdue or Partly Paid, with an
  outstanding amount of at least Stripe's minimum charge (0.50 $ CAD);
- never while an attempt is in flight (``processing``) or waiting for the customer
  (``requires_action``), nor after one succeeded (the payment is recorded by the webhook; the
  invoice may not show it yet);
- an attempt whose outcome is unknown (``unknown``: the request timed out) is repeated with the
  same attempt number, so with the same idempotency key: Stripe replays the first answer instead of
  charging again (for 24 hours, the life of an idempotency key; after that the caller must look the
  PaymentIntent up by its metadata before retrying);
- after a hard decline (lost or stolen card, fraud, expired card, authentication required, ...)
  the same card is not tried again: a new payment method is needed; other declines are retried on
  the same card after ``retry_days`` (3, then 5, then 7 days) up to ``max_attempts``; a new card
  starts a new count and is tried at once.

The idempotency key is ``autopay-<invoice>-<attempt number>``: one key per invoice and attempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from gigafibre_fsm.core.billing.proration import rate
from gigafibre_fsm.core.errors import InvalidInput

PAYABLE_STATUSES = ("Unpaid", "Overdue", "Partly Paid")
CURRENCY = "CAD"
MINIMUM_CENTS = 50  # Stripe's minimum charge in CAD
MAX_ATTEMPTS = 4
RETRY_DAYS = (3, 5, 7)

# attempt statuses (Stripe PaymentIntent statuses, plus "failed" and "unknown")
SUCCEEDED = "succeeded"
PROCESSING = "processing"
REQUIRES_ACTION = "requires_action"
FAILED = "failed"
UNKNOWN = "unknown"  # no answer (timeout): the charge may or may not exist
ATTEMPT_STATUSES = (SUCCEEDED, PROCESSING, REQUIRES_ACTION, FAILED, UNKNOWN)

# Stripe codes after which the same card must not be charged again (docs.stripe.com/declines/codes)
HARD_DECLINES = frozenset(
	{
		"authentication_required",
		"card_not_supported",
		"currency_not_supported",
		"do_not_try_again",
		"expired_card",
		"fraudulent",
		"incorrect_number",
		"invalid_account",
		"invalid_number",
		"lost_card",
		"merchant_blacklist",
		"new_account_information_available",
		"pickup_card",
		"restricted_card",
		"revocation_of_all_authorizations",
		"revocation_of_authorization",
		"security_violation",
		"stolen_card",
		"stop_payment_order",
	}
)

CHARGE = "charge"
SKIP = "skip"

# skip reasons (English templates)
R_NOT_SUBMITTED = "Invoice {0} is not submitted"
R_STATUS = "Invoice {0} is {1}: nothing to collect"
R_CURRENCY = "Invoice {0} is in {1}; autopay only charges CAD"
R_NOTHING_DUE = "Invoice {0} has nothing outstanding"
R_TOO_SMALL = "The outstanding amount {0} $ is below the minimum card payment of 0.50 $"
R_NO_METHOD = "No saved payment method"
R_DISABLED = "Autopay is turned off for this customer"
R_EXPIRED = "The saved card expired at the end of {0}"
R_IN_FLIGHT = "A payment of this invoice is in progress (attempt {0})"
R_NEEDS_CUSTOMER = "The bank asks the customer to confirm the payment (attempt {0})"
R_PAID = "A payment of this invoice succeeded (attempt {0}); it will be recorded shortly"
R_HARD_DECLINE = "The card was declined ({0}); a new payment method is needed"
R_GAVE_UP = "The card was declined {0} times; no more automatic attempts"
R_WAIT = "The card was declined ({0}); next attempt on {1}"


@dataclass(frozen=True, slots=True)
class AutopayInvoice:
	name: str
	customer: str
	outstanding: Decimal
	currency: str = CURRENCY
	status: str = "Unpaid"
	docstatus: int = 1

	def __post_init__(self):
		object.__setattr__(self, "outstanding", rate(self.outstanding))


@dataclass(frozen=True, slots=True)
class PaymentMethod:
	"""A saved Stripe payment method (``pm_...``) of Stripe customer ``customer`` (``cus_...``)."""

	id: str
	customer: str
	exp_year: int | None = None
	exp_month: int | None = None
	autopay: bool = True


@dataclass(frozen=True, slots=True)
class Attempt:
	number: int
	status: str
	at: datetime
	payment_method: str | None = None
	code: str | None = None  # Stripe error code (card_declined, authentication_required, ...)
	decline_code: str | None = None  # issuer's reason (insufficient_funds, stolen_card, ...)

	def __post_init__(self):
		if self.status not in ATTEMPT_STATUSES:
			raise InvalidInput("Unknown payment attempt status {0}", self.status)
		if self.number < 1:
			raise InvalidInput("Payment attempts are numbered from 1")

	@property
	def hard(self) -> bool:
		return bool({self.code, self.decline_code} & HARD_DECLINES)

	@property
	def reason(self) -> str:
		return self.decline_code or self.code or "declined"


@dataclass(frozen=True, slots=True)
class AutopayDecision:
	action: str  # CHARGE or SKIP
	attempt: int | None = None
	amount_cents: int | None = None
	currency: str = CURRENCY
	idempotency_key: str | None = None
	payment_method: str | None = None
	customer: str | None = None  # Stripe customer
	reason: str | None = None  # English template when skipping
	params: tuple = ()
	next_attempt_at: datetime | None = None

	@property
	def charge(self) -> bool:
		return self.action == CHARGE

	@property
	def text(self) -> str | None:
		if self.reason is None:
			return None
		return self.reason.format(*self.params) if self.params else self.reason


def to_cents(amount: Decimal | str | float) -> int:
	"""A CAD amount in cents; more than 2 decimal places is refused, not rounded."""
	value = rate(amount) * 100
	if value != value.to_integral_value():
		raise InvalidInput("{0} has fractions of a cent", amount)
	return int(value)


def idempotency_key(invoice: str, attempt: int) -> str:
	return f"autopay-{invoice}-{attempt}"


def _skip(reason: str, *params, next_attempt_at: datetime | None = None) -> AutopayDecision:
	return AutopayDecision(SKIP, reason=reason, params=params, next_attempt_at=next_attempt_at)


def decide_autopay(
	invoice: AutopayInvoice,
	method: PaymentMethod | None,
	attempts: Iterable[Attempt],
	*,
	now: datetime,
	max_attempts: int = MAX_ATTEMPTS,
	retry_days: Sequence[int] = RETRY_DAYS,
) -> AutopayDecision:
	"""Charge or skip (see the module's rules); ``now`` is the caller's clock."""
	if invoice.docstatus != 1:
		return _skip(R_NOT_SUBMITTED, invoice.name)
	if invoice.status not in PAYABLE_STATUSES:
		return _skip(R_STATUS, invoice.name, invoice.status)
	if (invoice.currency or "").upper() != CURRENCY:
		return _skip(R_CURRENCY, invoice.name, invoice.currency)
	if invoice.outstanding <= 0:
		return _skip(R_NOTHING_DUE, invoice.name)
	cents = to_cents(invoice.outstanding)
	if cents < MINIMUM_CENTS:
		return _skip(R_TOO_SMALL, invoice.outstanding)
	if method is None:
		return _skip(R_NO_METHOD)
	if not method.autopay:
		return _skip(R_DISABLED)
	if method.exp_year and method.exp_month and (now.year, now.month) > (method.exp_year, method.exp_month):
		return _skip(R_EXPIRED, f"{method.exp_month:02d}/{method.exp_year}")

	history = sorted(attempts, key=lambda a: a.number)
	numbers = [a.number for a in history]
	if len(set(numbers)) != len(numbers):
		raise InvalidInput("Two payment attempts of invoice {0} have the same number", invoice.name)
	for a in history:
		if a.status == SUCCEEDED:
			return _skip(R_PAID, a.number)
		if a.status == PROCESSING:
			return _skip(R_IN_FLIGHT, a.number)
		if a.status == REQUIRES_ACTION and a.payment_method in (None, method.id):
			return _skip(R_NEEDS_CUSTOMER, a.number)

	def charge(number: int) -> AutopayDecision:
		return AutopayDecision(
			CHARGE,
			attempt=number,
			amount_cents=cents,
			idempotency_key=idempotency_key(invoice.name, number),
			payment_method=method.id,
			customer=method.customer,
		)

	last = history[-1] if history else None
	if last and last.status == UNKNOWN:
		return charge(last.number)  # same key: Stripe replays the first outcome
	failed_here = [a for a in history if a.status == FAILED and a.payment_method in (None, method.id)]
	if failed_here:
		previous = failed_here[-1]
		if previous.hard:
			return _skip(R_HARD_DECLINE, previous.reason)
		if len(failed_here) >= max_attempts:
			return _skip(R_GAVE_UP, len(failed_here))
		wait = retry_days[min(len(failed_here), len(retry_days)) - 1] if retry_days else 0
		due = previous.at + timedelta(days=wait)
		if now < due:
			return _skip(R_WAIT, previous.reason, due.date(), next_attempt_at=due)
	return charge((last.number if last else 0) + 1)
