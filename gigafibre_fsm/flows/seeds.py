"""Install the system flow templates (gigafibre_fsm.core.flows.seeds) on install and migrate.

Seeds are upserted by ``seed_key``: a changed seed updates its template (a new
version; running runs keep their frozen steps).
"""

from __future__ import annotations

import json

import frappe

from gigafibre_fsm.core.flows.seeds import SEEDS


def _as_rows(steps: list[dict]) -> list[dict]:
	return [
		{
			**s,
			"config": json.dumps(s["config"], ensure_ascii=False),
			"condition": json.dumps(s["condition"], ensure_ascii=False) if s["condition"] else None,
			"depends_on": json.dumps(s["depends_on"]),
		}
		for s in steps
	]


def install_seeds():
	for seed in SEEDS:
		values = {
			**{k: v for k, v in seed.items() if k != "steps"},
			"trigger_condition": json.dumps(seed["trigger_condition"], ensure_ascii=False)
			if seed.get("trigger_condition")
			else None,
			"is_system": 1,
		}
		name = frappe.db.get_value("Flow Template", {"seed_key": seed["seed_key"]}, "name")
		doc = frappe.get_doc("Flow Template", name) if name else frappe.new_doc("Flow Template")
		if name:
			values.pop("enabled", None)  # keep the site's choice
			if _unchanged(doc, values, seed["steps"]):
				continue
		doc.update(values)
		doc.set("steps", _as_rows(seed["steps"]))
		doc.flags.seeding = True
		doc.flags.ignore_permissions = True
		doc.save()


def _unchanged(doc, values: dict, steps: list[dict]) -> bool:
	from gigafibre_fsm.flows.steps import steps_of

	if any(doc.get(k) != v for k, v in values.items() if k != "trigger_condition"):
		return False
	if frappe.parse_json(doc.trigger_condition or "null") != frappe.parse_json(
		values.get("trigger_condition") or "null"
	):
		return False
	return steps_of(doc) == steps_of({"steps": steps})
