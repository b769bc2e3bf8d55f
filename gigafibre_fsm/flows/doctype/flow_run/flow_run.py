# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document


class FlowRun(Document):
	def on_trash(self):
		if self.status in ("Running", "Waiting", "Pending") and not frappe.flags.in_uninstall:
			frappe.throw(_("Cancel the run before deleting it"))


def on_doctype_update():
	"""The tick selects due runs by (status, next_wake_at)."""
	frappe.db.add_index("Flow Run", ["status", "next_wake_at"])
