# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class BillingLineKey(Document):
	"""A charge already invoiced: ``name`` is its line key (core/billing/invoices.py, ``line_key``),
	the primary key, so a second insert of the same charge fails on MariaDB and PostgreSQL alike."""

	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		billing_run: DF.Link | None
		customer: DF.Link | None
		line_key: DF.Data
		sales_invoice: DF.Link | None
		subscription: DF.Link | None
	# end: auto-generated types
	pass
