"""Network in a real bench: lookup, diagnose with a dead source, fleet refresh and alarms, the
installation gate, the modem bridge shared per worker. The OLT sweep: test_olt_sweep.py."""

from datetime import timedelta

import frappe
from frappe.utils import now_datetime

from gigafibre_fsm.api import dispatch as dispatch_api
from gigafibre_fsm.api import network as api
from gigafibre_fsm.exceptions import ConflictError
from gigafibre_fsm.network import jobs
from gigafibre_fsm.network.tests.network_case import NetworkCase, free_port, make_equipment
from gigafibre_fsm.test_utils import make_customer, make_job, make_location, make_technician, unique
from gigafibre_fsm.testing import IntegrationTestCase


class TestLookupAndDiagnose(NetworkCase):
	def test_lookup_serial_then_barcode_then_mac(self):
		eqp = make_equipment(barcode=unique("BC"), mac_address="A0:B1:C2:D3:E4:F5")
		self.assertEqual(api.lookup_equipment(eqp.serial_no.lower())["name"], eqp.name)
		self.assertEqual(api.lookup_equipment(eqp.barcode)["name"], eqp.name)
		self.assertEqual(api.lookup_equipment("a0b1.c2d3.e4f5")["name"], eqp.name)
		self.assertIsNone(api.lookup_equipment("nothing-like-this"))

	def test_diagnose_stores_and_publishes_when_a_source_is_down(self):
		doc = self.cpe(unique("2235").upper())
		ne = frappe.get_doc(
			{
				"doctype": "Network Element",
				"element_name": unique("OLT"),
				"vendor_profile": "zte_c300",
				"host": "127.0.0.1",
				"snmp_port": free_port(),  # nothing answers there
				"snmp_community": "public",
			}
		).insert(ignore_permissions=True)
		customer = make_customer()
		eqp = make_equipment(
			acs_device_id=doc["_id"], customer=customer.name, olt=ne.name, pon_port="1/1/1", ont_id=3
		)
		started = now_datetime()
		result = api.diagnose(eqp.name, refresh=True)
		elapsed = (now_datetime() - started).total_seconds()
		self.assertLess(elapsed, 10)
		data = result["result"]
		codes = {e["code"] for e in data["errors"]}
		self.assertIn("olt_timeout", codes)
		self.assertTrue(data["optical"])  # what GenieACS said is kept
		diag = frappe.get_doc("Device Diagnostic", result["diagnostic"])
		self.assertEqual((diag.equipment, diag.customer), (eqp.name, customer.name))
		self.assertIn("genieacs", diag.sources_ok)
		self.assertNotIn("olt", diag.sources_ok)
		eqp.reload()
		self.assertEqual(eqp.last_diagnostic, diag.name)
		self.assertIsNotNone(eqp.last_rx_dbm)
		cached = api.diagnose(eqp.name, refresh=False)
		self.assertTrue(cached["cached"])
		self.assertEqual(cached["diagnostic"], diag.name)
		page = api.get_device_page(eqp.serial_no)
		self.assertEqual(page["customer"]["name"], customer.name)
		self.assertEqual(page["olt"]["pon_port"], "1/1/1")


class TestFleet(NetworkCase):
	def test_refresh_updates_equipment_and_raises_one_alarm(self):
		good = self.cpe(unique("2235").upper())
		weak = self.cpe(unique("2235").upper(), rx_dbm=-29.5)
		a = make_equipment(acs_device_id=good["_id"], status="Active")
		b = make_equipment(acs_device_id=weak["_id"], status="Active")
		result = jobs.refresh_fleet(page_size=1, inline=True)
		self.assertEqual(result["updated"], 2)
		self.assertEqual(
			len([r for r in self.peer.requests if "/tasks" in r.path]), 0
		)  # never a connection request
		a.reload()
		self.assertIsNotNone(a.last_refresh_at)
		self.assertEqual(a.last_optical_status, "ok")
		b.reload()
		self.assertEqual(b.last_optical_status, "low")
		self.assertTrue(b.alarm_issue)
		frappe.cache.delete_value(jobs.SINCE_KEY)
		jobs.refresh_fleet(page_size=1, inline=True)
		self.assertEqual(frappe.db.count("Issue", {"subject": ["like", f"%{b.name}%"]}), 1)

	def test_a_pass_split_in_page_jobs_stores_what_one_pass_stores(self):
		from unittest import mock

		docs = [self.cpe(unique("2235").upper(), rx_dbm=rx) for rx in (-18.0, -21.5, -26.0, -12.25, -19.0)]
		rows = [make_equipment(acs_device_id=d["_id"], status="Active") for d in docs[:3]]
		rows += [
			make_equipment(cwmp_serial=d["_deviceId"]["_SerialNumber"], status="Active") for d in docs[3:]
		]
		fields = ["name", "acs_device_id", "last_rx_dbm", "last_optical_status", "last_online", "last_inform"]
		names = [r.name for r in rows]

		def stored():
			return frappe.get_all(
				"Service Equipment", filters={"name": ["in", names]}, fields=fields, order_by="name"
			)

		def reset():
			frappe.cache.delete_value(jobs.SINCE_KEY)
			for row, doc in zip(rows, docs, strict=True):
				frappe.db.set_value(
					"Service Equipment",
					row.name,
					{
						"acs_device_id": doc["_id"] if row in rows[:3] else None,
						"last_rx_dbm": 0,
						"last_optical_status": None,
						"last_inform": None,
					},
					update_modified=False,
				)

		jobs.refresh_fleet(page_size=2, inline=True)
		one_pass = stored()
		self.assertTrue(all(r.last_optical_status and r.acs_device_id for r in one_pass), one_pass)

		reset()
		calls = []
		with mock.patch.object(frappe, "enqueue", lambda method, **kw: calls.append((method, kw))):
			result = jobs.refresh_fleet(page_size=2)
		pages = [kw for method, kw in calls if method.endswith("refresh_fleet_page")]
		self.assertGreaterEqual(len(pages), 3)  # ≥ 5 of ours (and any left by other tests) in pages of 2
		self.assertEqual(result["pages"], len(pages))
		self.assertEqual(len({kw["job_id"] for kw in pages}), len(pages), "one job id per page")
		self.assertTrue(all(kw["deduplicate"] for kw in pages))
		for kw in reversed(pages):  # the workers may run them in any order
			jobs.refresh_fleet_page(kw["ids"])
		self.assertEqual(stored(), one_pass)
		self.assertEqual(len([r for r in self.peer.requests if "/tasks" in r.path]), 0)

	def test_update_rows_writes_each_rows_values_in_few_statements(self):
		from gigafibre_fsm.network.bulk import update_rows

		rows = [make_equipment(status="Active", firmware="v1") for _ in range(5)]
		when = now_datetime().replace(microsecond=123000)
		updates = {
			r.name: {
				"last_rx_dbm": -18.25 - i,
				"last_online": 1,
				"last_inform": when,
				"last_optical_status": "ok",
			}
			for i, r in enumerate(rows[:4])
		}
		updates[rows[1].name]["last_optical_status"] = None
		updates[rows[2].name]["last_online"] = 0
		del updates[rows[3].name]["last_inform"]
		self.assertEqual(update_rows("Service Equipment", updates, chunk_size=3), 2)
		got = {
			r.name: r
			for r in frappe.get_all(
				"Service Equipment",
				filters={"name": ["in", [r.name for r in rows]]},
				fields=[
					"name",
					"last_rx_dbm",
					"last_online",
					"last_inform",
					"last_optical_status",
					"firmware",
				],
			)
		}
		for i, row in enumerate(rows[:4]):
			self.assertAlmostEqual(float(got[row.name].last_rx_dbm), -18.25 - i)
			self.assertEqual(got[row.name].firmware, "v1")  # columns not named are left alone
		self.assertEqual([got[r.name].last_online for r in rows[:3]], [1, 1, 0])
		self.assertEqual([got[r.name].last_optical_status for r in rows[:4]], ["ok", None, "ok", "ok"])
		self.assertEqual(got[rows[0].name].last_inform, when)
		self.assertIsNone(got[rows[3].name].last_inform)  # not in its update: left as it was
		self.assertFalse(got[rows[4].name].last_online)  # not in the updates at all
		with self.assertRaises(ValueError):
			update_rows("Service Equipment", {rows[0].name: {"x = 1; --": 1}})

	def test_silent_cpe_goes_offline_with_an_alarm(self):
		eqp = make_equipment(status="Active")
		frappe.db.set_value(
			"Service Equipment",
			eqp.name,
			{"last_online": 1, "last_inform": now_datetime() - timedelta(hours=2)},
		)
		self.assertGreaterEqual(jobs.flag_silent_cpes(), 1)
		eqp.reload()
		self.assertEqual(eqp.last_online, 0)
		self.assertTrue(eqp.alarm_issue)


class TestInstallationGate(IntegrationTestCase):
	def test_gate_blocks_then_allows(self):
		loc = make_location()
		ont = make_equipment(service_location=loc.name)
		tech = make_technician()
		job = make_job(job_type="Installation", service_location=loc.name)
		dispatch_api.assign(
			job.name,
			tech.name,
			str(now_datetime().replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=1)),
		)
		dispatch_api.set_status(job.name, "On Site")
		frappe.db.set_value(
			"Service Equipment",
			ont.name,
			{"last_rx_dbm": -31.0, "last_inform": now_datetime() - timedelta(days=1)},
		)
		with self.assertRaises(ConflictError):
			dispatch_api.set_status(job.name, "Completed")
		frappe.db.set_value(
			"Service Equipment",
			ont.name,
			{"last_rx_dbm": -19.0, "last_inform": now_datetime() + timedelta(seconds=5)},
		)
		self.assertEqual(dispatch_api.set_status(job.name, "Completed")["status"], "Completed")

	def test_override_is_recorded(self):
		loc = make_location()
		make_equipment(service_location=loc.name)
		tech = make_technician()
		job = make_job(job_type="Installation", service_location=loc.name)
		dispatch_api.assign(
			job.name,
			tech.name,
			str(now_datetime().replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=1)),
		)
		dispatch_api.set_status(job.name, "On Site")
		with self.assertRaises(ConflictError):
			dispatch_api.set_status(job.name, "Completed")
		dispatch_api.override_installation_gate(job.name, "Fibre OK au wattmètre, ACS en panne")
		self.assertIn("Administrator", frappe.db.get_value("Dispatch Job", job.name, "gate_override_reason"))
		self.assertEqual(dispatch_api.set_status(job.name, "Completed")["status"], "Completed")


class TestModemBridgePerWorker(IntegrationTestCase):
	def test_threads_diagnosing_first_at_once_share_one_bridge(self):
		import contextvars
		import threading

		from gigafibre_fsm.core.settings import ModemBridgeSettings
		from gigafibre_fsm.network import diagnose as diag

		# no Chromium at that path: nothing starts, only the bridge objects are compared
		modem = ModemBridgeSettings(enabled=True, password="x", chromium_path="/nonexistent/chromium")
		previous = diag._BRIDGE
		diag._BRIDGE = None
		got, gate = [], threading.Barrier(8)

		def first_diagnosis():
			gate.wait()
			got.append(diag.modem_bridge(modem, reap=False))

		# each gthread request thread has the site bound (Frappe's locals are context variables)
		threads = [
			threading.Thread(target=contextvars.copy_context().run, args=(first_diagnosis,)) for _ in range(8)
		]
		for t in threads:
			t.start()
		for t in threads:
			t.join(60)
		try:
			self.assertEqual(len(got), 8)
			self.assertEqual(len({id(b) for b in got}), 1)  # one bridge (one Chromium) per worker
			self.assertIsNotNone(got[0]._reaper)  # idle sessions are reclaimed without a diagnosis
		finally:
			diag._close_bridge()
			diag._BRIDGE = previous

	def test_two_workers_diagnosing_one_modem_at_once_share_its_one_admin_session(self):
		"""Two bridges as two gunicorn workers make them (each its own pool, the site's Redis
		leases): reads of one modem from both at once all succeed, one admin at a time. The
		modem is the fake TP-Link local API (fakepeers/tplink.py), which refuses a second
		admin login and counts ``max_active``."""
		import threading

		from gigafibre_fsm.core.settings import ModemBridgeSettings
		from gigafibre_fsm.fakepeers.tplink import FakeTPLinkEX
		from gigafibre_fsm.network import diagnose as diag

		modem = FakeTPLinkEX().start()
		self.addCleanup(modem.stop)
		settings = ModemBridgeSettings(
			enabled=True,
			username="user",
			password="secret",
			timeout=30,
			idle_seconds=600,
			chromium_path="/nonexistent/chromium",
		)
		workers = [diag.new_modem_bridge(settings) for _ in range(2)]
		for bridge in workers:
			self.addCleanup(bridge.close)
		gate, errors, reads = threading.Barrier(6), [], []

		def diagnoses(bridge):
			gate.wait(60)
			for _ in range(3):
				result = bridge.diagnose(modem.url)
				errors.extend(e["code"] for e in result.errors)
				reads.append(bool(result.to_dict().get("device")))

		threads = [threading.Thread(target=diagnoses, args=(b,)) for b in workers * 3]
		for t in threads:
			t.start()
		for t in threads:
			t.join(300)
		self.assertEqual(errors, [])
		self.assertEqual(reads, [True] * 18)
		self.assertEqual((modem.max_active, modem.busy_refusals), (1, 0))
		key = workers[0].pool.leases.prefix
		self.assertTrue(key.startswith(f"{frappe.conf.db_name}|"))  # the site's namespace in Redis
