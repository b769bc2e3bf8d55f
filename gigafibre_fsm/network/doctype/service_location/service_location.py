# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from gigafibre_fsm.exceptions import GigafibreValidationError


class ServiceLocation(Document):
	def before_validate(self):
		self.address_line = (self.address_line or "").strip()

	def validate(self):
		self.validate_coordinates()

	def validate_coordinates(self):
		if self.latitude and not -90 <= self.latitude <= 90:
			frappe.throw(_("Latitude must be between -90 and 90"), GigafibreValidationError)
		if self.longitude and not -180 <= self.longitude <= 180:
			frappe.throw(_("Longitude must be between -180 and 180"), GigafibreValidationError)
