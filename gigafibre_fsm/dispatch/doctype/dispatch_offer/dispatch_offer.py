# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class DispatchOffer(Document):
	pass


def get_permission_query_conditions(user: str | None = None) -> str:
	"""A technician (without a planning role) sees only the offers made to them."""
	from gigafibre_fsm.permissions import technician_only_condition

	return technician_only_condition(user, "`tabDispatch Offer`.`technician`")


def has_permission(doc, ptype: str = "read", user: str | None = None) -> bool | None:
	from gigafibre_fsm.permissions import technician_owns

	return technician_owns(doc.technician, user)
