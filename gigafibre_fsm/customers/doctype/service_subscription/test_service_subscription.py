# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import frappe

from gigafibre_fsm.exceptions import GigafibreValidationError
from gigafibre_fsm.test_utils import make_customer
from gigafibre_fsm.testing import IntegrationTestCase


def make_plan():
	code = "_GF Fibre 100"
	if not frappe.db.exists("Item", code):
		frappe.get_doc(
			{
				"doctype": "Item",
				"item_code": code,
				"item_name": "Fibre 100",
				"item_group": frappe.db.get_value("Item Group", {"is_group": 0}, "name"),
				"stock_uom": "Nos",
				"is_stock_item": 0,
			}
		).insert(ignore_permissions=True)
	return code


class TestServiceSubscription(IntegrationTestCase):
	def test_statuses_and_dates(self):
		sub = frappe.get_doc(
			{
				"doctype": "Service Subscription",
				"customer": make_customer().name,
				"plan": make_plan(),
				"monthly_price": 39.95,
			}
		).insert()
		self.assertTrue(sub.name.startswith("SUB-"))
		self.assertEqual(sub.status, "En attente")
		self.assertEqual(sub.plan_name, "Fibre 100")
		sub.status = "Annulé"
		with self.assertRaises(GigafibreValidationError):
			sub.save()
		sub.reload()
		sub.update({"status": "Actif", "start_date": "2026-11-24"})
		sub.save()
		sub.update({"status": "Annulé", "cancellation_date": "2026-12-31"})
		sub.save()
		self.assertEqual(sub.status, "Annulé")
