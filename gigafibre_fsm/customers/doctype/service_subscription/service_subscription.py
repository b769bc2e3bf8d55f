# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document
from frappe.utils import getdate

from gigafibre_fsm.core import contracts
from gigafibre_fsm.customers import referrals
from gigafibre_fsm.exceptions import core_errors


def _date(value):
	return getdate(value) if value else None


class ServiceSubscription(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from gigafibre_fsm.customers.doctype.service_subscription_change.service_subscription_change import (
			ServiceSubscriptionChange,
		)

		billed_until: DF.Date | None
		billing_cycle: DF.Literal["Monthly", "Semestrial", "Annual"]
		cancellation_date: DF.Date | None
		cancellation_reason: DF.SmallText | None
		customer: DF.Link
		download_mbps: DF.Int
		end_date: DF.Date | None
		legacy_service_id: DF.Data | None
		monthly_price: DF.Currency
		plan: DF.Link
		plan_changes: DF.Table[ServiceSubscriptionChange]
		plan_name: DF.Data | None
		service_contract: DF.Link | None
		service_location: DF.Link | None
		start_date: DF.Date | None
		status: DF.Literal["En attente", "Actif", "Annul\u00e9"]
		upload_mbps: DF.Int

	# end: auto-generated types
	def before_validate(self):
		for change in self.plan_changes:
			if change.is_new():  # the days from its effective date to here were billed at the old price
				change.billed_until = self.billed_until

	def validate(self):
		with core_errors():
			contracts.check_subscription(
				self.status, _date(self.start_date), _date(self.end_date), _date(self.cancellation_date)
			)

	def on_update(self):
		referrals.on_subscription_update(self)
