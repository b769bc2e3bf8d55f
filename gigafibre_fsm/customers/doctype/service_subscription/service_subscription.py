# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document
from frappe.utils import getdate

from gigafibre_fsm.core import contracts
from gigafibre_fsm.exceptions import core_errors


def _date(value):
	return getdate(value) if value else None


class ServiceSubscription(Document):
	def validate(self):
		with core_errors():
			contracts.check_subscription(
				self.status, _date(self.start_date), _date(self.end_date), _date(self.cancellation_date)
			)
