"""What completing an installation chain does: the customer's pending subscriptions become active
from the next day, and the prorated first invoice is drafted (dispatch.service.complete decides
when, once per chain)."""

from __future__ import annotations

import frappe
from frappe import _

from gigafibre_fsm.core.billing import line_key
from gigafibre_fsm.core.dispatch import chains


def pending_subscriptions(job) -> list[chains.ChainSubscription]:
	if not job.customer:
		return []
	filters = {"customer": job.customer, "status": "En attente"}
	if job.service_location:
		filters["service_location"] = job.service_location
	rows = frappe.get_all("Service Subscription", filters=filters, fields=["name", "monthly_price", "plan"])
	return [chains.ChainSubscription(r.name, r.monthly_price or 0, "En attente", r.plan) for r in rows]


def apply_activation(job, plan) -> str | None:
	for act in plan.activations:
		sub = frappe.get_doc("Service Subscription", act.subscription)
		sub.status = "Actif"
		sub.start_date = act.start_date
		sub.flags.ignore_permissions = True
		sub.save()
	if not plan.invoice or not plan.invoice.lines:
		return None
	from gigafibre_fsm.customers.billing import record_prorated_invoice

	invoice = _draft_invoice(job.customer, plan.invoice)
	record_prorated_invoice(job.customer, invoice, plan.invoice.lines)
	return invoice


def _draft_invoice(customer: str, invoice) -> str:
	"""A draft Sales Invoice for the prorated lines; every line carries company and income account."""
	company = frappe.defaults.get_user_default("Company") or frappe.db.get_single_value(
		"Global Defaults", "default_company"
	)
	income = frappe.get_cached_value("Company", company, "default_income_account")
	si = frappe.new_doc("Sales Invoice")
	si.customer = customer
	si.company = company
	si.posting_date = invoice.posting_date
	si.set_posting_time = 1
	si.due_date = invoice.lines[0].period_end
	for line in invoice.lines:
		si.append(
			"items",
			{
				"item_code": line.item,
				"qty": 1,
				"rate": float(line.amount),
				"income_account": income,
				"gigafibre_line_key": line_key(line.subscription, line.period_start, line.period_end),
				"description": _("{0}: {1} to {2} ({3}/{4} days of {5} $)").format(
					line.subscription,
					line.period_start,
					line.period_end,
					line.days,
					line.days_in_month,
					line.monthly_rate,
				),
			},
		)
	si.flags.ignore_permissions = True
	si.set_missing_values()
	for item, line in zip(si.items, invoice.lines, strict=True):  # a price list must not override proration
		item.rate = float(line.amount)
		item.price_list_rate = float(line.amount)
		item.discount_percentage = 0
		item.income_account = income
	si.insert()
	return si.name
