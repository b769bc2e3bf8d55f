# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import frappe

from gigafibre_fsm.exceptions import GigafibreValidationError, IllegalTransitionError
from gigafibre_fsm.test_utils import make_user, unique
from gigafibre_fsm.testing import IntegrationTestCase


def make_equipment(**kw):
	return frappe.get_doc(
		{"doctype": "Service Equipment", "equipment_type": "ONT", "serial_no": unique("zte"), **kw}
	).insert(ignore_permissions=True)


class TestServiceEquipment(IntegrationTestCase):
	def test_naming_serial_and_mac_are_normalised(self):
		eqp = make_equipment(mac_address="AA-BB-CC-00-11-22")
		self.assertTrue(eqp.name.startswith("EQP-"))
		self.assertEqual(eqp.mac_address, "aa:bb:cc:00:11:22")
		self.assertEqual(eqp.serial_no, eqp.serial_no.upper())

	def test_bad_mac_is_refused(self):
		with self.assertRaises(GigafibreValidationError):
			make_equipment(mac_address="not-a-mac")

	def test_lifecycle_and_move_log(self):
		eqp = make_equipment()
		self.assertEqual(len(eqp.moves), 1)
		eqp.status = "Active"
		eqp.save()
		eqp.status = "Defective"
		eqp.save()
		self.assertEqual([m.to_status for m in eqp.moves], ["Inventory", "Active", "Defective"])
		eqp.status = "Active"
		with self.assertRaises(IllegalTransitionError):
			eqp.save()

	def test_secrets_are_password_fields(self):
		eqp = make_equipment(wifi_password="wifi-secret", sip_password="sip-secret")
		self.assertNotEqual(
			frappe.db.get_value("Service Equipment", eqp.name, "wifi_password"), "wifi-secret"
		)
		self.assertEqual(eqp.get_password("wifi_password"), "wifi-secret")

	def test_technician_reads_but_cannot_delete(self):
		tech = make_user(["Technician"])
		self.assertTrue(frappe.has_permission("Service Equipment", "read", user=tech.name))
		self.assertFalse(frappe.has_permission("Service Equipment", "delete", user=tech.name))
