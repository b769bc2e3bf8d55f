# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class TechnicianShift(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		end: DF.Datetime
		exdates: DF.SmallText | None
		kind: DF.Literal["Regular", "Extra", "On-Call"]
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		rrule: DF.Data | None
		start: DF.Datetime
	# end: auto-generated types
	pass
