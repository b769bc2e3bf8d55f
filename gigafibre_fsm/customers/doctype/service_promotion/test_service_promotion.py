# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import frappe
from frappe.utils import add_days, getdate

from gigafibre_fsm.customers import footprint
from gigafibre_fsm.exceptions import GigafibreValidationError
from gigafibre_fsm.test_utils import unique
from gigafibre_fsm.testing import IntegrationTestCase


def make_promotion(**kw):
	return frappe.get_doc(
		{
			"doctype": "Service Promotion",
			"code": kw.pop("code", unique("PROMO")),
			"start_date": kw.pop("start_date", getdate()),
			"end_date": kw.pop("end_date", add_days(getdate(), 30)),
			**kw,
		}
	)


class TestServicePromotion(IntegrationTestCase):
	def test_price_or_discount(self):
		promo = make_promotion(rate_or_discount="Discount", discount=10, price=39.95).insert()
		self.assertEqual(promo.name, promo.code)
		self.assertEqual(promo.title, promo.code)
		core = promo.as_core()
		self.assertEqual((core.price, str(core.discount), core.limit), (None, "10.00", None))
		core = make_promotion(price=0, use_limit=3).insert().as_core()  # free months
		self.assertEqual((str(core.price), core.discount, core.limit), ("0.00", None, 3))

	def test_dates_are_checked(self):
		with self.assertRaises(GigafibreValidationError):
			make_promotion(start_date=getdate(), end_date=add_days(getdate(), -1), price=10).insert()

	def test_uses_stop_at_the_limit(self):
		promo = make_promotion(price=30, use_limit=1).insert()
		self.assertTrue(footprint.record_promotion_use(promo.name))
		self.assertFalse(footprint.record_promotion_use(promo.name))
		self.assertEqual(footprint.promotion_uses()[promo.name], 1)
		unlimited = make_promotion(price=30).insert()
		for _ in range(3):
			self.assertTrue(footprint.record_promotion_use(unlimited.name))
		with self.assertRaises(frappe.DoesNotExistError):
			footprint.record_promotion_use(unique("NOPE"))
