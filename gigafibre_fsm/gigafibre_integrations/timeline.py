"""A customer's communications timeline: Communications (SMS, phone, e-mail) and Call Logs, newest
first, paged by time (``before``: the ``next_before`` of the previous page)."""

from __future__ import annotations

from html import unescape

import frappe
from frappe.query_builder import Order
from frappe.utils import get_datetime, strip_html

MAX_LIMIT = 200
CONTENT_CHARS = 500


def _communications(customer: str, before, limit: int) -> list[dict]:
	comm = frappe.qb.DocType("Communication")
	link = frappe.qb.DocType("Communication Link")
	issue = frappe.qb.DocType("Issue")
	linked = (
		frappe.qb.from_(link)
		.select(link.parent)
		.where(
			(link.parenttype == "Communication")
			& (link.link_doctype == "Customer")
			& (link.link_name == customer)
		)
	)
	issues = frappe.qb.from_(issue).select(issue.name).where(issue.customer == customer)
	where = (comm.communication_type.isin(["Communication", "Automated Message"])) & (
		comm.name.isin(linked)
		| ((comm.reference_doctype == "Customer") & (comm.reference_name == customer))
		| ((comm.reference_doctype == "Issue") & comm.reference_name.isin(issues))
	)
	if before is not None:
		where &= comm.communication_date < before
	rows = (
		frappe.qb.from_(comm)
		.select(
			comm.name,
			comm.communication_date,
			comm.communication_medium,
			comm.sent_or_received,
			comm.subject,
			comm.content,
			comm.phone_no,
			comm.sender,
			comm.delivery_status,
			comm.reference_doctype,
			comm.reference_name,
		)
		.where(where)
		.orderby(comm.communication_date, order=Order.desc)
		.orderby(comm.name, order=Order.desc)
		.limit(limit)
	).run(as_dict=True)
	return [
		{
			"kind": "communication",
			"name": r.name,
			"date": get_datetime(r.communication_date),
			"medium": r.communication_medium,
			"direction": r.sent_or_received,
			"subject": r.subject,
			"content": unescape(strip_html((r.content or "").replace("<br>", "\n")))[:CONTENT_CHARS],
			"phone": r.phone_no,
			"sender": r.sender,
			"status": r.delivery_status,
			"reference_doctype": r.reference_doctype,
			"reference_name": r.reference_name,
		}
		for r in rows
	]


def _calls(customer: str, before, limit: int) -> list[dict]:
	filters = {"customer": customer}
	if before is not None:
		filters["creation"] = ["<", before]
	rows = frappe.get_all(
		"Call Log",
		filters=filters,
		fields=[
			"name",
			"creation",
			"start_time",
			"type",
			"status",
			"duration",
			"from",
			"to",
			"summary",
			"medium",
		],
		order_by="creation desc, name desc",
		limit=limit,
	)
	return [
		{
			"kind": "call",
			"name": r.name,
			"date": get_datetime(r.creation),
			"started": r.start_time,
			"medium": r.medium or "Phone",
			"direction": r.type,
			"status": r.status,
			"duration": r.duration,
			"phone": r.get("from") if r.type == "Incoming" else r.get("to"),
			"subject": r.summary,
		}
		for r in rows
	]


def timeline(customer: str, before=None, limit: int = 50) -> dict:
	limit = max(1, min(int(limit), MAX_LIMIT))
	items = _communications(customer, before, limit) + _calls(customer, before, limit)
	items.sort(key=lambda i: (i["date"], i["name"]), reverse=True)
	page = items[:limit]
	more = len(items) > limit or len(page) == limit
	return {
		"customer": customer,
		"items": page,
		"next_before": str(page[-1]["date"]) if page and more else None,
	}
