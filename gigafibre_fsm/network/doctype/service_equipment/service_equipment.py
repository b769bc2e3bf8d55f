# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document
from frappe.utils import now_datetime

from gigafibre_fsm.core import equipment
from gigafibre_fsm.exceptions import core_errors


class ServiceEquipment(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from gigafibre_fsm.network.doctype.service_equipment_move.service_equipment_move import (
			ServiceEquipmentMove,
		)

		acs_device_id: DF.Data | None
		alarm_issue: DF.Link | None
		barcode: DF.Data | None
		customer: DF.Link | None
		cwmp_serial: DF.Data | None
		equipment_type: DF.Literal["ONT", "Modem", "Router", "TV Box", "IP Phone"]
		firmware: DF.Data | None
		gpon_serial: DF.Data | None
		ip_address: DF.Data | None
		last_diagnostic: DF.Link | None
		last_inform: DF.Datetime | None
		last_online: DF.Check
		last_optical_status: DF.Data | None
		last_refresh_at: DF.Datetime | None
		last_rx_dbm: DF.Float
		legacy_device_id: DF.Data | None
		mac_address: DF.Data | None
		model: DF.Data | None
		moves: DF.Table[ServiceEquipmentMove]
		olt: DF.Link | None
		ont_id: DF.Int
		pon_port: DF.Data | None
		radius_password: DF.Password | None
		radius_username: DF.Data | None
		serial_no: DF.Data
		service_location: DF.Link | None
		sip_password: DF.Password | None
		sip_username: DF.Data | None
		status: DF.Literal["Inventory", "Active", "Defective", "Returned"]
		vendor: DF.Data | None
		wifi_password: DF.Password | None
		wifi_ssid: DF.Data | None

	# end: auto-generated types
	def before_validate(self):
		self.serial_no = (self.serial_no or "").strip().upper()
		with core_errors():
			self.mac_address = equipment.normalise_mac(self.mac_address)

	def validate(self):
		before = self.get_doc_before_save()
		with core_errors():
			equipment.check_status_change(before.status if before else None, self.status)
		self.log_move(before)

	def log_move(self, before):
		"""Append to the move log when the status or the location changes."""
		old_status = before.status if before else None
		old_location = before.service_location if before else None
		if before and old_status == self.status and old_location == self.service_location:
			return
		self.append(
			"moves",
			{
				"moved_on": now_datetime(),
				"from_status": old_status,
				"to_status": self.status,
				"from_location": old_location,
				"to_location": self.service_location,
				"moved_by": frappe.session.user,
			},
		)
