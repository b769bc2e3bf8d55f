"""The QR page /q/<mac> in a real bench: SMS codes through a fake Twilio, the lock after
5 wrong codes, the same answers for unknown MACs and wrong phones, the per-MAC and
per-IP limits, and a diagnostic that shows nothing internal. The page itself: test_qr_page.py."""

import json
import os
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import frappe
from frappe.utils import now_datetime

from gigafibre_fsm.api import qr as api
from gigafibre_fsm.core import otp, tokens
from gigafibre_fsm.network import qr
from gigafibre_fsm.network.tests.qr_case import (
	RESULT,
	SUMMARY_KEYS,
	QrCase,
	drop_request,
	make_equipment,
	random_mac,
)
from gigafibre_fsm.settings import get_settings
from gigafibre_fsm.test_utils import make_customer, unique


class TestCodes(QrCase):
	def test_the_right_phone_gets_a_code_that_opens_a_session_once(self):
		local = f"({self.phone[2:5]}) {self.phone[5:8]}-{self.phone[8:]}"
		answer = api.request_code(self.mac.replace(":", "").upper(), local)
		self.assertEqual(answer, {"sent": True, "message": "If this number is on file, a code was sent"})
		(sent,) = self.sms()
		self.assertEqual(sent["to"], self.phone)
		code = self.code_of(sent)
		self.assertRegex(code, r"^\d{6}$")
		self.assertNotIn(self.eqp.name, sent["body"])

		refused = api.verify_code(self.mac, self.other_code(code))
		self.assertEqual(refused["ok"], False)
		self.assertNotIn("token", refused)

		ok = api.verify_code(self.mac.upper(), code)
		self.assertEqual(set(ok), {"ok", "token"})
		self.assertTrue(ok["ok"])
		claims = tokens.verify(
			get_settings().token_secret, ok["token"], scope="qr", now=datetime.now(UTC), current_version=None
		)
		self.assertEqual(claims.subject, self.mac)
		self.assertLessEqual(claims.expires_at - claims.issued_at, timedelta(minutes=30))
		self.assertNotIn(self.eqp.name, json.dumps(claims.as_dict()))
		# a code works once
		self.assertEqual(api.verify_code(self.mac, code), refused)

	def test_five_wrong_codes_lock_even_the_right_one(self):
		api.request_code(self.mac, self.phone)
		code = self.code_of(self.sms()[0])
		wrong = self.other_code(code)
		answers = [api.verify_code(self.mac, wrong) for _ in range(otp.MAX_ATTEMPTS)]
		self.assertEqual(len({json.dumps(a, sort_keys=True) for a in answers}), 1)
		locked = api.verify_code(self.mac, code)
		self.assertEqual(locked, answers[0])
		# a new request does not lift the lock and sends nothing
		self.assertEqual(api.request_code(self.mac, self.phone), qr._code_sent())
		self.assertEqual(len(self.sms()), 1)
		self.assertEqual(api.verify_code(self.mac, code), answers[0])

	def test_unknown_mac_and_wrong_phone_get_the_same_answer_and_no_sms(self):
		wrong_phone = "+1438555" + ("0000" if not self.phone.endswith("0000") else "0001")
		answers = {
			"known": api.request_code(self.mac, self.phone),
			"unknown mac": api.request_code(random_mac(), self.phone),
			"wrong phone": api.request_code(self.mac, wrong_phone),
			"not a mac": api.request_code("<script>", self.phone),
			"empty": api.request_code("", ""),
		}
		self.assertEqual(
			{json.dumps(a, sort_keys=True) for a in answers.values()},
			{json.dumps(answers["known"], sort_keys=True)},
		)
		self.assertEqual(len(self.sms()), 1)
		# the wrong-phone request did not replace the code sent to the customer
		code = self.code_of(self.sms()[0])
		refusal = api.verify_code(random_mac(), code)
		self.assertEqual(api.verify_code("not-a-mac", code), refusal)
		self.assertEqual(refusal["ok"], False)
		self.assertTrue(api.verify_code(self.mac, code)["ok"])

	def test_a_customer_without_a_phone_gets_nothing(self):
		frappe.set_user("Administrator")
		eqp = make_equipment(customer=make_customer().name, mac_address=random_mac())
		frappe.set_user("Guest")
		self.assertEqual(api.request_code(eqp.mac_address, ""), qr._code_sent())
		self.assertEqual(api.request_code(eqp.mac_address, "0000000000"), qr._code_sent())
		self.assertEqual(self.sms(), [])

	def test_three_requests_per_mac_then_silence_and_the_last_code_wins(self):
		for _ in range(qr.REQUESTS_PER_MAC):
			self.assertEqual(api.request_code(self.mac, self.phone), qr._code_sent())
		self.assertEqual(api.request_code(self.mac, self.phone), qr._code_sent())
		sent = self.sms()
		self.assertEqual(len(sent), qr.REQUESTS_PER_MAC)
		codes = [self.code_of(m) for m in sent]
		if codes[0] != codes[-1]:
			self.assertFalse(api.verify_code(self.mac, codes[0])["ok"])
		self.assertTrue(api.verify_code(self.mac, codes[-1])["ok"])

	def test_per_ip_limit_on_code_requests(self):
		ip = f"198.51.100.{int.from_bytes(os.urandom(1), 'big')}"
		limit_key = frappe.cache.make_key(f"rl:gigafibre_fsm.api.qr.request_code:{ip}")
		frappe.local.request = SimpleNamespace(method="POST", headers={})
		frappe.local.request_ip = ip
		frappe.local.form_dict.cmd = "gigafibre_fsm.api.qr.request_code"
		self.addCleanup(frappe.cache.delete, limit_key)
		try:
			for _ in range(10):
				api.request_code(random_mac(), self.phone)
			with self.assertRaises(frappe.RateLimitExceededError):
				api.request_code(random_mac(), self.phone)
		finally:
			drop_request()
			frappe.local.request_ip = None

	def test_endpoints_are_guest_and_post_only(self):
		for fn in (api.request_code, api.verify_code, api.get_diagnostic):
			self.assertIn(fn, frappe.guest_methods)
			self.assertEqual(set(frappe.allowed_http_methods_for_whitelisted_func[fn]), {"POST"})


SECRET_STRINGS = (
	"GFSERIAL42",
	"00259E",
	"XX230v",
	"-18.37",
	"203.0.113",
	"192.168.68",
	# the MACs of RESULT, whole: a bare "02:" also matches a time such as T02:07 (checked_at)
	"02:11:22:33:44:55",
	"02:aa:bb:cc:dd",
	"02:00:00:00:00",
	"client4242",
	"DECOSN",
	"OLT",
	"0/1/3",
	"genieacs",
	"mesh-backhaul",
)


class TestDiagnostic(QrCase):
	def token(self, mac=None, **kw):
		args = {"subject": mac or self.mac, "scope": "qr", "now": datetime.now(UTC), "ttl": 1800, **kw}
		return tokens.issue(get_settings().token_secret, **args)

	def test_a_known_outage_on_the_devices_port_is_told_without_internal_names(self):
		frappe.set_user("Administrator")
		olt = frappe.get_doc(
			{
				"doctype": "Network Element",
				"element_name": unique("OLT-QR"),
				"vendor_profile": "zte_c300",
				"host": "127.0.0.1",
				"snmp_community": "public",
				"enabled": 0,
			}
		).insert(ignore_permissions=True)
		frappe.db.set_value("Service Equipment", self.eqp.name, {"olt": olt.name, "pon_port": "1/2/7"})
		self.add_diagnostic(self.eqp, RESULT)
		token = self.token()
		self.assertIsNone(api.get_diagnostic(token)["outage"])
		elsewhere = frappe.get_doc(
			{
				"doctype": "Outage",
				"title": unique("Panne port voisin"),
				"status": "Open",
				"source": "Manual",
				"started": now_datetime(),
				"network_element": olt.name,
				"pon_port": "1/2/8",
			}
		).insert(ignore_permissions=True)
		self.assertIsNone(api.get_diagnostic(token)["outage"], "another port's outage is not this device's")
		frappe.get_doc(
			{
				"doctype": "Outage",
				"title": unique("Panne PON"),
				"status": "Open",
				"source": "Manual",
				"started": now_datetime(),
				"network_element": olt.name,
				"pon_port": "1/2/7",
				"customer_message": "Bris de fibre rue Principale, retour prévu vers 15 h.",
			}
		).insert(ignore_permissions=True)
		frappe.set_user("Guest")
		notice = api.get_diagnostic(token)["outage"]
		self.assertEqual(notice["message"], "Bris de fibre rue Principale, retour prévu vers 15 h.")
		self.assertRegex(notice["started"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d[+-]\d\d:\d\d$")
		self.assertEqual(set(notice), {"message", "started", "expected_end"})
		text = json.dumps(notice)
		for internal in (olt.name, "1/2/7", elsewhere.name):
			self.assertNotIn(internal, text)

	def test_the_full_flow_ends_on_a_plain_summary_with_nothing_internal(self):
		frappe.set_user("Administrator")
		frappe.db.set_value(
			"Service Equipment",
			self.eqp.name,
			{"ip_address": "10.20.30.40", "olt": None, "serial_no": "GFSERIAL42X"},
		)
		self.add_diagnostic(self.eqp, RESULT)
		frappe.set_user("Guest")
		api.request_code(self.mac, self.phone)
		token = api.verify_code(self.mac, self.code_of(self.sms()[0]))["token"]
		summary = api.get_diagnostic(token)
		self.assertEqual(set(summary), SUMMARY_KEYS)
		self.assertEqual(summary["fibre"], "good")
		self.assertEqual(summary["internet"], "up")
		self.assertEqual(
			summary["wifi"],
			[
				{"band": "2.4", "on": True, "networks": ["Maison-Tremblay"]},
				{"band": "5", "on": True, "networks": ["Maison-Tremblay-5G"]},
				{"band": "6", "on": False, "networks": []},
			],
		)
		self.assertEqual(summary["mesh"], {"count": 2, "names": ["Salon", "Sous-sol"]})
		self.assertEqual(
			summary["devices"], {"count": 3, "wifi": 2, "wired": 1, "names": ["iPhone-de-Marie", "TV-salon"]}
		)
		self.assertRegex(summary["checked_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d[+-]\d\d:\d\d$")
		text = json.dumps(summary)
		for secret in (
			*SECRET_STRINGS,
			self.eqp.name,
			self.customer.name,
			self.customer.customer_name,
			self.mac,
			"10.20.30.40",
		):
			self.assertNotIn(secret, text)

	def test_refresh_diagnoses_live_at_most_every_two_minutes(self):
		self.addCleanup(frappe.cache.delete, qr._key("refresh", self.mac))
		before = frappe.db.count("Device Diagnostic", {"equipment": self.eqp.name})
		first = api.get_diagnostic(self.token(), refresh=True)
		self.assertEqual(set(first), SUMMARY_KEYS)
		self.assertEqual((first["fibre"], first["internet"]), ("unknown", "unknown"))
		self.assertEqual(frappe.db.count("Device Diagnostic", {"equipment": self.eqp.name}), before + 1)
		row = frappe.get_last_doc("Device Diagnostic", filters={"equipment": self.eqp.name})
		self.assertEqual(row.trigger, "QR")
		self.assertTrue(json.loads(row.result)["errors"])  # the sources' errors stay internal
		self.assertNotIn("configured", json.dumps(first))
		api.get_diagnostic(self.token(), refresh=True)
		self.assertEqual(frappe.db.count("Device Diagnostic", {"equipment": self.eqp.name}), before + 1)

	def test_bad_tokens_are_refused_with_one_message(self):
		secret = get_settings().token_secret
		now = datetime.now(UTC)
		good = self.token()
		payload, signature = good.split(".")
		bad = {
			"garbage": "not-a-token",
			"empty": "",
			"tampered": payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:],
			"expired": self.token(now=now - timedelta(hours=1), ttl=1800),
			"wrong scope": tokens.issue(secret, subject=self.mac, scope="technician", now=now, ttl=1800),
			"unknown mac": self.token(mac=random_mac()),
		}
		messages = set()
		for label, token in bad.items():
			with self.assertRaises(qr.QrSessionError, msg=label) as caught:
				api.get_diagnostic(token)
			messages.add(str(caught.exception))
		self.assertEqual(len(messages), 1)
		self.assertEqual(messages, {"This session has expired. Ask for a new code."})
		frappe.clear_messages()
		self.add_diagnostic(self.eqp, RESULT)
		self.assertEqual(api.get_diagnostic(good)["fibre"], "good")
