"""Billing periods: the three cycles, billed in advance on the customer's billing day.

A customer has one billing day, 1 to 31. In a month shorter than that day the billing date is
the month's last day (billing day 31 → February 28, or 29 in a leap year; April 30), and the
next month is back on the billing day: dates are always computed from the billing day, never
chained from the previous (clamped) date, so they do not drift.

A period starts on a billing date and ends the day before the next billing date of its cycle
(inclusive bounds)::

	Monthly     every month          billing day 15: Jan 15 → Feb 14, Feb 15 → Mar 14, ...
	Semestrial  every 6 months       anchor month 3: Mar 15 → Sep 14, Sep 15 → Mar 14
	Annual      every 12 months      anchor month 3: Mar 15 → Mar 14 of the next year

Semestrial and annual periods start in the *anchor month* (1 = January) and every 6 or 12 months
after it; a subscription's anchor is the month it started in unless it says otherwise. For a
monthly cycle the anchor plays no part.

A period is billed in advance: it falls due on its first day.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from gigafibre_fsm.core.errors import InvalidInput

# months per period, for each of core.contracts.BILLING_CYCLES (a test checks they match)
CYCLE_MONTHS = {"Monthly": 1, "Semestrial": 6, "Annual": 12}

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True, order=True)
class Period:
	"""Days ``start`` to ``end``, both included."""

	start: date
	end: date

	@property
	def days(self) -> int:
		return (self.end - self.start).days + 1

	def __contains__(self, day: date) -> bool:
		return self.start <= day <= self.end


def cycle_months(cycle: str) -> int:
	"""How many months a period of ``cycle`` covers (Monthly 1, Semestrial 6, Annual 12)."""
	try:
		return CYCLE_MONTHS[cycle]
	except (KeyError, TypeError):
		raise InvalidInput("Unknown billing cycle {0}", cycle) from None


def check_billing_day(billing_day: int) -> int:
	if isinstance(billing_day, bool) or not isinstance(billing_day, int) or not 1 <= billing_day <= 31:
		raise InvalidInput("The billing day must be a day of the month from 1 to 31, not {0}", billing_day)
	return billing_day


def check_anchor_month(anchor_month: int) -> int:
	if isinstance(anchor_month, bool) or not isinstance(anchor_month, int) or not 1 <= anchor_month <= 12:
		raise InvalidInput("The anchor month must be from 1 to 12, not {0}", anchor_month)
	return anchor_month


def billing_date(year: int, month: int, billing_day: int) -> date:
	"""The billing date of ``month``: the billing day, or the month's last day when it is shorter."""
	return date(year, month, min(check_billing_day(billing_day), calendar.monthrange(year, month)[1]))


def _billing_date_at(month_index: int, billing_day: int) -> date:
	return billing_date(month_index // 12, month_index % 12 + 1, billing_day)


def period_for(cycle: str, billing_day: int, on: date, *, anchor_month: int = 1) -> Period:
	"""The period of ``cycle`` that contains ``on``."""
	step = cycle_months(cycle)
	check_billing_day(billing_day)
	check_anchor_month(anchor_month)
	index = on.year * 12 + on.month - 1
	index -= (index - (anchor_month - 1)) % step  # a month periods may start in
	if _billing_date_at(index, billing_day) > on:
		index -= step
	return Period(_billing_date_at(index, billing_day), _billing_date_at(index + step, billing_day) - ONE_DAY)


def next_billing_date(cycle: str, billing_day: int, on: date, *, anchor_month: int = 1) -> date:
	"""The first billing date strictly after ``on`` (the day after the period containing ``on``).

	On a billing date this is the *following* one: the period starting that day is already due.
	"""
	return period_for(cycle, billing_day, on, anchor_month=anchor_month).end + ONE_DAY


def periods_overlapping(
	cycle: str, billing_day: int, first: date, last: date, *, anchor_month: int = 1
) -> Iterator[Period]:
	"""The periods that share at least one day with ``first``..``last``, in order."""
	day = first
	while day <= last:
		period = period_for(cycle, billing_day, day, anchor_month=anchor_month)
		yield period
		day = period.end + ONE_DAY
