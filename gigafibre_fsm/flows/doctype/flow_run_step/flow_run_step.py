# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class FlowRunStep(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		attempts: DF.Int
		error: DF.SmallText | None
		finished_at: DF.Datetime | None
		idempotency_key: DF.Data | None
		kind: DF.Data | None
		label: DF.Data | None
		output: DF.Code | None
		parent: DF.Data
		parent_step: DF.Data | None
		parentfield: DF.Data
		parenttype: DF.Data
		started_at: DF.Datetime | None
		status: DF.Literal["Pending", "Running", "Waiting", "Completed", "Failed", "Skipped", "Cancelled"]
		step_id: DF.Data | None
		wake_at: DF.Datetime | None
	# end: auto-generated types
	pass
