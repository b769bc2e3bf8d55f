"""Template-level services shared by the Flow Template controller and the editor API:
validation, duplication, dry-run and the catalogs of the visual editor."""

from __future__ import annotations

import frappe
import frappe.model
from croniter import croniter
from frappe import _

from gigafibre_fsm.core import conditions, templating
from gigafibre_fsm.core.flows import catalog
from gigafibre_fsm.core.flows.engine import Outcome, advance
from gigafibre_fsm.core.flows.graph import Problem, Step, validate
from gigafibre_fsm.flows.context import build_context
from gigafibre_fsm.flows.kinds import registry
from gigafibre_fsm.flows.steps import json_value, steps_of


def problems(data) -> list[Problem]:
	"""Everything wrong with a template (document or dict), steps named by label."""
	kinds, _handlers = registry()
	found: list[Problem] = []

	def add(message: str):
		found.append(Problem(None, None, message))

	category, kind = data.get("category"), data.get("kind")
	if category not in catalog.CATEGORIES:
		add(_("Category must be Project or Agent"))
	elif kind not in (catalog.PROJECT_KINDS if category == "Project" else catalog.AGENT_KINDS):
		add(_("Kind {0} is not a {1} kind").format(kind, _(category)))
	if data.get("applies_to") not in catalog.APPLIES_TO:
		add(_("A flow cannot apply to {0}").format(data.get("applies_to")))
	if data.get("trigger_event") not in catalog.TRIGGER_EVENTS:
		add(_("Unknown trigger event {0}").format(data.get("trigger_event")))
	if data.get("trigger_event") == "cron" and not croniter.is_valid(data.get("cron") or ""):
		add(_("The cron schedule {0} is not valid").format(data.get("cron") or ""))
	rule = json_value(data.get("trigger_condition"), None)
	if rule:
		for message in conditions.validate_rule(rule):
			add(_("Trigger condition: {0}").format(message))
	steps = steps_of(data)
	for s in steps:
		for field in ("config", "condition", "depends_on"):
			if isinstance(s[field], str):
				found.append(Problem(s["step_id"], s["label"], _("{0} is not valid JSON").format(field)))
				s[field] = {} if field == "config" else ([] if field == "depends_on" else None)
		if not isinstance(s["depends_on"], list):
			found.append(Problem(s["step_id"], s["label"], _("depends_on must be a list of step ids")))
			s["depends_on"] = []
	found.extend(
		validate(
			steps,
			kinds=kinds,
			check_condition=conditions.validate_rule,
			check_config=catalog.check_config,
			check_placeholders=lambda cfg: templating.check_paths(cfg, catalog.CONTEXT_ROOTS | {"address"}),
		)
	)
	return found


def duplicate(name: str) -> str:
	"""A copy anyone may edit: not a system template, disabled until reviewed."""
	src = frappe.get_doc("Flow Template", name)
	copy = frappe.copy_doc(src)
	copy.title = _("{0} (copy)").format(src.title)
	copy.is_system = 0
	copy.enabled = 0
	copy.version = 1
	copy.source_template = src.name
	copy.seed_key = None
	copy.insert()
	return copy.name


def dry_run(template, reference_doctype: str, reference_name: str) -> dict:
	"""Evaluate a template against a real record without side effects.

	Conditions are evaluated for real and configs rendered; every action is
	pretended to succeed at once (waits included), so the answer lists the steps
	that would run, in order, and those that would be skipped.
	"""
	kinds, _handlers = registry()
	data = template if isinstance(template, dict) else frappe.get_doc("Flow Template", template).as_dict()
	steps = steps_of(data)
	doc = frappe.get_doc(reference_doctype, reference_name)
	base = build_context(doc, event="dry_run")
	outputs: dict[str, dict] = {}
	order: list[dict] = []

	def context():
		return {**base, "steps": outputs}

	def holds(step: Step) -> bool:
		return conditions.matches(step.condition, context()) if step.condition else True

	def execute(step: Step, state):
		entry = {"step_id": step.step_id, "label": step.label, "kind": step.kind, "order": len(order) + 1}
		try:
			entry["config"] = templating.render(step.config, context())
		except Exception as e:
			entry["error"] = str(e)
			order.append(entry)
			return Outcome.fail(str(e))
		order.append(entry)
		outputs[step.step_id] = {"dry_run": True}
		return Outcome.done({"dry_run": True})

	trigger_ok = True
	if data.get("trigger_condition"):
		trigger_ok = conditions.matches(json_value(data["trigger_condition"], None), base)
	states: dict = {}
	result = advance(
		steps, states, kinds=kinds, now=frappe.utils.now_datetime(), condition_holds=holds, execute=execute
	)
	return {
		"trigger_matches": bool(trigger_ok),
		"status": result.status,
		"error": result.error,
		"steps": order,
		"skipped": [sid for sid, st in states.items() if st.status == "Skipped"],
	}


EXAMPLE_CONDITIONS = {
	"Service Contract": [
		{"label": "Residential contracts", "rule": {"==": [{"var": "doc.contract_type"}, "Residential"]}},
		{"label": "Commercial contracts", "rule": {"==": [{"var": "doc.contract_type"}, "Commercial"]}},
	],
	"Issue": [
		{"label": "Urgent issues", "rule": {"in_list": [{"var": "doc.priority"}, ["High", "Urgent"]]}},
		{"label": "Closed issues", "rule": {"==": [{"var": "doc.status"}, "Closed"]}},
	],
	"Customer": [
		{"label": "Has a cell phone", "rule": {"!": {"blank": [{"var": "doc.cell_phone"}]}}},
	],
	"Quotation": [
		{"label": "Quotation above 1000 $", "rule": {">": [{"var": "doc.grand_total"}, 1000]}},
	],
	"Service Subscription": [
		{"label": "Subscription activated", "rule": {"==": [{"var": "doc.status"}, "Actif"]}},
		{
			"label": "Started more than 30 days ago",
			"rule": {">": [{"date_diff": [{"var": "doc.start_date"}, {"var": "now"}, "days"]}, 30]},
		},
	],
}

_SKIP_TYPES = set(frappe.model.no_value_fields) | set(frappe.model.table_fields) | {"Password"}


def _fields(doctype: str, prefix: str) -> list[dict]:
	meta = frappe.get_meta(doctype)  # includes custom fields
	return [
		{
			"path": f"{prefix}.{df.fieldname}",
			"label": _(df.label or df.fieldname),
			"fieldtype": df.fieldtype,
			"options": df.options if df.fieldtype in ("Link", "Select") else None,
		}
		for df in meta.fields
		if df.fieldtype not in _SKIP_TYPES
	] + [{"path": f"{prefix}.name", "label": _("ID"), "fieldtype": "Data", "options": None}]


def variables(applies_to: str) -> list[dict]:
	"""The variable picker: the document's fields, then one level into linked Customer/Address."""
	out = _fields(applies_to, "doc")
	linked = {df.options for df in frappe.get_meta(applies_to).get_link_fields()}
	if applies_to == "Customer" or "Customer" in linked or applies_to == "Quotation":
		out += _fields("Customer", "customer")
	if "Address" in linked:
		out += _fields("Address", "address")
	out += [
		{"path": "now", "label": _("Now"), "fieldtype": "Datetime", "options": None},
		{"path": "event", "label": _("Trigger event"), "fieldtype": "Data", "options": None},
		{"path": "run.name", "label": _("Run"), "fieldtype": "Data", "options": None},
	]
	return out


def catalogs(applies_to: str | None = None) -> dict:
	kinds, _handlers = registry()
	out = {
		"categories": list(catalog.CATEGORIES),
		"project_kinds": [{"name": k, "label": _(v)} for k, v in catalog.PROJECT_KINDS.items()],
		"agent_kinds": [{"name": k, "label": _(v)} for k, v in catalog.AGENT_KINDS.items()],
		"applies_to": list(catalog.APPLIES_TO),
		"trigger_events": list(catalog.TRIGGER_EVENTS),
		"trigger_event_labels": {e: _(label) for e, label in catalog.TRIGGER_EVENT_LABELS.items()},
		"step_kinds": [k.as_dict() | {"label": _(k.label)} for k in kinds.values()],
		"operators": sorted(conditions.KNOWN_OPERATORS),
	}
	targets = [applies_to] if applies_to else list(catalog.APPLIES_TO)
	for dt in targets:
		if dt not in catalog.APPLIES_TO:
			frappe.throw(_("A flow cannot apply to {0}").format(dt))
	out["variables"] = {dt: variables(dt) for dt in targets}
	out["example_conditions"] = {dt: EXAMPLE_CONDITIONS.get(dt, []) for dt in targets}
	return out
