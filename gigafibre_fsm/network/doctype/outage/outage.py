# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import get_datetime


class Outage(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		affected_customers: DF.Int
		alarming_onts: DF.Int
		customer_message: DF.SmallText | None
		customers_listed: DF.Check
		detail: DF.SmallText | None
		down_beats: DF.Int
		duration: DF.Duration | None
		expected_end: DF.Datetime | None
		issue: DF.Link | None
		monitor: DF.Data | None
		monitor_id: DF.Data | None
		network_element: DF.Link | None
		notified_resolved: DF.Check
		notified_started: DF.Check
		open_key: DF.Data | None
		outage_key: DF.Data | None
		pon_port: DF.Data | None
		resolved: DF.Datetime | None
		service: DF.Data | None
		source: DF.Literal["Uptime-Kuma", "OLT Sweep", "Manual"]
		started: DF.Datetime
		status: DF.Literal["Open", "Resolved"]
		title: DF.Data
	# end: auto-generated types

	def before_validate(self):
		self.set_keys()

	def validate(self):
		if self.resolved and get_datetime(self.resolved) < get_datetime(self.started):
			frappe.throw(_("An outage cannot end before it started"))
		if self.status == "Resolved" and not self.resolved:
			frappe.throw(_("A resolved outage needs its end time"))

	def on_update(self):
		from gigafibre_fsm.network import outages

		outages.after_change(self)

	def on_trash(self):
		frappe.db.delete("Outage Customer", {"outage": self.name})

	def set_keys(self):
		"""One open outage per key (a unique column that is empty once resolved); a manual
		outage gets its key from what it covers."""
		if not self.outage_key:
			if self.network_element:
				self.outage_key = f"pon:{self.network_element}:{self.pon_port or '*'}"
			else:
				self.outage_key = f"manual:{self.name or frappe.generate_hash(length=10)}"
		self.open_key = self.outage_key if self.status == "Open" else None
		if self.status == "Resolved" and self.resolved:
			self.duration = max(
				0, int((get_datetime(self.resolved) - get_datetime(self.started)).total_seconds())
			)
