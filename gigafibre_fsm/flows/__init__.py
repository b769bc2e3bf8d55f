"""Flows: the Frappe side of the flow engine.

Public entry points:
- ``fire(event, doc, occurrence=None)``: start the flows an app event triggers
  (e.g. ``fire("on_contract_signed", contract)``); returns the runs started or found.
- ``on_doc_event(doc, method)``: the doc_events hook of the applies_to doctypes.
- ``gigafibre_fsm.flows.jobs.tick()``: the scheduler entry.
"""

from __future__ import annotations

import frappe

from gigafibre_fsm.core import conditions
from gigafibre_fsm.core.flows.catalog import APPLIES_TO, DOC_EVENTS

CACHE_KEY = "gigafibre_fsm:flow_triggers"


def trigger_map() -> dict[str, list[str]]:
	"""'<doctype>|<event>' → enabled templates, cached until a template changes."""

	def build():
		out: dict[str, list[str]] = {}
		for t in frappe.get_all(
			"Flow Template",
			filters={"enabled": 1},
			fields=["name", "applies_to", "trigger_event"],
			order_by="name",
		):
			out.setdefault(f"{t.applies_to}|{t.trigger_event}", []).append(t.name)
		return out

	return frappe.cache.get_value(CACHE_KEY, build)


def clear_trigger_cache():
	frappe.cache.delete_value(CACHE_KEY)


def start_matching(tpl, doc, event: str, occurrence: str | None = None) -> str | None:
	"""Start ``tpl`` on ``doc`` if its trigger condition holds; once per occurrence."""
	from gigafibre_fsm.flows.context import build_context
	from gigafibre_fsm.flows.runtime import start_run, trigger_key

	if tpl.trigger_condition:
		rule = frappe.parse_json(tpl.trigger_condition)
		if not conditions.matches(rule, build_context(doc, event=event)):
			return None
	key = trigger_key(tpl.name, doc.doctype, doc.name, event, occurrence)
	existing = frappe.db.get_value("Flow Run", {"trigger_key": key}, "name")
	if existing:
		return existing
	return start_run(tpl.name, doc.doctype, doc.name, event=event, occurrence=occurrence)


def fire(event: str, doc, occurrence: str | None = None) -> list[str]:
	"""Start every enabled template of ``doc.doctype`` triggered by ``event``.

	Without ``occurrence`` an app event happens once per document: firing
	``on_contract_signed`` twice for one contract starts its flows once.
	"""
	runs = []
	for name in trigger_map().get(f"{doc.doctype}|{event}", []):
		if not frappe.db.exists("Flow Template", name):  # the cache outlived a rolled-back template
			clear_trigger_cache()
			continue
		tpl = frappe.get_cached_doc("Flow Template", name)
		run = start_matching(tpl, doc, event, occurrence)
		if run:
			runs.append(run)
	return runs


def on_doc_event(doc, method: str):
	"""doc_events hook: insert/submit/cancel happen once per document; each save is an update."""
	if method not in DOC_EVENTS or doc.doctype not in APPLIES_TO:
		return
	if not trigger_map().get(f"{doc.doctype}|{method}"):
		return
	if doc.flags.from_flow_run and method == "on_update":
		return  # a flow's own set_field must not re-trigger update flows
	occurrence = str(doc.modified) if method == "on_update" else None
	fire(method, doc, occurrence)


def on_insert(doc, method=None):
	"""after_insert hook: the flows' ``on_insert`` event."""
	on_doc_event(doc, "on_insert")


def on_todo_update(doc, method=None):
	"""A decision on a ToDo wakes the waiting runs of its document at once (approval steps)."""
	if doc.status not in ("Closed", "Cancelled") or not doc.reference_type or not doc.reference_name:
		return
	from gigafibre_fsm.flows.runtime import enqueue_advance

	for run in frappe.get_all(
		"Flow Run",
		filters={
			"reference_doctype": doc.reference_type,
			"reference_name": doc.reference_name,
			"status": "Waiting",
		},
		pluck="name",
	):
		enqueue_advance(run)
