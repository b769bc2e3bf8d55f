# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class DispatchNotification(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		body: DF.SmallText | None
		delivery_status: DF.Data | None
		error: DF.SmallText | None
		kind: DF.Literal["Assignment", "Unassignment", "Plan", "Offer", "Link"]
		reference_doctype: DF.Link | None
		reference_name: DF.DynamicLink | None
		sid: DF.Data | None
		status: DF.Literal["Queued", "Sent", "Failed", "Skipped"]
		technician: DF.Link
		to_number: DF.Data | None
	# end: auto-generated types
	pass
