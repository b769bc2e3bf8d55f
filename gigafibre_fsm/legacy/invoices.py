"""Legacy invoices (type F) and credit notes (type C) as submitted Sales Invoices and returns,
written many at a time from the recipes (legacy.prototypes) with their final outstanding amount and
status (legacy.money.decide), their TPS/TVQ rows, item-wise tax table, GL and ledger rows.
"""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta
from decimal import Decimal

import frappe
from frappe.utils import now_datetime

from gigafibre_fsm.connectors import legacy_source
from gigafibre_fsm.core.legacy import mapping
from gigafibre_fsm.core.legacy.reconcile import invoice_status
from gigafibre_fsm.legacy import bulk, money, prototypes
from gigafibre_fsm.legacy.money import d, fiscal_year, in_words, to_money

TPS_RATE, TVQ_RATE = 5.0, 9.975


def invoices(imp) -> None:
	if not (
		imp.since
		or money.pending(imp, "invoice", "AND type = 'F'")
		or money.pending(imp, "credit_note", "AND type = 'C'")
	):
		imp.count("invoice", "Sales Invoice")
		return
	money.decide(imp)
	prototypes.shapes(imp)
	imp.lines_conn = legacy_source.connect(imp.source)
	try:
		_write_invoices(imp, "F")
		_write_invoices(imp, "C")
	finally:
		imp.lines_conn.close()


def _lines(imp, ids: list[int]) -> dict[int, list[dict]]:
	out: dict[int, list[dict]] = {}
	if not ids:
		return out
	with imp.lines_conn.cursor() as cur:
		cur.execute(
			"SELECT i.invoice_id, i.service_id, i.description, i.qty, i.price, i.amount, p.sku, p.name, "
			"s.delivery_id FROM invoice_item i LEFT JOIN product p ON p.id = i.product_id "
			"LEFT JOIN service s ON s.id = i.service_id WHERE i.invoice_id BETWEEN %s AND %s ORDER BY i.id",
			(min(ids), max(ids)),
		)
		for invoice_id, service, description, qty, price, amount, sku, name, delivery in cur.fetchall():
			out.setdefault(invoice_id, []).append(
				{
					"service": service,
					"description": mapping.repair_text(description),
					"qty": qty,
					"price": price,
					"amount": amount,
					"sku": sku,
					"name": mapping.repair_text(name),
					"delivery": delivery,
				}
			)
	return out


def _write_invoices(imp, kind: str) -> None:
	table = "invoice" if kind == "F" else "credit_note"
	shape = imp.shapes["invoice" if kind == "F" else "return"]
	series = imp.shapes["series"][0 if kind == "F" else 1]
	customers = imp.lookup("Customer", "legacy_account_id")
	locations = imp.lookup("Service Location", "legacy_delivery_id")
	items = {
		r.name: (r.item_name, r.item_group)
		for r in frappe.get_all("Item", fields=["name", "item_name", "item_group"], limit=0)
	}
	names_of_customers, languages = {}, {}
	for name, title, language in frappe.get_all(
		"Customer",
		filters={"legacy_account_id": ["is", "set"]},
		fields=["name", "customer_name", "language"],
		as_list=True,
		limit=0,
	):
		names_of_customers[name], languages[name] = title, language
	system_language = frappe.db.get_single_value("System Settings", "language")
	settlement, today_ = imp.settlement, imp.today
	skipped: dict[str, int] = {}
	columns = (
		"id, account_id, type, credit_of, date, due_date, date_created, subtotal, tps, tvq, total, status"
	)
	batches = itertools.chain(
		imp.batches_of(table, columns, source="invoice", where="type = %s", params=(kind,)),
		imp.changed(table, columns, source="invoice", where="type = %s", params=(kind,)),
	)
	written_ids = imp.__dict__.setdefault("invoices_written", set())
	for batch in batches:
		have = bulk.existing("Sales Invoice", "legacy_invoice_id", [r["id"] for r in batch])
		fresh = []
		expected = {}
		for r in batch:
			if str(r["id"]) in have:
				if imp.since and r["account_id"] in customers:
					expected[str(r["id"])] = {"customer": customers[r["account_id"]],
						"posting_date": legacy_source.invoice_date(r, today_), "grand_total": d(mapping.cents(r["total"]))}  # fmt: skip
				continue
			if r["status"] == 9 and kind == "F":
				skipped["void"] = skipped.get("void", 0) + 1
				continue
			if r["account_id"] not in customers:
				skipped["no customer"] = skipped.get("no customer", 0) + 1
				continue
			fresh.append(r)
		money.report_changed(imp, "Sales Invoice", "legacy_invoice_id", expected)
		written_ids.update(r["id"] for r in fresh)
		lines = _lines(imp, [r["id"] for r in fresh])
		targets = {}
		if kind == "C":
			wanted = [imp.match.links[r["id"]] for r in fresh if r["id"] in imp.match.links]
			targets = {
				int(x.legacy_invoice_id): x.name
				for x in frappe.get_all(
					"Sales Invoice",
					filters={"legacy_invoice_id": ["in", [str(w) for w in wanted] or ["-"]]},
					fields=["name", "legacy_invoice_id"],
				)
			}
		names = bulk.reserve_names(series, len(fresh))
		out = bulk.Rows()
		heads = 0
		now = now_datetime()
		for name, r in zip(names, fresh, strict=True):
			posting = legacy_source.invoice_date(r, today_)
			due = mapping.legacy_date(r["due_date"], today=date.max, fallback=None) or posting + timedelta(
				days=30
			)
			due = max(due, posting)
			sub, tps, tvq, total = (mapping.cents(r[k]) for k in ("subtotal", "tps", "tvq", "total"))
			customer = customers[r["account_id"]]
			against = targets.get(imp.match.links.get(r["id"])) if kind == "C" else None
			outstanding = settlement.outstanding.get(r["id"], total)
			if kind == "C" and against is None:
				outstanding = total
			is_return = kind == "C"
			status = invoice_status(outstanding, total, due, today_, is_return, r["id"] in imp.has_return)
			values = {
				"name": name,
				"customer": customer,
				"customer_name": names_of_customers.get(customer, customer),
				"language": languages.get(customer) or system_language,
				"posting_date": posting,
				"due_date": due,
				"legacy_id": str(r["id"]),
				"in_words": in_words(total, imp.currency),
				"fiscal_year": fiscal_year(imp, posting),
				"outstanding": d(outstanding),
				"status": status,
				"against": against or name,
				"return_against": against,
				"now": now,
			}
			for key, cents_value in (("net_total", sub), ("tps", tps), ("tvq", tvq), ("tps_running", sub + tps),
				("taxes", tps + tvq), ("grand_total", total)):  # fmt: skip
				values[key] = d(cents_value)
				values["abs_" + key] = d(abs(cents_value))
			qty_total = 0
			taxable: list[tuple[str, int]] = []
			detail: dict[str, list] = {}
			for idx, line in enumerate(lines.get(r["id"]) or [_fallback_line(sub)], 1):
				sku = line["sku"] if line["sku"] in items else "LEGACY-MISC"
				item_name, item_group = items.get(sku, ("Legacy", None))
				amount = mapping.cents(line["amount"])
				qty = Decimal(str(line["qty"] or 1))
				if is_return:
					qty = -abs(qty)
				rate = abs(Decimal(amount).scaleb(-2) / qty) if qty else Decimal(0)
				qty_total += qty
				taxable.append((sku, amount))
				for tax_key, tax_rate in (("tps", TPS_RATE), ("tvq", TVQ_RATE)):
					entry = detail.setdefault(tax_key, {})
					prev = entry.get(sku, [tax_rate, 0.0])
					entry[sku] = [tax_rate, prev[1] + tax_rate / 100.0 * (amount / 100)]
				out.add(
					"Sales Invoice Item",
					shape["item"],
					{
						**values,
						"row_name": bulk.new_hash(),
						"idx": idx,
						"name": name,
						"item_code": sku,
						"item_name": (line["name"] or item_name or sku)[:140],
						"description": line["description"] or line["name"] or sku,
						"item_group": item_group,
						"rate": to_money(rate),
						"amount": d(amount),
						"qty": qty,
						"location": locations.get(line["delivery"]),
						"against_item": None,
						"now": now,
					},
				)
			values["total_qty"] = qty_total
			values["abs_total_qty"] = abs(qty_total)
			details = [json.dumps(detail.get(k, {}), separators=(",", ":")) for k in ("tps", "tvq")]
			values["tax_breakup"] = tax_breakup(imp, taxable, details, is_return)
			out.add("Sales Invoice", shape["head"], values)
			heads += 1
			for tax_shape, tax_detail in zip(shape["taxes"], details, strict=False):
				values["row_name"] = bulk.new_hash()
				values["item_wise_tax_detail"] = tax_detail
				out.add("Sales Taxes and Charges", tax_shape, values)
			for s in shape.get("schedule", ()):
				values["row_name"] = bulk.new_hash()
				out.add("Payment Schedule", s, values)
			for kind_gl, gl_shape in shape["gl"].items():
				amount = {"receivable": total, "income": sub, "tps": tps, "tvq": tvq}[kind_gl]
				if amount:
					values["row_name"] = bulk.new_hash()
					out.add("GL Entry", gl_shape, values)
			values["row_name"] = bulk.new_hash()
			out.add("Payment Ledger Entry", shape["ple"], values)
		written = imp.flush(out, f"{table} insert")
		label = "Sales Invoice" if kind == "F" else "Credit Note"
		imp.count(table, label, read=len(batch), written=heads, skipped=len(batch) - heads)
		imp.count(table, "GL Entry", written=written.get("GL Entry", 0))
		imp.count(table, "Payment Ledger Entry", written=written.get("Payment Ledger Entry", 0))
	if skipped:
		imp.report.setdefault("invoices_skipped", {}).update(skipped)


def _fallback_line(sub: int) -> dict:
	return {"service": None, "description": "Legacy", "qty": 1, "price": d(sub), "amount": d(sub), "sku": None,
		"name": None, "delivery": None}  # fmt: skip


class _Doc:
	"""Attributes and ``get`` (a frappe._dict would answer ``items`` with dict.items)."""

	def __init__(self, **values):
		self.__dict__.update(values)

	def get(self, key, default=None):
		return self.__dict__.get(key, default)


def tax_breakup(imp, items: list[tuple[str, int]], details: list[str], is_return: bool) -> str:
	"""``other_charges_calculation``: the item-wise tax table ERPNext renders on save
	(``get_itemised_tax_breakup_html``), from the same functions and template, cached by content.

	The table has one row per item code, and a row depends on that code's lines only: the table
	is put together from rows rendered once per distinct (code, amounts, taxes) — the template
	renders a few thousand rows instead of a table per invoice. The first tables put together
	are checked against a whole render; any difference turns the assembly off for the run."""
	key = (tuple(items), tuple(details), is_return)
	cache = imp.__dict__.setdefault("_breakups", {})
	if key in cache:
		return cache[key]
	state = imp.__dict__.setdefault("_breakup_rows", {"rows": {}, "checked": 0, "assemble": True})
	html = None
	if state["assemble"]:
		try:
			html = _assembled(imp, state, items, details, is_return)
		except ValueError:  # a template without <tbody>: rendered whole
			state["assemble"] = False
	if html is not None:
		if state["checked"] < 200:
			state["checked"] += 1
			whole = _render_breakup(imp, items, details, is_return)
			if whole != html:
				state["assemble"] = False
				html = whole
	else:
		html = _render_breakup(imp, items, details, is_return)
	if len(cache) < 20_000:  # whole tables (~5 KB each); beyond, put together from the rows again
		cache[key] = html
	return html


def _assembled(imp, state: dict, items: list[tuple[str, int]], details: list[str], is_return: bool) -> str:
	if "frame" not in state:
		# the table without rows, cut after its <tbody>: what comes before the rows and after
		empty = _render_breakup(imp, [], ["{}" for _ in details], is_return)
		cut = empty.index("<tbody>") + len("<tbody>")
		state["frame"] = (empty[:cut], empty[cut:])
	head, tail = state["frame"]
	lines: dict[str, list[int]] = {}
	for code, amount in items:
		lines.setdefault(code, []).append(amount)
	taxes = [json.loads(d) for d in details]
	out = [head]
	for code, amounts in lines.items():
		mine = [{code: t[code]} if code in t else {} for t in taxes]
		row_key = (code, tuple(amounts), tuple(json.dumps(m) for m in mine), is_return)
		row = state["rows"].get(row_key)
		if row is None:
			alone = _render_breakup(
				imp,
				[(code, a) for a in amounts],
				[json.dumps(m, separators=(",", ":")) for m in mine],
				is_return,
			)
			row = alone[len(head) : len(alone) - len(tail)]
			state["rows"][row_key] = row
		out.append(row)
	out.append(tail)
	return "".join(out)


def _render_breakup(imp, items: list[tuple[str, int]], details: list[str], is_return: bool) -> str:
	from erpnext.controllers.taxes_and_totals import (
		get_itemised_tax_breakup_data,
		get_itemised_tax_breakup_header,
		get_rounded_tax_amount,
	)
	from erpnext.utilities.regional import temporary_flag

	descriptions = imp.shapes["tax_descriptions"]
	doc = _Doc(
		doctype="Sales Invoice",
		company=imp.ctx.company,
		currency=imp.currency,
		conversion_rate=1.0,
		is_return=1 if is_return else 0,
		items=[
			frappe._dict(item_code=code, item_name=code, net_amount=amount / 100) for code, amount in items
		],
		taxes=[
			frappe._dict(description=description, item_wise_tax_detail=detail, category=None)
			for description, detail in zip(descriptions, details, strict=False)
		],
	)
	with temporary_flag("company", imp.ctx.company):
		headers = get_itemised_tax_breakup_header("Sales Invoice Item", list(dict.fromkeys(descriptions)))
		data = get_itemised_tax_breakup_data(doc)
		get_rounded_tax_amount(data, 2)
	return frappe.render_template(
		"templates/includes/itemised_tax_breakup.html",
		dict(
			headers=headers, itemised_tax_data=data, tax_accounts=list(dict.fromkeys(descriptions)), doc=doc
		),
	)
