# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class DispatchPlanItem(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		job: DF.Link
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		start: DF.Datetime | None
		technician: DF.Link | None
	# end: auto-generated types
	pass
