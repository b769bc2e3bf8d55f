# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document


class FlowRun(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from gigafibre_fsm.flows.doctype.flow_run_step.flow_run_step import FlowRunStep

		context: DF.Code | None
		error: DF.SmallText | None
		finished_at: DF.Datetime | None
		next_wake_at: DF.Datetime | None
		parent_run: DF.Link | None
		reference_doctype: DF.Link | None
		reference_name: DF.DynamicLink | None
		started_at: DF.Datetime | None
		status: DF.Literal["Pending", "Running", "Waiting", "Completed", "Failed", "Cancelled"]
		steps: DF.Table[FlowRunStep]
		steps_snapshot: DF.Code | None
		template: DF.Link
		template_version: DF.Int
		trigger_event: DF.Data | None
		trigger_key: DF.Data | None

	# end: auto-generated types
	def on_trash(self):
		if self.status in ("Running", "Waiting", "Pending") and not frappe.flags.in_uninstall:
			frappe.throw(_("Cancel the run before deleting it"))


def on_doctype_update():
	"""The tick selects due runs by (status, next_wake_at)."""
	frappe.db.add_index("Flow Run", ["status", "next_wake_at"])
