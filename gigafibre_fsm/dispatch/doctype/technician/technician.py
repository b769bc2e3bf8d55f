# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import get_datetime

from gigafibre_fsm.exceptions import GigafibreValidationError


class Technician(Document):
	def validate(self):
		for row in self.skills:
			if not 1 <= (row.level or 0) <= 5:
				frappe.throw(
					_("Skill levels go from 1 to 5 ({0})").format(row.skill), GigafibreValidationError
				)
		for row in self.shifts:
			if get_datetime(row.end) <= get_datetime(row.start):
				frappe.throw(_("A shift must end after it starts"), GigafibreValidationError)
			if row.rrule:
				from dateutil.rrule import rrulestr

				try:
					rrulestr(row.rrule, dtstart=get_datetime(row.start))
				except (ValueError, TypeError):
					frappe.throw(_("{0} is not a valid RRULE").format(row.rrule), GigafibreValidationError)
