"""Invoices, credit notes and payments of the legacy system as submitted ERPNext documents.

ERPNext's own code writes the rows once: at the start of the step, prototype documents (two
invoices, a return, a payment with two references and an unallocated part) are inserted and
submitted through the ORM, their rows read back (Sales Invoice, items, taxes, payment schedule,
GL Entry, Payment Ledger Entry, Payment Entry and its references) and turned into recipes
(bulk.Shape), then rolled back. Each legacy document is written from those recipes with its own
values, many at a time: the same columns, defaults, GL and ledger rows ERPNext would write.

What the money rules decide (core.legacy.reconcile): credit notes become returns against the
invoice the matching found (or against nothing, reported); reversements and duplicate Stripe
payments are not imported (reported with their totals); each invoice's outstanding amount and
status are its final ones, computed once from all the legacy documents.
"""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

import frappe
from frappe.utils import money_in_words, now_datetime

from gigafibre_fsm.connectors import legacy_source
from gigafibre_fsm.core.legacy import mapping
from gigafibre_fsm.core.legacy.reconcile import (
	Payment,
	invoice_status,
	match_credit_notes,
	real_payments,
	settle,
)
from gigafibre_fsm.legacy import bulk

PROTO = "Legacy Prototype ZQX"
TPS_RATE, TVQ_RATE = 5.0, 9.975


def d(cents: int) -> Decimal:
	return Decimal(cents).scaleb(-2)


@lru_cache(maxsize=65536)
def in_words(cents: int, currency: str) -> str:
	return money_in_words(abs(cents) / 100, currency)


# -- setup ------------------------------------------------------------------------------------
def ensure_setup(imp) -> None:
	"""Company, accounts, tax template and fiscal years the money steps need (made once)."""
	if not {"invoices", "payments"} & set(imp.steps):
		return
	from gigafibre_fsm.customers.billing import Context

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


# -- prototypes -------------------------------------------------------------------------------
def _proto_invoice(imp, customer, items, posting, legacy_id):
	si = frappe.get_doc(
		{
			"doctype": "Sales Invoice",
			"customer": customer,
			"company": imp.ctx.company,
			"set_posting_time": 1,
			"posting_date": posting,
			"posting_time": "10:00:00",
			"due_date": posting + timedelta(days=30),
			"disable_rounded_total": 1,
			"taxes_and_charges": imp.ctx.tax_template,
			"legacy_invoice_id": legacy_id,
			"items": [
				{
					"item_code": code,
					"qty": qty,
					"rate": rate,
					"income_account": imp.ctx.income_account,
					"cost_center": imp.ctx.cost_center,
				}
				for code, qty, rate in items
			],
		}
	)
	si.append_taxes_from_master()
	si.insert(ignore_permissions=True)
	si.submit()
	return si


def _rows(doctype, **filters):
	order = "idx asc" if "parent" in filters else "creation asc, name asc"
	return bulk.fetch_rows(doctype, filters, order_by=order)


def build_shapes(imp) -> dict:
	"""The recipes, from ORM-made prototypes that are rolled back afterwards."""
	frappe.db.commit()
	try:
		group = frappe.get_doc({"doctype": "Item Group", "item_group_name": f"{PROTO} Group", "is_group": 0})
		group.insert(ignore_permissions=True)
		for code in ("A", "B"):
			frappe.get_doc(
				{
					"doctype": "Item",
					"item_code": f"LEGACY-PROTO-{code}",
					"item_name": f"{PROTO} Item {code}",
					"description": f"{PROTO} Description {code}",
					"item_group": group.name,
					"stock_uom": "Nos",
					"is_stock_item": 0,
				}
			).insert(ignore_permissions=True)
		imp_customer = frappe.get_doc(
			{
				"doctype": "Customer",
				"customer_name": f"{PROTO} Customer",
				"customer_type": "Individual",
				"customer_group": frappe.db.get_single_value("Selling Settings", "customer_group")
				or frappe.db.get_value("Customer Group", {"is_group": 0}),
				"territory": frappe.db.get_single_value("Selling Settings", "territory")
				or frappe.db.get_value("Territory", {"is_group": 0}),
			}
		).insert(ignore_permissions=True, set_name="LEGACY-PROTO-CUSTOMER")
		customer = imp_customer.name
		p1 = date(2019, 3, 7)
		i1 = _proto_invoice(
			imp, customer, [("LEGACY-PROTO-A", 3, 41.15), ("LEGACY-PROTO-B", 1, 67.89)], p1, "PROTO-I1"
		)
		i1_rows = {
			"head": _rows("Sales Invoice", name=i1.name)[0],
			"items": _rows("Sales Invoice Item", parent=i1.name),
			"taxes": _rows("Sales Taxes and Charges", parent=i1.name),
			"schedule": _rows("Payment Schedule", parent=i1.name),
			"gl": _rows("GL Entry", voucher_no=i1.name),
			"ple": _rows("Payment Ledger Entry", voucher_no=i1.name),
		}
		i2 = _proto_invoice(imp, customer, [("LEGACY-PROTO-A", 1, 11.11)], date(2019, 3, 9), "PROTO-I2")
		i3 = _proto_invoice(imp, customer, [("LEGACY-PROTO-B", 1, 33.33)], date(2019, 3, 11), "PROTO-I3")
		# The return as make_sales_return maps it (ERPNext 15.99's make_sales_return itself fails
		# on PostgreSQL: an aggregate query ordered by a column it does not group by).
		ret = frappe.get_doc(
			{
				"doctype": "Sales Invoice",
				"customer": customer,
				"company": imp.ctx.company,
				"is_return": 1,
				"return_against": i1.name,
				"set_posting_time": 1,
				"posting_date": date(2019, 3, 20),
				"posting_time": "11:00:00",
				"due_date": date(2019, 4, 19),  # a date of its own: the recipe tells it from the posting date
				"disable_rounded_total": 1,
				"taxes_and_charges": imp.ctx.tax_template,
				"legacy_invoice_id": "PROTO-R1",
				"items": [
					{
						"item_code": row.item_code,
						"qty": -row.qty,
						"rate": row.rate,
						"income_account": row.income_account,
						"cost_center": row.cost_center,
						"sales_invoice_item": row.name,
					}
					for row in i1.items
				],
			}
		)
		ret.append_taxes_from_master()
		ret.insert(ignore_permissions=True)
		ret.submit()
		r_rows = {
			"head": _rows("Sales Invoice", name=ret.name)[0],
			"items": _rows("Sales Invoice Item", parent=ret.name),
			"taxes": _rows("Sales Taxes and Charges", parent=ret.name),
			"gl": _rows("GL Entry", voucher_no=ret.name),
			"ple": _rows("Payment Ledger Entry", voucher_no=ret.name),
		}
		pe = frappe.get_doc(
			{
				"doctype": "Payment Entry",
				"payment_type": "Receive",
				"company": imp.ctx.company,
				"posting_date": date(2019, 3, 25),
				"party_type": "Customer",
				"party": customer,
				"paid_from": imp.receivable,
				"paid_to": imp.bank,
				"paid_amount": 77.77,
				"received_amount": 77.77,
				"source_exchange_rate": 1,
				"target_exchange_rate": 1,
				"reference_no": "PROTO-REFNO",
				"reference_date": date(2019, 3, 25),
				"mode_of_payment": None,
				"custom_remarks": 1,
				"remarks": f"{PROTO} remarks",
				"legacy_payment_id": "PROTO-P1",
				"references": [
					{
						"reference_doctype": "Sales Invoice",
						"reference_name": i2.name,
						"allocated_amount": 10.00,
					},
					{
						"reference_doctype": "Sales Invoice",
						"reference_name": i3.name,
						"allocated_amount": frappe.db.get_value(
							"Sales Invoice", i3.name, "outstanding_amount"
						),
					},
				],
			}
		)
		if frappe.db.db_type == "postgres":
			# ERPNext 15.99's outstanding query (accounts/utils.py query_for_outstanding) has a HAVING on
			# a column alias that PostgreSQL refuses; it only re-checks the allocations against the
			# latest outstanding amounts, which these allocations equal by construction.
			pe.validate_allocated_amount_with_latest_data = lambda: None
		pe.insert(ignore_permissions=True)
		pe.submit()
		pe_rows = {
			"head": _rows("Payment Entry", name=pe.name)[0],
			"refs": _rows("Payment Entry Reference", parent=pe.name),
			"gl": _rows("GL Entry", voucher_no=pe.name),
			"ple": _rows("Payment Ledger Entry", voucher_no=pe.name),
		}
		proto = {
			"i1": i1,
			"i2": i2,
			"i3": i3,
			"ret": ret,
			"pe": pe,
			"customer": imp_customer,
			"series": (i1.naming_series, ret.naming_series, pe.naming_series),
		}
		shapes = _shapes(imp, proto, i1_rows, r_rows, pe_rows)
	finally:
		frappe.db.rollback()
	return shapes


def _money(value) -> Decimal:
	return Decimal(str(value)).quantize(Decimal("0.01"))


def _tracked_invoice(doc, sign: int) -> dict:
	taxes = doc.taxes
	values = {
		doc.name: "name",
		doc.customer_name: "customer_name",
		doc.customer: "customer",
		frappe.utils.getdate(doc.posting_date): "posting_date",
		doc.legacy_invoice_id: "legacy_id",
		doc.in_words: "in_words",
	}
	if doc.due_date:
		values[frappe.utils.getdate(doc.due_date)] = "due_date"
	amounts = {
		"net_total": doc.net_total,
		"tps": taxes[0].tax_amount,
		"tvq": taxes[1].tax_amount,
		"tps_running": taxes[0].total,
		"taxes": doc.total_taxes_and_charges,
		"grand_total": doc.grand_total,
		"total_qty": doc.total_qty,
	}
	for key, value in amounts.items():
		values[_money(value)] = key
		values[_money(abs(value))] = "abs_" + key
	return values


def _shapes(imp, proto, i1_rows, r_rows, pe_rows) -> dict:
	i1, ret, pe = proto["i1"], proto["ret"], proto["pe"]
	D = {
		dt: bulk.db_defaults(dt)
		for dt in (
			"Sales Invoice",
			"Sales Invoice Item",
			"Sales Taxes and Charges",
			"Payment Schedule",
			"GL Entry",
			"Payment Ledger Entry",
			"Payment Entry",
			"Payment Entry Reference",
		)  # fmt: skip
	}
	fy = str(i1_rows["gl"][0]["fiscal_year"])
	common = {fy: "fiscal_year"}
	head_fields = {
		"outstanding_amount": "outstanding",
		"status": "status",
		"name": "name",
		"language": "language",
		"other_charges_calculation": "tax_breakup",
	}
	inv = _tracked_invoice(i1, 1) | common
	rtn = _tracked_invoice(ret, -1) | common | {i1.name: "against"}
	child = {"name": "row_name", "idx": "idx"}
	item_a = i1_rows["items"][0]
	item_values = {
		item_a["item_code"]: "item_code",
		item_a["item_name"]: "item_name",
		item_a["description"]: "description",
		item_a["item_group"]: "item_group",
		_money(item_a["rate"]): "rate",
		_money(item_a["amount"]): "amount",
		_money(item_a["qty"]): "qty",
		i1.name: "name",
	}
	ret_item = r_rows["items"][0]
	ret_item_values = {
		ret_item["item_code"]: "item_code",
		ret_item["item_name"]: "item_name",
		ret_item["description"]: "description",
		ret_item["item_group"]: "item_group",
		_money(ret_item["rate"]): "rate",
		_money(ret_item["amount"]): "amount",
		_money(ret_item["qty"]): "qty",
		ret.name: "name",
		i1.name: "against",
	}
	line_fields = {**child, "gigafibre_service_location": "location", "sales_invoice_item": "against_item"}
	tax_fields = {"name": "row_name", "item_wise_tax_detail": "item_wise_tax_detail"}
	receivable = imp.receivable

	def gl_by_account(rows):
		out = {}
		for row in rows:
			kind = (
				"receivable"
				if row["account"] == receivable
				else "tps"
				if row["account"] == imp.tax_accounts[0]
				else "tvq"
				if row["account"] == imp.tax_accounts[1]
				else "income"
			)
			out[kind] = row
		return out

	shapes = {
		"series": proto["series"],
		"tax_descriptions": [t["description"] for t in i1_rows["taxes"]],
		"invoice": {
			"head": bulk.Shape(i1_rows["head"], inv, head_fields, D["Sales Invoice"]),
			"item": bulk.Shape(item_a, item_values, line_fields, D["Sales Invoice Item"]),
			"taxes": [bulk.Shape(t, inv, tax_fields, D["Sales Taxes and Charges"]) for t in i1_rows["taxes"]],
			"schedule": [
				bulk.Shape(s, inv, {"name": "row_name"}, D["Payment Schedule"]) for s in i1_rows["schedule"]
			],
			"gl": {
				k: bulk.Shape(r, inv, {"name": "row_name"}, D["GL Entry"])
				for k, r in gl_by_account(i1_rows["gl"]).items()
			},
			"ple": bulk.Shape(i1_rows["ple"][0], inv, {"name": "row_name"}, D["Payment Ledger Entry"]),
		},
		"return": {
			"head": bulk.Shape(
				r_rows["head"], rtn, {**head_fields, "return_against": "return_against"}, D["Sales Invoice"]
			),
			"item": bulk.Shape(ret_item, ret_item_values, line_fields, D["Sales Invoice Item"]),
			"taxes": [bulk.Shape(t, rtn, tax_fields, D["Sales Taxes and Charges"]) for t in r_rows["taxes"]],
			"gl": {
				k: bulk.Shape(r, rtn, {"name": "row_name"}, D["GL Entry"])
				for k, r in gl_by_account(r_rows["gl"]).items()
			},
			"ple": bulk.Shape(r_rows["ple"][0], rtn, {"name": "row_name"}, D["Payment Ledger Entry"]),
		},
	}
	i2, i3 = proto["i2"], proto["i3"]
	pe_values = {
		pe.name: "name",
		pe.party: "customer",
		pe.party_name: "customer_name",
		date(2019, 3, 25): "posting_date",
		"PROTO-REFNO": "reference_no",
		"PROTO-P1": "legacy_id",
		pe.remarks: "remarks",
		_money(77.77): "paid_amount",
		_money(pe.total_allocated_amount): "total_allocated",
		_money(pe.unallocated_amount): "unallocated",
		str(pe_rows["gl"][0]["fiscal_year"]): "fiscal_year",
		_money(-77.77): "neg_paid_amount",
		_money(-pe.total_allocated_amount): "neg_total_allocated",
		_money(-pe.unallocated_amount): "neg_unallocated",
	}
	ref_values = {
		**pe_values,
		i2.name: "invoice",
		_money(10.00): "allocated",
		_money(-10.00): "neg_allocated",
		_money(i2.grand_total): "invoice_total",
		date.fromisoformat(str(i2.due_date)): "invoice_due_date",
	}
	pe_head_fields = {
		"name": "name",
		"mode_of_payment": "mode_of_payment",
		"paid_from_account_balance": "zero",
		"paid_to_account_balance": "zero",
		"party_balance": "zero",
	}
	gl_pe, ple_pe = {}, {}
	for row in pe_rows["gl"]:
		if row["account"] != receivable:
			gl_pe["bank"] = row
		elif row["against_voucher"] == i2.name:
			gl_pe["ref"] = row
		elif row["against_voucher"] != i3.name:
			gl_pe["unallocated"] = row
	for row in pe_rows["ple"]:
		if row["against_voucher_no"] == i2.name:
			ple_pe["ref"] = row
		elif row["against_voucher_no"] == pe.name:
			ple_pe["unallocated"] = row
	ref_row = next(r for r in pe_rows["refs"] if r["reference_name"] == i2.name)
	shapes["payment"] = {
		"head": bulk.Shape(pe_rows["head"], pe_values, pe_head_fields, D["Payment Entry"]),
		"ref": bulk.Shape(
			ref_row,
			ref_values,
			{**child, "outstanding_amount": "invoice_outstanding"},
			D["Payment Entry Reference"],
		),
		"gl": {
			k: bulk.Shape(r, ref_values if k == "ref" else pe_values, {"name": "row_name"}, D["GL Entry"])
			for k, r in gl_pe.items()
		},
		"ple": {
			k: bulk.Shape(
				r, ref_values if k == "ref" else pe_values, {"name": "row_name"}, D["Payment Ledger Entry"]
			)
			for k, r in ple_pe.items()
		},
	}
	return shapes


class _Doc:
	"""Attributes and ``get`` (a frappe._dict would answer ``items`` with dict.items)."""

	def __init__(self, **values):
		self.__dict__.update(values)

	def get(self, key, default=None):
		return self.__dict__.get(key, default)


def tax_breakup(imp, items: list[tuple[str, int]], details: list[str], is_return: bool) -> str:
	"""``other_charges_calculation``: the item-wise tax table ERPNext renders on save
	(``get_itemised_tax_breakup_html``), from the same functions and template, cached by content."""
	key = (tuple(items), tuple(details), is_return)
	cache = imp.__dict__.setdefault("_breakups", {})
	if key in cache:
		return cache[key]
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
	html = frappe.render_template(
		"templates/includes/itemised_tax_breakup.html",
		dict(
			headers=headers, itemised_tax_data=data, tax_accounts=list(dict.fromkeys(descriptions)), doc=doc
		),
	)
	if len(cache) < 200_000:
		cache[key] = html
	return html


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


def _pending(imp, table: str, where: str) -> bool:
	last = int(imp.checkpoints.get(table, 0))
	return (
		legacy_source.count(
			imp.conn, "invoice" if table != "payment" else "payment", f"WHERE id > %s {where}", (last,)
		)
		> 0
	)


# -- invoices and credit notes -------------------------------------------------------------------
def invoices(imp) -> None:
	if not (_pending(imp, "invoice", "AND type = 'F'") or _pending(imp, "credit_note", "AND type = 'C'")):
		imp.count("invoice", "Sales Invoice")
		return
	decide(imp)
	imp.shapes = getattr(imp, "shapes", None) or build_shapes(imp)
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
	for batch in _batches_where(imp, table, columns, "type = %s", (kind,)):
		have = bulk.existing("Sales Invoice", "legacy_invoice_id", [r["id"] for r in batch])
		fresh = []
		for r in batch:
			if str(r["id"]) in have:
				continue
			if r["status"] == 9 and kind == "F":
				skipped["void"] = skipped.get("void", 0) + 1
				continue
			if r["account_id"] not in customers:
				skipped["no customer"] = skipped.get("no customer", 0) + 1
				continue
			fresh.append(r)
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
						"row_name": frappe.generate_hash(length=10),
						"idx": idx,
						"name": name,
						"item_code": sku,
						"item_name": (line["name"] or item_name or sku)[:140],
						"description": line["description"] or line["name"] or sku,
						"item_group": item_group,
						"rate": _money(rate),
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
				values["row_name"] = frappe.generate_hash(length=10)
				values["item_wise_tax_detail"] = tax_detail
				out.add("Sales Taxes and Charges", tax_shape, values)
			for s in shape.get("schedule", ()):
				values["row_name"] = frappe.generate_hash(length=10)
				out.add("Payment Schedule", s, values)
			for kind_gl, gl_shape in shape["gl"].items():
				amount = {"receivable": total, "income": sub, "tps": tps, "tvq": tvq}[kind_gl]
				if amount:
					values["row_name"] = frappe.generate_hash(length=10)
					out.add("GL Entry", gl_shape, values)
			values["row_name"] = frappe.generate_hash(length=10)
			out.add("Payment Ledger Entry", shape["ple"], values)
		started = time.monotonic()
		written = out.flush()
		imp.timings[f"{table} insert"] = round(
			imp.timings.get(f"{table} insert", 0) + time.monotonic() - started, 2
		)
		label = "Sales Invoice" if kind == "F" else "Credit Note"
		imp.count(table, label, read=len(batch), written=heads, skipped=len(batch) - heads)
		imp.count(table, "GL Entry", written=written.get("GL Entry", 0))
		imp.count(table, "Payment Ledger Entry", written=written.get("Payment Ledger Entry", 0))
	if skipped:
		imp.report.setdefault("invoices_skipped", {}).update(skipped)


def _fallback_line(sub: int) -> dict:
	return {"service": None, "description": "Legacy", "qty": 1, "price": d(sub), "amount": d(sub), "sku": None,
		"name": None, "delivery": None}  # fmt: skip


def _batches_where(imp, table: str, columns: str, where: str, params: tuple):
	"""Like Importer.batches_of, on a filtered legacy table (invoice split into invoices and credit notes)."""
	import json as _json

	from gigafibre_fsm.legacy.importer import RUN, ImportInterrupted, Progress

	source = "payment" if table == "payment" else "invoice"
	last = int(imp.checkpoints.get(table, 0))
	total = legacy_source.count(imp.conn, source, f"WHERE id > %s AND {where}", (last, *params))
	progress = Progress(table, total, imp.show_progress)
	if total:
		sql = f"SELECT {columns} FROM {source} WHERE id > %s AND {where} ORDER BY id"
		for rows in legacy_source.stream(imp.conn, sql, (last, *params), imp.batch_size):
			yield rows
			imp.checkpoints[table] = rows[-1]["id"]
			frappe.db.set_value(
				RUN, imp.run_name, "checkpoints", _json.dumps(imp.checkpoints), update_modified=False
			)
			frappe.db.commit()
			progress.update(len(rows))
			imp.batches += 1
			if imp.fail_after_batches is not None and imp.batches >= imp.fail_after_batches:
				raise ImportInterrupted(f"stopped after {imp.batches} batches (test hook)")
	imp.timings[f"{table} (read+write)"] = round(progress.finish(), 2)


# -- payments -------------------------------------------------------------------------------------
def payments(imp) -> None:
	if not _pending(imp, "payment", ""):
		imp.count("payment", "Payment Entry")
		return
	decide(imp)
	imp.shapes = getattr(imp, "shapes", None) or build_shapes(imp)
	shape = imp.shapes["payment"]
	series = imp.shapes["series"][2]
	customers = imp.lookup("Customer", "legacy_account_id")
	names_of_customers = dict(
		frappe.get_all(
			"Customer",
			filters={"legacy_account_id": ["is", "set"]},
			fields=["name", "customer_name"],
			as_list=True,
			limit=0,
		)
	)
	modes = set(frappe.get_all("Mode of Payment", pluck="name"))
	settlement = imp.settlement
	excluded_count: dict[str, int] = {}
	columns = "id, account_id, date, date_created, amount, method, reference, stripe_ref, note"
	for batch in _batches_where(imp, "payment", columns, "1 = %s", (1,)):
		have = bulk.existing("Payment Entry", "legacy_payment_id", [r["id"] for r in batch])
		fresh = []
		for r in batch:
			if str(r["id"]) in have:
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
		wanted = {inv for r in fresh for inv, _, _ in settlement.allocations.get(r["id"], ())}
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
					row_name=frappe.generate_hash(length=10),
					idx=idx,
					invoice=target.name,
					allocated=d(take),
					neg_allocated=d(-take),
					invoice_total=_money(target.grand_total),
					invoice_outstanding=d(before),
					invoice_due_date=target.due_date,
				)
				out.add("Payment Entry Reference", shape["ref"], values)
				values["row_name"] = frappe.generate_hash(length=10)
				out.add("GL Entry", shape["gl"]["ref"], values)
				values["row_name"] = frappe.generate_hash(length=10)
				out.add("Payment Ledger Entry", shape["ple"]["ref"], values)
			if unallocated:
				values["row_name"] = frappe.generate_hash(length=10)
				out.add("GL Entry", shape["gl"]["unallocated"], values)
				values["row_name"] = frappe.generate_hash(length=10)
				out.add("Payment Ledger Entry", shape["ple"]["unallocated"], values)
			values["row_name"] = frappe.generate_hash(length=10)
			out.add("GL Entry", shape["gl"]["bank"], values)
		started = time.monotonic()
		written = out.flush()
		imp.timings["payment insert"] = round(
			imp.timings.get("payment insert", 0) + time.monotonic() - started, 2
		)
		imp.count("payment", "Payment Entry", read=len(batch), written=heads, skipped=len(batch) - heads)
		imp.count("payment", "GL Entry", written=written.get("GL Entry", 0))
		imp.count("payment", "Payment Ledger Entry", written=written.get("Payment Ledger Entry", 0))
	if excluded_count:
		imp.report.setdefault("payments_not_imported", {}).update(excluded_count)


def proto_payment(amount: int, allocations) -> Payment:  # pragma: no cover - kept for symmetry
	return Payment(0, 0, amount, allocations=tuple(allocations))
