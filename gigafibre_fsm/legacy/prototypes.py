"""The recipes the money steps write their rows from, made by ERPNext's own code.

At the start of the money steps, prototype documents (three invoices, a return, a payment with two
references and an unallocated part) are inserted and submitted through the ORM, their rows read
back (Sales Invoice, items, taxes, payment schedule, GL Entry, Payment Ledger Entry, Payment Entry
and its references) and turned into recipes (bulk.Shape), then rolled back. Each legacy document
is then written from those recipes with its own values, many at a time: the same columns,
defaults, GL and ledger rows ERPNext would write.
"""

from __future__ import annotations

from datetime import date, timedelta

import frappe

from gigafibre_fsm.legacy import bulk
from gigafibre_fsm.legacy.money import to_money

PROTO = "Legacy Prototype ZQX"
INVOICE_CHILDREN = {"items": "Sales Invoice Item", "taxes": "Sales Taxes and Charges"}


def shapes(imp) -> dict:
	"""The run's recipes, made once."""
	imp.shapes = getattr(imp, "shapes", None) or build_shapes(imp)
	return imp.shapes


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


def read_back(doctype: str, name: str, children: dict[str, str]) -> dict:
	"""A submitted document's rows as ERPNext wrote them: its head, child tables, GL and ledger rows."""
	rows = {"head": _rows(doctype, name=name)[0]}
	rows.update({key: _rows(child, parent=name) for key, child in children.items()})
	rows["gl"] = _rows("GL Entry", voucher_no=name)
	rows["ple"] = _rows("Payment Ledger Entry", voucher_no=name)
	return rows


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
		i1_rows = read_back("Sales Invoice", i1.name, INVOICE_CHILDREN | {"schedule": "Payment Schedule"})
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
		r_rows = read_back("Sales Invoice", ret.name, INVOICE_CHILDREN)
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
			# Its payment-request matching (payment_entry.py get_matched_payment_request_of_references)
			# groups by one column and selects others, which PostgreSQL refuses; the prototype's
			# invoices were made a moment ago, no Payment Request names them.
			pe.set_matched_unset_payment_requests_to_response = lambda: None
		pe.insert(ignore_permissions=True)
		pe.submit()
		pe_rows = read_back("Payment Entry", pe.name, {"refs": "Payment Entry Reference"})
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
		values[to_money(value)] = key
		values[to_money(abs(value))] = "abs_" + key
	return values


def _tracked_item(row: dict, invoice: str) -> dict:
	values = {row[f]: f for f in ("item_code", "item_name", "description", "item_group")}
	values.update({to_money(row[f]): f for f in ("rate", "amount", "qty")})
	values[invoice] = "name"
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
	item_values = _tracked_item(item_a, i1.name)
	ret_item = r_rows["items"][0]
	ret_item_values = _tracked_item(ret_item, ret.name) | {i1.name: "against"}
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
		to_money(77.77): "paid_amount",
		to_money(pe.total_allocated_amount): "total_allocated",
		to_money(pe.unallocated_amount): "unallocated",
		str(pe_rows["gl"][0]["fiscal_year"]): "fiscal_year",
		to_money(-77.77): "neg_paid_amount",
		to_money(-pe.total_allocated_amount): "neg_total_allocated",
		to_money(-pe.unallocated_amount): "neg_unallocated",
	}
	ref_values = {
		**pe_values,
		i2.name: "invoice",
		to_money(10.00): "allocated",
		to_money(-10.00): "neg_allocated",
		to_money(i2.grand_total): "invoice_total",
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
