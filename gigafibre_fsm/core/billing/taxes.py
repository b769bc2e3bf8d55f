"""Quebec sales taxes (TPS 5 %, TVQ 9.975 %) computed as ERPNext computes them.

Mirrors ERPNext's ``erpnext/controllers/taxes_and_totals.py`` (version-15) for a Sales Invoice
whose tax rows are all "On Net Total", not included in the print rate, with no discount and no
item tax template — the Quebec template: TPS and TVQ, each on the net amount (the TVQ is not
charged on the TPS since 2013).

ERPNext, step by step (``calculate_taxes`` → ``round_off_totals`` → ``set_cumulative_total`` →
``calculate_totals``):

1. each item's amount is rounded to the currency precision (2): ``flt(rate × qty, 2)``;
   ``net_total`` is their sum;
2. for every tax row and every item: ``current_tax_amount = rate / 100 × item.net_amount``,
   **not rounded**, added to ``tax.tax_amount`` (unless Accounts Settings "Round Tax Amount
   Row-wise" is on: then each item's amount is rounded first, ``flt(current_tax_amount, 2)``);
3. the row's total is rounded once: ``tax.tax_amount = flt(tax.tax_amount, 2)``;
4. ``tax.total = flt(previous row total (or net_total) + tax.tax_amount, 2)``;
   ``grand_total`` = the last row's total, ``total_taxes_and_charges = grand_total - net_total``;
   ``adjust_grand_total_for_inclusive_tax`` changes nothing without inclusive taxes.

So the document's tax is the sum of the exact line taxes rounded once, and may differ by a cent
from the sum of the line taxes rounded one by one. Each line's own tax here is that line's exact
tax rounded to the cent, which is what ERPNext prints in its item-wise tax breakup
(``get_rounded_tax_amount``) — except that ERPNext adds up the lines of the same item code before
rounding (``item_wise_tax_detail`` is keyed by item code).

``flt`` rounds with the site's System Settings "Rounding Method"; :data:`ROUNDING_METHODS` are the
same three:

- "Banker's Rounding": half to even — what the setup wizard sets on a new site (the default here);
- "Banker's Rounding (legacy)": a tie goes up (toward +∞) when rounding to cents — the System
  Settings default of a site made without the wizard;
- "Commercial Rounding": half away from zero.

ERPNext adds the line taxes up in binary floats and then rounds; a sum of several lines can land
a hair off an exact tie (``30.125000000000007``), and ERPNext's rounding then goes the other way
than exact arithmetic would (30.13, not 30.12: about 1 document in 20,000 with five or more
lines, more often under "Commercial Rounding" with negative lines). By default
:func:`compute_taxes` follows ERPNext *exactly*: it adds the same floats in the same order
(``rate / 100.0 × net_amount``, line by line) and rounds them as Frappe's ``flt`` does under the
chosen method, so a plan's totals are the invoice's totals to the cent. The results are Decimal.
``exact=True`` computes in Decimal instead (the mathematically exact rounding of the exact sum).

Where this differs from ERPNext:

- Only what the Quebec template uses: "On Net Total" rows, no inclusive tax, no discount, no
  item tax template, one currency (CAD, conversion rate 1).
- The line breakdown rounds each line on its own; ERPNext's printed breakup adds the lines of the
  same item code first (``item_wise_tax_detail`` is keyed by item code).
- ``rounded_total`` is not computed. For CAD, Frappe's Currency has no "smallest currency fraction
  value", so ``round_based_on_smallest_currency_fraction`` would round the grand total to the
  whole dollar (114.87 → 115.00) and ``outstanding_amount`` would follow it. Invoices made from
  these plans must set ``disable_rounded_total = 1`` (or Global Defaults "Disable Rounded Total")
  so the outstanding is the grand total computed here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from gigafibre_fsm.core.billing.proration import rate as _exact
from gigafibre_fsm.core.errors import InvalidInput

BANKERS = "Banker's Rounding"
BANKERS_LEGACY = "Banker's Rounding (legacy)"
COMMERCIAL = "Commercial Rounding"
ROUNDING_METHODS = (BANKERS_LEGACY, BANKERS, COMMERCIAL)
DEFAULT_ROUNDING = BANKERS

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class Tax:
	"""One "On Net Total" tax row: ``rate`` in percent."""

	name: str
	rate: Decimal


TPS = Tax("TPS", Decimal("5"))
TVQ = Tax("TVQ", Decimal("9.975"))
QUEBEC_TAXES = (TPS, TVQ)


def _check_method(method: str) -> str:
	if method not in ROUNDING_METHODS:
		raise InvalidInput("Unknown rounding method {0}", method)
	return method


def round_cents(value: Decimal | float | str, method: str = DEFAULT_ROUNDING) -> Decimal:
	"""The exact ``value`` rounded to the cent under ``method`` (ties as ``flt(value, 2)`` breaks them)."""
	exact = _exact(value)
	_check_method(method)
	if method == BANKERS:
		mode = ROUND_HALF_EVEN
	elif method == COMMERCIAL:
		mode = ROUND_HALF_UP
	else:
		mode = ROUND_HALF_UP if exact >= 0 else ROUND_HALF_DOWN  # a tie goes toward +∞
	return exact.quantize(CENT, rounding=mode)


def _flt2(num: float, method: str) -> float:
	"""What Frappe's ``flt(num, 2)`` returns under ``method`` (frappe/utils/data.py, ``rounded``).

	The same float steps: legacy and banker's first round ``num × 100`` to 8 and 12 places, a tie
	is then an exact .5 (legacy: floor + 1) or within one float step of it (banker's: to even);
	commercial nudges ``num`` by one float step away from zero and lets ``round`` finish.
	"""
	if method == COMMERCIAL:
		if num == 0:
			return 0.0
		epsilon = 2.0 ** (math.log(abs(num), 2) - 52.0)
		return round(num + math.copysign(epsilon, num), 2)
	if method == BANKERS_LEGACY:
		scaled = round(num * 100, 8)
		floor = math.floor(scaled)
		return (floor + 1 if scaled - floor == 0.5 else round(scaled)) / 100
	scaled = round(num * 100, 12)
	if scaled == 0:
		return 0.0
	floor = math.floor(scaled)
	epsilon = 2.0 ** (math.log(abs(scaled), 2) - 52.0)
	if abs(scaled - floor - 0.5) < epsilon:
		return (floor if floor % 2 == 0 else floor + 1) / 100
	return round(scaled) / 100


def _decimal(value: float) -> Decimal:
	return Decimal(repr(value)).quantize(CENT)


@dataclass(frozen=True, slots=True)
class TaxRow:
	"""A tax row of the document: its amount and the running total after it (ERPNext's ``total``)."""

	name: str
	rate: Decimal
	amount: Decimal
	total: Decimal


@dataclass(frozen=True, slots=True)
class TaxedLine:
	"""One line: its net amount and each tax on it rounded to the cent (for display)."""

	net: Decimal
	taxes: tuple[Decimal, ...]  # in the order of the tax rows

	@property
	def total(self) -> Decimal:
		return self.net + sum(self.taxes, ZERO)


@dataclass(frozen=True, slots=True)
class TaxSummary:
	net_total: Decimal
	rows: tuple[TaxRow, ...]
	lines: tuple[TaxedLine, ...]
	rounding: str
	row_wise: bool
	exact: bool

	@property
	def grand_total(self) -> Decimal:
		return self.rows[-1].total if self.rows else self.net_total

	@property
	def total_taxes(self) -> Decimal:
		return self.grand_total - self.net_total

	def amount(self, name: str) -> Decimal:
		for row in self.rows:
			if row.name == name:
				return row.amount
		raise InvalidInput("No tax named {0}", name)

	def as_dict(self) -> dict:
		return {
			"net_total": str(self.net_total),
			"taxes": [
				{"name": r.name, "rate": str(r.rate), "amount": str(r.amount), "total": str(r.total)}
				for r in self.rows
			],
			"total_taxes": str(self.total_taxes),
			"grand_total": str(self.grand_total),
			"rounding": self.rounding,
			"row_wise": self.row_wise,
		}


def compute_taxes(
	amounts: Sequence[Decimal | float | str],
	taxes: Sequence[Tax] = QUEBEC_TAXES,
	*,
	rounding: str = DEFAULT_ROUNDING,
	row_wise: bool = False,
	exact: bool = False,
) -> TaxSummary:
	"""Taxes of a document whose lines have the net ``amounts`` (negative lines allowed).

	``row_wise`` mirrors Accounts Settings "Round Tax Amount Row-wise" (off by default);
	``exact`` computes in Decimal instead of following ERPNext's floats.
	"""
	_check_method(rounding)
	nets = [round_cents(a, rounding) for a in amounts]
	net_total = sum(nets, ZERO)
	if exact:
		current = [[net * tax.rate / 100 for tax in taxes] for net in nets]
		rnd = round_cents
	else:
		current = [[(float(tax.rate) / 100.0) * float(net) for tax in taxes] for net in nets]

		def rnd(value, method):
			return _decimal(_flt2(value, method))

	lines = tuple(
		TaxedLine(net, tuple(rnd(t, rounding) for t in row)) for net, row in zip(nets, current, strict=True)
	)
	rows = []
	running = net_total
	for i, tax in enumerate(taxes):
		total = Decimal(0) if exact else 0.0
		for line, row in zip(lines, current, strict=True):
			# row-wise: each line's tax is rounded before it is added (ERPNext's flag)
			total += (line.taxes[i] if exact else float(line.taxes[i])) if row_wise else row[i]
		amount = rnd(total, rounding)
		running = running + amount  # both are cents: ERPNext's flt(…, 2) changes nothing
		rows.append(TaxRow(tax.name, tax.rate, amount, running))
	return TaxSummary(net_total, tuple(rows), lines, rounding, row_wise, exact)
