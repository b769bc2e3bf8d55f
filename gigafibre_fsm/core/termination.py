"""Termination fee of a fixed-term service contract: the preview and the invoice use this.

Consumers (contract type "Residential") — Quebec's Consumer Protection Act (CQLR c. P-40.1),
s. 214.7, and the Regulation respecting the application of the Consumer Protection Act
(CQLR c. P-40.1, r. 3), s. 79.10, as the Office de la protection du consommateur explains them
for telephone, Internet and television contracts; s. 25.7 of the Regulation forbids a clause that
charges more:

- with an "economic inducement" — a rebate on goods bought with the contract and needed to use
  the service (a modem or router given free or at a discount: a *device rebate*) — the fee is at
  most ``rebate - rebate × months elapsed ÷ contract months``;
- otherwise at most the lesser of 50 $ and 10 % of the price of the services not yet supplied
  (``monthly price × months left``).

A rebate on the *service* price (a promotional monthly price) is not an economic inducement under
s. 79.10: it never raises the cap and never switches to the first rule.

Months (one convention for both rules): :func:`gigafibre_fsm.core.contracts.months_elapsed`,
"the month started at the time of cancellation is deemed to be a month completely elapsed"
(s. 79.10), so ``months left = term - months elapsed``. It is the only count that gives both of
the Office's examples exactly:

- 24 months, a 300 $ modem given free, cancelled in month 22: 22 elapsed, 2 left,
  300 - 300 × 22 ÷ 24 = 25 $ (counting only 21 whole months would give 37.50 $);
- 12 months at 30 $, cancelled in month 7: 7 elapsed, 5 left, 10 % × 5 × 30 $ = 15 $ < 50 $
  (6 left would give 18 $).

Both are legal maxima, so amounts are computed exactly and rounded *down* to the cent. On or
after the first day following the term the contract has ended: no fee. A contract without a
fixed term (month to month) has no fee here: s. 214.8 allows one only to recover an unpaid
balance on goods sold with it, which this ISP does not do.

Commercial contracts (contract type "Commercial") are not under the Act; their own clause applies
(:class:`CommercialClause`): ``fixed fee + percent × monthly price × months left`` (either part
may be zero), plus, when the clause says so, the residual of the device rebates computed as above
(the customer repays the equipment not yet earned). Rounded half-up to the cent. A consumer
contract may carry a clause too: it applies only where it asks less than the legal maximum.

Each result carries a breakdown of English templates with their parameters, for the Frappe layer
to translate (``_(line.template).format(*line.params)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from gigafibre_fsm.core.contracts import (
	CONTRACT_TYPES,
	Benefit,
	contract_end_date,
	money,
	months_elapsed,
	prorate_down,
)
from gigafibre_fsm.core.errors import InvalidInput

__all__ = [
	"CONSUMER_FLAT_CAP",
	"CONSUMER_PERCENT",
	"RULE_CONTRACT_CLAUSE",
	"RULE_DEVICE_REBATE",
	"RULE_NO_FIXED_TERM",
	"RULE_SERVICES_NOT_SUPPLIED",
	"RULE_TERM_ENDED",
	"CommercialClause",
	"Line",
	"TerminationFee",
	"device_rebates_of",
	"months_elapsed",
	"termination_fee",
]

RULE_DEVICE_REBATE = "device_rebate"  # consumer, s. 79.10
RULE_SERVICES_NOT_SUPPLIED = "services_not_supplied"  # consumer, s. 214.7 second paragraph
RULE_CONTRACT_CLAUSE = "contract_clause"  # a commercial clause, or a consumer clause below the cap
RULE_TERM_ENDED = "term_ended"
RULE_NO_FIXED_TERM = "no_fixed_term"

CONSUMER_FLAT_CAP = Decimal("50.00")
CONSUMER_PERCENT = 10


@dataclass(frozen=True, init=False)
class Line:
	"""One line of a breakdown: an English template and the values to put in it."""

	template: str
	params: tuple

	def __init__(self, template: str, *params):
		object.__setattr__(self, "template", template)
		object.__setattr__(self, "params", params)

	@property
	def text(self) -> str:
		return self.template.format(*self.params) if self.params else self.template

	def as_dict(self) -> dict:
		return {"template": self.template, "params": [_plain(p) for p in self.params], "text": self.text}


@dataclass(frozen=True)
class CommercialClause:
	"""A commercial contract's own termination clause.

	fee = ``fixed_fee`` + ``percent_of_remaining`` % × monthly price × months left
	(+ the residual of the device rebates when ``repay_device_residual``).
	"""

	fixed_fee: Decimal = Decimal("0")
	percent_of_remaining: Decimal = Decimal("0")
	repay_device_residual: bool = False

	def __post_init__(self):
		fixed, percent = money(self.fixed_fee), Decimal(str(self.percent_of_remaining or 0))
		if fixed < 0:
			raise InvalidInput("The fixed termination fee cannot be negative")
		if not Decimal(0) <= percent <= Decimal(100):
			raise InvalidInput("The termination percentage must be between 0 and 100")
		object.__setattr__(self, "fixed_fee", fixed)
		object.__setattr__(self, "percent_of_remaining", percent)


@dataclass(frozen=True)
class TerminationFee:
	fee: Decimal  # 2 places
	rule: str  # one of the RULE_* names
	contract_type: str
	term_months: int | None
	months_elapsed: int  # the month in progress counts; capped at the term
	months_left: int
	breakdown: tuple[Line, ...] = field(default_factory=tuple)

	@property
	def text(self) -> str:
		return "\n".join(line.text for line in self.breakdown)

	def as_dict(self) -> dict:
		return {
			"fee": str(self.fee),
			"rule": self.rule,
			"contract_type": self.contract_type,
			"term_months": self.term_months,
			"months_elapsed": self.months_elapsed,
			"months_left": self.months_left,
			"breakdown": [line.as_dict() for line in self.breakdown],
		}


def device_rebates_of(benefits: Iterable[Benefit]) -> list[Decimal]:
	"""The device rebates among a contract's benefits (service-price discounts do not count)."""
	return [benefit.value(1) for benefit in benefits if benefit.kind == "Device"]


def termination_fee(
	*,
	start: date,
	term_months: int | None,
	on: date,
	monthly_price,
	contract_type: str = "Residential",
	device_rebates: Iterable = (),
	clause: CommercialClause | None = None,
) -> TerminationFee:
	"""The fee for terminating on ``on`` a contract that started on ``start``.

	``monthly_price``: what the customer pays per month under the contract (after any
	service-price discount). ``device_rebates``: amounts of the rebates on goods needed for the
	service (see :func:`device_rebates_of`). ``clause``: the contract's termination clause, required
	for a commercial contract; on a consumer contract it applies only where it asks less than the
	legal maximum. Raises InvalidInput for a date before the start and for impossible values.
	"""
	if contract_type not in CONTRACT_TYPES:
		raise InvalidInput("Unknown contract type {0}", contract_type)
	if on < start:
		raise InvalidInput(
			"The termination date ({0}) cannot be before the contract start ({1})",
			on.isoformat(),
			start.isoformat(),
		)
	monthly = money(monthly_price)
	if monthly < 0:
		raise InvalidInput("The monthly price cannot be negative")
	rebates = [money(r) for r in device_rebates]
	if any(r < 0 for r in rebates):
		raise InvalidInput("A device rebate cannot be negative")
	rebate = sum(rebates, Decimal("0.00"))
	commercial = contract_type == "Commercial"
	if commercial and clause is None:
		raise InvalidInput("A commercial contract needs its termination clause")
	elapsed = months_elapsed(start, on)

	def result(
		fee: Decimal, rule: str, term: int | None, done: int, left: int, *lines: Line
	) -> TerminationFee:
		return TerminationFee(fee, rule, contract_type, term, done, left, lines)

	if not term_months:
		return result(
			Decimal("0.00"),
			RULE_NO_FIXED_TERM,
			None,
			elapsed,
			0,
			Line("The contract has no fixed term: no termination fee"),
		)
	if isinstance(term_months, bool) or not isinstance(term_months, int) or term_months < 0:
		raise InvalidInput("The term of a contract must be a whole number of months")
	if elapsed > term_months:
		return result(
			Decimal("0.00"),
			RULE_TERM_ENDED,
			term_months,
			term_months,
			0,
			Line(
				"The {0}-month term ended on {1}: no termination fee",
				term_months,
				contract_end_date(start, term_months),
			),
		)
	left = term_months - elapsed
	progress = Line(
		"Month {0} of {1} in progress (counted as elapsed): {2} month(s) left", elapsed, term_months, left
	)
	if clause is not None and commercial:
		fee, lines = _clause_fee(clause, monthly, rebate, term_months, left)
		return result(fee, RULE_CONTRACT_CLAUSE, term_months, elapsed, left, progress, *lines)

	if rebate:
		rule, cap = RULE_DEVICE_REBATE, prorate_down(rebate, left, term_months)
		lines = [
			Line("Rebate on equipment needed for the service: {0} $", rebate),
			Line(
				"Maximum fee: {0} $ - {0} $ × {1} ÷ {2} = {3} $ (Consumer Protection Act, s. 214.7; Regulation, s. 79.10)",
				rebate,
				elapsed,
				term_months,
				cap,
			),
		]
	else:
		not_supplied = monthly * left
		tenth = prorate_down(not_supplied, CONSUMER_PERCENT, 100)
		rule, cap = RULE_SERVICES_NOT_SUPPLIED, min(CONSUMER_FLAT_CAP, tenth)
		lines = [
			Line("Services not yet supplied: {0} month(s) × {1} $ = {2} $", left, monthly, not_supplied),
			Line(
				"Maximum fee: the lesser of {0} $ and {1} % of {2} $ ({3} $) = {4} $ (Consumer Protection Act, s. 214.7)",
				CONSUMER_FLAT_CAP,
				CONSUMER_PERCENT,
				not_supplied,
				tenth,
				cap,
			),
		]
	if clause is not None:
		# A consumer contract may ask less than the law allows, never more (Regulation, s. 25.7).
		asked, _ = _clause_fee(clause, monthly, rebate, term_months, left)
		if asked < cap:
			lines.append(
				Line("The contract's clause asks {0} $, less than the maximum: {0} $ applies", asked)
			)
			return result(asked, RULE_CONTRACT_CLAUSE, term_months, elapsed, left, progress, *lines)
		lines.append(Line("The contract's clause asks {0} $: the legal maximum of {1} $ applies", asked, cap))
	return result(cap, rule, term_months, elapsed, left, progress, *lines)


def _clause_fee(
	clause: CommercialClause, monthly: Decimal, rebate: Decimal, term_months: int, left: int
) -> tuple[Decimal, list[Line]]:
	percent_part = money(monthly * left * clause.percent_of_remaining / 100)
	fee = clause.fixed_fee + percent_part
	lines = []
	if clause.fixed_fee:
		lines.append(Line("Fixed fee under the contract: {0} $", clause.fixed_fee))
	if clause.percent_of_remaining:
		lines.append(
			Line(
				"{0} % of the {1} month(s) left at {2} $: {3} $",
				clause.percent_of_remaining,
				left,
				monthly,
				percent_part,
			)
		)
	if clause.repay_device_residual and rebate:
		residual = prorate_down(rebate, left, term_months)
		fee += residual
		lines.append(
			Line(
				"Device rebates not yet earned: {0} $ × {1} ÷ {2} = {3} $",
				rebate,
				left,
				term_months,
				residual,
			)
		)
	lines.append(Line("Termination fee under the contract's clause: {0} $", fee))
	return fee, lines


def _plain(value):
	"""A breakdown parameter as plain JSON: Decimal → str, dates → ISO, the rest as is."""
	if isinstance(value, Decimal):
		return str(value)
	if isinstance(value, date):
		return value.isoformat()
	return value
