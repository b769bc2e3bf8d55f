"""What each customer owes on each date: invoice plans with one line per key.

Inputs are plain values the Frappe layer reads from "Service Subscription" rows and the ledger:

- a :class:`BillableSubscription` per subscription: monthly rate, cycle, the customer's billing
  day, ``start`` (the first day charged: the activation day is free, so an installation chain
  sets it to the day after completion — core/dispatch/chains.py), ``end`` (the last day of
  service, inclusive, when cancelled), ``billed_until`` (the last day already invoiced) and its
  plan changes;
- :class:`Credit` values (the one-time 50 $ referral credit), each with what is already used.

Rules:

- Billing is in advance: a period falls due on its first day. :func:`due_periods` lists what is
  not billed yet from ``billed_until + 1`` (or ``start``) up to ``as_of``, one piece per billing
  period, the first and last pieces cut at ``start`` and ``end``.
- A piece is charged by :func:`gigafibre_fsm.core.billing.proration.prorate` (the chains rule):
  a whole period at its price, a part in proportion to its days. A piece is split where the
  rate changes (a plan change effective inside it).
- A plan change that takes effect on days already billed (``PlanChange.billed_until``, the
  subscription's ``billed_until`` when the change was recorded, reaches the effective date) is
  settled by one "plan change" line per billed period: new price − old price for those days.
  A change recorded before its days were billed needs nothing more: the regular charge is split.
- A cancellation whose last day of service is before ``billed_until`` credits the days billed
  after it, at the rates of the subscription's schedule, due the day after the last day.
- Each line has a key, unique for what it charges: ``SUB:YYYYMMDD:YYYYMMDD`` (subscription, first
  and last day charged), with ``:change-YYYYMMDD`` or ``:cancel`` for the settling lines and
  ``credit:<id>:<cents already used>`` for a credit. The same state always gives the same keys,
  so two runs (or two workers) plan the same key for the same charge, and a unique index on it
  in the Frappe layer makes each charge exactly-once. The installation chain's prorated line
  (start to the end of that month) has the key :func:`line_key` gives for the same days, which is
  also what the first regular piece is for a monthly subscription billed on day 1.
- :func:`plan_invoices` makes one plan per customer and due date, with every due line of the
  customer's subscriptions grouped by service location, then the customer's credits as negative
  lines (each used once, never for more than what the invoice's net total leaves; the rest stays
  for a later invoice), and the taxes computed as ERPNext will (core/billing/taxes.py).

Subscriptions "En attente" are not billed. Amounts are Decimal; no clock is read (``as_of``).
The values (inputs, lines, plans) are in values.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date

from gigafibre_fsm.core.billing.periods import ONE_DAY, Period, periods_overlapping
from gigafibre_fsm.core.billing.proration import Proration, prorate
from gigafibre_fsm.core.billing.taxes import DEFAULT_ROUNDING, QUEBEC_TAXES, Tax, compute_taxes
from gigafibre_fsm.core.billing.values import (
	CANCELLATION,
	CREDIT,
	PENDING,
	PERIOD,
	PLAN_CHANGE,
	PRORATED,
	T_CANCELLATION,
	T_PERIOD,
	T_PLAN_CHANGE,
	T_PRORATED,
	ZERO,
	BillableSubscription,
	Credit,
	CreditUse,
	DuePeriod,
	InvoiceLine,
	InvoicePlan,
	LocationGroup,
	PlanChange,
	credit_key,
	line_key,
)
from gigafibre_fsm.core.errors import Conflict, InvalidInput
from gigafibre_fsm.core.termination import Line

# -- what is due for one subscription


def _first_unbilled(sub: BillableSubscription) -> date | None:
	if sub.status == PENDING or not sub.start:
		return None
	if sub.billed_until and sub.billed_until >= sub.start:
		return sub.billed_until + ONE_DAY
	return sub.start


def due_periods(subscription: BillableSubscription, as_of: date) -> tuple[DuePeriod, ...]:
	"""The pieces of billing periods not billed yet that fall due on or before ``as_of``."""
	sub = subscription
	day = _first_unbilled(sub)
	if day is None:
		return ()
	out = []
	while day <= as_of and (sub.end is None or day <= sub.end):
		period = sub.period_for(day)
		end = period.end if sub.end is None else min(period.end, sub.end)
		out.append(DuePeriod(period, day, end, due=day))
		day = period.end + ONE_DAY
	return tuple(out)


def _segments(sub: BillableSubscription, start: date, end: date):
	"""(first, last, monthly rate, item, label) for ``start``..``end`` cut where the plan changes."""
	cuts = [c.effective for c in sub.changes if start < c.effective <= end]
	bounds = [start, *cuts]
	for i, first in enumerate(bounds):
		last = bounds[i + 1] - ONE_DAY if i + 1 < len(bounds) else end
		yield (first, last, *sub.plan_on(first))


def _charge_line(
	sub: BillableSubscription, period: Period, first: date, last: date, monthly, item, label, due: date
) -> InvoiceLine:
	charge = prorate(monthly, sub.cycle, period, first, last)
	whole = first == period.start and last == period.end
	params = (label, first, last) if whole else (label, first, last, charge.days, charge.period_days)
	return InvoiceLine(
		key=line_key(sub.id, first, last),
		kind=PERIOD if whole else PRORATED,
		amount=charge.amount,
		description=Line(T_PERIOD if whole else T_PRORATED, *params),
		due=due,
		subscription=sub.id,
		service_location=sub.service_location,
		item=item,
		period_start=first,
		period_end=last,
		days=charge.days,
		period_days=charge.period_days,
		monthly_rate=monthly,
	)


def _pieces(sub: BillableSubscription, first: date, last: date):
	for period in periods_overlapping(sub.cycle, sub.billing_day, first, last, anchor_month=sub.anchor):
		yield period, max(first, period.start), min(last, period.end)


def _plan_change_lines(sub: BillableSubscription, as_of: date) -> list[InvoiceLine]:
	out = []
	for change in sub.changes:
		billed = change.billed_until
		if billed is None or billed < change.effective or change.effective > as_of:
			continue
		old_rate, _old_item, old_label = sub.plan_on(change.effective - ONE_DAY)
		new_rate, new_item, new_label = sub.plan_on(change.effective)
		for period, first, last in _pieces(sub, change.effective, billed):
			new: Proration = prorate(new_rate, sub.cycle, period, first, last)
			old: Proration = prorate(old_rate, sub.cycle, period, first, last)
			if new.amount == old.amount:
				continue
			out.append(
				InvoiceLine(
					key=line_key(sub.id, first, last, f"change-{change.effective:%Y%m%d}"),
					kind=PLAN_CHANGE,
					amount=new.amount - old.amount,
					description=Line(
						T_PLAN_CHANGE, old_label, new_label, first, last, new.days, new.period_days
					),
					due=change.effective,
					subscription=sub.id,
					service_location=sub.service_location,
					item=new_item,
					period_start=first,
					period_end=last,
					days=new.days,
					period_days=new.period_days,
					monthly_rate=new_rate,
				)
			)
	return out


def _cancellation_lines(sub: BillableSubscription, as_of: date) -> list[InvoiceLine]:
	if sub.end is None or not sub.start or not sub.billed_until or sub.billed_until <= sub.end:
		return []
	first = max(sub.end + ONE_DAY, sub.start)
	due = sub.end + ONE_DAY
	if due > as_of or first > sub.billed_until:
		return []
	out = []
	for period, piece_first, piece_last in _pieces(sub, first, sub.billed_until):
		for seg_first, seg_last, monthly, item, label in _segments(sub, piece_first, piece_last):
			credit = prorate(monthly, sub.cycle, period, seg_first, seg_last)
			if not credit.amount:
				continue
			out.append(
				InvoiceLine(
					key=line_key(sub.id, seg_first, seg_last, "cancel"),
					kind=CANCELLATION,
					amount=-credit.amount,
					description=Line(
						T_CANCELLATION, label, sub.end, seg_first, seg_last, credit.days, credit.period_days
					),
					due=due,
					subscription=sub.id,
					service_location=sub.service_location,
					item=item,
					period_start=seg_first,
					period_end=seg_last,
					days=credit.days,
					period_days=credit.period_days,
					monthly_rate=monthly,
				)
			)
	return out


def due_lines(subscription: BillableSubscription, as_of: date) -> tuple[InvoiceLine, ...]:
	"""Every line of ``subscription`` due on or before ``as_of``: charges, plan changes, credits."""
	sub = subscription
	lines = []
	for piece in due_periods(sub, as_of):
		for first, last, monthly, item, label in _segments(sub, piece.start, piece.end):
			lines.append(_charge_line(sub, piece.period, first, last, monthly, item, label, piece.due))
	lines += _plan_change_lines(sub, as_of)
	lines += _cancellation_lines(sub, as_of)
	return tuple(lines)


# -- invoice plans


def plan_invoices(
	customers_subscriptions: Mapping[str, Iterable[BillableSubscription]],
	as_of: date,
	credits: Iterable[Credit] = (),
	*,
	issued: Collection[str] = (),
	taxes: Sequence[Tax] = QUEBEC_TAXES,
	rounding: str = DEFAULT_ROUNDING,
	row_wise: bool = False,
) -> tuple[InvoicePlan, ...]:
	"""One plan per customer and due date, for every line due on or before ``as_of``.

	``issued``: keys already on an invoice (left out of the plans; the unique index stays the
	guarantee). Plans come sorted by customer then date; lines by service location (none last),
	subscription and date. A credit's key already issued means ``Credit.applied`` is stale: that
	credit is left alone this time.
	"""
	issued = set(issued)
	seen_subs: set[str] = set()
	seen_keys: set[str] = set()
	by_invoice: dict[tuple[str, date], list[InvoiceLine]] = defaultdict(list)
	for customer, subscriptions in customers_subscriptions.items():
		for sub in subscriptions:
			if sub.id in seen_subs:
				raise InvalidInput("Subscription {0} appears twice", sub.id)
			seen_subs.add(sub.id)
			for line in due_lines(sub, as_of):
				if line.key in seen_keys:
					raise Conflict("Invoice line {0} is planned twice", line.key)
				seen_keys.add(line.key)
				if line.key not in issued:
					by_invoice[(customer, line.due)].append(line)

	credits_by_customer: dict[str, list[Credit]] = defaultdict(list)
	for credit in credits:
		credits_by_customer[credit.customer].append(credit)
	left = {
		c.id: c.applied
		for cs in credits_by_customer.values()
		for c in cs
		if credit_key(c.id, c.applied) not in issued
	}

	plans = []
	for customer, posting_date in sorted(by_invoice):
		lines = by_invoice[(customer, posting_date)]
		groups = _group(lines)
		net = sum((line.amount for line in lines), ZERO)
		credit_lines, uses = [], []
		for credit in sorted(
			credits_by_customer.get(customer, ()), key=lambda c: (c.available_from or date.min, c.id)
		):
			if credit.id not in left or (credit.available_from and credit.available_from > posting_date):
				continue
			used = left[credit.id]
			amount = min(credit.amount - used, net)
			if amount <= 0:
				continue
			key = credit_key(credit.id, used)
			credit_lines.append(
				InvoiceLine(
					key=key,
					kind=CREDIT,
					amount=-amount,
					description=Line(credit.template, *credit.params),
					due=posting_date,
					item=credit.item,
				)
			)
			left[credit.id] = used + amount
			net -= amount
			uses.append(CreditUse(credit.id, key, amount, credit.amount - left[credit.id]))
		all_lines = [line for g in groups for line in g.lines] + credit_lines
		summary = compute_taxes(
			[line.amount for line in all_lines], taxes, rounding=rounding, row_wise=row_wise
		)
		plans.append(InvoicePlan(customer, posting_date, groups, tuple(credit_lines), summary, tuple(uses)))
	return tuple(plans)


def _group(lines: list[InvoiceLine]) -> tuple[LocationGroup, ...]:
	by_location: dict[str | None, list[InvoiceLine]] = defaultdict(list)
	for line in lines:
		by_location[line.service_location].append(line)
	order = sorted(by_location, key=lambda loc: (loc is None, loc or ""))
	return tuple(
		LocationGroup(
			loc,
			tuple(
				sorted(
					by_location[loc],
					key=lambda line: (line.subscription or "", line.period_start or date.min, line.kind),
				)
			),
		)
		for loc in order
	)


__all__ = [
	"CANCELLATION",
	"CREDIT",
	"PERIOD",
	"PLAN_CHANGE",
	"PRORATED",
	"BillableSubscription",
	"Credit",
	"CreditUse",
	"DuePeriod",
	"InvoiceLine",
	"InvoicePlan",
	"LocationGroup",
	"PlanChange",
	"credit_key",
	"due_lines",
	"due_periods",
	"line_key",
	"plan_invoices",
]
