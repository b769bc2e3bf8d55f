"""The values invoice plans are made of: the subscriptions and credits billed (inputs), the due
periods, lines with their exactly-once keys, and the plans (outputs). The rules that make them
are in invoices.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import pairwise

from gigafibre_fsm.core.billing.periods import (
	Period,
	check_anchor_month,
	check_billing_day,
	cycle_months,
	period_for,
)
from gigafibre_fsm.core.billing.proration import rate
from gigafibre_fsm.core.billing.taxes import TaxSummary
from gigafibre_fsm.core.contracts import SUBSCRIPTION_STATUSES, money
from gigafibre_fsm.core.errors import InvalidInput
from gigafibre_fsm.core.termination import Line

PENDING, ACTIVE, CANCELLED = SUBSCRIPTION_STATUSES
CURRENCY = "CAD"
ZERO = Decimal("0.00")

# line kinds
PERIOD = "period"  # a whole billing period
PRORATED = "prorated"  # a part of a period (start, cancellation, either side of a plan change)
PLAN_CHANGE = "plan_change"  # new price − old price for days already billed
CANCELLATION = "cancellation"  # credit for days billed after the last day of service
CREDIT = "credit"  # a customer credit (referral)

# English line templates (translated by the Frappe layer: _(template).format(*params))
T_PERIOD = "{0}, {1} to {2}"
T_PRORATED = "{0}, {1} to {2} (prorated: {3} of {4} days)"
T_PLAN_CHANGE = "Plan change from {0} to {1}, {2} to {3} ({4} of {5} days)"
T_CANCELLATION = "Credit: {0} cancelled after {1}, {2} to {3} ({4} of {5} days)"
T_REFERRAL = "Referral credit"


def line_key(subscription: str, start: date, end: date, suffix: str = "") -> str:
	"""The exactly-once key of a charge for ``start``..``end`` of ``subscription``."""
	key = f"{subscription}:{start:%Y%m%d}:{end:%Y%m%d}"
	return f"{key}:{suffix}" if suffix else key


def credit_key(credit: str, used_before: Decimal) -> str:
	return f"credit:{credit}:{int(money(used_before) * 100)}"


@dataclass(frozen=True, slots=True)
class PlanChange:
	"""From ``effective`` on, the subscription costs ``monthly_rate`` (and is plan ``item``).

	``billed_until``: the subscription's ``billed_until`` when the change was recorded (None if
	nothing was billed yet) — the days from ``effective`` to it were billed at the old price.
	"""

	effective: date
	monthly_rate: Decimal
	item: str | None = None
	label: str | None = None
	billed_until: date | None = None

	def __post_init__(self):
		object.__setattr__(self, "monthly_rate", rate(self.monthly_rate))
		if self.monthly_rate < 0:
			raise InvalidInput("A monthly rate cannot be negative")


@dataclass(frozen=True, slots=True)
class BillableSubscription:
	id: str
	monthly_rate: Decimal  # before taxes; before the first plan change
	start: date | None  # first day charged (the day after activation)
	cycle: str = "Monthly"
	billing_day: int = 1
	status: str = ACTIVE
	service_location: str | None = None
	item: str | None = None
	label: str | None = None  # plan name for line descriptions (default: item, else id)
	end: date | None = None  # last day of service, inclusive
	billed_until: date | None = None  # last day already invoiced
	changes: tuple[PlanChange, ...] = ()
	anchor_month: int | None = None  # semestrial/annual periods start in this month (default: start's)

	def __post_init__(self):
		if not self.id:
			raise InvalidInput("A subscription needs a name")
		if self.status not in SUBSCRIPTION_STATUSES:
			raise InvalidInput("Unknown subscription status {0}", self.status)
		cycle_months(self.cycle)
		check_billing_day(self.billing_day)
		if self.anchor_month is not None:
			check_anchor_month(self.anchor_month)
		object.__setattr__(self, "monthly_rate", rate(self.monthly_rate))
		if self.monthly_rate < 0:
			raise InvalidInput("A monthly rate cannot be negative")
		if self.status != PENDING and not self.start:
			raise InvalidInput("Subscription {0} has no start date", self.id)
		if self.status == CANCELLED and not self.end:
			raise InvalidInput("A cancelled subscription needs a cancellation date")
		changes = tuple(sorted(self.changes, key=lambda c: c.effective))
		for before, after in pairwise(changes):
			if before.effective == after.effective:
				raise InvalidInput("Subscription {0} has two plan changes on {1}", self.id, after.effective)
		if self.start and changes and changes[0].effective <= self.start:
			raise InvalidInput(
				"A plan change of subscription {0} must take effect after its start ({1})",
				self.id,
				self.start,
			)
		object.__setattr__(self, "changes", changes)

	@property
	def anchor(self) -> int:
		return self.anchor_month or (self.start.month if self.start else 1)

	def period_for(self, day: date) -> Period:
		return period_for(self.cycle, self.billing_day, day, anchor_month=self.anchor)

	def plan_on(self, day: date) -> tuple[Decimal, str | None, str]:
		"""(monthly rate, item, label) in effect on ``day``."""
		monthly, item, label = self.monthly_rate, self.item, self.label
		for change in self.changes:
			if change.effective > day:
				break
			monthly = change.monthly_rate
			if change.item is not None:
				item, label = change.item, change.label
			elif change.label is not None:
				label = change.label
		return monthly, item, label or item or self.id


@dataclass(frozen=True, slots=True)
class DuePeriod:
	"""Days ``start``..``end`` of billing period ``period``, not billed yet, due on ``due``."""

	period: Period
	start: date
	end: date
	due: date

	@property
	def whole(self) -> bool:
		return self.start == self.period.start and self.end == self.period.end


@dataclass(frozen=True, slots=True)
class InvoiceLine:
	key: str
	kind: str
	amount: Decimal  # before taxes; negative for credits
	description: Line  # English template + params
	due: date
	subscription: str | None = None
	service_location: str | None = None
	item: str | None = None
	period_start: date | None = None  # days charged (or credited)
	period_end: date | None = None
	days: int | None = None
	period_days: int | None = None
	monthly_rate: Decimal | None = None

	def as_dict(self) -> dict:
		return {
			"key": self.key,
			"kind": self.kind,
			"amount": str(self.amount),
			"description": self.description.as_dict(),
			"due": self.due.isoformat(),
			"subscription": self.subscription,
			"service_location": self.service_location,
			"item": self.item,
			"period_start": self.period_start.isoformat() if self.period_start else None,
			"period_end": self.period_end.isoformat() if self.period_end else None,
			"days": self.days,
			"period_days": self.period_days,
			"monthly_rate": None if self.monthly_rate is None else str(self.monthly_rate),
		}


@dataclass(frozen=True, slots=True)
class Credit:
	"""A credit owed to ``customer`` (e.g. the referral's 50 $), ``applied`` of it already used."""

	id: str
	customer: str
	amount: Decimal
	applied: Decimal = ZERO
	available_from: date | None = None
	item: str | None = None
	template: str = T_REFERRAL
	params: tuple = ()

	def __post_init__(self):
		object.__setattr__(self, "amount", money(self.amount))
		object.__setattr__(self, "applied", money(self.applied))
		if self.amount <= 0:
			raise InvalidInput("A credit must be a positive amount")
		if not ZERO <= self.applied <= self.amount:
			raise InvalidInput("The credit {0} used so far must be between 0 and {1}", self.id, self.amount)

	@property
	def remaining(self) -> Decimal:
		return self.amount - self.applied


@dataclass(frozen=True, slots=True)
class CreditUse:
	credit: str
	key: str
	amount: Decimal  # used on this invoice (positive)
	remaining: Decimal  # left for later invoices


@dataclass(frozen=True, slots=True)
class LocationGroup:
	service_location: str | None
	lines: tuple[InvoiceLine, ...]

	@property
	def net_total(self) -> Decimal:
		return sum((line.amount for line in self.lines), ZERO)


@dataclass(frozen=True, slots=True)
class InvoicePlan:
	"""One invoice to issue: ``customer``'s lines due on ``posting_date``."""

	customer: str
	posting_date: date
	groups: tuple[LocationGroup, ...]  # subscription lines by service location
	credit_lines: tuple[InvoiceLine, ...]
	taxes: TaxSummary  # over :attr:`lines`, in that order
	credits: tuple[CreditUse, ...] = ()
	currency: str = CURRENCY

	@property
	def lines(self) -> tuple[InvoiceLine, ...]:
		return tuple(line for group in self.groups for line in group.lines) + self.credit_lines

	@property
	def keys(self) -> tuple[str, ...]:
		return tuple(line.key for line in self.lines)

	@property
	def net_total(self) -> Decimal:
		return self.taxes.net_total

	@property
	def total_taxes(self) -> Decimal:
		return self.taxes.total_taxes

	@property
	def grand_total(self) -> Decimal:
		return self.taxes.grand_total

	@property
	def is_credit_note(self) -> bool:
		"""Negative total (a cancellation credit larger than the charges): issue a credit note."""
		return self.grand_total < 0

	def as_dict(self) -> dict:
		return {
			"customer": self.customer,
			"posting_date": self.posting_date.isoformat(),
			"currency": self.currency,
			"groups": [
				{"service_location": g.service_location, "lines": [line.as_dict() for line in g.lines]}
				for g in self.groups
			],
			"credit_lines": [line.as_dict() for line in self.credit_lines],
			"line_taxes": [[str(t) for t in line.taxes] for line in self.taxes.lines],
			"credits": [
				{"credit": c.credit, "key": c.key, "amount": str(c.amount), "remaining": str(c.remaining)}
				for c in self.credits
			],
			**self.taxes.as_dict(),
		}
