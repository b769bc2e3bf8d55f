"""Proration: one rule for every partial period, the installation chain's included.

A part of a period is charged in proportion to its days::

	amount = period_price × days / days_in_period      (rounded half-up to the cent)
	period_price = monthly_rate × months in the cycle

For a monthly cycle on billing day 1 the period is the calendar month, so this is exactly the
installation rule of core/dispatch/chains.py (``chains.prorate`` calls :func:`prorate`): the
activation day is free, billing starts the next day and runs to the end of the month,
e.g. 39.95 × 7/30 = 9.3217 → 9.32. A whole period is charged ``period_price`` itself.

Proportion is taken within the billing period, not per calendar month: a part of a period never
costs more than the whole period (billing day 15: January 16 → February 14 is 30 of 31 days).
The monthly rate is used as given (not rounded first), so a yearly price kept as
``Decimal(price) / 12`` gives back the exact yearly price for a whole annual period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gigafibre_fsm.core.billing.periods import Period, cycle_months
from gigafibre_fsm.core.contracts import money
from gigafibre_fsm.core.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Proration:
	days: int  # days charged
	period_days: int  # days in the whole period
	amount: Decimal  # 2 places

	@property
	def whole(self) -> bool:
		return self.days == self.period_days


def rate(value: Decimal | float | str | int) -> Decimal:
	"""A price as an exact Decimal (floats through their shortest repr: 39.95, not 39.9500000000000028...)."""
	try:
		result = Decimal(str(value if value is not None else 0))
	except ArithmeticError:
		raise InvalidInput("{0} is not an amount", value) from None
	if not result.is_finite():
		raise InvalidInput("{0} is not an amount", value)
	return result


def period_price(monthly_rate: Decimal | float | str, cycle: str) -> Decimal:
	"""The exact (unrounded) price of a whole period of ``cycle``."""
	return rate(monthly_rate) * cycle_months(cycle)


def prorate(
	monthly_rate: Decimal | float | str, cycle: str, period: Period, start: date, end: date
) -> Proration:
	"""The charge for ``start``..``end`` (inclusive), a part of ``period``, at ``monthly_rate``."""
	price = period_price(monthly_rate, cycle)
	if price < 0:
		raise InvalidInput("A monthly rate cannot be negative")
	if not (period.start <= start <= end <= period.end):
		raise InvalidInput(
			"{0} to {1} is not within the billing period {2} to {3}", start, end, period.start, period.end
		)
	days = (end - start).days + 1
	amount = money(price) if days == period.days else money(price * days / period.days)
	return Proration(days, period.days, amount)
