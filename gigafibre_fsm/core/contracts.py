"""Rules for service contracts and subscriptions (dates, benefits, statuses)."""

from __future__ import annotations

import calendar
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

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
