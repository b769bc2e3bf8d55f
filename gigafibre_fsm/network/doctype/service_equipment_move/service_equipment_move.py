# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class ServiceEquipmentMove(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from_location: DF.Link | None
		from_status: DF.Data | None
		moved_by: DF.Link | None
		moved_on: DF.Datetime
		note: DF.SmallText | None
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		to_location: DF.Link | None
		to_status: DF.Data | None
	# end: auto-generated types
	pass
