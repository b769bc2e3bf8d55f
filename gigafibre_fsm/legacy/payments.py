"""Legacy payments as submitted Payment Entries, written many at a time from the recipe
(legacy.prototypes): the allocations the settlement decided (legacy.money.decide), the rest as an
advance; reversements and duplicate Stripe payments are not imported (counted by reason).
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import frappe
from frappe.utils import now_datetime

from gigafibre_fsm.connectors import legacy_source
from gigafibre_fsm.core.legacy import mapping
from gigafibre_fsm.legacy import bulk, money, prototypes
from gigafibre_fsm.legacy.money import d, fiscal_year, to_money


def payments(imp) -> None:
	if not (imp.since or money.pending(imp, "payment", "")):
		imp.count("payment", "Payment Entry")
		return
	money.decide(imp)
	shape = prototypes.shapes(imp)["payment"]
	series = imp.shapes["series"][2]
	customers = imp.lookup("Customer", "legacy_account_id")
	names_of_customers = imp.imported("Customer", "customer_name")
	modes = set(frappe.get_all("Mode of Payment", pluck="name"))
	settlement = imp.settlement
	excluded_count: dict[str, int] = {}
	columns = "id, account_id, date, date_created, amount, method, reference, stripe_ref, note"
	paid_invoices: set[int] = set()  # the invoices this run's payments pay
	for batch in itertools.chain(imp.batches_of("payment", columns), imp.changed("payment", columns)):
		have = bulk.existing("Payment Entry", "legacy_payment_id", [r["id"] for r in batch])
		fresh = []
		expected = {}
		for r in batch:
			if str(r["id"]) in have:
				if imp.since and r["account_id"] in customers:
					expected[str(r["id"])] = {"party": customers[r["account_id"]],
						"posting_date": legacy_source.invoice_date(r, imp.today), "paid_amount": d(mapping.cents(r["amount"]))}  # fmt: skip
				continue
			why = imp.excluded.get(r["id"])
			if why is None and r["account_id"] not in customers:
				why = "no customer"
			if why is None and mapping.cents(r["amount"]) <= 0:
				why = "zero or negative amount"
			if why:
				excluded_count[why] = excluded_count.get(why, 0) + 1
				continue
			fresh.append(r)
		money.report_changed(imp, "Payment Entry", "legacy_payment_id", expected)
		wanted = {inv for r in fresh for inv, _, _ in settlement.allocations.get(r["id"], ())}
		paid_invoices.update(wanted)
		invoices = {}
		wanted_list = [str(w) for w in wanted]
		for start in range(0, len(wanted_list), 1000):
			for x in frappe.get_all(
				"Sales Invoice",
				filters={"legacy_invoice_id": ["in", wanted_list[start : start + 1000]]},
				fields=["name", "legacy_invoice_id", "grand_total", "due_date"],
			):
				invoices[int(x.legacy_invoice_id)] = x
		names = bulk.reserve_names(series, len(fresh))
		out = bulk.Rows()
		heads = 0
		now = now_datetime()
		for name, r in zip(names, fresh, strict=True):
			posting = legacy_source.invoice_date(r, imp.today)
			customer = customers[r["account_id"]]
			paid = mapping.cents(r["amount"])
			allocations = [a for a in settlement.allocations.get(r["id"], ()) if a[0] in invoices]
			allocated = sum(a[1] for a in allocations)
			unallocated = paid - allocated
			method = (r["method"] or "").strip().lower()
			mode = mapping.PAYMENT_MODES.get(method)
			reference = mapping.blank(r["stripe_ref"]) or mapping.blank(r["reference"]) or f"LEGACY-{r['id']}"
			values = {
				"name": name,
				"customer": customer,
				"customer_name": names_of_customers.get(customer, customer),
				"posting_date": posting,
				"reference_no": reference,
				"legacy_id": str(r["id"]),
				"remarks": f"Paiement legacy {r['id']} ({method or '?'})",
				"paid_amount": d(paid),
				"total_allocated": d(allocated),
				"unallocated": d(unallocated),
				"neg_paid_amount": d(-paid),
				"neg_total_allocated": d(-allocated),
				"neg_unallocated": d(-unallocated),
				"fiscal_year": fiscal_year(imp, posting),
				"mode_of_payment": mode if mode in modes else None,
				"zero": Decimal(0),
				"now": now,
			}
			out.add("Payment Entry", shape["head"], values)
			heads += 1
			for idx, (invoice, take, before) in enumerate(allocations, 1):
				target = invoices[invoice]
				values.update(
					row_name=bulk.new_hash(),
					idx=idx,
					invoice=target.name,
					allocated=d(take),
					neg_allocated=d(-take),
					invoice_total=to_money(target.grand_total),
					invoice_outstanding=d(before),
					invoice_due_date=target.due_date,
				)
				out.add("Payment Entry Reference", shape["ref"], values)
				values["row_name"] = bulk.new_hash()
				out.add("GL Entry", shape["gl"]["ref"], values)
				values["row_name"] = bulk.new_hash()
				out.add("Payment Ledger Entry", shape["ple"]["ref"], values)
			if unallocated:
				values["row_name"] = bulk.new_hash()
				out.add("GL Entry", shape["gl"]["unallocated"], values)
				values["row_name"] = bulk.new_hash()
				out.add("Payment Ledger Entry", shape["ple"]["unallocated"], values)
			values["row_name"] = bulk.new_hash()
			out.add("GL Entry", shape["gl"]["bank"], values)
		written = imp.flush(out, "payment insert")
		imp.count("payment", "Payment Entry", read=len(batch), written=heads, skipped=len(batch) - heads)
		imp.count("payment", "GL Entry", written=written.get("GL Entry", 0))
		imp.count("payment", "Payment Ledger Entry", written=written.get("Payment Ledger Entry", 0))
	if excluded_count:
		imp.report.setdefault("payments_not_imported", {}).update(excluded_count)
	# Invoices written by an earlier run carry the outstanding amount of then: bring them up to date.
	refreshed = money.refresh_outstanding(imp, paid_invoices - imp.__dict__.get("invoices_written", set()))
	imp.count("payment", "Sales Invoice outstanding", written=refreshed)
	frappe.db.commit()
