"""Sales Invoice names for the billing run, taken from the naming series in short transactions.

ERPNext names an invoice when it is inserted: Frappe reads the naming series' counter row
(``tabSeries``) ``FOR UPDATE`` and keeps that lock until the invoice's transaction commits. Two
workers billing at once would then take turns for the whole of each invoice (validation,
submit, ledger rows). The billing run instead takes the names it needs *before* a customer's
transaction, in a transaction of its own (the locked read and one UPDATE, committed at once), and
inserts each invoice with its name. The names are those Frappe would give (the same series,
:func:`frappe.model.naming.parse_naming_series`), taken in blocks per customer.

A name taken but not used (the customer failed, or another worker billed it first) is kept for
the next customer of the same chunk; what is left at the end is given back when it is still the
series' last number, else that number is skipped (a gap, as a deleted draft leaves one).

When names cannot be known ahead (a Document Naming Rule on Sales Invoice, or a series that reads
the document's fields), :class:`InvoiceNames` takes nothing and Frappe names each invoice as usual.
"""

from __future__ import annotations

import frappe
from frappe.model.naming import NamingSeries, get_default_naming_series, parse_naming_series
from frappe.utils import cint

from gigafibre_fsm.db_retry import retrying

INVOICE = "Sales Invoice"


def _series() -> str | None:
	"""The default Sales Invoice series, or None when Frappe must name the invoices itself."""
	if frappe.get_all("Document Naming Rule", filters={"document_type": INVOICE, "disabled": 0}, limit=1):
		return None
	series = get_default_naming_series(INVOICE)
	if not series or "{" in series:
		return None
	return NamingSeries(series).series  # with the default ".#####" when it has no number part


class InvoiceNames:
	"""The names one worker has taken: free ones (in order) and those used by the open
	transaction (``pending``: free again if it rolls back)."""

	def __init__(self):
		self.series = _series()
		self.free: list[tuple[int, str]] = []
		self.pending: list[tuple[int, str]] = []
		self._prefix: str | None = None

	def take(self, count: int) -> None:
		"""Have at least ``count`` free names; call between transactions (it commits). Does
		nothing when Frappe names the invoices."""
		missing = count - len(self.free)
		if not self.series or missing <= 0:
			return
		prefix, digits = self._split()
		if self._prefix not in (None, prefix):  # a new year began: the old names are not used
			self.give_back()
		start = retrying(self._reserve, prefix, missing)
		frappe.db.commit()
		if start is None:  # the series has no counter row yet: Frappe's own naming makes it
			return
		self._prefix = prefix
		self.free.extend((n, self._format(n, digits)) for n in range(start, start + missing))

	def pop(self) -> str | None:
		"""The next name to insert an invoice with, or None (Frappe names it)."""
		if not self.free:
			return None
		self.pending.append(self.free.pop(0))
		return self.pending[-1][1]

	def committed(self) -> None:
		self.pending = []

	def rolled_back(self) -> None:
		self.free[:0], self.pending = self.pending, []

	def give_back(self) -> None:
		"""The free names given back to the series when they are its last numbers (in a
		transaction of its own, committed); any other is skipped."""
		numbers, prefix = sorted(n for n, _name in self.free), self._prefix
		self.free = []
		if not numbers or not prefix:
			return

		def revert():
			table = frappe.qb.DocType("Series")
			row = frappe.qb.from_(table).select(table.current).where(table.name == prefix).for_update().run()
			current = cint(row[0][0]) if row else None
			kept = list(numbers)
			while kept and current == kept[-1]:
				kept.pop()
				current -= 1
			if current is not None and len(kept) < len(numbers):
				frappe.qb.update(table).set(table.current, current).where(table.name == prefix).run()

		retrying(revert)
		frappe.db.commit()

	def _split(self) -> tuple[str, int]:
		found = {}

		def counter(prefix, digits):
			found.update(prefix=prefix, digits=digits)
			return "0" * digits

		parse_naming_series(self.series, number_generator=counter)
		return found["prefix"], found["digits"]

	def _format(self, number: int, digits: int) -> str:
		return parse_naming_series(self.series, number_generator=lambda _prefix, _d: f"{number:0{digits}d}")

	@staticmethod
	def _reserve(prefix: str, count: int) -> int | None:
		"""Move the series' counter ``count`` numbers on; the first of them, or None when the
		series has no counter row yet."""
		table = frappe.qb.DocType("Series")
		row = frappe.qb.from_(table).select(table.current).where(table.name == prefix).for_update().run()
		if not row or row[0][0] is None:
			frappe.db.rollback()
			return None
		frappe.qb.update(table).set(table.current, table.current + count).where(table.name == prefix).run()
		return cint(row[0][0]) + 1
