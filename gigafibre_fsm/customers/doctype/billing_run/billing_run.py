# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class BillingRun(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from gigafibre_fsm.customers.doctype.billing_run_chunk.billing_run_chunk import BillingRunChunk
		from gigafibre_fsm.customers.doctype.billing_run_failure.billing_run_failure import BillingRunFailure

		as_of: DF.Date
		chunks: DF.Table[BillingRunChunk]
		customers_done: DF.Int
		customers_due: DF.Int
		error: DF.SmallText | None
		failure_count: DF.Int
		failures: DF.Table[BillingRunFailure]
		finished_at: DF.Datetime | None
		invoices: DF.Int
		net_total: DF.Currency
		skipped: DF.Int
		started_at: DF.Datetime | None
		status: DF.Literal["Queued", "Running", "Completed", "Failed"]
		total: DF.Currency
		triggered_by: DF.Data | None
	# end: auto-generated types
	pass
