"""The billing book, read: the company's invoicing context and its Québec tax template, the
subscriptions as the pure rules see them, and what is due on a date (:func:`plan_book`,
:func:`dry_run`). Nothing here writes an invoice (customers/billing.py does); the tax template is
made once, on first use.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

import frappe
from frappe import _
from frappe.utils import flt, getdate

from gigafibre_fsm.core.billing import (
	BillableSubscription,
	InvoicePlan,
	PlanChange,
	plan_invoices,
)
from gigafibre_fsm.core.billing.taxes import DEFAULT_ROUNDING, ROUNDING_METHODS, TPS, TVQ
from gigafibre_fsm.core.contracts import SUBSCRIPTION_STATUSES
from gigafibre_fsm.core.errors import CoreError
from gigafibre_fsm.exceptions import translated_message

PENDING, ACTIVE, CANCELLED = SUBSCRIPTION_STATUSES
SUBSCRIPTION = "Service Subscription"
CHANGE = "Service Subscription Change"
KEY = "Billing Line Key"
SETTINGS = "Gigafibre Settings"
TAX_TEMPLATE = "Sales Taxes and Charges Template"
TAX_TEMPLATE_TITLE = "Québec TPS TVQ"
TAX_ACCOUNTS = (("TPS à payer", TPS), ("TVQ à payer", TVQ))

SUB_FIELDS = (
	"name",
	"customer",
	"service_location",
	"status",
	"plan",
	"plan_name",
	"monthly_price",
	"billing_cycle",
	"start_date",
	"end_date",
	"cancellation_date",
	"billed_until",
)


# -- company, accounts and the tax template -------------------------------------------------


def default_company() -> str | None:
	return frappe.db.get_single_value("Global Defaults", "default_company") or frappe.db.get_value(
		"Company", {}, "name"
	)


def ensure_tax_template(company: str | None = None) -> str | None:
	"""The company's "Québec TPS TVQ" Sales Taxes and Charges Template (TPS 5 %, TVQ 9.975 %, both
	on the net total), made once: its tax accounts are found or created under the company's
	Duties and Taxes group the way ERPNext's setup wizard does it. None without a company."""
	company = company or default_company()
	if not company:
		return None
	existing = frappe.db.get_value(TAX_TEMPLATE, {"company": company, "title": TAX_TEMPLATE_TITLE}, "name")
	if existing:
		return existing
	from erpnext.setup.setup_wizard.operations.taxes_setup import get_or_create_account

	cost_center = frappe.get_cached_value("Company", company, "cost_center")
	rows = []
	for account_name, tax in TAX_ACCOUNTS:
		account = get_or_create_account(company, {"account_name": account_name, "tax_rate": float(tax.rate)})
		rows.append(
			{
				"charge_type": "On Net Total",
				"account_head": account.name,
				"rate": float(tax.rate),
				"description": tax.name,
				"cost_center": cost_center,
				"included_in_print_rate": 0,
			}
		)
	doc = frappe.get_doc(
		{"doctype": TAX_TEMPLATE, "title": TAX_TEMPLATE_TITLE, "company": company, "taxes": rows}
	)
	doc.insert(ignore_permissions=True)
	return doc.name


class Context:
	"""What every invoice of a run shares: company, accounts, taxes, rounding, the floor date."""

	def __init__(self, company: str | None = None, *, write: bool = True):
		method = frappe.db.get_single_value("System Settings", "rounding_method")
		self.rounding = method if method in ROUNDING_METHODS else DEFAULT_ROUNDING
		self.row_wise = bool(frappe.db.get_single_value("Accounts Settings", "round_row_wise_tax"))
		floor = as_date(frappe.db.get_single_value(SETTINGS, "billing_from"))
		# an empty Date of a Single reads as 0001-01-01
		self.billed_before = floor - timedelta(days=1) if floor and floor > date(1900, 1, 1) else None
		if write:  # a dry run needs only the rules' settings, and must not make the template
			self._invoicing(company)

	def _invoicing(self, company: str | None) -> None:
		self.company = company or default_company()
		if not self.company:
			frappe.throw(_("Set a default company before billing"), frappe.ValidationError)
		values = frappe.get_cached_value(
			"Company", self.company, ["default_income_account", "cost_center"], as_dict=True
		)
		self.income_account, self.cost_center = values.default_income_account, values.cost_center
		if not (self.income_account and self.cost_center):
			frappe.throw(
				_("Company {0} needs a default income account and cost center for billing").format(
					self.company
				),
				frappe.ValidationError,
			)
		self.tax_template = ensure_tax_template(self.company)
		from erpnext.controllers.accounts_controller import get_taxes_and_charges

		self.tax_rows = get_taxes_and_charges(TAX_TEMPLATE, self.tax_template)
		self.submit = not frappe.db.get_single_value(SETTINGS, "billing_as_drafts")


# -- reading the book -------------------------------------------------------------------------


def as_date(value) -> date | None:
	return getdate(value) if value else None


def billable(row, billing_day: int | None, billed_before: date | None = None) -> BillableSubscription:
	"""A Service Subscription row as the pure rules see it.

	``start_date`` is the first day charged (the installation chain sets it to the day after the
	free activation day); the last day of service is the earlier of ``end_date`` and
	``cancellation_date`` (both inclusive)."""
	ends = [d for d in (as_date(row.end_date), as_date(row.cancellation_date)) if d]
	end = min(ends) if ends else None
	billed = as_date(row.billed_until)
	if billed_before:
		# the previous system billed up to the floor, never past the last day of service
		floor = min(billed_before, end) if end else billed_before
		if billed is None or billed < floor:
			billed = floor
	return BillableSubscription(
		id=row.name,
		monthly_rate=row.monthly_price or 0,
		start=as_date(row.start_date),
		cycle=row.billing_cycle or "Monthly",
		billing_day=int(billing_day or 1),
		status=row.status,
		service_location=row.service_location,
		item=row.plan,
		label=row.plan_name or row.plan,
		end=end,
		billed_until=billed,
		changes=tuple(
			PlanChange(
				effective=as_date(c.effective_date),
				monthly_rate=c.monthly_price or 0,
				item=c.plan or None,
				billed_until=as_date(c.billed_until),
			)
			for c in row.get("changes") or ()
		),
	)


def _billing_days(customers: Iterable[str] | None = None) -> dict[str, int]:
	filters = {"gigafibre_billing_day": [">", 0]}
	if customers is not None:
		filters["name"] = ["in", list(customers) or [""]]
	rows = frappe.get_all(
		"Customer", filters=filters, fields=["name", "gigafibre_billing_day"], limit_page_length=0
	)
	return {r.name: r.gigafibre_billing_day for r in rows}


def _book(customers: Iterable[str] | None = None) -> dict[str, list]:
	"""Billable subscription rows by customer (pending ones are never billed)."""
	filters = {"status": ["in", [ACTIVE, CANCELLED]]}
	if customers is not None:
		filters["customer"] = ["in", list(customers) or [""]]
	rows = frappe.get_all(
		SUBSCRIPTION,
		filters=filters,
		fields=list(SUB_FIELDS),
		order_by="customer asc, name asc",
		limit_page_length=0,
	)
	attach_changes(rows, everything=customers is None)
	out: dict[str, list] = defaultdict(list)
	for row in rows:
		out[row.customer].append(row)
	return out


def attach_changes(rows, everything: bool = False) -> None:
	"""Each row's plan changes (``row.changes``), in one query."""
	filters = {"parenttype": SUBSCRIPTION, "parentfield": "plan_changes"}
	if not everything:
		filters["parent"] = ["in", [r.name for r in rows] or [""]]
	changes = defaultdict(list)
	for c in frappe.get_all(
		CHANGE,
		filters=filters,
		fields=["parent", "effective_date", "monthly_price", "plan", "billed_until"],
		order_by="effective_date asc",
		limit_page_length=0,
	):
		changes[c.parent].append(c)
	for row in rows:
		row.changes = changes.get(row.name, [])


def _issued_change_keys(rows) -> set[str]:
	"""Plan-change lines already invoiced: the rules plan them again on every run (the days were
	billed before the change), so they are left out by key."""
	subs = [r.name for r in rows if r.changes]
	if not subs:
		return set()
	return set(
		frappe.get_all(
			KEY, filters={"subscription": ["in", subs], "name": ["like", "%:change-%"]}, pluck="name"
		)
	)


def plan_for(customer: str, rows, billing_day, ctx: Context, as_of: date) -> tuple[InvoicePlan, ...]:
	subs = [billable(row, billing_day, ctx.billed_before) for row in rows]
	return plan_invoices(
		{customer: subs},
		as_of,
		issued=_issued_change_keys(rows),
		rounding=ctx.rounding,
		row_wise=ctx.row_wise,
	)


def failure_reason(error: Exception) -> str:
	if isinstance(error, frappe.ValidationError | CoreError):
		message = translated_message(error) if isinstance(error, CoreError) else str(error)
	else:
		message = f"{type(error).__name__}: {error}"
	return frappe.utils.strip_html(message or type(error).__name__)[:1000]


def plan_book(
	as_of: date, customers: Iterable[str] | None = None, ctx: Context | None = None
) -> tuple[dict[str, tuple[InvoicePlan, ...]], list[tuple[str, str]]]:
	"""What is due on ``as_of``: the plans by customer (only customers with something due) and
	the customers whose data the rules refuse, with the reason. Reads only."""
	ctx = ctx or Context()
	book = _book(customers)
	days = _billing_days(book.keys()) if customers is not None else _billing_days()
	plans, failures = {}, []
	for customer, rows in book.items():
		try:
			found = plan_for(customer, rows, days.get(customer), ctx, as_of)
		except CoreError as e:
			failures.append((customer, failure_reason(e)))
			continue
		if found:
			plans[customer] = found
	return plans, failures


# -- dry run ------------------------------------------------------------------------------------


def dry_run(as_of: date, customers: Iterable[str] | None = None) -> dict:
	"""What a run on ``as_of`` would invoice, per customer and in total. Writes nothing."""
	plans, failures = plan_book(as_of, customers, Context(write=False))
	out, net, grand, lines = [], 0.0, 0.0, 0
	for customer in sorted(plans):
		for plan in plans[customer]:
			out.append(
				{
					"customer": customer,
					"posting_date": plan.posting_date.isoformat(),
					"lines": len(plan.lines),
					"net_total": float(plan.net_total),
					"total_taxes": float(plan.total_taxes),
					"grand_total": float(plan.grand_total),
				}
			)
			net += float(plan.net_total)
			grand += float(plan.grand_total)
			lines += len(plan.lines)
	return {
		"as_of": as_of.isoformat(),
		"dry_run": True,
		"customers": len(plans),
		"invoices": len(out),
		"lines": lines,
		"net_total": flt(net, 2),
		"grand_total": flt(grand, 2),
		"plans": out,
		"failures": [{"customer": c, "reason": r} for c, r in failures],
	}
