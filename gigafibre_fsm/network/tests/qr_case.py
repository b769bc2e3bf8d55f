"""Shared by the QR page tests (test_qr, test_qr_page): Service Equipment with a random MAC, the
fake Twilio set in Gigafibre Settings, a stored diagnosis (RESULT), and the base test case reading
the codes it sent."""

import json
import os
import re

import frappe
from frappe.utils import now_datetime

from gigafibre_fsm.fakepeers.twilio import FakeTwilio
from gigafibre_fsm.settings import get_settings
from gigafibre_fsm.test_utils import make_customer, random_phone, settings_for_update, unique
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
