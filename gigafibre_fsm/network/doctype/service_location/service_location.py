# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from gigafibre_fsm.exceptions import GigafibreValidationError


class ServiceLocation(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		access_notes: DF.SmallText | None
		address: DF.Link | None
		address_line: DF.Data
		city: DF.Data | None
		connection_type: DF.Literal["FTTH", "FTTB", "Cable", "DSL"]
		customer: DF.Link | None
		latitude: DF.Float
		legacy_delivery_id: DF.Data | None
		longitude: DF.Float
		olt: DF.Data | None
		olt_port: DF.Data | None
		ont_id: DF.Int
		postal_code: DF.Data | None
		status: DF.Literal["Active", "Inactive"]
		vlan: DF.Int

	# end: auto-generated types
	def before_validate(self):
		self.address_line = (self.address_line or "").strip()

	def validate(self):
		self.validate_coordinates()

	def validate_coordinates(self):
		if self.latitude and not -90 <= self.latitude <= 90:
			frappe.throw(_("Latitude must be between -90 and 90"), GigafibreValidationError)
		if self.longitude and not -180 <= self.longitude <= 180:
			frappe.throw(_("Longitude must be between -180 and 180"), GigafibreValidationError)
