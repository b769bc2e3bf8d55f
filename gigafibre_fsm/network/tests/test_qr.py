"""The QR page /q/<mac> in a real bench: SMS codes through a fake Twilio, the lock after
5 wrong codes, the same answers for unknown MACs and wrong phones, the per-MAC and
per-IP limits, and a diagnostic that shows nothing internal."""

import json
import os
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from unittest import mock

import frappe
from frappe.utils import now_datetime

from gigafibre_fsm.api import qr as api
from gigafibre_fsm.core import otp, tokens
from gigafibre_fsm.fakepeers.twilio import FakeTwilio
from gigafibre_fsm.network import qr
from gigafibre_fsm.settings import get_settings
from gigafibre_fsm.test_utils import (
	chromium_missing,
	launch_chromium,
	make_customer,
	random_phone,
	serve_site,
	settings_for_update,
	unique,
)
from gigafibre_fsm.testing import IntegrationTestCase

TWILIO_FIELDS = ("twilio_account_sid", "twilio_from_number", "twilio_api_base")
SUMMARY_KEYS = {"checked_at", "fibre", "internet", "wifi", "mesh", "devices", "outage"}


def random_mac() -> str:
	raw = bytearray(os.urandom(6))
	raw[0] = (raw[0] | 0x02) & 0xFE  # locally administered, unicast: never a real vendor's
	return ":".join(f"{b:02x}" for b in raw)


def drop_request():
	if getattr(frappe.local, "request", None) is not None:
		del frappe.local.request


def make_equipment(**kw):
	return frappe.get_doc(
		{
			"doctype": "Service Equipment",
			"equipment_type": kw.pop("equipment_type", "Router"),
			"serial_no": unique("GFQR"),
			**kw,
		}
	).insert(ignore_permissions=True)


class QrCase(IntegrationTestCase):
	def setUp(self):
		self.peer = FakeTwilio().start()
		self.addCleanup(self.peer.stop)
		settings = settings_for_update()
		before = {f: settings.get(f) for f in TWILIO_FIELDS}
		before["twilio_auth_token"] = settings.get_password("twilio_auth_token", raise_exception=False)
		self.settings_before = before
		self.addCleanup(self._restore_settings, before)
		settings.update(
			{
				"twilio_account_sid": self.peer.account_sid,
				"twilio_auth_token": self.peer.auth_token,
				"twilio_from_number": "+14505550100",
				"twilio_api_base": self.peer.url,
			}
		)
		settings.save()
		self.assertTrue(get_settings().token_secret)
		self.phone = random_phone()
		self.customer = make_customer(cell_phone=self.phone)
		self.mac = random_mac()
		self.eqp = make_equipment(customer=self.customer.name, mac_address=self.mac.upper().replace(":", "-"))
		frappe.set_user("Guest")
		self.addCleanup(frappe.set_user, "Administrator")

	def _restore_settings(self, before):
		frappe.set_user("Administrator")
		settings = settings_for_update()
		settings.update({k: v or "" for k, v in before.items()})
		settings.save()

	def sms(self) -> list[dict]:
		return self.peer.sent

	def code_of(self, message: dict) -> str:
		codes = set(re.findall(r"\b\d{6}\b", message["body"]))
		self.assertEqual(len(codes), 1, message["body"])
		return codes.pop()

	def other_code(self, code: str) -> str:
		return f"{(int(code) + 1) % 1_000_000:06d}"


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


RESULT = {
	"device": {
		"id": "00259E-XX230v-GFSERIAL42",
		"serial": "GFSERIAL42",
		"model": "XX230v",
		"fw": "1.2.3",
		"online": True,
		"source": "genieacs",
	},
	"optical": {
		"rx_dbm": -18.37,
		"tx_dbm": 2.11,
		"olt_rx_dbm": -21.44,
		"status": "ok",
		"raw": {"rx": {"value": 31234, "transform": "zte_snmp", "source": "olt"}},
		"source": "olt",
	},
	"interfaces": [{"name": "Device.Ethernet.Interface.1", "status": "Up"}],
	"wan": [
		{
			"iface": "Device.IP.Interface.2",
			"vlan": 10,
			"ipv4": "203.0.113.45",
			"gateway": "203.0.113.1",
			"dns": ["203.0.113.53"],
			"mac": "02:11:22:33:44:55",
			"status": "Up",
			"ppp_username": "client4242@gigafibre",
		}
	],
	"radios": [
		{"band": "2.4GHz", "enabled": True, "channel": 6},
		{"band": "5GHz", "enabled": True, "channel": 36},
		{"band": "6GHz", "enabled": False},
	],
	"ssids": [
		{"band": "2.4GHz", "ssid": "Maison-Tremblay", "enabled": True, "bssid": "02:aa:bb:cc:dd:01"},
		{"band": "5GHz", "ssid": "Maison-Tremblay-5G", "enabled": True, "bssid": "02:aa:bb:cc:dd:02"},
		{"band": "5GHz", "ssid": "mesh-backhaul", "enabled": True, "hidden": True},
		{"band": "6GHz", "ssid": "Maison-6E", "enabled": False},
	],
	"mesh_nodes": [
		{
			"mac": "02:aa:bb:cc:dd:00",
			"name": "Salon",
			"role": "controller",
			"ip": "192.168.68.1",
			"serial": "DECOSN1",
		},
		{
			"mac": "02:aa:bb:cc:dd:10",
			"name": "Sous-sol",
			"role": "agent",
			"ip": "192.168.68.2",
			"serial": "DECOSN2",
		},
	],
	"clients": [
		{"mac": "02:00:00:00:00:01", "hostname": "iPhone-de-Marie", "ip": "192.168.68.10", "band": "5GHz"},
		{"mac": "02:00:00:00:00:02", "hostname": "TV-salon", "ip": "192.168.68.11", "band": None},
		{"mac": "02:00:00:00:00:03", "hostname": "192.168.68.12", "band": "2.4GHz"},
		{"mac": "02:aa:bb:cc:dd:10", "hostname": "Sous-sol", "band": "5GHz"},
	],
	"errors": [
		{
			"source": "olt",
			"code": "olt_unknown_ont",
			"message": "The OLT has no ONT 7 on 0/1/3",
			"template": "The OLT has no ONT {0} on {1}",
			"params": [7, "0/1/3"],
		}
	],
	"sources": {"genieacs": {"ok": True}, "olt": {"ok": False}},
}
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

	def add_diagnostic(self, eqp, result):
		frappe.get_doc(
			{
				"doctype": "Device Diagnostic",
				"equipment": eqp.name,
				"customer": eqp.customer,
				"trigger": "Sweep",
				"diagnosed_at": now_datetime(),
				"result": json.dumps(result),
			}
		).insert(ignore_permissions=True)

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


class TestPage(QrCase):
	def render(self, mac: str) -> str:
		from frappe.utils import get_html_for_route

		self.addCleanup(drop_request)
		frappe.local.form_dict = frappe._dict()
		return get_html_for_route(f"q/{mac}")

	def test_the_page_is_the_same_for_known_and_unknown_macs(self):
		unknown = random_mac()
		known_html = self.render(self.mac)
		unknown_html = self.render(unknown)
		self.assertIn('data-mac="' + self.mac + '"', known_html)
		self.assertEqual(known_html.replace(self.mac, "MAC"), unknown_html.replace(unknown, "MAC"))
		self.assertIn("gigafibre_fsm.api.qr.", known_html)
		self.assertNotIn(self.eqp.name, known_html)
		self.assertNotIn("onmouseover", self.render('aa"onmouseover=alert(1)'))


def run_job_inline(method, queue=None, now=False, **kwargs):
	"""frappe.enqueue for the server threads (no worker runs in tests)."""
	return frappe.get_attr(method)(**kwargs)


class TestPageInBrowser(QrCase):
	def test_phone_code_then_diagnostic_in_french_and_english(self):
		missing = chromium_missing()
		if missing:
			self.skipTest(f"browser test skipped: {missing}")
		from playwright.sync_api import expect, sync_playwright

		frappe.set_user("Administrator")
		TestDiagnostic.add_diagnostic(self, self.eqp, RESULT)
		frappe.db.commit()  # the server threads read with their own connections
		# runs before QrCase's own cleanup (last in, first out): restore, then commit
		self.addCleanup(lambda: (self._restore_settings(self.settings_before), frappe.db.commit()))
		for method in ("request_code", "verify_code", "get_diagnostic"):
			key = frappe.cache.make_key(f"rl:gigafibre_fsm.api.qr.{method}:127.0.0.1")
			self.addCleanup(frappe.cache.delete, key)
		frappe.set_user("Guest")

		with (
			mock.patch.object(frappe, "enqueue", run_job_inline),
			serve_site(frappe.local.site) as base,
			sync_playwright() as pw,
		):
			browser = launch_chromium(pw)
			try:
				page = browser.new_context(locale="fr-CA").new_page()
				errors = []
				page.on("pageerror", lambda e: errors.append(str(e)))
				page.goto(f"{base}/q/{self.mac.upper().replace(':', '-')}")
				expect(page.locator("h1")).to_have_text("Diagnostic de votre Internet")
				page.locator('[data-testid="lang-toggle"]').click()
				expect(page.locator("h1")).to_have_text("Your Internet check-up")
				page.locator('[data-testid="lang-toggle"]').click()

				page.locator("#phone").fill(f"{self.phone[2:5]} {self.phone[5:8]}-{self.phone[8:]}")
				page.locator("#form-phone button").click()
				expect(page.locator('[data-testid="step-code"]')).to_be_visible(timeout=15000)
				code = self.code_of(self.sms()[0])

				page.locator("#code").fill(self.other_code(code))
				page.locator("#form-code button").click()
				expect(page.locator("#code-msg")).to_contain_text("Ce code n'est pas valide", timeout=15000)

				page.locator("#code").fill(code)
				page.locator("#form-code button").click()
				fibre = page.locator('[data-testid="fibre"]')
				expect(fibre).to_contain_text("Bon", timeout=15000)
				expect(page.locator('[data-testid="internet"]')).to_contain_text("En ligne")
				expect(page.locator('[data-testid="wifi"]')).to_contain_text("Maison-Tremblay-5G")
				expect(page.locator('[data-testid="mesh"]')).to_contain_text("2 bornes")
				expect(page.locator('[data-testid="devices"]')).to_contain_text("3 appareils connectés")
				page.locator('[data-testid="lang-toggle"]').click()
				expect(fibre).to_contain_text("Good")
				expect(page.locator('[data-testid="devices"]')).to_contain_text("3 devices connected")

				page.reload()  # the session token is kept in sessionStorage
				expect(page.locator('[data-testid="devices"]')).to_contain_text(
					"iPhone-de-Marie", timeout=15000
				)
				html = page.content()
				for secret in (self.eqp.name, self.customer.name, "192.168.68", "GFSERIAL42"):
					self.assertNotIn(secret, html)
				self.assertEqual(errors, [])
			finally:
				browser.close()
