# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from gigafibre_fsm.customers import footprint, footprint_import
from gigafibre_fsm.exceptions import GigafibreValidationError

REQUIRED = ("civic", "street", "municipality", "zone", "connection_type")


class ServiceAddress(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		address_label: DF.Data | None
		civic: DF.Data
		connection_type: DF.Literal["FTTH", "FTTB", "Cable", "DSL"]
		latitude: DF.Float
		longitude: DF.Float
		match_key: DF.Data | None
		municipality: DF.Data
		postal_code: DF.Data | None
		service_location: DF.Link | None
		street: DF.Data
		street_direction: DF.Data | None
		street_name: DF.Data | None
		street_type: DF.Data | None
		unit: DF.Data | None
		zone: DF.Link

	# end: auto-generated types
	def validate(self):
		if not all(self.get(field) for field in REQUIRED):
			return  # Frappe's mandatory check names what is missing
		self.normalise()
		self.validate_unique()

	def on_update(self):
		footprint.invalidate()

	def on_trash(self):
		footprint.invalidate()

	def normalise(self):
		"""Read the address as the CSV import does: display forms, street parts and the match key."""
		record = footprint_import.address_record(
			civic=self.civic,
			street=self.street,
			municipality=self.municipality,
			zone=self.zone,
			connection=self.connection_type,
			unit=self.unit,
			postal_code=self.postal_code,
			lat=self.latitude,
			lon=self.longitude,
			service_location=self.service_location,
		)
		self.update(footprint_import.address_values(record))
		self.match_key = footprint_import.match_key(record)

	def validate_unique(self):
		other = frappe.db.get_value(
			"Service Address", {"match_key": self.match_key, "name": ["!=", self.name]}, "name"
		)
		if other:
			frappe.throw(
				_("{0} is already a served address ({1})").format(self.address_label, other),
				GigafibreValidationError,
			)
