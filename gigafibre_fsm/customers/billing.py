"""One customer billed: every due Service Subscription invoiced once, one submitted Sales Invoice
per customer and billing date (core/billing/invoices.py plans them; billing_book.py reads the
subscriptions and says what is due; this module writes the invoices; billing_run.py runs the
whole book in chunks and keeps the run's record).

Exactly once
	Every line carries its key (``line_key``: subscription, first and last day charged). Before a
	customer's invoices are written, one "Billing Line Key" row per line is inserted with the key
	as its ``name`` (the primary key, unique on MariaDB and PostgreSQL), in the same transaction
	as the invoices and the subscriptions' new ``billed_until``. One customer is one
	transaction, committed on its own: a second run, a run resumed after a crash and two
	workers at once all end with one line per charge. The customer's row is locked first
	(``FOR UPDATE``) and its subscriptions read after the lock, so a second worker waits and
	then finds nothing due; the primary key is the guarantee if anything else writes keys.

State
	``Service Subscription.billed_until``: the last day invoiced. ``Customer.gigafibre_billing_day``
	(1–31; empty means the 1st, the calendar month the installation's prorated invoice already
	uses). Gigafibre Settings ``billing_from``: days before it were invoiced by the previous
	system (the migrated book is never billed again); ``billing_enabled`` turns the daily run on.

Failures
	A customer that fails (bad data, an ERPNext validation) is rolled back alone and recorded
	in the Billing Run with its reason; the others go on.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import frappe
from frappe import _
from frappe.utils import flt, now_datetime

from gigafibre_fsm.core.billing import InvoicePlan, line_key
from gigafibre_fsm.customers import referral_credits
from gigafibre_fsm.customers.billing_book import (
	ACTIVE,
	CANCELLED,
	KEY,
	SUB_FIELDS,
	SUBSCRIPTION,
	Context,
	as_date,
	attach_changes,
	plan_for,
)
from gigafibre_fsm.customers.invoice_names import InvoiceNames

# -- one customer -----------------------------------------------------------------------------


class AlreadyBilled(Exception):
	"""Another worker invoiced one of this customer's lines first (its key exists)."""


def _lock_customer(customer: str):
	"""Lock the customer's row; its billing day."""
	return frappe.db.get_value("Customer", customer, "gigafibre_billing_day", for_update=True)


def _locked_rows(customer: str) -> list:
	table = frappe.qb.DocType(SUBSCRIPTION)
	rows = (
		frappe.qb.from_(table)
		.select(*(table[f] for f in SUB_FIELDS))
		.where((table.customer == customer) & table.status.isin([ACTIVE, CANCELLED]))
		.orderby(table.name)
		.for_update()
		.run(as_dict=True)
	)
	attach_changes(rows)
	return rows


def bill_customer(
	customer: str, as_of: date, ctx: Context, run: str | None = None, names: InvoiceNames | None = None
) -> list[dict]:
	"""Issue ``customer``'s due invoices in the current transaction (the caller commits or
	rolls back). Returns ``[{"invoice", "posting_date", "net_total", "grand_total"}]``, empty
	when nothing is due any more. Raises AlreadyBilled when a key exists already. ``names``:
	the invoice names taken ahead (customers.invoice_names), else Frappe names them."""
	billing_day = _lock_customer(customer)
	rows = _locked_rows(customer)
	if not rows:
		return []
	plans = plan_for(customer, rows, billing_day, ctx, as_of)
	issued = []
	for plan in plans:
		_claim_keys(plan, run)
		si = _invoice(plan, ctx, run, names.pop() if names else None)
		table = frappe.qb.DocType(KEY)
		frappe.qb.update(table).set(table.sales_invoice, si.name).where(table.name.isin(plan.keys)).run()
		issued.append(
			{
				"invoice": si.name,
				"posting_date": plan.posting_date.isoformat(),
				"net_total": flt(si.net_total),
				"grand_total": flt(si.grand_total),
			}
		)
	_advance(rows, plans)
	return issued


def insert_keys(customer: str, keyed: list[tuple[str, str]], link: str, value: str | None) -> None:
	"""Insert Billing Line Keys ``(key, subscription)`` of ``customer`` with their primary key,
	``link`` (billing_run or sales_invoice) set to ``value``, in one statement."""
	table = frappe.qb.DocType(KEY)
	now, user = now_datetime(), frappe.session.user
	query = frappe.qb.into(table).columns(
		"name", "line_key", "subscription", "customer", link, "owner", "modified_by", "creation", "modified"
	)
	for key, subscription in keyed:
		query = query.insert(key, key, subscription, customer, value, user, user, now, now)
	query.run()


def _claim_keys(plan: InvoicePlan, run: str | None) -> None:
	"""Insert the plan's keys as primary keys: a key that exists means billed already."""
	try:
		insert_keys(plan.customer, [(line.key, line.subscription) for line in plan.lines], "billing_run", run)
	except Exception as e:
		if frappe.db.is_primary_key_violation(e) or frappe.db.is_duplicate_entry(e):
			raise AlreadyBilled(plan.customer) from e
		raise


def line_description(line) -> str:
	params = [p.strftime("%Y-%m-%d") if isinstance(p, date) else p for p in line.description.params]
	return _(line.description.template).format(*params)


def _invoice(plan: InvoicePlan, ctx: Context, run: str | None, name: str | None = None):
	"""The plan as a submitted Sales Invoice, inserted and submitted in one save (ERPNext validates
	it once, as submitted), or a draft when Gigafibre Settings say so. Each line's rate is the
	plan's amount: no price list or pricing rule may change a proration, and the taxes are the
	company's Québec template. ``name``: the invoice's name, taken ahead from its series."""
	si = frappe.new_doc("Sales Invoice")
	si.update(
		{
			"customer": plan.customer,
			"company": ctx.company,
			"posting_date": plan.posting_date,
			"set_posting_time": 1,
			"due_date": plan.posting_date,
			"disable_rounded_total": 1,
			"ignore_pricing_rule": 1,
			"taxes_and_charges": ctx.tax_template,
			"gigafibre_billing_run": run,
		}
	)
	for line in plan.lines:
		amount = float(line.amount)
		si.append(
			"items",
			{
				"item_code": line.item,
				"qty": 1,
				"rate": amount,
				"price_list_rate": amount,
				"discount_percentage": 0,
				"description": line_description(line),
				"income_account": ctx.income_account,
				"cost_center": ctx.cost_center,
				"gigafibre_line_key": line.key,
				"gigafibre_service_location": line.service_location,
			},
		)
	si.extend("taxes", [dict(row) for row in ctx.tax_rows])
	# Referral credits due to this customer: negative lines, never more than the net total,
	# used once across invoices (gigafibre_fsm.customers.referral_credits).
	if referral_credits.pending_credits(plan.customer, posting_date=plan.posting_date):
		referral_credits.apply_credits(si)
	si.docstatus = 1 if ctx.submit else 0
	si.flags.ignore_permissions = True
	si.insert(set_name=name)
	return si


def _advance(rows, plans: tuple[InvoicePlan, ...]) -> None:
	"""Move each subscription's ``billed_until`` to the last day now invoiced (after a
	cancellation credit: the last day of service)."""
	by_sub = {row.name: row for row in rows}
	until: dict[str, date] = {}
	for plan in plans:
		for line in plan.lines:
			if not line.subscription or line.period_end is None:
				continue
			if line.kind == "cancellation":
				row = by_sub[line.subscription]
				ends = [d for d in (as_date(row.end_date), as_date(row.cancellation_date)) if d]
				day = min(ends)
			else:
				day = line.period_end
			if line.kind == "cancellation" or day > until.get(line.subscription, date.min):
				until[line.subscription] = day
	by_day = defaultdict(list)
	for name, day in until.items():
		by_day[day].append(name)
	table = frappe.qb.DocType(SUBSCRIPTION)
	for day, names in sorted(by_day.items()):  # one UPDATE per day (a customer's are mostly one)
		frappe.qb.update(table).set(table.billed_until, day).where(table.name.isin(sorted(names))).run()


def record_prorated_invoice(customer: str, invoice: str, lines) -> None:
	"""The installation chain's prorated invoice (core/dispatch/chains.py) charged its lines:
	claim their keys and move ``billed_until``, so the billing run starts the day after."""
	keyed = [
		(line_key(line.subscription, line.period_start, line.period_end), line.subscription) for line in lines
	]
	insert_keys(customer, keyed, "sales_invoice", invoice)
	for line in lines:
		frappe.db.set_value(
			SUBSCRIPTION, line.subscription, "billed_until", line.period_end, update_modified=False
		)
