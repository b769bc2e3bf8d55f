# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class DispatchPlan(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from gigafibre_fsm.dispatch.doctype.dispatch_plan_item.dispatch_plan_item import DispatchPlanItem

		items: DF.Table[DispatchPlanItem]
		period_end: DF.Datetime
		period_start: DF.Datetime
		publish_log: DF.Code | None
		published_by: DF.Link | None
		published_on: DF.Datetime | None
		status: DF.Literal["Draft", "Published", "Cancelled"]
		title: DF.Data | None
	# end: auto-generated types
	pass
