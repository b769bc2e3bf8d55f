# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class BillingRunChunk(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		attempts: DF.Int
		chunk: DF.Int
		customers: DF.LongText | None
		customers_count: DF.Int
		customers_done: DF.Int
		failure_count: DF.Int
		failures: DF.LongText | None
		finished_at: DF.Datetime | None
		invoices: DF.Int
		net_total: DF.Currency
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		skipped: DF.Int
		started_at: DF.Datetime | None
		status: DF.Literal["Queued", "Running", "Completed"]
		total: DF.Currency
	# end: auto-generated types
	pass
