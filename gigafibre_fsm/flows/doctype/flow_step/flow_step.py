# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class FlowStep(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		condition: DF.Code | None
		config: DF.Code | None
		depends_on: DF.Code | None
		kind: DF.Data
		label: DF.Data
		parent: DF.Data
		parent_step: DF.Data | None
		parentfield: DF.Data
		parenttype: DF.Data
		step_id: DF.Data
	# end: auto-generated types
	pass
