"""Terminating a contract credits the days already invoiced after the termination date.

The days are those of the billing run's own cancellation rule (``core.billing.due_lines``, kind
``cancellation``: each billing period's days after the last day of service, prorated by
``core.billing.proration.prorate``), so the credit note and a later billing run can never both
credit them: the credit note claims the lines' keys (Billing Line Key, the primary key that
makes every charge exactly-once) and moves each subscription's ``billed_until`` back to the
termination date, after which the billing run finds nothing left to credit.

One credit note (a submitted Sales Invoice return) per invoice credited, ``return_against`` it,
each line against the invoice row that charged those days (``sales_invoice_item``), with the
invoice's taxes. It reduces that invoice's outstanding amount when it is still owed, otherwise
the credit stays on the customer's account. A subscription whose days cannot be matched to a
submitted invoice row (a draft invoice, a row already credited, days billed by the previous
system) is left as it is: the next billing run credits it as a negative line, as it does for any
cancellation.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import frappe
from frappe import _
from frappe.utils import cint, flt, getdate

from gigafibre_fsm.core.billing import due_lines
from gigafibre_fsm.core.billing.statement import parse_key
from gigafibre_fsm.core.billing.values import CANCELLATION
from gigafibre_fsm.core.contracts import money
from gigafibre_fsm.core.errors import CoreError
from gigafibre_fsm.customers import billing, billing_book

INVOICE = "Sales Invoice"
KEY = "Billing Line Key"
SUBSCRIPTION = "Service Subscription"
TAX_FIELDS = ("charge_type", "account_head", "rate", "description", "cost_center", "included_in_print_rate")


def _rows(names: list[str]) -> list:
	rows = frappe.get_all(
		SUBSCRIPTION,
		filters={"name": ["in", names or [""]]},
		fields=list(billing_book.SUB_FIELDS),
		order_by="name asc",
	)
	billing_book.attach_changes(rows)
	return rows


def _charged_rows(subscription: str) -> list[tuple]:
	"""(first day, last day, invoice, invoice row) of each charge of ``subscription``."""
	keys = frappe.get_all(
		KEY,
		filters={"subscription": subscription, "sales_invoice": ["is", "set"]},
		fields=["name", "sales_invoice"],
	)
	charges = [(parse_key(k.name), k) for k in keys]
	charges = [(p, k) for p, k in charges if p and p.kind == "charge"]
	if not charges:
		return []
	items = frappe.get_all(
		"Sales Invoice Item",
		filters={"gigafibre_line_key": ["in", [k.name for _p, k in charges]], "parenttype": INVOICE},
		fields=["name", "parent", "gigafibre_line_key", "item_code", "rate", "income_account", "cost_center"],
	)
	by_key = {i.gigafibre_line_key: i for i in items}
	return [(p.first, p.last, k.sales_invoice, by_key.get(k.name)) for p, k in charges]


def _returned(rows: list[str]) -> set[str]:
	"""Invoice rows already credited by a (non-cancelled) credit note."""
	if not rows:
		return set()
	item, si = frappe.qb.DocType("Sales Invoice Item"), frappe.qb.DocType(INVOICE)
	found = (
		frappe.qb.from_(item)
		.join(si)
		.on(si.name == item.parent)
		.select(item.sales_invoice_item)
		.where(item.sales_invoice_item.isin(rows) & (si.docstatus < 2) & (si.is_return == 1))
		.run(pluck=True)
	)
	return set(found)


def _plan(row, billing_day: int, on: date) -> list[tuple] | None:
	"""[(cancellation line, invoice, invoice row)] for one subscription; None when any of its
	credited days cannot be matched to a submitted invoice row (left to the billing run)."""
	try:
		sub = billing_book.billable(row, billing_day)
		lines = [line for line in due_lines(sub, on + timedelta(days=1)) if line.kind == CANCELLATION]
	except CoreError:
		return None
	if not lines:
		return []
	charges = _charged_rows(row.name)
	out = []
	for line in lines:
		match = next(
			(
				(invoice, item)
				for first, last, invoice, item in charges
				if item and first <= line.period_start and line.period_end <= last
			),
			None,
		)
		if not match or money(match[1].rate) < -line.amount:
			return None
		out.append((line, *match))
	invoices = {invoice for _line, invoice, _item in out}
	submitted = frappe.get_all(
		INVOICE, filters={"name": ["in", list(invoices)], "docstatus": 1}, pluck="name"
	)
	if set(submitted) != invoices or _returned([item.name for _l, _i, item in out]):
		return None
	return out


def credit_prepaid(doc, on: date, subscriptions: list[str], reason: str) -> list[dict]:
	"""Credit notes for the days of ``subscriptions`` (just cancelled on ``on``) invoiced after
	``on``: ``[{"credit_note", "against", "submitted", "net_total", "grand_total"}]``."""
	billing_day = cint(frappe.db.get_value("Customer", doc.customer, "gigafibre_billing_day")) or 1
	by_invoice: dict[str, list[tuple]] = defaultdict(list)
	credited: set[str] = set()
	for row in _rows(subscriptions):
		if not (row.start_date and row.billed_until and getdate(row.billed_until) > on):
			continue
		planned = _plan(row, billing_day, on)
		if not planned:
			continue
		for line, invoice, item in planned:
			by_invoice[invoice].append((line, item))
		credited.add(row.name)
	out = []
	for invoice in sorted(by_invoice):
		made = _credit_note(doc, on, reason, invoice, by_invoice[invoice])
		keys = [(line.key, line.subscription) for line, _item in by_invoice[invoice]]
		billing.insert_keys(doc.customer, keys, "sales_invoice", made["credit_note"])
		out.append(made)
	for name in sorted(credited):
		frappe.db.set_value(SUBSCRIPTION, name, "billed_until", on, update_modified=False)
	return out


def _credit_note(doc, on: date, reason: str, invoice: str, lines: list[tuple]) -> dict:
	original = frappe.get_doc(INVOICE, invoice)
	si = frappe.new_doc(INVOICE)
	si.update(
		{
			"customer": original.customer,
			"company": original.company,
			"posting_date": max(getdate(), getdate(original.posting_date)),
			"set_posting_time": 1,
			"is_return": 1,
			"return_against": original.name,
			"currency": original.currency,
			"conversion_rate": original.conversion_rate,
			"selling_price_list": original.selling_price_list,
			"disable_rounded_total": 1,
			"ignore_pricing_rule": 1,
			"remarks": _("Termination of contract {0} on {1}: {2}").format(doc.name, on.isoformat(), reason),
		}
	)
	for line, item in lines:
		si.append(
			"items",
			{
				"item_code": item.item_code,
				"qty": -1,
				"rate": float(-line.amount),
				"price_list_rate": float(-line.amount),
				"discount_percentage": 0,
				"description": billing.line_description(line),
				"income_account": item.income_account,
				"cost_center": item.cost_center,
				"sales_invoice_item": item.name,
				"gigafibre_line_key": line.key,
				"gigafibre_service_location": line.service_location,
			},
		)
	si.flags.ignore_permissions = True
	si.set_missing_values()
	for row, (line, item) in zip(si.items, lines, strict=True):  # no price list may change a credit
		row.rate = row.price_list_rate = float(-line.amount)
		row.discount_percentage = row.discount_amount = 0
		row.income_account, row.cost_center = item.income_account, item.cost_center
	si.taxes_and_charges = original.taxes_and_charges
	si.set("taxes", [{f: t.get(f) for f in TAX_FIELDS} for t in original.taxes])
	si.calculate_taxes_and_totals()
	# the credit reduces what is still owed on the invoice; past that, it stays on the account
	si.update_outstanding_for_self = 0 if flt(original.outstanding_amount) >= abs(flt(si.grand_total)) else 1
	si.insert()
	submitted = submit_invoice(si)
	return {
		"credit_note": si.name,
		"against": invoice,
		"submitted": submitted,
		"net_total": str(money(si.net_total)),
		"grand_total": str(money(si.grand_total)),
	}


def submit_invoice(si) -> bool:
	"""Submit an invoice of a termination (the fee, a credit note), unless Gigafibre Settings say
	"Invoices as Drafts" (for an ERPNext whose PostgreSQL layer cannot submit one: README "Frappe
	v16"). Any error undoes the whole termination."""
	if frappe.db.get_single_value("Gigafibre Settings", "billing_as_drafts"):
		return False
	si.submit()
	return True
