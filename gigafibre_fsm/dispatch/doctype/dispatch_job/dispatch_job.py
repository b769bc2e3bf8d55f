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


def has_permission(doc, ptype: str = "read", user: str | None = None) -> bool | None:
	from gigafibre_fsm.permissions import technician_owns

	return technician_owns(doc.technician, user)
