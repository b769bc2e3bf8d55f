# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import json
from datetime import timedelta

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import get_datetime

from gigafibre_fsm.exceptions import GigafibreValidationError


class DispatchJob(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from gigafibre_fsm.dispatch.doctype.dispatch_job_assistant.dispatch_job_assistant import (
			DispatchJobAssistant,
		)
		from gigafibre_fsm.dispatch.doctype.dispatch_job_checklist_item.dispatch_job_checklist_item import (
			DispatchJobChecklistItem,
		)
		from gigafibre_fsm.dispatch.doctype.dispatch_job_equipment.dispatch_job_equipment import (
			DispatchJobEquipment,
		)
		from gigafibre_fsm.dispatch.doctype.dispatch_job_photo.dispatch_job_photo import DispatchJobPhoto
		from gigafibre_fsm.dispatch.doctype.dispatch_job_skill.dispatch_job_skill import DispatchJobSkill

		actual_end: DF.Datetime | None
		actual_start: DF.Datetime | None
		assistants: DF.Table[DispatchJobAssistant]
		chain_kind: DF.Literal["", "Installation", "Repair", "Relocation", "Other"]
		checklist: DF.Table[DispatchJobChecklistItem]
		completion_processed: DF.Check
		customer: DF.Link | None
		depends_on: DF.SmallText | None
		duration_minutes: DF.Int
		equipment: DF.Table[DispatchJobEquipment]
		flow_run: DF.Link | None
		flow_step: DF.Data | None
		gate_override_reason: DF.SmallText | None
		invoice: DF.Link | None
		issue: DF.Link | None
		job_type: DF.Literal["Installation", "Repair", "Maintenance", "Removal"]
		legacy_work_order_id: DF.Data | None
		notes: DF.Text | None
		parent_job: DF.Link | None
		photos: DF.Table[DispatchJobPhoto]
		preset: DF.Link | None
		priority: DF.Literal["Low", "Medium", "High", "Urgent"]
		recurrence_exdates: DF.SmallText | None
		recurrence_parent: DF.Link | None
		recurrence_rule: DF.Data | None
		required_skills: DF.Table[DispatchJobSkill]
		scheduled_end: DF.Datetime | None
		scheduled_start: DF.Datetime | None
		service_location: DF.Link | None
		source_type: DF.Literal["Manual", "Issue", "Flow Run"]
		status: DF.Literal["Draft", "Offered", "Assigned", "En Route", "On Site", "Completed", "Cancelled"]
		step_order: DF.Int
		subject: DF.Data | None
		technician: DF.Link | None
		window_end: DF.Datetime | None
		window_start: DF.Datetime | None

	# end: auto-generated types
	def before_validate(self):
		if self.scheduled_start:
			self.scheduled_end = get_datetime(self.scheduled_start) + timedelta(
				minutes=self.duration_minutes or 60
			)
		else:
			self.scheduled_end = None

	def validate(self):
		self.validate_window()
		self.validate_depends_on()
		self.validate_recurrence()

	def validate_window(self):
		if (
			self.window_start
			and self.window_end
			and get_datetime(self.window_end) <= get_datetime(self.window_start)
		):
			frappe.throw(_("The customer window must end after it starts"), GigafibreValidationError)

	def validate_depends_on(self):
		if not self.depends_on:
			return
		try:
			deps = json.loads(self.depends_on)
		except ValueError:
			deps = None
		if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
			frappe.throw(_("Depends On must be a JSON list of Dispatch Job names"), GigafibreValidationError)
		if self.name in deps:
			frappe.throw(_("A job cannot depend on itself"), GigafibreValidationError)
		missing = [d for d in deps if not frappe.db.exists("Dispatch Job", d)]
		if missing:
			frappe.throw(
				_("Unknown jobs in Depends On: {0}").format(", ".join(missing)), GigafibreValidationError
			)

	def validate_recurrence(self):
		if not self.recurrence_rule:
			return
		from dateutil.rrule import rrulestr

		try:
			rrulestr(
				self.recurrence_rule,
				dtstart=get_datetime(self.scheduled_start or frappe.utils.now_datetime()),
			)
		except (ValueError, TypeError):
			frappe.throw(_("{0} is not a valid RRULE").format(self.recurrence_rule), GigafibreValidationError)


def get_permission_query_conditions(user: str | None = None) -> str:
	"""A technician (without a planning role) sees only the jobs assigned to them."""
	from gigafibre_fsm.permissions import technician_only_condition

	return technician_only_condition(user, "`tabDispatch Job`.`technician`")


def has_permission(doc, ptype: str = "read", user: str | None = None) -> bool:
	from gigafibre_fsm.permissions import technician_owns

	return technician_owns(doc.technician, user)
