# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class SMSConsent(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		changed_on: DF.Datetime | None
		customer: DF.Link | None
		keyword: DF.Data | None
		last_message: DF.Data | None
		opted_out: DF.Check
		phone: DF.Data
		triage_issue: DF.Link | None
	# end: auto-generated types

	pass
