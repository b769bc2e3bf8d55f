"""Flow endpoints for the visual editor and the Ops app (/api/method/gigafibre_fsm.api.flows.<name>)."""

from __future__ import annotations

import json

import frappe
from frappe import _

from gigafibre_fsm.core.flows import catalog, graph
from gigafibre_fsm.exceptions import GigafibreValidationError, core_errors
from gigafibre_fsm.flows import runtime, templates
from gigafibre_fsm.flows.steps import steps_of
from gigafibre_fsm.permissions import (
	CUSTOMER_SERVICE,
	DISPATCHER,
	FSM_MANAGER,
	NETWORK_OPERATOR,
	fsm_api,
	get_doc_for,
)

READERS = (FSM_MANAGER, DISPATCHER, CUSTOMER_SERVICE, NETWORK_OPERATOR)
EDITORS = (FSM_MANAGER,)
RUNNERS = (FSM_MANAGER, DISPATCHER, CUSTOMER_SERVICE)


def _template_data(template: dict | str) -> dict:
	"""A template's name, or a draft: a dict (JSON body) or its JSON text (the desk's frappe.call
	sends an object form-encoded as JSON)."""
	if isinstance(template, str) and template.lstrip().startswith("{"):
		try:
			template = json.loads(template)
		except ValueError:
			frappe.throw(_("The template is not valid JSON"), GigafibreValidationError)
	if isinstance(template, str):
		return get_doc_for("Flow Template", template, "read").as_dict()
	if not isinstance(template, dict):
		frappe.throw(_("The template must be a name or an object"), GigafibreValidationError)
	return frappe._dict(template)


def _reference(reference_doctype: str, reference_name: str):
	"""The record a flow would run on, read with the caller's permission. Only the doctypes
	flows apply to are accepted: the caller's string never names a module to import."""
	if reference_doctype not in catalog.APPLIES_TO:
		frappe.throw(
			_("Flows run on {0}, not on {1}").format(
				", ".join(_(d) for d in catalog.APPLIES_TO), str(reference_doctype)[:80]
			),
			GigafibreValidationError,
		)
	return get_doc_for(reference_doctype, reference_name, "read")


def _json_list(value, name: str) -> list:
	if isinstance(value, str):
		try:
			value = json.loads(value)
		except ValueError:
			value = None
	if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
		frappe.throw(_("{0} must be a list of steps").format(name), GigafibreValidationError)
	return value


@fsm_api(roles=READERS)
def get_catalogs(applies_to: str | None = None) -> dict:
	"""Kinds, applies_to, trigger events, step kinds with schemas, variables and example conditions."""
	return templates.catalogs(applies_to)


@fsm_api(roles=READERS)
def validate_template(template: dict | str) -> dict:
	"""Validate a draft (dict) or a saved template (name)."""
	problems = templates.problems(_template_data(template))
	return {"ok": not problems, "errors": [p.as_dict() for p in problems]}


@fsm_api(roles=READERS)
def reorder_steps(steps: list[dict], step_id: str, to_index: int) -> list:
	"""Move a step among its peers; a plain chain is rewritten to follow the new order."""
	steps = _json_list(steps, "steps")
	try:
		to_index = int(to_index)
	except (TypeError, ValueError, OverflowError):
		frappe.throw(_("to_index must be a whole number"), GigafibreValidationError)
	with core_errors():
		new = graph.reorder(steps_of({"steps": steps}), str(step_id), to_index)
	labels = graph.depends_on_labels(new)
	return [s.as_dict() | {"depends_on_labels": labels[s.step_id]} for s in new]


@fsm_api(roles=READERS)
def dry_run(template: dict | str, reference_doctype: str, reference_name: str) -> dict:
	"""Which steps would run on this record, in what order, with rendered configs. No side effects."""
	_reference(reference_doctype, reference_name)
	return templates.dry_run(_template_data(template), reference_doctype, reference_name)


@fsm_api(roles=RUNNERS, write=True)
def start_run(template: str, reference_doctype: str, reference_name: str) -> dict:
	"""Start a manual run (each call is a new occurrence)."""
	tpl = get_doc_for("Flow Template", template, "read")
	if not tpl.enabled:
		frappe.throw(_("Flow Template {0} is disabled").format(tpl.name))
	if tpl.applies_to != reference_doctype:
		frappe.throw(
			_("Flow Template {0} applies to {1}, not {2}").format(
				tpl.name, _(tpl.applies_to), _(reference_doctype)
			)
		)
	_reference(reference_doctype, reference_name)
	name = runtime.start_run(
		tpl.name,
		reference_doctype,
		reference_name,
		event="manual",
		occurrence=frappe.generate_hash(length=12),
	)
	return {"run": name}


@fsm_api(roles=RUNNERS, write=True)
def cancel_run(run: str) -> dict:
	get_doc_for("Flow Run", run, "read")
	return {"run": run, "status": runtime.cancel_run(run)}


@fsm_api(roles=RUNNERS, write=True)
def retry_run(run: str) -> dict:
	get_doc_for("Flow Run", run, "read")
	return {"run": run, "status": runtime.retry_run(run)}


@fsm_api(roles=EDITORS, write=True)
def duplicate_template(template: str) -> dict:
	get_doc_for("Flow Template", template, "read")
	frappe.has_permission("Flow Template", "create", throw=True)
	return {"template": templates.duplicate(template)}
