"""Customer 360: everything the Customer form's panel shows, in one call (a few queries).

Subscriptions and contracts (months left), service locations, equipment with its last-known
state, open Issues, upcoming and recent Dispatch Jobs and the last flow runs about the
customer or their contracts, subscriptions and issues.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import getdate, now_datetime

from gigafibre_fsm.core.diagnostics import OPTICAL_HIGH_DBM, OPTICAL_LOW_DBM

LIMIT = 20
CLOSED_ISSUES = ("Closed", "Resolved")
DONE_JOBS = ("Completed", "Cancelled")


def months_left(end_date, today) -> int | None:
	"""Whole months from today to the contract's end (the month in progress counts), never negative."""
	if not end_date:
		return None
	end = getdate(end_date)
	if end < today:
		return 0
	months = (end.year - today.year) * 12 + end.month - today.month
	return months + (1 if end.day >= today.day else 0)


def panel(customer: str) -> dict:
	if not customer or not frappe.db.exists("Customer", customer):
		frappe.throw(_("{0} {1} not found").format(_("Customer"), customer), frappe.DoesNotExistError)
	today = getdate()
	now = now_datetime()
	info = frappe.db.get_value(
		"Customer",
		customer,
		["name", "customer_name", "customer_type", "disabled", "cell_phone", "email_billing"],
		as_dict=True,
	)
	subscriptions = frappe.get_all(
		"Service Subscription",
		filters={"customer": customer},
		fields=[
			"name",
			"status",
			"plan",
			"plan_name",
			"download_mbps",
			"upload_mbps",
			"monthly_price",
			"billing_cycle",
			"start_date",
			"end_date",
			"service_location",
			"service_contract",
		],
		order_by="creation desc",
		limit_page_length=LIMIT,
	)
	contracts = frappe.get_all(
		"Service Contract",
		filters={"customer": customer},
		fields=["name", "status", "contract_type", "start_date", "end_date", "duration_months", "signed_on"],
		order_by="creation desc",
		limit_page_length=LIMIT,
	)
	for row in contracts:
		row["months_left"] = months_left(row.end_date, today) if row.status == "Actif" else None
	locations = frappe.get_all(
		"Service Location",
		filters={"customer": customer},
		fields=[
			"name",
			"status",
			"address_line",
			"city",
			"postal_code",
			"connection_type",
			"olt",
			"olt_port",
			"ont_id",
			"latitude",
			"longitude",
		],
		order_by="creation asc",
		limit_page_length=LIMIT,
	)
	equipment = frappe.get_all(
		"Service Equipment",
		filters={"customer": customer},
		fields=[
			"name",
			"equipment_type",
			"status",
			"serial_no",
			"vendor",
			"model",
			"service_location",
			"last_online",
			"last_inform",
			"last_rx_dbm",
			"last_optical_status",
			"last_diagnostic",
			"alarm_issue",
		],
		order_by="creation asc",
		limit_page_length=LIMIT,
	)
	issues = frappe.get_all(
		"Issue",
		filters={"customer": customer, "status": ["not in", CLOSED_ISSUES]},
		fields=["name", "subject", "status", "priority", "opening_date"],
		order_by="creation desc",
		limit_page_length=LIMIT,
	)
	job_fields = ["name", "subject", "job_type", "status", "technician", "scheduled_start", "window_start"]
	upcoming = frappe.get_all(
		"Dispatch Job",
		filters={"customer": customer, "status": ["not in", DONE_JOBS]},
		fields=job_fields,
		order_by="scheduled_start asc",
		limit_page_length=LIMIT,
	)
	recent = frappe.get_all(
		"Dispatch Job",
		filters={"customer": customer, "status": ["in", DONE_JOBS]},
		fields=[*job_fields, "actual_end"],
		order_by="modified desc",
		limit_page_length=5,
	)
	names = {t.name: t.technician_name for t in _technicians({j.technician for j in upcoming + recent})}
	for job in upcoming + recent:
		job["technician_name"] = names.get(job.technician)
	return {
		"customer": info,
		"subscriptions": subscriptions,
		"contracts": contracts,
		"locations": locations,
		"equipment": equipment,
		"open_issues": issues,
		"upcoming_jobs": upcoming,
		"recent_jobs": recent,
		"flow_runs": _flow_runs(customer, contracts, subscriptions, issues),
		"optical_band": {"low_dbm": OPTICAL_LOW_DBM, "high_dbm": OPTICAL_HIGH_DBM},
		"as_of": str(now),
	}


def _technicians(names: set) -> list:
	names = [n for n in names if n]
	if not names:
		return []
	return frappe.get_all("Technician", filters={"name": ["in", names]}, fields=["name", "technician_name"])


def _flow_runs(customer: str, contracts, subscriptions, issues) -> list:
	about = {
		"Customer": [customer],
		"Service Contract": [c.name for c in contracts],
		"Service Subscription": [s.name for s in subscriptions],
		"Issue": [i.name for i in issues],
	}
	runs = []
	for doctype, names in about.items():
		if not names:
			continue
		runs += frappe.get_all(
			"Flow Run",
			filters={"reference_doctype": doctype, "reference_name": ["in", names]},
			fields=[
				"name",
				"template",
				"status",
				"reference_doctype",
				"reference_name",
				"started_at",
				"finished_at",
				"error",
				"creation",
			],
			order_by="creation desc",
			limit_page_length=10,
		)
	runs.sort(key=lambda r: r.creation, reverse=True)
	runs = runs[:10]
	titles = {}
	templates = list({r.template for r in runs})
	if templates:
		titles = dict(
			frappe.get_all(
				"Flow Template", filters={"name": ["in", templates]}, fields=["name", "title"], as_list=True
			)
		)
	for run in runs:
		run["template_title"] = titles.get(run.template)
		run.pop("creation", None)
	return runs
