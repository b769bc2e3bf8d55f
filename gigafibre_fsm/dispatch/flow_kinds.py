"""The ``create_dispatch_job`` flow step kind (registered through gigafibre_flow_step_kinds)."""

from __future__ import annotations

import json

import frappe
from frappe import _

from gigafibre_fsm.core.flows.catalog import CREATE_DISPATCH_JOB
from gigafibre_fsm.core.flows.engine import Outcome


def kinds() -> dict:
	return {"create_dispatch_job": (CREATE_DISPATCH_JOB, create_dispatch_job)}


def _step_output(ctx, step_id: str, key: str) -> str | None:
	return ((ctx.context.get("steps") or {}).get(step_id) or {}).get(key)


def create_dispatch_job(ctx) -> Outcome:
	"""One job per (run, step): a re-run finds the job it already created."""
	existing = frappe.db.get_value(
		"Dispatch Job", {"flow_run": ctx.run.name, "flow_step": ctx.step.step_id}, "name"
	)
	if existing:
		return Outcome.done({"job": existing, "existing": True})
	cfg = ctx.config
	doc = ctx.context.get("doc") or {}
	customer = (ctx.context.get("customer") or {}).get("name") or doc.get("customer")
	location = doc.get("service_location")
	after = [j for j in (_step_output(ctx, s, "job") for s in cfg.get("after_steps") or []) if j]
	if len(after) != len(cfg.get("after_steps") or []):
		return Outcome.fail(_("A step this job must follow has not created its job"))
	root = _step_output(ctx, cfg["chain_root_step"], "job") if cfg.get("chain_root_step") else None
	issue = _step_output(ctx, cfg["issue_step"], "name") if cfg.get("issue_step") else None
	extra = {
		"flow_run": ctx.run.name,
		"flow_step": ctx.step.step_id,
		"source_type": "Flow Run",
		"parent_job": root,
		"chain_kind": cfg.get("chain_kind"),
		"depends_on": json.dumps(after) if after else None,
		"step_order": len(after) + 1 if (root or after) else None,
		"issue": issue,
	}
	if cfg.get("preset"):
		from gigafibre_fsm.dispatch.service import create_from_preset

		name = create_from_preset(
			cfg["preset"], customer, location, **{k: v for k, v in extra.items() if v is not None}
		)
		if cfg.get("subject"):
			frappe.db.set_value("Dispatch Job", name, "subject", cfg["subject"])
		return Outcome.done({"job": name})
	job = frappe.get_doc(
		{
			"doctype": "Dispatch Job",
			"job_type": cfg.get("job_type") or "Installation",
			"subject": cfg.get("subject"),
			"duration_minutes": cfg.get("duration_minutes") or 60,
			"priority": cfg.get("priority") or "Medium",
			"customer": customer,
			"service_location": location,
			**{k: v for k, v in extra.items() if v is not None},
		}
	)
	job.flags.ignore_permissions = True
	job.insert()
	return Outcome.done({"job": job.name})
