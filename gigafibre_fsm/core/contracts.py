"""Rules for service contracts and subscriptions (dates, benefits, statuses)."""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from gigafibre_fsm.core.errors import InvalidInput

CONTRACT_TYPES = ("Residential", "Commercial")
CONTRACT_STATUSES = ("Brouillon", "Envoyé", "Signé", "Actif", "Résilié", "Expiré")
SUBSCRIPTION_STATUSES = ("En attente", "Actif", "Annulé")
BILLING_CYCLES = ("Monthly", "Semestrial", "Annual")
# legacy `service.payment_recurrence` → billing cycle (shared/FACTS.md)
LEGACY_RECURRENCE = {0: "Annual", 2: "Monthly", 5: "Semestrial"}


def add_months(start: date, months: int) -> date:
	"""``start`` plus whole months, clamped to the last day of a shorter month."""
	month_index = start.month - 1 + months
	year, month = start.year + month_index // 12, month_index % 12 + 1
	day = min(start.day, calendar.monthrange(year, month)[1])
	return date(year, month, day)


def contract_end_date(start: date | None, duration_months: int | None) -> date | None:
	"""The last day covered by a contract of ``duration_months`` starting on ``start``."""
	if not start or not duration_months:
		return None
	if duration_months < 0:
		raise InvalidInput("The duration of a contract cannot be negative")
	return date.fromordinal(add_months(start, duration_months).toordinal() - 1)


def money(value) -> Decimal:
	return Decimal(str(value or 0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def benefit_amount(regular_price, granted_price) -> Decimal:
	"""What the customer was granted on one benefit line (never negative)."""
	regular, granted = money(regular_price), money(granted_price)
	if granted > regular:
		raise InvalidInput("The granted price ({0}) cannot exceed the regular price ({1})", granted, regular)
	return regular - granted


def check_dates(
	start: date | None, end: date | None, label_start: str = "Start Date", label_end: str = "End Date"
) -> None:
	if start and end and end < start:
		raise InvalidInput("{0} cannot be before {1}", label_end, label_start)


def check_subscription(status: str, start: date | None, end: date | None, cancellation: date | None) -> None:
	"""A subscription's status and dates must agree.

	Actif needs a start date; Annulé needs a cancellation date; no date may precede the start.
	"""
	if status not in SUBSCRIPTION_STATUSES:
		raise InvalidInput("Unknown subscription status {0}", status)
	check_dates(start, end)
	check_dates(start, cancellation, "Start Date", "Cancellation Date")
	if status == "Actif" and not start:
		raise InvalidInput("An active subscription needs a start date")
	if status == "Annulé" and not cancellation:
		raise InvalidInput("A cancelled subscription needs a cancellation date")


# -- contract progress and benefits (the contract view; core/termination.py uses the same rules)

BENEFIT_KINDS = ("Service", "Device", "Fee")


def prorate_down(amount, numerator: int, denominator: int) -> Decimal:
	"""``amount × numerator ÷ denominator``, computed exactly and rounded down to the cent.

	Rounded down because the results are ceilings (a legal maximum, what is left to repay):
	a cent rounded up would be a cent over the limit.
	"""
	if denominator <= 0:
		raise InvalidInput("Cannot prorate over {0} months", denominator)
	cents = math.floor(Fraction(money(amount)) * numerator * 100 / denominator)
	return Decimal(cents).scaleb(-2)


def months_elapsed(start: date, on: date) -> int:
	"""Contract months elapsed on ``on``, the month in progress counting as elapsed.

	Month *n* runs from ``add_months(start, n - 1)`` to the day before ``add_months(start, n)``
	(the anniversaries :func:`contract_end_date` uses). On the start date month 1 is in progress,
	so 1 month has elapsed; on the day before the first anniversary of a 12-month contract, 12.
	This is the count of the Regulation respecting the application of the Consumer Protection Act
	(CQLR c. P-40.1, r. 3), s. 79.10: "the month started at the time of cancellation is deemed to
	be a month completely elapsed". Not capped at the term (callers cap it).
	"""
	if on < start:
		raise InvalidInput(
			"The date {0} is before the contract start ({1})", on.isoformat(), start.isoformat()
		)
	months = (on.year - start.year) * 12 + on.month - start.month
	if add_months(start, months) > on:
		months -= 1
	return months + 1


@dataclass(frozen=True)
class Benefit:
	"""One benefit line of a contract: the regular price against the price granted.

	``kind`` "Service": a monthly price (regular 50 $, granted 30 $: 20 $ a month over the term).
	``kind`` "Device": the one-time price of goods needed to use the service (a 300 $ modem given
	free: 300 $). ``kind`` "Fee": a one-time fee waived or discounted (installation, activation):
	worth its amount once, like a Device, but it is no goods. Only "Device" benefits are the
	"economic inducement" that sets the consumer termination cap (core/termination.py); a discount
	on the service price or on a fee never raises it.
	"""

	label: str
	regular_price: Decimal
	granted_price: Decimal
	kind: str = "Service"

	def __post_init__(self):
		if self.kind not in BENEFIT_KINDS:
			raise InvalidInput("Unknown benefit kind {0}", self.kind)
		object.__setattr__(self, "regular_price", money(self.regular_price))
		object.__setattr__(self, "granted_price", money(self.granted_price))
		benefit_amount(self.regular_price, self.granted_price)  # refuses granted > regular

	@property
	def recurring(self) -> bool:
		return self.kind == "Service"

	def value(self, term_months: int) -> Decimal:
		"""What the benefit is worth over the whole term."""
		amount = benefit_amount(self.regular_price, self.granted_price)
		return amount * term_months if self.recurring else amount


@dataclass(frozen=True)
class BenefitStatus:
	label: str
	kind: str
	per_month: Decimal | None  # None for a one-time (Device) benefit
	value: Decimal  # over the whole term
	recognised: Decimal  # earned by the months elapsed
	residual: Decimal  # value - recognised: what is left to repay if the contract ended now

	def as_dict(self) -> dict:
		return {
			"label": self.label,
			"kind": self.kind,
			"per_month": None if self.per_month is None else str(self.per_month),
			"value": str(self.value),
			"recognised": str(self.recognised),
			"residual": str(self.residual),
		}


@dataclass(frozen=True)
class ContractProgress:
	start: date
	end: date
	term_months: int
	months_elapsed: int  # 0 before the start, capped at term_months after the end
	months_left: int
	benefits: tuple[BenefitStatus, ...]
	value: Decimal
	recognised: Decimal
	residual: Decimal

	def as_dict(self) -> dict:
		return {
			"start": self.start.isoformat(),
			"end": self.end.isoformat(),
			"term_months": self.term_months,
			"months_elapsed": self.months_elapsed,
			"months_left": self.months_left,
			"benefits": [b.as_dict() for b in self.benefits],
			"value": str(self.value),
			"recognised": str(self.recognised),
			"residual": str(self.residual),
		}


def contract_progress(
	start: date, term_months: int, on: date, benefits: Iterable[Benefit] = ()
) -> ContractProgress:
	"""Where a fixed-term contract stands on ``on``: months elapsed and left, benefits earned.

	Months follow :func:`months_elapsed` (the month in progress counts), capped at the term;
	before the start nothing has elapsed (a signed contract that has not started yet).
	Each benefit is recognised straight-line over the term: ``residual = value × months left
	÷ term`` rounded down to the cent, ``recognised = value - residual``. For a Device benefit the
	residual is exactly the consumer termination cap of core/termination.py.
	"""
	if isinstance(term_months, bool) or not isinstance(term_months, int) or term_months < 1:
		raise InvalidInput("A fixed-term contract needs a term of at least one month")
	elapsed = 0 if on < start else min(months_elapsed(start, on), term_months)
	left = term_months - elapsed
	lines = []
	for benefit in benefits:
		value = benefit.value(term_months)
		residual = prorate_down(value, left, term_months)
		lines.append(
			BenefitStatus(
				label=benefit.label,
				kind=benefit.kind,
				per_month=benefit_amount(benefit.regular_price, benefit.granted_price)
				if benefit.recurring
				else None,
				value=value,
				recognised=value - residual,
				residual=residual,
			)
		)
	zero = Decimal("0.00")
	return ContractProgress(
		start=start,
		end=contract_end_date(start, term_months),
		term_months=term_months,
		months_elapsed=elapsed,
		months_left=left,
		benefits=tuple(lines),
		value=sum((b.value for b in lines), zero),
		recognised=sum((b.recognised for b in lines), zero),
		residual=sum((b.residual for b in lines), zero),
	)
