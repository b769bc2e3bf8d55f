# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import json

import frappe
from frappe import _
from frappe.model.document import Document

from gigafibre_fsm.exceptions import ForbiddenError, GigafibreValidationError

# Changing any of these makes a new version of the template.
VERSIONED = ("applies_to", "trigger_event", "trigger_condition", "cron")


class FlowTemplate(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from gigafibre_fsm.flows.doctype.flow_step.flow_step import FlowStep

		applies_to: DF.Literal[
			"Customer",
			"Quotation",
			"Service Contract",
			"Issue",
			"Service Subscription",
			"Outage",
			"Sales Invoice",
		]
		category: DF.Literal["Project", "Agent"]
		cron: DF.Data | None
		description: DF.SmallText | None
		enabled: DF.Check
		is_system: DF.Check
		kind: DF.Literal[
			"residential_installation",
			"commercial_installation",
			"repair",
			"relocation",
			"voip_activation",
			"removal",
			"other_project",
			"post_signature_ack",
			"repair_follow_up",
			"payment_reminder",
			"card_expiry_notice",
			"sla_escalation",
			"network_alarm",
			"outage_notice",
			"other_agent",
		]
		last_cron_run: DF.Datetime | None
		seed_key: DF.Data | None
		source_template: DF.Link | None
		steps: DF.Table[FlowStep]
		title: DF.Data
		trigger_condition: DF.Code | None
		trigger_event: DF.Literal[
			"manual",
			"on_insert",
			"on_update",
			"on_submit",
			"on_cancel",
			"on_contract_signed",
			"on_contract_terminated",
			"on_job_completed",
			"on_installation_completed",
			"on_optical_alarm",
			"on_cpe_offline",
			"on_payment_overdue",
			"on_sms_received",
			"on_outage_started",
			"on_outage_resolved",
			"on_payment_failed",
			"on_card_expiring",
			"cron",
		]
		version: DF.Int

	# end: auto-generated types
	def before_validate(self):
		self.number_steps()
		self.normalise_json()

	def validate(self):
		self.protect_system_template()
		self.check_template()
		self.bump_version()

	def on_update(self):
		from gigafibre_fsm.flows import clear_trigger_cache

		clear_trigger_cache()

	def on_trash(self):
		if self.is_system and not frappe.flags.in_uninstall:
			frappe.throw(_("System flow templates cannot be deleted; disable it instead"), ForbiddenError)
		if frappe.db.exists("Flow Run", {"template": self.name}):
			frappe.throw(
				_("This template has runs; disable it instead of deleting it"), GigafibreValidationError
			)
		from gigafibre_fsm.flows import clear_trigger_cache

		clear_trigger_cache()

	def before_rename(self, old, new, merge=False):
		if self.is_system:
			frappe.throw(_("System flow templates cannot be renamed"), ForbiddenError)

	# -- steps

	def number_steps(self):
		"""Give rows without an id the next free sN."""
		used = {row.step_id for row in self.steps if row.step_id}
		n = 0
		for row in self.steps:
			if row.step_id:
				row.step_id = row.step_id.strip()
				continue
			while f"s{n + 1}" in used:
				n += 1
			n += 1
			row.step_id = f"s{n}"
			used.add(row.step_id)

	def normalise_json(self):
		for row in self.steps:
			for field, default in (("config", {}), ("condition", None), ("depends_on", [])):
				value = row.get(field)
				if value in (None, "") or (isinstance(value, str) and not value.strip()):
					row.set(field, None if default is None else json.dumps(default))
				elif isinstance(value, list | dict):
					row.set(field, json.dumps(value))

	def protect_system_template(self):
		if self.is_new() or self.flags.seeding:
			if self.is_new() and self.is_system and not self.flags.seeding:
				frappe.throw(_("Only the app's seeds are system templates"), ForbiddenError)
			return
		before = self.get_doc_before_save()
		if before and before.is_system:
			changed = [
				f
				for f in (*VERSIONED, "title", "category", "kind", "applies_to")
				if self.get(f) != before.get(f)
			]
			if changed or steps_signature(self) != steps_signature(before) or not self.is_system:
				frappe.throw(
					_("System flow templates cannot be edited; duplicate it and edit the copy"),
					ForbiddenError,
				)

	def check_template(self):
		from gigafibre_fsm.flows.templates import problems

		found = problems(self)
		if found:
			lines = "".join(f"<li>{frappe.utils.escape_html(p.message)}</li>" for p in found)
			frappe.throw(f"<ul>{lines}</ul>", GigafibreValidationError, title=_("This template has problems"))

	def bump_version(self):
		if self.is_new():
			self.version = self.version or 1
			return
		before = self.get_doc_before_save()
		if not before:
			return
		if any(self.get(f) != before.get(f) for f in VERSIONED) or steps_signature(self) != steps_signature(
			before
		):
			self.version = (before.version or 1) + 1


def steps_signature(doc) -> str:
	"""The steps as the engine sees them, to tell a real edit from a no-op save."""
	from gigafibre_fsm.flows.steps import steps_of

	return json.dumps(steps_of(doc), sort_keys=True)
