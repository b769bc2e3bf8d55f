"""The money of the legacy system, shared by its steps: invoices and credit notes
(gigafibre_fsm.legacy.invoices) and payments (legacy.payments), written from recipes that
ERPNext's own code made (legacy.prototypes).

What the money rules decide (core.legacy.reconcile): credit notes become returns against the
invoice the matching found (or against nothing, reported); reversements and duplicate Stripe
payments are not imported (reported with their totals); each invoice's outstanding amount and
status are its final ones, computed once from all the legacy documents.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache

import frappe
from frappe.utils import money_in_words

from gigafibre_fsm.connectors import legacy_source
from gigafibre_fsm.core.legacy.reconcile import match_credit_notes, real_payments, settle


def d(cents: int) -> Decimal:
	return Decimal(cents).scaleb(-2)


def to_money(value) -> Decimal:
	return Decimal(str(value)).quantize(Decimal("0.01"))


@lru_cache(maxsize=65536)
def in_words(cents: int, currency: str) -> str:
	return money_in_words(abs(cents) / 100, currency)


# -- setup ------------------------------------------------------------------------------------
def ensure_setup(imp) -> None:
	"""Company, accounts, tax template and fiscal years the money steps need (made once)."""
	if not {"invoices", "payments", "journal"} & set(imp.steps):
		return
	from gigafibre_fsm.customers.billing_book import Context

	ctx = Context()
	imp.ctx = ctx
	company = frappe.get_cached_doc("Company", ctx.company)
	imp.currency = company.default_currency
	imp.receivable = company.default_receivable_account
	imp.bank = company.default_bank_account or company.default_cash_account
	taxes = frappe.get_doc("Sales Taxes and Charges Template", ctx.tax_template).taxes
	imp.tax_accounts = [t.account_head for t in taxes]
	_fiscal_years(imp)
	if not frappe.db.exists("Item", "LEGACY-MISC"):
		frappe.get_doc(
			{
				"doctype": "Item",
				"item_code": "LEGACY-MISC",
				"item_name": "Legacy",
				"item_group": frappe.db.get_value("Item Group", {"is_group": 0}) or "All Item Groups",
				"stock_uom": "Nos",
				"is_stock_item": 0,
			}
		).insert(ignore_permissions=True)
	frappe.db.commit()


def _fiscal_years(imp) -> None:
	"""Calendar fiscal years for the legacy years no fiscal year covers (GL rows name theirs)."""
	from gigafibre_fsm.fiscal_years import ensure_calendar_years

	imp.fiscal_years = ensure_calendar_years(2010, imp.today.year + 1)


def fiscal_year(imp, when: date) -> str | None:
	for start, end, name in imp.fiscal_years:
		if start <= when <= end:
			return name
	return None


# -- the money facts and what they decide --------------------------------------------------------
def decide(imp) -> None:
	"""Load the legacy money once per run: matching, exclusions and the final settlement."""
	if getattr(imp, "decided", False):
		return
	facts = legacy_source.money_facts(imp.conn, imp.today)
	match = match_credit_notes(facts["credit_notes"], facts["invoices"], facts["payments"])
	money, reversements, duplicates = real_payments(facts["payments"])
	dates = _payment_dates(imp)
	money.sort(key=lambda p: (dates.get(p.id, date.min), p.id))
	totals = {i.id: i.total for i in facts["invoices"]}
	credits = {c.id: c.total for c in facts["credit_notes"]}
	settlement = settle(totals, match.links, credits, money)
	imp.match, imp.settlement = match, settlement
	imp.excluded = {p.id: "reversement" for p in reversements} | {i: "duplicate" for i in duplicates}
	imp.has_return = set(match.links.values())
	imp.credit_totals = credits
	by_id = {p.id: p for p in facts["payments"]}
	imp.report["credit_notes"] = {"total": len(credits), **match.counts()}
	imp.report["reversements"] = {
		"count": len(reversements),
		"amount": str(d(sum(p.amount for p in reversements))),
	}
	imp.report["duplicate_stripe"] = {
		"count": len(duplicates),
		"amount": str(d(sum(by_id[i].amount for i in duplicates))),
	}
	imp.report["void_invoices_skipped"] = len(facts["void"])
	imp.report["allocations_moved_to_advances"] = str(d(settlement.moved))
	imp.decided = True


def _payment_dates(imp) -> dict[int, date]:
	out = {}
	for rows in legacy_source.stream(imp.conn, "SELECT id, date, date_created FROM payment"):
		for r in rows:
			out[r["id"]] = legacy_source.invoice_date(r, imp.today)
	return out


def pending(imp, table: str, where: str) -> bool:
	last = int(imp.checkpoints.get(table, 0))
	return (
		legacy_source.count(
			imp.conn, "invoice" if table != "payment" else "payment", f"WHERE id > %s {where}", (last,)
		)
		> 0
	)


# -- delta runs (--since) -----------------------------------------------------------------------
def report_changed(imp, doctype: str, field: str, expected: dict[str, dict]) -> None:
	"""``--since``: legacy rows changed after their import, ``{legacy id: {field: value}}``. A
	submitted document is not rewritten: the rows whose money (party, date, amount) now differs are
	reported for an accountant (a credit note, or cancel and amend in the desk)."""
	if not expected:
		return
	columns = sorted({c for values in expected.values() for c in values})
	current = {
		r[field]: r
		for r in frappe.get_all(doctype, filters={field: ["in", list(expected)]}, fields=[field, *columns])
	}
	differ = [
		legacy_id
		for legacy_id, values in expected.items()
		if legacy_id in current and any(_same(current[legacy_id][c]) != _same(v) for c, v in values.items())
	]
	if differ:
		entry = imp.report.setdefault("changed_after_import", {}).setdefault(doctype, {"count": 0, "ids": []})
		entry["count"] += len(differ)
		entry["ids"] = (entry["ids"] + differ)[:50]


def _same(value):
	if isinstance(value, float | Decimal) and not isinstance(value, bool):
		return to_money(value)
	return str(value) if isinstance(value, date) else value


def refresh_outstanding(imp, legacy_ids: set[int]) -> int:
	"""Outstanding amount and status of invoices imported by an earlier run that this run's
	payments paid (the settlement's final values); returns how many changed."""
	from gigafibre_fsm.core.legacy.reconcile import invoice_status

	wanted = [str(i) for i in legacy_ids]
	changed = 0
	for start in range(0, len(wanted), 1000):
		for si in frappe.get_all(
			"Sales Invoice",
			filters={"legacy_invoice_id": ["in", wanted[start : start + 1000]], "docstatus": 1},
			fields=[
				"name",
				"legacy_invoice_id",
				"grand_total",
				"due_date",
				"is_return",
				"outstanding_amount",
				"status",
			],
		):
			legacy_id = int(si.legacy_invoice_id)
			total = int(to_money(si.grand_total) * 100)
			outstanding = imp.settlement.outstanding.get(legacy_id, total)
			status = invoice_status(
				outstanding, total, si.due_date, imp.today, bool(si.is_return), legacy_id in imp.has_return
			)
			if to_money(si.outstanding_amount) != d(outstanding) or si.status != status:
				frappe.db.set_value(
					"Sales Invoice", si.name, {"outstanding_amount": d(outstanding), "status": status}
				)
				changed += 1
	return changed
