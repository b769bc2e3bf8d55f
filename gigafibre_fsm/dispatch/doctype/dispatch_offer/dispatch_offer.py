# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class DispatchOffer(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		decline_reason: DF.SmallText | None
		expires_at: DF.Datetime | None
		job: DF.Link
		mode: DF.Literal["Broadcast", "Targeted", "Pool"]
		overload: DF.Check
		pool: DF.Link | None
		price: DF.Currency
		responded_at: DF.Datetime | None
		status: DF.Literal["Open", "Accepted", "Declined", "Expired", "Withdrawn"]
		technician: DF.Link | None
	# end: auto-generated types
	pass


def get_permission_query_conditions(user: str | None = None) -> str:
	"""A technician (without a planning role) sees only the offers made to them."""
	from gigafibre_fsm.permissions import technician_only_condition

	return technician_only_condition(user, "`tabDispatch Offer`.`technician`")


def has_permission(doc, ptype: str = "read", user: str | None = None) -> bool:
	from gigafibre_fsm.permissions import technician_owns

	return technician_owns(doc.technician, user)
