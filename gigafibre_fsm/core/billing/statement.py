"""What a printed invoice says beyond its own lines: the account statement, the period each line
covers and why a line is prorated, in words; money and dates written the French or English way.

Account statement
	From the customer's ledger rows (ERPNext's Payment Ledger: one signed amount per voucher and
	allocation; invoices positive, payments and credit notes negative) and the previous invoice::

		previous balance   the balance right after the previous invoice (0 without one)
		payments received  what payments brought since then (a refund counts against it)
		other adjustments  other invoices and credit notes since then (signed)
		this document      the invoice's total (a credit note's is negative)
		amount due         previous balance − payments + adjustments + this document

	A voucher's place in time is ``(posting date, when its first ledger row was written)``; rows of
	vouchers after the printed document are left out, so a reprint says the same thing.

Line keys
	The billing run keys each charge ``SUB:YYYYMMDD:YYYYMMDD`` (first and last day charged) with
	``:cancel`` (credit for days after the service ended) or ``:change-YYYYMMDD`` (plan change
	settled for days already billed); referral credits ``credit:...`` (core/billing/invoices.py).
	:func:`explain` turns a key and the billing period it falls in into an English template and
	its values, for the Frappe layer to translate.

Nothing here reads the clock or the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from gigafibre_fsm.core.billing.periods import Period
from gigafibre_fsm.core.contracts import money
from gigafibre_fsm.core.termination import Line

ZERO = Decimal("0.00")
INVOICE_VOUCHER = "Sales Invoice"

# line explanations (English templates; the Frappe layer translates them)
T_WHOLE = "Service from {0} to {1}"
T_PRORATED = "Prorated: {0} of {1} days, from {2} to {3}, of the billing period {4} to {5}"
T_FREE_DAY = "The activation day is free: billing starts the next day"
T_CANCELLED = "Credit for {0} of {1} days not served, from {2} to {3}: the service ended on {4}"
T_CHANGE = "Plan change on {0}: price difference for {1} of {2} days, from {3} to {4}"
T_CREDIT = "One-time credit"

MONTHS = {
	"fr": (
		"janvier",
		"février",
		"mars",
		"avril",
		"mai",
		"juin",
		"juillet",
		"août",
		"septembre",
		"octobre",
		"novembre",
		"décembre",
	),
	"en": (
		"January",
		"February",
		"March",
		"April",
		"May",
		"June",
		"July",
		"August",
		"September",
		"October",
		"November",
		"December",
	),
}


def language(code: str | None) -> str:
	"""``fr`` or ``en`` from a Frappe language code (``en-US``, ``fr-CA``…); French by default."""
	return "en" if str(code or "").lower().startswith("en") else "fr"


def format_money(value, lang: str, symbol: bool = True) -> str:
	"""``1 234,56 $`` in French (narrow no-break space), ``$1,234.56`` in English; ``-`` first."""
	amount = money(value)
	digits = f"{abs(amount):,.2f}"
	sign = "-" if amount < 0 else ""
	if language(lang) == "fr":
		digits = digits.replace(",", "\u202f").replace(".", ",")
		return f"{sign}{digits}\u00a0$" if symbol else f"{sign}{digits}"
	return f"{sign}${digits}" if symbol else f"{sign}{digits}"


def format_date(day: date | None, lang: str) -> str:
	"""``1 décembre 2026`` / ``December 1, 2026`` (``1er`` for the first of a French month)."""
	if not day:
		return ""
	month = MONTHS[language(lang)][day.month - 1]
	if language(lang) == "fr":
		return f"{'1er' if day.day == 1 else day.day} {month} {day.year}"
	return f"{month} {day.day}, {day.year}"


# -- line keys -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyParts:
	subscription: str | None
	first: date | None
	last: date | None
	kind: str  # charge, cancel, change, credit
	changed_on: date | None = None

	@property
	def days(self) -> int | None:
		return (self.last - self.first).days + 1 if self.first and self.last else None


def _day(text: str) -> date | None:
	try:
		return datetime.strptime(text, "%Y%m%d").date()
	except (TypeError, ValueError):
		return None


def parse_key(key: str | None) -> KeyParts | None:
	"""The parts of a billing line key; None for anything else (a line typed by hand)."""
	if not key:
		return None
	if key.startswith("credit:"):
		return KeyParts(None, None, None, "credit")
	parts = key.split(":")
	if len(parts) not in (3, 4):
		return None
	first, last = _day(parts[1]), _day(parts[2])
	if not (parts[0] and first and last) or last < first:
		return None
	if len(parts) == 3:
		return KeyParts(parts[0], first, last, "charge")
	if parts[3] == "cancel":
		return KeyParts(parts[0], first, last, "cancel")
	if parts[3].startswith("change-") and _day(parts[3][7:]):
		return KeyParts(parts[0], first, last, "change", _day(parts[3][7:]))
	return None


def explain(
	parts: KeyParts, period: Period | None, lang: str, first_day_charged: date | None = None
) -> list[Line]:
	"""What a keyed line covers, in words: the days, and for a part of a period why.

	``period``: the billing period the line's days fall in (None when unknown: only the days are
	said). ``first_day_charged``: the subscription's first day charged (the day after the free
	activation day), to say so on the line that starts there."""
	d = lambda day: format_date(day, lang)  # noqa: E731
	if parts.kind == "credit":
		return [Line(T_CREDIT)]
	if parts.first is None or parts.last is None:
		return []
	days = parts.days
	period_days = period.days if period else None
	if parts.kind == "cancel":
		ended = date.fromordinal(parts.first.toordinal() - 1)
		return [Line(T_CANCELLED, days, period_days or days, d(parts.first), d(parts.last), d(ended))]
	if parts.kind == "change":
		return [Line(T_CHANGE, d(parts.changed_on), days, period_days or days, d(parts.first), d(parts.last))]
	if period is None or (parts.first == period.start and parts.last == period.end):
		return [Line(T_WHOLE, d(parts.first), d(parts.last))]
	out = [Line(T_PRORATED, days, period.days, d(parts.first), d(parts.last), d(period.start), d(period.end))]
	if first_day_charged and parts.first == first_day_charged:
		out.append(Line(T_FREE_DAY))
	return out


def covered(keys: Iterable[KeyParts | None]) -> tuple[date, date] | None:
	"""The first and last day the charges (not the credits) of an invoice cover."""
	spans = [(p.first, p.last) for p in keys if p and p.kind == "charge" and p.first and p.last]
	if not spans:
		return None
	return min(s[0] for s in spans), max(s[1] for s in spans)


# -- the account statement -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerRow:
	posting_date: date
	created: datetime
	voucher_type: str
	voucher_no: str
	amount: Decimal


@dataclass(frozen=True, slots=True)
class Statement:
	previous_invoice: str | None
	previous_balance: Decimal
	payments: Decimal  # received since the previous invoice (positive: money in)
	adjustments: Decimal  # other invoices and credit notes since (signed)
	this_document: Decimal
	amount_due: Decimal  # negative: a credit in the customer's favour

	def as_dict(self) -> dict:
		values = {name: getattr(self, name) for name in self.__slots__}
		return {k: str(v) if isinstance(v, Decimal) else v for k, v in values.items()}


def statement(
	rows: Iterable[LedgerRow],
	this_voucher: str,
	this_total,
	this_at: tuple[date, datetime],
	invoices: Iterable[str] = (),
) -> Statement:
	"""The statement printed on ``this_voucher`` (see the module's docstring).

	``rows``: the customer's ledger rows (those of ``this_voucher`` are ignored: its total is
	``this_total``); ``this_at``: its place in time (a draft: its posting date and
	``datetime.max``); ``invoices``: the customer's invoices that can be "the previous invoice"
	(submitted, not credit notes)."""
	at: dict[str, tuple[date, datetime]] = {}
	kind: dict[str, str] = {}
	amount: dict[str, Decimal] = {}
	for row in rows:
		if row.voucher_no == this_voucher:
			continue
		key = (row.posting_date, row.created)
		at[row.voucher_no] = min(at.get(row.voucher_no, key), key)
		kind[row.voucher_no] = row.voucher_type
		amount[row.voucher_no] = amount.get(row.voucher_no, ZERO) + money(row.amount)
	before = {v for v, when in at.items() if when < this_at}
	candidates = [v for v in set(invoices) & before if kind[v] == INVOICE_VOUCHER]
	previous = max(candidates, key=lambda v: (at[v], v)) if candidates else None
	opening, payments, adjustments = ZERO, ZERO, ZERO
	for voucher in before:
		if previous and at[voucher] <= at[previous]:
			opening += amount[voucher]
		elif kind[voucher] == INVOICE_VOUCHER:
			adjustments += amount[voucher]
		else:
			payments -= amount[voucher]
	total = money(this_total)
	return Statement(
		previous, opening, payments, adjustments, total, opening - payments + adjustments + total
	)
