# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

from frappe.utils import getdate

from gigafibre_fsm.exceptions import GigafibreValidationError
from gigafibre_fsm.test_utils import make_contract
from gigafibre_fsm.testing import IntegrationTestCase


class TestServiceContract(IntegrationTestCase):
	def test_end_date_and_benefits(self):
		ctr = make_contract(
			start_date="2026-03-01",
			duration_months=24,
			benefits=[{"description": "Installation offerte", "regular_price": 199.0, "granted_price": 0}],
		)
		self.assertTrue(ctr.name.startswith("CTR-"))
		self.assertEqual(getdate(ctr.end_date), getdate("2028-02-29"))
		self.assertEqual(ctr.benefits[0].benefit_amount, 199.0)
		self.assertEqual(ctr.total_benefit, 199.0)
		self.assertEqual(ctr.status, "Brouillon")

	def test_granted_above_regular_is_refused(self):
		with self.assertRaises(GigafibreValidationError):
			make_contract(benefits=[{"description": "x", "regular_price": 10, "granted_price": 20}])
