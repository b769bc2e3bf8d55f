"""What a flow's conditions and ``{{paths}}`` see of a document: the run context."""

from __future__ import annotations

import json

import frappe
from frappe.utils import get_datetime, now_datetime


def as_json(value) -> dict:
	"""A document dict made JSON-safe (dates as ISO strings) for conditions and rendering."""
	return json.loads(frappe.as_json(value))


def linked(doc, doctype: str) -> str | None:
	"""The name of the ``doctype`` record ``doc`` is or links to (a Quotation's party too)."""
	if doc.doctype == doctype:
		return doc.name
	for df in doc.meta.get_link_fields():
		if df.options == doctype and doc.get(df.fieldname):
			return doc.get(df.fieldname)
	if doctype == "Customer" and doc.get("party_name") and doc.get("quotation_to") == "Customer":
		return doc.party_name
	return None


def build_context(
	doc, *, run=None, steps_output: dict | None = None, event: str | None = None, now=None
) -> dict:
	"""What conditions and {{paths}} see: doc, customer, address, steps, run, now, event."""
	context = {"doc": as_json(doc.as_dict(no_default_fields=False))}
	for root, doctype in (("customer", "Customer"), ("address", "Address")):
		name = linked(doc, doctype)
		if name and frappe.db.exists(doctype, name):
			context[root] = as_json(frappe.get_cached_doc(doctype, name).as_dict())
		else:
			context[root] = {}
	context["steps"] = steps_output or {}
	context["run"] = {"name": run.name, "template": run.template} if run else {}
	context["now"] = get_datetime(now or now_datetime()).isoformat()
	context["event"] = event or (run.trigger_event if run else None)
	return context
