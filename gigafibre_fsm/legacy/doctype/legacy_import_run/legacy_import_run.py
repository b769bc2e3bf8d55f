# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class LegacyImportRun(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		checkpoints: DF.LongText | None
		counts: DF.LongText | None
		error: DF.SmallText | None
		finished_at: DF.Datetime | None
		only: DF.Data | None
		report: DF.LongText | None
		rows_written: DF.Int
		since: DF.Date | None
		source: DF.Data | None
		started_at: DF.Datetime | None
		status: DF.Literal["Running", "Completed", "Failed", "Interrupted"]
	# end: auto-generated types
	pass
