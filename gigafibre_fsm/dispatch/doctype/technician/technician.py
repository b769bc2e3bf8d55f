# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import get_datetime

from gigafibre_fsm.exceptions import GigafibreValidationError


class Technician(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from gigafibre_fsm.dispatch.doctype.technician_shift.technician_shift import TechnicianShift
		from gigafibre_fsm.dispatch.doctype.technician_skill.technician_skill import TechnicianSkill

		active: DF.Check
		employee: DF.Link | None
		home_latitude: DF.Float
		home_longitude: DF.Float
		last_latitude: DF.Float
		last_longitude: DF.Float
		last_position_at: DF.Datetime | None
		last_speed_kmh: DF.Float
		legacy_staff_id: DF.Data | None
		phone: DF.Data | None
		shifts: DF.Table[TechnicianShift]
		skills: DF.Table[TechnicianSkill]
		technician_name: DF.Data
		token_version: DF.Int
		traccar_device_id: DF.Data | None
		user: DF.Link | None

	# end: auto-generated types
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
