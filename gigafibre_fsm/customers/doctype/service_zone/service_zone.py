# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import json

import frappe
from frappe import _
from frappe.model.document import Document

from gigafibre_fsm.core.customers.loaders import parse_zones
from gigafibre_fsm.customers import footprint
from gigafibre_fsm.exceptions import GigafibreValidationError, core_errors


class ServiceZone(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from gigafibre_fsm.customers.doctype.service_zone_plan.service_zone_plan import ServiceZonePlan

		connection_type: DF.Literal["FTTH", "FTTB", "Cable", "DSL"]
		geometry: DF.Code | None
		install_fee: DF.Currency
		lead_days: DF.Int
		plans: DF.Table[ServiceZonePlan]
		served: DF.Check
		zone_id: DF.Data
		zone_name: DF.Data

	# end: auto-generated types
	def before_validate(self):
		self.zone_id = (self.zone_id or "").strip()
		self.zone_name = (self.zone_name or "").strip() or self.zone_id
		self.normalise_geometry()

	def validate(self):
		self.validate_geometry()
		self.validate_plans()

	def on_update(self):
		footprint.invalidate()

	def on_trash(self):
		footprint.invalidate()

	def normalise_geometry(self):
		"""Keep the geometry of a pasted Feature (or a one-feature collection), compactly."""
		text = (self.geometry or "").strip()
		if not text:
			self.geometry = None
			return
		try:
			value = json.loads(text)
		except ValueError as e:
			frappe.throw(_("The geometry is not valid JSON: {0}").format(str(e)), GigafibreValidationError)
		if isinstance(value, dict) and value.get("type") == "FeatureCollection":
			features = value.get("features") or []
			if len(features) == 1 and isinstance(features[0], dict):
				value = features[0]
		if isinstance(value, dict) and value.get("type") == "Feature":
			value = value.get("geometry")
		self.geometry = None if value is None else json.dumps(value, separators=(",", ":"))

	def validate_geometry(self):
		"""The polygon as the zone file's loader checks it (a Polygon or MultiPolygon, valid)."""
		if not self.geometry:
			return
		feature = {
			"type": "Feature",
			"properties": {"zone": self.zone_id or "?", "connection_type": "FTTH"},  # the Select checks it
			"geometry": json.loads(self.geometry),
		}
		with core_errors():
			parse_zones({"type": "FeatureCollection", "features": [feature]})

	def validate_plans(self):
		seen = set()
		for row in self.plans:
			if row.item_code in seen:
				frappe.throw(_("Plan {0} is listed twice").format(row.item_code), GigafibreValidationError)
			seen.add(row.item_code)
