# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class ServiceContractBenefit(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		benefit_amount: DF.Currency
		description: DF.Data
		granted_price: DF.Currency
		item: DF.Link | None
		kind: DF.Literal["Device", "Service", "Fee"]
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		regular_price: DF.Currency
	# end: auto-generated types
	pass
