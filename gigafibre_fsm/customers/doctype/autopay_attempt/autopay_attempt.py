# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class AutopayAttempt(Document):
	def autoname(self):
		# (invoice, attempt) is the primary key: two workers cannot both record attempt n
		self.name = f"{self.invoice}-{self.attempt}"
