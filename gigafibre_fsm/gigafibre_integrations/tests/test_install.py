"""What installing the app leaves on a site: roles, custom fields, seeded flows."""

import frappe

from gigafibre_fsm.flows.seeds import SEEDS
from gigafibre_fsm.permissions import APP_ROLES
from gigafibre_fsm.testing import IntegrationTestCase


class TestInstall(IntegrationTestCase):
	def test_roles_exist(self):
		for role in APP_ROLES:
			self.assertTrue(frappe.db.exists("Role", role), role)
		self.assertEqual(frappe.db.get_value("Role", "Technician", "desk_access"), 0)
		self.assertEqual(frappe.db.get_value("Role", "Dispatcher", "desk_access"), 1)

	def test_doctypes_are_ours_and_do_not_shadow_erpnext(self):
		ours = {"Flows", "Dispatch", "Network", "Customers", "Gigafibre Integrations", "Legacy"}
		for name in (
			"Service Location",
			"Service Equipment",
			"Service Subscription",
			"Service Contract",
			"Flow Template",
			"Flow Run",
			"Gigafibre Settings",
		):
			self.assertIn(frappe.db.get_value("DocType", name, "module"), ours)
		for erpnext_doctype in ("Subscription", "Contract", "Issue"):
			self.assertEqual(frappe.db.get_value("DocType", erpnext_doctype, "module") in ours, False)

	def test_customer_custom_fields(self):
		meta = frappe.get_meta("Customer")
		for fieldname in ("cell_phone", "email_billing", "legacy_account_id"):
			self.assertTrue(meta.has_field(fieldname), fieldname)
		self.assertEqual(meta.get_field("email_billing").options, "Email")

	def test_seeded_system_templates(self):
		for seed in SEEDS:
			name = frappe.db.get_value("Flow Template", {"seed_key": seed["seed_key"]}, "name")
			self.assertTrue(name, seed["seed_key"])
			self.assertEqual(frappe.db.get_value("Flow Template", name, "is_system"), 1)
		kinds = {s["category"] for s in SEEDS}
		self.assertEqual(kinds, {"Project", "Agent"})
		self.assertGreaterEqual(sum(s["category"] == "Project" for s in SEEDS), 5)
