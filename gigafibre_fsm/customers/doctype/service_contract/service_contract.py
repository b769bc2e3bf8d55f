# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document
from frappe.utils import getdate

from gigafibre_fsm.core import contracts, termination
from gigafibre_fsm.customers import referrals
from gigafibre_fsm.exceptions import core_errors


class ServiceContract(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from gigafibre_fsm.customers.doctype.service_contract_benefit.service_contract_benefit import (
			ServiceContractBenefit,
		)

		benefits: DF.Table[ServiceContractBenefit]
		contract_type: DF.Literal["Residential", "Commercial"]
		customer: DF.Link
		docuseal_submission: DF.Data | None
		duration_months: DF.Int
		end_date: DF.Date | None
		quotation: DF.Link | None
		referral_code: DF.Data | None
		service_location: DF.Link | None
		signature_source: DF.Literal["", "Residential link", "DocuSeal"]
		signed_by_name: DF.Data | None
		signed_ip: DF.Data | None
		signed_on: DF.Datetime | None
		signed_text_sha256: DF.Data | None
		signed_user_agent: DF.SmallText | None
		signing_jti: DF.Data | None
		signing_link_sent_on: DF.Datetime | None
		start_date: DF.Date | None
		status: DF.Literal[
			"Brouillon", "Envoy\u00e9", "Sign\u00e9", "Actif", "R\u00e9sili\u00e9", "Expir\u00e9"
		]
		terminated_on: DF.Date | None
		termination_fee: DF.Currency
		termination_fixed_fee: DF.Currency
		termination_invoice: DF.Link | None
		termination_percent: DF.Percent
		termination_reason: DF.SmallText | None
		termination_repay_devices: DF.Check
		total_benefit: DF.Currency

	# end: auto-generated types
	def before_validate(self):
		self.set_end_date()
		self.set_benefit_amounts()

	def validate(self):
		with core_errors():
			contracts.check_dates(
				getdate(self.start_date) if self.start_date else None,
				getdate(self.end_date) if self.end_date else None,
			)
			termination.CommercialClause(  # refuses a negative fee or a percentage over 100
				self.termination_fixed_fee or 0, self.termination_percent or 0
			)
		referrals.validate_document(self)

	def on_update(self):
		referrals.record_from_document(self)

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
