# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.model.document import Document

from gigafibre_fsm.customers import footprint, footprint_build
from gigafibre_fsm.exceptions import core_errors


class ServicePromotion(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF
		from gigafibre_fsm.customers.doctype.service_promotion_item.service_promotion_item import (
			ServicePromotionItem,
		)
		from gigafibre_fsm.customers.doctype.service_promotion_zone.service_promotion_zone import (
			ServicePromotionZone,
		)

		code: DF.Data
		discount: DF.Currency
		enabled: DF.Check
		end_date: DF.Date
		items: DF.TableMultiSelect[ServicePromotionItem]
		months: DF.Int
		price: DF.Currency
		rate_or_discount: DF.Literal["Price", "Discount"]
		start_date: DF.Date
		title: DF.Data | None
		use_limit: DF.Int
		uses: DF.Int
		zones: DF.TableMultiSelect[ServicePromotionZone]

	# end: auto-generated types
	def before_validate(self):
		self.code = (self.code or "").strip()
		self.title = (self.title or "").strip() or self.code

	def validate(self):
		if not (self.code and self.start_date and self.end_date):
			return  # Frappe's mandatory check names what is missing
		with core_errors():
			self.as_core()

	def on_update(self):
		footprint.invalidate()

	def on_trash(self):
		footprint.invalidate()

	def as_core(self):
		"""The core Promotion (checks the dates, the limit, a price or a discount)."""
		return footprint_build.promotion_values(
			code=self.code,
			title=self.title,
			start_date=self.start_date,
			end_date=self.end_date,
			use_limit=self.use_limit,
			rate_or_discount=self.rate_or_discount,
			price=self.price,
			discount=self.discount,
			months=self.months,
			item_codes=[row.item_code for row in self.items],
			zones=[row.zone for row in self.zones],
		)
