# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class DeviceDiagnostic(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		clients: DF.Int
		customer: DF.Link | None
		diagnosed_at: DF.Datetime | None
		duration_ms: DF.Int
		equipment: DF.Link
		error_count: DF.Int
		online: DF.Check
		optical_status: DF.Data | None
		result: DF.Code | None
		rx_dbm: DF.Float
		sources_ok: DF.Data | None
		trigger: DF.Literal["On demand", "Sweep", "QR", "Technician"]
	# end: auto-generated types
	pass
