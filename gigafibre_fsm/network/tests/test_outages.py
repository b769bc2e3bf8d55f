"""Outages in a real bench: Uptime-Kuma alerts through the webhook (a request built as the
HTTP layer builds it, and the served site for the refused token), the fan-out job, the
seeded agent flows texting the affected customers through a fake Twilio, an OLT-sweep
burst on one PON port, and what the phone menu / QR page ask.

The flows' advance_run and the fan-out job commit (they are job entries): records here have
unique names and the settings changed are put back."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from datetime import datetime, timedelta

import frappe
import requests

from gigafibre_fsm.api import webhooks
from gigafibre_fsm.fakepeers.twilio import FakeTwilio
from gigafibre_fsm.flows import runtime
from gigafibre_fsm.network import outage_notice, outages
from gigafibre_fsm.test_utils import make_customer, random_phone, settings_for_update, unique, use_fake_twilio
from gigafibre_fsm.testing import IntegrationTestCase
from gigafibre_fsm.testing_http import serve_site

WEBHOOK = "/api/method/gigafibre_fsm.api.webhooks.uptime_kuma"
RESTORED = (
	"twilio_account_sid",
	"twilio_from_number",
	"twilio_api_base",
	"pon_outage_min_onts",
	"pon_outage_min_share",
	"snmp_timeout",
)
RESTORED_SECRETS = ("twilio_auth_token", "uptime_kuma_token")


def make_olt() -> str:
	return (
		frappe.get_doc(
			{
				"doctype": "Network Element",
				"element_name": unique("OLT"),
				"vendor_profile": "zte_c300",
				"host": "127.0.0.1",
				"snmp_community": "public",
				"enabled": 0,  # not swept by other tests
			}
		)
		.insert(ignore_permissions=True)
		.name
	)


def make_equipment(**kw):
	return frappe.get_doc(
		{
			"doctype": "Service Equipment",
			"equipment_type": "ONT",
			"serial_no": unique("GF"),
			"status": "Active",
			**kw,
		}
	).insert(ignore_permissions=True)


def kuma_body(monitor_id: int, name: str, status: int, at: datetime, msg: str = "timeout") -> dict:
	"""What Uptime-Kuma's webhook provider posts (server/notification-providers/webhook.js)."""
	return {
		"heartbeat": {
			"monitorID": monitor_id,
			"status": status,
			"time": at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
			"msg": msg,
			"important": True,
			"duration": 60,
		},
		"monitor": {
			"id": monitor_id,
			"name": name,
			"url": "https://",
			"hostname": "10.1.1.1",
			"type": "ping",
		},
		"msg": f"[{name}] [{'🔴 Down' if status == 0 else '✅ Up'}] {msg}",
	}


@contextmanager
def as_request(body: dict, token: str | None):
	"""The request Frappe's HTTP layer would hand to the webhook (as Guest)."""
	from werkzeug.test import EnvironBuilder
	from werkzeug.wrappers import Request

	headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
	environ = EnvironBuilder(
		method="POST", path=WEBHOOK, data=json.dumps(body), content_type="application/json", headers=headers
	).get_environ()
	saved = (getattr(frappe.local, "request", None), getattr(frappe.local, "request_ip", None))
	frappe.local.request = Request(environ)
	frappe.local.request_ip = "127.0.0.1"
	frappe.local.form_dict = frappe._dict(cmd="gigafibre_fsm.api.webhooks.uptime_kuma")
	frappe.set_user("Guest")
	try:
		yield
	finally:
		frappe.set_user("Administrator")
		frappe.local.request, frappe.local.request_ip = saved


class OutageCase(IntegrationTestCase):
	def setUp(self):
		frappe.set_user("Administrator")
		settings = settings_for_update()
		before = {f: settings.get(f) for f in RESTORED}
		before.update({f: settings.get_password(f, raise_exception=False) for f in RESTORED_SECRETS})
		monitors = [r.as_dict() for r in settings.get("uptime_kuma_monitors") or []]
		self.addCleanup(self._restore, before, monitors)
		self.twilio = FakeTwilio().start()
		self.addCleanup(self.twilio.stop)
		use_fake_twilio(self.twilio)
		self.token = unique("kuma-token")
		self.olt = make_olt()
		self.monitor_id = int.from_bytes(os.urandom(3), "big")
		settings = settings_for_update()
		settings.uptime_kuma_token = self.token
		settings.append(
			"uptime_kuma_monitors", {"monitor": str(self.monitor_id), "network_element": self.olt}
		)
		settings.pon_outage_min_onts = 4
		settings.pon_outage_min_share = 50
		settings.save()
		for key in ("outage_started_sms", "outage_resolved_sms"):
			self.assertTrue(frappe.db.get_value("Flow Template", {"seed_key": key, "enabled": 1}), key)

	def _restore(self, before, monitors):
		frappe.set_user("Administrator")
		settings = settings_for_update()
		numbers = ("pon_outage_min_onts", "pon_outage_min_share", "snmp_timeout")
		settings.update({k: v or "" for k, v in before.items() if k not in numbers})
		settings.snmp_timeout = before.get("snmp_timeout") or 3
		settings.pon_outage_min_onts = before.get("pon_outage_min_onts") or 4
		settings.pon_outage_min_share = before.get("pon_outage_min_share") or 50
		settings.set(
			"uptime_kuma_monitors",
			[{k: m[k] for k in ("monitor", "network_element", "pon_port", "service")} for m in monitors],
		)
		settings.save()
		frappe.db.commit()

	def customers_on(self, pon_port: str, count: int, phone: bool = True) -> list[str]:
		names = []
		for _i in range(count):
			customer = make_customer(cell_phone=random_phone() if phone else None)
			make_equipment(customer=customer.name, olt=self.olt, pon_port=pon_port, ont_id=len(names) + 1)
			names.append(customer.name)
		return names

	def kuma(self, status: int, at: datetime, token: str | None = None, msg: str = "timeout") -> dict:
		with as_request(
			kuma_body(self.monitor_id, "OLT Ste-Clotilde", status, at, msg),
			self.token if token is None else token,
		):
			return webhooks.uptime_kuma()

	def advance_all(self, event: str, customers: list[str]) -> list[str]:
		runs = frappe.get_all(
			"Flow Run",
			filters={
				"trigger_event": event,
				"reference_doctype": "Customer",
				"reference_name": ["in", customers],
			},
			pluck="name",
		)
		for run in runs:
			self.assertEqual(runtime.advance_run(run), "Completed", run)
		return runs

	def texts_to(self, phones: set[str]) -> dict[str, list[str]]:
		out: dict[str, list[str]] = {}
		for message in self.twilio.sent:
			if message["to"] in phones:
				out.setdefault(message["to"], []).append(message["body"])
		return out


class TestUptimeKuma(OutageCase):
	def test_three_downs_one_outage_one_sms_each_then_up_resolves_once(self):
		affected = self.customers_on("1/1/1", 3) + self.customers_on("1/1/2", 1)
		no_phone = self.customers_on("1/1/1", 1, phone=False)
		phones = {frappe.db.get_value("Customer", c, "cell_phone") for c in affected}
		t0 = datetime.utcnow().replace(microsecond=0) - timedelta(minutes=50)

		first = self.kuma(0, t0)
		self.assertEqual(first["action"], "open")
		name = first["outage"]
		self.assertEqual(self.kuma(0, t0 + timedelta(minutes=1))["outage"], name)
		self.assertEqual(self.kuma(0, t0 + timedelta(minutes=2))["outage"], name)
		self.assertEqual(frappe.db.count("Outage", {"outage_key": f"kuma:{self.monitor_id}"}), 1)
		doc = frappe.get_doc("Outage", name)
		self.assertEqual((doc.status, doc.down_beats, doc.network_element), ("Open", 3, self.olt))
		self.assertEqual(doc.source, "Uptime-Kuma")

		result = outages.process(name, "started")  # the background job
		self.assertEqual(result["affected"], 5)  # the whole OLT: both ports, with or without a phone
		doc.reload()
		self.assertTrue(doc.issue and doc.customers_listed and doc.notified_started)
		self.assertEqual(frappe.db.get_value("Issue", doc.issue, "status"), "Open")
		self.advance_all("on_outage_started", affected + no_phone)
		texts = self.texts_to(phones)
		self.assertEqual({p: len(b) for p, b in texts.items()}, {p: 1 for p in phones})
		self.assertIn("panne", next(iter(texts.values()))[0])

		outages.process(name, "started")  # a retried job: nothing new
		self.advance_all("on_outage_started", affected)
		self.assertEqual(sum(len(b) for b in self.texts_to(phones).values()), len(phones))

		# what the phone menu and the QR page are told
		told = outage_notice.active_outage_for_customer(affected[0])
		self.assertEqual(told["name"], name)
		self.assertTrue(told["message"])
		self.assertIn("expected_end", told)
		location = frappe.db.get_value("Service Equipment", {"customer": affected[0]}, "name")
		self.assertIsNone(outage_notice.active_outage_for_customer(make_customer().name))
		self.assertTrue(location)

		up = self.kuma(1, t0 + timedelta(minutes=47, seconds=5), msg="200 - OK")
		self.assertEqual((up["action"], up["outage"], up["duration"]), ("close", name, 47 * 60 + 5))
		doc.reload()
		self.assertEqual(doc.status, "Resolved")
		self.assertEqual(int(doc.duration), 47 * 60 + 5)
		self.assertIsNone(doc.open_key)
		self.assertEqual(self.kuma(1, t0 + timedelta(minutes=48))["action"], "nothing")
		stale = self.kuma(0, t0 + timedelta(minutes=3))  # an old DOWN retried late
		self.assertEqual(stale.get("reason"), "stale")

		outages.process(name, "resolved")
		self.advance_all("on_outage_resolved", affected)
		self.assertEqual(frappe.db.get_value("Issue", doc.issue, "status"), "Resolved")
		texts = self.texts_to(phones)
		self.assertEqual({p: len(b) for p, b in texts.items()}, {p: 2 for p in phones})
		self.assertIn("rétabli", texts[next(iter(phones))][1])
		self.assertIsNone(outage_notice.active_outage_for_customer(affected[0]))

	def test_a_wrong_or_missing_token_changes_nothing(self):
		self.customers_on("1/1/1", 1)
		before = frappe.db.count("Outage")
		t0 = datetime.utcnow().replace(microsecond=0)
		for token in ("wrong", ""):
			with self.assertRaises(frappe.AuthenticationError):
				self.kuma(0, t0, token=token)
		frappe.clear_messages()
		self.assertEqual(frappe.db.count("Outage"), before)
		with as_request({"hello": "world"}, self.token), self.assertRaises(webhooks.WebhookBadRequest):
			webhooks.uptime_kuma()
		frappe.clear_messages()
		with as_request({"heartbeat": None, "monitor": None, "msg": "Uptime Kuma test"}, self.token):
			self.assertEqual(webhooks.uptime_kuma()["action"], "test")
		self.assertEqual(frappe.db.count("Outage"), before)

	def test_over_http_a_refused_token_is_a_401_and_a_good_one_opens_the_outage(self):
		frappe.db.commit()  # the served site reads with its own connections
		before = frappe.db.count("Outage")
		t0 = datetime.utcnow().replace(microsecond=0)
		body = json.dumps(kuma_body(self.monitor_id, "OLT HTTP", 0, t0))
		with serve_site(frappe.local.site) as base:
			refused = requests.post(
				base + WEBHOOK,
				data=body,
				headers={"Content-Type": "application/json", "Authorization": "Bearer nope"},
				timeout=60,
			)
			self.assertEqual(refused.status_code, 401)
			frappe.db.rollback()
			self.assertEqual(frappe.db.count("Outage"), before)
			for _i in range(2):  # Uptime-Kuma retries: the same beat twice
				ok = requests.post(
					base + WEBHOOK + f"?token={self.token}",
					data=body,
					headers={"Content-Type": "application/json"},
					timeout=60,
				)
				self.assertEqual(ok.status_code, 200, ok.text[:300])
			self.assertTrue(ok.json()["message"]["duplicate"])
		frappe.db.rollback()
		name = frappe.db.get_value("Outage", {"open_key": f"kuma:{self.monitor_id}"}, "name")
		self.assertTrue(name)
		self.assertEqual(frappe.db.get_value("Outage", name, "down_beats"), 1)
		self.addCleanup(frappe.db.commit)
		self.addCleanup(frappe.delete_doc, "Outage", name, force=True, ignore_permissions=True)


class TestOltSweepBurst(OutageCase):
	def test_many_onts_of_one_pon_in_alarm_are_one_outage_then_it_clears(self):
		customers = self.customers_on("1/1/3", 12) + self.customers_on("1/1/4", 10)
		rows = frappe.get_all(
			"Service Equipment",
			filters={"olt": self.olt},
			fields=["name", "pon_port", "customer", "alarm_issue"],
			order_by="name",
		)
		known = {"1/1/3": 12, "1/1/4": 10}
		burst = [(r, "los") for r in rows if r.pon_port == "1/1/3"][:10]  # 10 of 12 dark
		burst += [(r, "low") for r in rows if r.pon_port == "1/1/4"][:1]  # one dirty connector
		issues_before = frappe.db.count("Issue")
		covered = outages.apply_sweep(self.olt, burst, known, ok=True)
		self.assertEqual(len(covered), 10)
		self.assertEqual(frappe.db.count("Outage", {"network_element": self.olt, "status": "Open"}), 1)
		name = frappe.db.get_value("Outage", {"open_key": f"pon:{self.olt}:1/1/3"}, "name")
		self.assertTrue(name)
		self.assertEqual(frappe.db.count("Issue"), issues_before)  # the port's Issue comes with the job

		outages.apply_sweep(self.olt, burst, known, ok=True)  # the next sweep: the same outage
		self.assertEqual(frappe.db.count("Outage", {"network_element": self.olt}), 1)

		result = outages.process(name, "started")
		self.assertEqual(result["affected"], 12)  # the port's customers only
		self.advance_all("on_outage_started", customers)
		port_phones = {frappe.db.get_value("Customer", c, "cell_phone") for c in customers[:12]}
		other_phones = {frappe.db.get_value("Customer", c, "cell_phone") for c in customers[12:]}
		self.assertEqual(len(self.texts_to(port_phones)), 12)
		self.assertEqual(self.texts_to(other_phones), {})
		self.assertEqual(outage_notice.active_outage_for_customer(customers[0])["name"], name)
		self.assertIsNone(outage_notice.active_outage_for_customer(customers[-1]))
		location = frappe.get_doc(
			{"doctype": "Service Location", "customer": customers[1], "address_line": unique("1 rue")}
		).insert(ignore_permissions=True)
		frappe.db.set_value(
			"Service Equipment", {"customer": customers[1]}, "service_location", location.name
		)
		self.assertEqual(outage_notice.active_outage_for_location(location.name)["name"], name)

		outages.apply_sweep(self.olt, [], known, ok=False)  # a failed sweep proves nothing
		self.assertEqual(frappe.db.get_value("Outage", name, "status"), "Open")
		outages.apply_sweep(self.olt, [], known, ok=True)  # the port answers again
		self.assertEqual(frappe.db.get_value("Outage", name, "status"), "Resolved")

	def test_the_real_sweep_groups_a_dark_port(self):
		import shutil

		from gigafibre_fsm.fakepeers import olt_agent, olt_table
		from gigafibre_fsm.network import jobs

		if not shutil.which("snmpd") and not shutil.which("/usr/sbin/snmpd"):
			self.skipTest("snmpd is not installed (apt-get install snmpd)")
		import random

		table = olt_table.generate_table("zte", ports=2, onts_per_port=6, seed=5)
		rng = random.Random(5)
		dark = olt_table.OltTable(vendor="zte", seed=5, onts=[])
		for truth in table.onts:  # port 1 goes dark, port 2 stays as generated
			kind = "los" if truth.port == 1 else None
			if kind:
				truth = olt_table._ont(
					rng, "zte", "los", truth.frame, truth.slot, truth.port, truth.ont, truth.if_index
				)
			dark.onts.append(truth)
			olt_table._encode(dark.varbinds, "zte", truth)
		agent = olt_agent.OltAgent(dark, communities=("gf-test",)).start()
		self.addCleanup(agent.stop)
		frappe.db.set_value(
			"Network Element",
			self.olt,
			{"enabled": 1, "host": agent.host, "snmp_port": agent.port},
		)
		ne = frappe.get_doc("Network Element", self.olt)
		ne.snmp_community = "gf-test"
		ne.save()
		self.addCleanup(frappe.db.set_value, "Network Element", self.olt, "enabled", 0)
		for truth in dark.onts:
			make_equipment(
				customer=make_customer(cell_phone=random_phone()).name,
				olt=self.olt,
				pon_port=f"{truth.frame}/{truth.slot}/{truth.port}",
				ont_id=truth.ont,
			)
		settings = settings_for_update()
		settings.snmp_timeout = 2
		settings.save()
		jobs.sweep_olts(inline=True)
		port = f"{dark.onts[0].frame}/{dark.onts[0].slot}/1"
		self.assertTrue(frappe.db.get_value("Outage", {"open_key": f"pon:{self.olt}:{port}"}, "name"))
		dark_eqp = frappe.get_all(
			"Service Equipment", filters={"olt": self.olt, "pon_port": port}, pluck="alarm_issue"
		)
		self.assertEqual([i for i in dark_eqp if i], [])  # no Issue per ONT of the dark port
