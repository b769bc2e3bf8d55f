# Copyright (c) 2026, Gigafibre and contributors
# For license information, please see license.txt

import frappe

from gigafibre_fsm.exceptions import GigafibreValidationError
from gigafibre_fsm.settings import get_settings
from gigafibre_fsm.test_utils import make_user, settings_for_update
from gigafibre_fsm.testing import IntegrationTestCase


class TestGigafibreSettings(IntegrationTestCase):
	def test_secrets_are_stored_encrypted_and_read_back(self):
		doc = settings_for_update()
		doc.genieacs_nbi_url = "http://127.0.0.1:7557/"
		doc.genieacs_username = "acs"
		doc.genieacs_password = "s3cr3t-acs"
		doc.twilio_account_sid = "AC" + "1" * 32
		doc.twilio_auth_token = "tw-token"
		doc.twilio_from_number = "+14505550100"
		doc.vision_timeout = 6
		doc.save()

		stored = frappe.db.get_single_value("Gigafibre Settings", "genieacs_password")
		self.assertNotEqual(stored, "s3cr3t-acs")  # the table only holds a mask
		settings = get_settings()
		self.assertEqual(settings.genieacs.password, "s3cr3t-acs")
		self.assertEqual(settings.genieacs.nbi_url, "http://127.0.0.1:7557")
		self.assertEqual(settings.twilio.auth_token, "tw-token")
		self.assertTrue(settings.twilio.configured)
		self.assertEqual(settings.vision.timeout, 6.0)
		self.assertNotIn("s3cr3t-acs", repr(settings))

	def test_token_secret_is_generated_on_install(self):
		self.assertGreaterEqual(len(get_settings().token_secret), 32)

	def test_bad_url_is_refused(self):
		doc = settings_for_update()
		doc.traccar_url = "traccar.local"
		with self.assertRaises(GigafibreValidationError):
			doc.save()

	def test_only_managers_may_read_it(self):
		csr = make_user(["Customer Service"])
		manager = make_user(["FSM Manager"])
		self.assertFalse(frappe.has_permission("Gigafibre Settings", "read", user=csr.name))
		self.assertTrue(frappe.has_permission("Gigafibre Settings", "write", user=manager.name))
