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

	def test_customer_service_may_read_support_settings_for_the_issue_form(self):
		from gigafibre_fsm.permissions import CUSTOMER_SERVICE
		from gigafibre_fsm.test_utils import make_user

		user = make_user(roles=[CUSTOMER_SERVICE])
		self.addCleanup(frappe.set_user, "Administrator")
		frappe.set_user(user.name)
		self.assertTrue(frappe.has_permission("Support Settings", "read"))
		self.assertFalse(frappe.has_permission("Support Settings", "write"))
		frappe.set_user("Administrator")
		self.assertTrue(frappe.has_permission("Support Settings", "write"))  # the standard rule stays

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


class TestImports(IntegrationTestCase):
	def test_every_module_imports_in_a_fresh_interpreter_after_connect(self):
		"""A script that connects to the site and imports one of the app's modules must not
		depend on something else having imported a part of frappe first: each module is
		imported alone, in a new interpreter, right after frappe.connect()."""
		import os
		import pkgutil
		import subprocess
		import sys

		import gigafibre_fsm

		names = sorted(
			m.name
			for m in pkgutil.walk_packages(gigafibre_fsm.__path__, "gigafibre_fsm.")
			if ".tests" not in m.name and ".test_" not in m.name and not m.name.endswith(".patches")
		)
		# One interpreter connects, then forks once per module: each child imports one
		# module into the state a fresh connection leaves, and reports through its exit code.
		script = (
			"import importlib, os, sys, traceback, frappe\n"
			"frappe.init(site=sys.argv[1], sites_path=sys.argv[2]); frappe.connect()\n"
			"for name in sys.argv[3:]:\n"
			"    pid = os.fork()\n"
			"    if pid == 0:\n"
			"        try:\n"
			"            importlib.import_module(name)\n"
			"        except BaseException as e:\n"
			"            print(f'{name}: {e!r}', flush=True)\n"
			"            os._exit(1)\n"
			"        os._exit(0)\n"
			"    os.waitpid(pid, 0)\n"
			"frappe.destroy()\n"
		)
		done = subprocess.run(
			[
				sys.executable,
				"-c",
				script,
				frappe.local.site,
				os.path.abspath(frappe.local.sites_path),
				*names,
			],
			capture_output=True,
			text=True,
			timeout=600,
		)
		self.assertEqual(done.returncode, 0, done.stderr[-3000:])
		self.assertEqual(done.stdout.strip(), "", "modules that fail to import alone")
		self.assertGreater(len(names), 50)
