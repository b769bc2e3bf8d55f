# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document
from frappe.utils import getdate

from gigafibre_fsm.core import contracts
from gigafibre_fsm.exceptions import core_errors


class ServiceContract(Document):
	def before_validate(self):
		self.set_end_date()
		self.set_benefit_amounts()

	def validate(self):
		with core_errors():
			contracts.check_dates(
				getdate(self.start_date) if self.start_date else None,
				getdate(self.end_date) if self.end_date else None,
			)

	def set_end_date(self):
		if self.start_date and self.duration_months and not self.end_date:
			with core_errors():
				self.end_date = contracts.contract_end_date(getdate(self.start_date), self.duration_months)

	def set_benefit_amounts(self):
		total = 0
		with core_errors():
			for row in self.benefits:
				row.benefit_amount = contracts.benefit_amount(row.regular_price, row.granted_price)
				total += row.benefit_amount
		self.total_benefit = total
