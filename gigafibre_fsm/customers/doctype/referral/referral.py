# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import flt

from gigafibre_fsm.core import referrals as rules
from gigafibre_fsm.exceptions import GigafibreValidationError


class Referral(Document):
	"""One referred customer (unique) and who referred them; the referral credit's state.

	Written by gigafibre_fsm.customers.referrals; in the desk only the status may be changed,
	to cancel a referral whose credit is not used yet (or to reinstate it)."""

	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		code: DF.Data
		credit_amount: DF.Currency
		credit_applied: DF.Currency
		credit_granted_on: DF.Date | None
		credited_on: DF.Date | None
		quotation: DF.Link | None
		referred_customer: DF.Link
		referred_customer_name: DF.Data | None
		referrer: DF.Link
		referrer_name: DF.Data | None
		sales_invoice: DF.Link | None
		service_contract: DF.Link | None
		status: DF.Literal["Pending", "Credited", "Cancelled"]

	# end: auto-generated types
	def validate(self):
		if self.status not in rules.REFERRAL_STATUSES:
			frappe.throw(_("Unknown referral status {0}").format(self.status), GigafibreValidationError)
		if self.referrer == self.referred_customer:
			frappe.throw(_("You cannot use your own referral code"), GigafibreValidationError)
		if self.status == "Cancelled" and flt(self.credit_applied) > 0:
			frappe.throw(
				_("This referral's credit is on invoice {0}: cancel that invoice first").format(
					self.sales_invoice
				),
				GigafibreValidationError,
			)
		fully_applied = flt(self.credit_amount) > 0 and flt(self.credit_applied) >= flt(self.credit_amount)
		if (self.status == "Credited") != fully_applied and self.status != "Cancelled":
			frappe.throw(
				_("A referral is Credited when its credit is on a submitted invoice, and only then"),
				GigafibreValidationError,
			)
