"""The money rules of the legacy migration: which payments are not money, which invoice each
credit note cancels, and what every customer really owes.

The legacy system left three traps (shared/FACTS.md):

- credit notes (``invoice.type = 'C'``) mostly do not name the invoice they cancel
  (``credit_of`` NULL): :func:`match_credit_notes` rebuilds the links from the evidence, the
  strongest first, and says for each link which evidence made it;
- a cancelled invoice was also "settled" by a fake ``reversement`` payment of its total: counted
  as money, every one is a phantom overpayment (:func:`is_reversement`);
- the customer portal sometimes recorded one Stripe charge twice (same reference, same amount):
  :func:`duplicate_stripe_payments` keeps the first row of each reference.

:func:`legacy_balances` is what each account owes once these are set aside: invoices plus credit
notes (negative) minus the payments that are money. Amounts are integer cents throughout.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

MATCH_WINDOW_DAYS = 400  # a credit note cancels an invoice of at most about a year before it
METHODS = ("named", "reversement", "outstanding", "total", "line")


@dataclass(frozen=True)
class Invoice:
	id: int
	account: int
	date: date
	total: int  # cents, tax included
	lines: tuple[int, ...] = ()  # line amounts (cents, before tax)


@dataclass(frozen=True)
class CreditNote:
	id: int
	account: int
	date: date
	total: int  # cents, negative (tax included)
	subtotal: int  # cents, negative (before tax)
	credit_of: int | None = None


@dataclass(frozen=True)
class Payment:
	id: int
	account: int
	amount: int  # cents
	method: str | None = None
	note: str | None = None
	stripe_ref: str | None = None
	allocations: tuple[tuple[int, int], ...] = ()  # (invoice id, cents)


@dataclass
class MatchReport:
	links: dict[int, int] = field(default_factory=dict)  # credit note -> invoice
	method: dict[int, str] = field(default_factory=dict)  # credit note -> how it was matched
	unmatched: list[int] = field(default_factory=list)

	def counts(self) -> dict[str, int]:
		found = {name: 0 for name in METHODS}
		for how in self.method.values():
			found[how] += 1
		found["unmatched"] = len(self.unmatched)
		return found


def is_reversement(method: str | None, note: str | None = None) -> bool:
	"""A payment row the PHP app wrote to mark a cancelled invoice "paid": method
	``reversement`` (any case, accents or not), or no real method and a note saying so."""
	method = (method or "").strip().lower().replace("é", "e")
	if method.startswith("revers"):
		return True
	return method in ("", "autre") and "revers" in (note or "").lower().replace("é", "e")


def duplicate_stripe_payments(payments: Iterable[Payment]) -> dict[int, int]:
	"""Payments recorded twice by the portal: same account, same Stripe reference, same amount.
	Returns {duplicate payment id: the payment id kept (the lowest)}. A reference seen with
	different amounts is left alone (two real charges cannot share a reference; a person must look)."""
	groups: dict[tuple[int, str], list[Payment]] = defaultdict(list)
	for p in payments:
		ref = (p.stripe_ref or "").strip()
		if ref:
			groups[(p.account, ref)].append(p)
	duplicates: dict[int, int] = {}
	for rows in groups.values():
		if len(rows) < 2 or len({p.amount for p in rows}) != 1:
			continue
		rows.sort(key=lambda p: p.id)
		for p in rows[1:]:
			duplicates[p.id] = rows[0].id
	return duplicates


def real_payments(payments: Iterable[Payment]) -> tuple[list[Payment], list[Payment], dict[int, int]]:
	"""(payments that are money, reversements, duplicates {id: kept id})."""
	payments = list(payments)
	duplicates = duplicate_stripe_payments(payments)
	money, reversements = [], []
	for p in payments:
		if is_reversement(p.method, p.note):
			reversements.append(p)
		elif p.id not in duplicates:
			money.append(p)
	return money, reversements, duplicates


def match_credit_notes(
	credit_notes: Iterable[CreditNote],
	invoices: Iterable[Invoice],
	payments: Iterable[Payment] = (),
	window_days: int = MATCH_WINDOW_DAYS,
) -> MatchReport:
	"""Link each credit note to the invoice it cancels, from the strongest evidence to the weakest.
	One pass per kind of evidence over all credit notes (oldest first), so that a weak guess never
	takes an invoice that stronger evidence points to:

	1. ``named``: ``credit_of`` names an invoice of the same account;
	2. ``reversement``: an invoice of the account, on or before the credit note, that a reversement
	   "paid" with exactly the credited total;
	3. ``outstanding``: an invoice whose amount still due after the real payments (and the credit
	   notes already linked to it) equals the credited total;
	4. ``total``: an invoice of that total not yet credited;
	5. ``line``: an invoice with a line of the credited amount before tax (a one-line credit).

	Candidates are the account's invoices dated from ``window_days`` before the credit note to
	its date; among several, the closest in time wins (then the lowest id). An invoice takes at
	most one credit note in passes 2 to 4; the rest stay ``unmatched`` (imported as returns
	against nothing, and reported)."""
	credits = sorted(credit_notes, key=lambda c: (c.date, c.id))
	by_account: dict[int, list[Invoice]] = defaultdict(list)
	by_id: dict[int, Invoice] = {}
	for inv in invoices:
		by_account[inv.account].append(inv)
		by_id[inv.id] = inv
	money, reversements, _ = real_payments(payments)
	paid: dict[int, int] = defaultdict(int)
	for p in money:
		for invoice, amount in p.allocations:
			paid[invoice] += amount
	reversed_amount: dict[int, int] = defaultdict(int)
	for p in reversements:
		for invoice, amount in p.allocations:
			reversed_amount[invoice] += amount

	report = MatchReport()
	credited: dict[int, int] = defaultdict(int)  # invoice -> cents credited by linked notes
	taken: set[int] = set()

	def link(credit: CreditNote, invoice: Invoice, how: str) -> None:
		report.links[credit.id] = invoice.id
		report.method[credit.id] = how
		credited[invoice.id] += -credit.total
		taken.add(invoice.id)

	def candidates(credit: CreditNote, test) -> Invoice | None:
		best = None
		for inv in by_account.get(credit.account, ()):
			age = (credit.date - inv.date).days
			if not 0 <= age <= window_days or inv.id in taken or not test(inv):
				continue
			if best is None or (age, inv.id) < ((credit.date - best.date).days, best.id):
				best = inv
		return best

	for credit in credits:
		target = by_id.get(credit.credit_of) if credit.credit_of else None
		if target is not None and target.account == credit.account:
			link(credit, target, "named")
	passes = (
		("reversement", lambda c: lambda inv: reversed_amount.get(inv.id) == -c.total),
		(
			"outstanding",
			lambda c: lambda inv: inv.total - paid.get(inv.id, 0) - credited.get(inv.id, 0) == -c.total,
		),
		("total", lambda c: lambda inv: inv.total == -c.total),
		("line", lambda c: lambda inv: -c.subtotal in inv.lines),
	)
	for how, make_test in passes:
		for credit in credits:
			if credit.id in report.links:
				continue
			found = candidates(credit, make_test(credit))
			if found is not None:
				link(credit, found, how)
	report.unmatched = [c.id for c in credits if c.id not in report.links]
	return report


def legacy_balances(
	invoices: Iterable[tuple[int, int]], payments: Iterable[Payment]
) -> tuple[dict[int, int], dict[str, int]]:
	"""What each account owes in cents: the invoices and credit notes ``(account, total)`` minus
	the payments that are money. Returns (balances, excluded totals: reversements, duplicates)."""
	payments = list(payments)
	balances: dict[int, int] = defaultdict(int)
	for account, total in invoices:
		balances[account] += total
	money, reversements, duplicates = real_payments(payments)
	for p in money:
		balances[p.account] -= p.amount
	excluded = {
		"reversements": len(reversements),
		"reversement_cents": sum(p.amount for p in reversements),
		"duplicates": len(duplicates),
		"duplicate_cents": 0,
	}
	dup_ids = set(duplicates)
	for p in payments:
		if p.id in dup_ids:
			excluded["duplicate_cents"] += p.amount
	return dict(balances), excluded


@dataclass
class Settlement:
	outstanding: dict[int, int]  # invoice or credit note id -> cents still due (negative: credit)
	allocations: dict[int, list[tuple[int, int, int]]]  # payment id -> [(invoice, cents, due before)]
	unallocated: dict[int, int]  # payment id -> cents not allocated (an advance)
	moved: int = 0  # cents of allocations that found nothing left due and became advances


def settle(
	totals: dict[int, int],
	links: dict[int, int],
	credits: dict[int, int],
	payments: Iterable[Payment],
) -> Settlement:
	"""What ERPNext's ledger will say once every document is in: each invoice's total, less the
	credit notes linked to it (returns against it), less the payments allocated to it. A linked
	credit note owes nothing of its own; an unlinked one stays a credit (negative outstanding).
	Payments (the money ones, in the order given) are allocated as the legacy system says, capped
	at what is still due (ERPNext refuses more); the rest is an unallocated advance."""
	outstanding = dict(totals)
	for credit, total in credits.items():
		invoice = links.get(credit)
		if invoice is not None and invoice in outstanding:
			outstanding[invoice] += total
			outstanding[credit] = 0
		else:
			outstanding[credit] = total
	allocations: dict[int, list[tuple[int, int, int]]] = {}
	unallocated: dict[int, int] = {}
	moved = 0
	for p in payments:
		rows = []
		left = p.amount
		for invoice, amount in p.allocations:
			due = outstanding.get(invoice)
			if due is None or invoice in credits:
				continue
			take = max(0, min(amount, due, left))
			moved += amount - take
			if take:
				rows.append((invoice, take, due))
				outstanding[invoice] = due - take
				left -= take
		allocations[p.id] = rows
		unallocated[p.id] = left
	return Settlement(outstanding, allocations, unallocated, moved)


def invoice_status(
	outstanding: int, total: int, due: date, today: date, is_return: bool, has_return: bool
) -> str:
	"""ERPNext's Sales Invoice ``set_status`` for a submitted invoice in one currency whose only
	payment schedule row is the whole amount at the due date (ERPNext 15
	``sales_invoice.py``: Overdue, Partly Paid, Unpaid, Credit Note Issued, Return, Paid)."""
	if outstanding > 0 and due < today:
		return "Overdue"
	if 0 < outstanding < total:
		return "Partly Paid"
	if outstanding > 0 and due >= today:
		return "Unpaid"
	if not is_return and has_return:
		return "Credit Note Issued"
	if is_return:
		return "Return"
	if outstanding <= 0:
		return "Paid"
	return "Submitted"


def monthly_price(price_cents: int, sku: str) -> int:
	"""Product prices are monthly except SKUs ending in ANN, which are yearly (shared/FACTS.md)."""
	if (sku or "").strip().upper().endswith("ANN"):
		return (price_cents + 6) // 12
	return price_cents
