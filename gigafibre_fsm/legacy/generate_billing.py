"""The legacy generator's billing (legacy/generate.py): each account's invoices and credit notes,
its payments and their accounting entries (ecritures), with the billing problems of the real
database planted at fixed rates (see generate.py's docstring)."""

from __future__ import annotations

import random
from datetime import date

from gigafibre_fsm.legacy.generate_rows import (
	LINES_PER_INVOICE,
	METHODS,
	RATES,
	TPS,
	TVQ,
	Planter,
	Writer,
	money,
	tax_cents,
)


class Billing:
	"""Writes invoices, credit notes, payments and the entries booking them; the ids run on across
	calls, so :meth:`book` also serves the journal pieces written after the billing."""

	def __init__(
		self,
		out: Writer,
		rng: random.Random,
		day: dict[int, str],
		snapshot: int,
		planted: dict,
		staff_count: int,
	):
		self.out, self.rng, self.day, self.snapshot = out, rng, day, snapshot
		self.planted, self.staff_count = planted, staff_count
		self.inv_id = self.item_id = self.pay_id = self.pitem_id = self.ecr_id = 0
		self.truth: dict[int, int] = {}  # credit note id -> the invoice it cancels (never written)
		self.credit = Planter(RATES["credit_note"])
		self.named = Planter(RATES["credit_named"])
		self.partial = Planter(RATES["credit_partial"])
		self.reversement = Planter(RATES["reversement"])
		self.dup = Planter(RATES["duplicate_stripe"])
		self.zero_date = Planter(RATES["zero_date"])
		self.future_date = Planter(RATES["future_date"])
		self.unpaid = Planter(RATES["unpaid"])
		self.advance = Planter(RATES["advance"])

	def book(self, piece: str, date_text: str, lines, label: str, invoice=None, payment=None) -> None:
		"""The accounting entries (ecritures) of one piece: (compte id, cents; positive = debit)."""
		for compte, cents in lines:
			if cents:
				self.ecr_id += 1
				self.out.add("ecritures", (self.ecr_id, piece, date_text, compte, money(max(cents, 0)),
					money(max(-cents, 0)), label, invoice, payment))  # fmt: skip

	def write_invoice(self, row: list) -> None:
		"""The invoice row (amounts in cents until now) and, unless void, its entries: receivable
		against sales and the two taxes (a credit note's negative amounts reverse them)."""
		subtotal, tps, tvq, total = row[6:10]
		if row[10] != 9:
			self.book(
				f"F{row[0]}", row[4], ((1, total), (5, -subtotal), (3, -tps), (4, -tvq)), "Facture", row[0]
			)
		row[6:10] = map(money, row[6:10])
		self.out.add("invoice", tuple(row))

	def add_payment(self, account: int, when: int, cents: int, items: list[tuple[int, int]], method: str,
		stripe_ref: str | None = None, note_text: str | None = None) -> None:  # fmt: skip
		rng, day, snapshot = self.rng, self.day, self.snapshot
		self.pay_id += 1
		pay_id = self.pay_id
		date_text = day[when]
		if self.zero_date():
			date_text = "0000-00-00"
			self.planted["zero_dates"] += 1
		self.out.add(
			"payment",
			(pay_id, account, date_text, money(cents), method,
			 f"CHQ {rng.randrange(100, 9999)}" if method == "cheque" else None, stripe_ref,
			 rng.randrange(1, self.staff_count + 1) if method in ("cheque", "comptant", "reversement") else None,
			 note_text, f"{day[min(when, snapshot)]} 12:00:00", f"{day[min(when, snapshot)]} 12:00:00"),
		)  # fmt: skip
		for invoice, amount in items:
			self.pitem_id += 1
			self.out.add("payment_item", (self.pitem_id, pay_id, invoice, money(amount)))
		self.book(f"P{pay_id}", date_text, ((2, cents), (1, -cents)), "Paiement", payment=pay_id)

	def run(self, accounts: list, products: list[tuple[int, int, str]]) -> None:
		"""Bill every account of ``accounts`` (id, created ordinal, months, active, deliveries,
		services) month after month, then pay its invoices."""
		fee_products = [p for p in products if p[2].startswith(("FRA", "DIV"))] or products
		for a, created, months, active, _deliveries, services in accounts:
			invoices = self._invoices(a, created, months, services, fee_products)
			self._payments(a, active, invoices)

	def _invoices(self, a: int, created: int, months: int, services: list, fee_products: list) -> list:
		"""One account's invoices and credit notes: (id, ordinal, total cents, line cents, row[,
		whole credit cents, credited cents, credit ordinal])."""
		rng, out, day, snapshot, planted = self.rng, self.out, self.day, self.snapshot, self.planted
		line_counts = [k for k, _ in LINES_PER_INVOICE]
		line_weights = [w for _, w in LINES_PER_INVOICE]
		k = rng.choices(line_counts, line_weights)[0]
		monthly = [s for s in services if s[3] == 2]
		lines = [(s[0], s[2], s[1]) for s in monthly[:k]]  # (service, product, cents)
		while len(lines) < k:
			p = rng.choice(fee_products)
			lines.append((None, p[0], p[1]))
		invoices = []  # (id, ordinal, total cents, [(line amount cents)])
		for m in range(months):
			when = created + m * 30 + rng.randrange(0, 3)
			self.inv_id += 1
			inv_id = self.inv_id
			these = list(lines)
			if rng.random() < 0.1:
				p = rng.choice(fee_products)
				these.append((None, p[0], p[1]))
			subtotal = sum(c for _, _, c in these)
			tps, tvq = tax_cents(subtotal, TPS), tax_cents(subtotal, TVQ)
			total = subtotal + tps + tvq
			date_text = day[min(when, snapshot)]
			if self.zero_date():
				date_text = "0000-00-00"
				planted["zero_dates"] += 1
			elif self.future_date():
				date_text = day[min(when, snapshot) + 5 * 365]
				planted["future_dates"] += 1
			status = 1
			is_void = inv_id % 997 == 0
			if is_void:
				subtotal = tps = tvq = total = 0
				status = 9
				planted["void_invoices"] += 1
			row = [inv_id, a, "F", None, date_text, day[min(when, snapshot) + 30], subtotal, tps, tvq, total,
				status, None, f"{day[min(when, snapshot)]} 03:00:00", f"{day[min(when, snapshot)]} 03:00:00"]  # fmt: skip
			for service, product, cents in these:
				self.item_id += 1
				out.add("invoice_item", (self.item_id, inv_id, service, product, f"Service {product}", "1.00",
					money(cents), money(cents)))  # fmt: skip
			invoices.append((inv_id, min(when, snapshot), total, [c for _, _, c in these], row))
			if not is_void and self.credit():
				planted["credit_notes"] += 1
				cancel_whole = not self.partial()
				if cancel_whole:
					c_sub, c_tps, c_tvq = subtotal, tps, tvq
				else:
					planted["credit_notes_partial"] += 1
					c_sub = these[-1][2]
					c_tps, c_tvq = tax_cents(c_sub, TPS), tax_cents(c_sub, TVQ)
				c_total = c_sub + c_tps + c_tvq
				c_when = min(min(when, snapshot) + rng.randrange(1, 60), snapshot)
				cancelled = inv_id
				self.inv_id += 1
				inv_id = self.inv_id
				self.truth[inv_id] = cancelled
				credit_of = None
				if self.named():
					credit_of = cancelled
					planted["credit_notes_named"] += 1
				self.write_invoice([inv_id, a, "C", credit_of, day[c_when], None, -c_sub, -c_tps, -c_tvq, -c_total, 1,
					"Note de crédit", f"{day[c_when]} 15:00:00", f"{day[c_when]} 15:00:00"])  # fmt: skip
				self.item_id += 1
				out.add("invoice_item", (self.item_id, inv_id, these[-1][0], these[-1][1], "Crédit", "1.00",
					money(-c_sub), money(-c_sub)))  # fmt: skip
				invoices[-1] = (*invoices[-1][:4], row, c_total if cancel_whole else 0, c_total, c_when)
				if cancel_whole and self.reversement():
					planted["reversements"] += 1
					planted["reversement_cents"] += total
					self.add_payment(a, c_when, total, [(cancelled, total)], "reversement",
						note_text=f"Reversement - annulation facture {cancelled}")  # fmt: skip
		return invoices

	def _payments(self, a: int, active: bool, invoices: list) -> None:
		"""The payments of one account's invoices, in order."""
		rng, snapshot, planted = self.rng, self.snapshot, self.planted
		methods = [m for m, _ in METHODS]
		method_weights = [w for _, w in METHODS]
		pending: list[tuple[int, int]] = []
		last_index = len(invoices) - 1
		for index, entry in enumerate(invoices):
			invoice, when, total, _line_amounts, row = entry[:5]
			whole_credit = entry[5] if len(entry) > 5 else 0
			credited = entry[6] if len(entry) > 6 else 0
			due = total - credited
			if row[10] == 9 or whole_credit:
				self.write_invoice(row)
				continue
			if (active and index == last_index and rng.random() < 0.5) or self.unpaid():
				row[10] = 0
				self.write_invoice(row)
				continue
			row[10] = 1
			self.write_invoice(row)
			pay_when = when + rng.randrange(0, 30)
			method = rng.choices(methods, method_weights)[0]
			if method == "stripe" and pay_when < date(2018, 1, 1).toordinal():
				method = "visa"
			if rng.random() < 0.145 and due > 200:
				first_part = due // 2
				self.add_payment(a, pay_when, first_part, [(invoice, first_part)], method)
				pending.append((invoice, due - first_part))
				pay_when += 15
			else:
				pending.append((invoice, due))
			if index < last_index and rng.random() < 0.31 and method != "stripe":
				continue  # paid together with the next one
			cents = sum(amount for _, amount in pending)
			extra = rng.randrange(100, 20000) if self.advance() else 0
			stripe_ref = None
			if method == "stripe":
				stripe_ref = "pi_" + "".join(
					rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", k=24)
				)
			self.add_payment(a, pay_when, cents + extra, pending, method, stripe_ref)
			if stripe_ref and self.dup():
				planted["duplicate_stripe"] += 1
				planted["duplicate_stripe_cents"] += cents + extra
				self.add_payment(
					a, pay_when, cents + extra, pending, method, stripe_ref, "portail: double soumission"
				)
			pending = []
		if pending:  # grouped with an invoice that was left unpaid: pay them now
			self.add_payment(a, snapshot - 1, sum(x for _, x in pending), pending, "cheque")
