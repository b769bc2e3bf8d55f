"""``bench --site <site> gigafibre-legacy verify``: the reconciliation report, to the cent.

Checks, each giving its differences:

1. per customer: the legacy balance (core.legacy.reconcile.legacy_balances: invoices and credit
   notes minus the payments that are money) against ERPNext's own Accounts Receivable Summary
   report (built from the Payment Ledger), for every customer imported from the legacy system;
2. per year: count and total of invoices and of payments, legacy (what should be imported)
   against ERPNext (submitted documents carrying a legacy id);
3. the trial balance: total debit = total credit over the GL, and no legacy voucher unbalanced;
4. credit notes: as many returns linked to an invoice as the matching linked;
5. reversements and duplicate Stripe payments: none imported; their totals reported;
6. staff: every row an Employee (none with a login), every staff member a work order names a
   Technician; 7. work orders: every one a Dispatch Job, per job type and status
   (legacy.workforce.checks);
8. the legacy accounting entries of the imported invoices and payments against their GL rows, per
   legacy account and year, to the cent (those of what was not imported reported with their totals);
9. the manual pieces: every balanced one a Journal Entry, per account and year (legacy.journal.checks).
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import date
from decimal import Decimal

import frappe
from frappe.query_builder.functions import Sum
from frappe.utils import today

from gigafibre_fsm.connectors import legacy_source
from gigafibre_fsm.core.legacy.reconcile import legacy_balances, match_credit_notes, real_payments
from gigafibre_fsm.legacy import journal, workforce

SHOWN = 20


def _cents(value) -> int:
	return int((Decimal(str(value or 0)) * 100).quantize(Decimal(1)))


PARTIES_PER_REPORT = 4000  # customers per run of the report: its memory grows with its rows


def receivables(
	company: str, report_date: date, parties: list[str] | None = None, per_run: int = PARTIES_PER_REPORT
) -> dict[str, int]:
	"""Outstanding per customer from ERPNext's Accounts Receivable Summary report; with ``parties``,
	the report is run for ``per_run`` of them at a time (its own party filter): the same figures,
	without holding every Payment Ledger row of the book at once (3 GiB at full scale)."""
	from erpnext.accounts.report.accounts_receivable_summary.accounts_receivable_summary import execute

	out: dict[str, int] = defaultdict(int)
	groups = (
		[None] if parties is None else [parties[i : i + per_run] for i in range(0, len(parties), per_run)]
	)
	for group in groups:
		filters = frappe._dict(
			company=company,
			report_date=report_date,
			party_type="Customer",
			ageing_based_on="Due Date",
			calculate_ageing_with="Report Date",
			range="30, 60, 90, 120",
		)
		if group is not None:
			filters.party = group
		_columns, rows = execute(filters)[:2]
		for row in rows or ():
			if row.get("party"):
				out[row["party"]] += _cents(row.get("outstanding"))
		del rows
	return dict(out)


def verify(source: str, company: str | None = None) -> dict:
	started = time.monotonic()
	from gigafibre_fsm.customers.billing_book import default_company

	company = company or default_company()
	day = date.fromisoformat(today())
	conn = legacy_source.connect(source)
	try:
		facts = legacy_source.money_facts(conn, day)
		people = workforce.checks(conn, day)
	finally:
		conn.close()
	customers = {
		int(r.legacy_account_id): r.name
		for r in frappe.get_all(
			"Customer",
			filters={"legacy_account_id": ["is", "set"]},
			fields=["name", "legacy_account_id"],
			limit=0,
		)
	}
	checks: dict[str, dict] = {}

	# 1. balances
	balances, excluded = legacy_balances(
		((i.account, i.total) for i in facts["invoices"] + facts["credit_notes"]), facts["payments"]
	)
	ar = receivables(company, day, sorted(customers.values()))
	differences = []
	for account, name in sorted(customers.items()):
		legacy, erp = balances.get(account, 0), ar.get(name, 0)
		if legacy != erp:
			differences.append(
				f"{name} (legacy {account}): legacy {legacy / 100:.2f} vs ERPNext {erp / 100:.2f}"
			)
	checks["balances"] = {
		"customers": len(customers),
		"legacy_total": f"{sum(balances.get(a, 0) for a in customers) / 100:.2f}",
		"erpnext_total": f"{sum(ar.get(n, 0) for n in customers.values()) / 100:.2f}",
		"differences": differences,
	}

	# 2. per year
	money, reversements, duplicates = real_payments(facts["payments"])
	legacy_years: dict[str, list[int]] = defaultdict(lambda: [0, 0])
	for doc in facts["invoices"] + facts["credit_notes"]:
		if doc.account in customers:
			entry = legacy_years[f"invoices {doc.date.year}"]
			entry[0] += 1
			entry[1] += doc.total
	pay_dates = _payment_years(source, day)
	for p in money:
		if p.account in customers and p.amount > 0:
			entry = legacy_years[f"payments {pay_dates[p.id]}"]
			entry[0] += 1
			entry[1] += p.amount
	erp_years: dict[str, list[int]] = defaultdict(lambda: [0, 0])
	for doctype, legacy_field, amount, label in (
		("Sales Invoice", "legacy_invoice_id", "grand_total", "invoices"),
		("Payment Entry", "legacy_payment_id", "paid_amount", "payments"),
	):
		for posting, value in frappe.get_all(
			doctype,
			filters={"docstatus": 1, legacy_field: ["is", "set"]},
			fields=["posting_date", amount],
			as_list=True,
			limit=0,
		):
			entry = erp_years[f"{label} {posting.year}"]
			entry[0] += 1
			entry[1] += _cents(value)
	year_diffs = []
	for key in sorted(set(legacy_years) | set(erp_years)):
		a, b = legacy_years.get(key, [0, 0]), erp_years.get(key, [0, 0])
		if a != b:
			year_diffs.append(f"{key}: legacy {a[0]} / {a[1] / 100:.2f} vs ERPNext {b[0]} / {b[1] / 100:.2f}")
	checks["per_year"] = {
		"years": {k: [v[0], f"{v[1] / 100:.2f}"] for k, v in sorted(erp_years.items())},
		"differences": year_diffs,
	}

	# 3. trial balance
	gl = frappe.qb.DocType("GL Entry")
	debit, credit = (
		frappe.qb.from_(gl)
		.select(Sum(gl.debit), Sum(gl.credit))
		.where((gl.is_cancelled == 0) & (gl.company == company))
		.run()[0]
	)
	unbalanced = (
		frappe.qb.from_(gl)
		.select(gl.voucher_type, gl.voucher_no, Sum(gl.debit), Sum(gl.credit))
		.where(gl.is_cancelled == 0)
		.groupby(gl.voucher_type, gl.voucher_no)
		.having(Sum(gl.debit) != Sum(gl.credit))
		.limit(SHOWN)
		.run()
	)
	tb_diffs = [f"{v[0]} {v[1]}: debit {v[2]} credit {v[3]}" for v in unbalanced]
	if _cents(debit) != _cents(credit):
		tb_diffs.insert(0, f"total debit {debit} != total credit {credit}")
	checks["trial_balance"] = {
		"debit": f"{Decimal(str(debit or 0)):.2f}",
		"credit": f"{Decimal(str(credit or 0)):.2f}",
		"differences": tb_diffs,
	}

	# 4. credit notes
	match = match_credit_notes(facts["credit_notes"], facts["invoices"], facts["payments"])
	linked = frappe.db.count(
		"Sales Invoice",
		{"docstatus": 1, "is_return": 1, "legacy_invoice_id": ["is", "set"], "return_against": ["is", "set"]},
	)
	returns = frappe.db.count(
		"Sales Invoice", {"docstatus": 1, "is_return": 1, "legacy_invoice_id": ["is", "set"]}
	)
	expected_linked = sum(1 for c in facts["credit_notes"] if c.account in customers and c.id in match.links)
	checks["credit_notes"] = {
		"legacy": len(facts["credit_notes"]),
		"imported": returns,
		"linked": linked,
		"how": match.counts(),
		"differences": []
		if linked == expected_linked
		else [f"linked returns {linked}, matching linked {expected_linked}"],
	}

	# 5. exclusions
	not_money = [p.id for p in reversements] + list(duplicates)
	imported = []
	for start in range(0, len(not_money), 1000):
		imported += frappe.get_all(
			"Payment Entry",
			filters={"legacy_payment_id": ["in", [str(i) for i in not_money[start : start + 1000]]]},
			pluck="legacy_payment_id",
		)
	checks["excluded"] = {
		"reversements": excluded["reversements"],
		"reversement_total": f"{excluded['reversement_cents'] / 100:.2f}",
		"duplicates": excluded["duplicates"],
		"duplicate_total": f"{excluded['duplicate_cents'] / 100:.2f}",
		"differences": [f"payment {i} is not money but was imported" for i in imported],
	}
	# 6, 7. staff and work orders
	checks.update(people)

	# 8, 9. the legacy accounting entries: the documents' against their GL rows; the manual pieces
	excluded_ids = {p.id: "reversement" for p in reversements} | {i: "duplicate" for i in duplicates}
	conn = legacy_source.connect(source)
	try:
		checks.update(journal.checks(conn, facts, customers, company, day, excluded_ids))
	finally:
		conn.close()
	ok = not any(c["differences"] for c in checks.values())
	return {"ok": ok, "checks": checks, "seconds": round(time.monotonic() - started, 1)}


def _payment_years(source: str, day: date) -> dict[int, int]:
	conn = legacy_source.connect(source)
	try:
		out = {}
		for rows in legacy_source.stream(conn, "SELECT id, date, date_created FROM payment"):
			for r in rows:
				out[r["id"]] = legacy_source.invoice_date(r, day).year
		return out
	finally:
		conn.close()


def last_source() -> str | None:
	"""The source of the last import run (its password is not stored: pass --source again)."""
	rows = frappe.get_all("Legacy Import Run", fields=["source"], order_by="creation desc", limit=1)
	return rows[0].source if rows else None
