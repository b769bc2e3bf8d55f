"""The OLT sweep in a real bench, against a real snmpd serving generated OLT tables: equipment
updated, the sweep split in chunk jobs, alarms as issues and flow events, old diagnostics purged."""

from datetime import timedelta

import frappe
from frappe.utils import now_datetime

from gigafibre_fsm.network import jobs
from gigafibre_fsm.network.tests.network_case import make_equipment
from gigafibre_fsm.test_utils import settings_for_update, unique
from gigafibre_fsm.testing import IntegrationTestCase


class TestOltSweepAndAlarms(IntegrationTestCase):
	def olt_agent(self, communities, **shape):
		"""A real snmpd serving a generated ZTE table, and one enabled Network Element per
		community (disabled again afterwards: the sweep commits, and a later sweep must not
		keep timing out on them)."""
		import shutil

		from gigafibre_fsm.fakepeers.olt_agent import OltAgent
		from gigafibre_fsm.fakepeers.olt_table import generate_table

		if not shutil.which("snmpd") and not shutil.which("/usr/sbin/snmpd"):
			self.skipTest("snmpd is not installed (apt-get install snmpd)")
		table = generate_table("zte", seed=11, **shape)
		agent = OltAgent(table, communities=communities).start()
		self.addCleanup(agent.stop)
		elements = []
		for community in communities:
			ne = frappe.get_doc(
				{
					"doctype": "Network Element",
					"element_name": unique("OLT"),
					"vendor_profile": "zte_c300",
					"host": agent.host,
					"snmp_port": agent.port,
					"snmp_community": community,
				}
			).insert(ignore_permissions=True)
			self.addCleanup(frappe.db.commit)
			self.addCleanup(frappe.db.set_value, "Network Element", ne.name, "enabled", 0)
			elements.append(ne)
		settings = settings_for_update()
		settings.snmp_timeout = 2
		settings.snmp_retries = 0
		settings.save()
		return table, elements

	def test_sweep_updates_equipment_from_a_real_snmp_agent(self):
		table, (ne,) = self.olt_agent(("gf-test",), ports=1, onts_per_port=8)
		online = [o for o in table.onts if o.online and o.rx_dbm is not None][:2]
		eqps = [
			make_equipment(
				olt=ne.name, pon_port=f"{o.frame}/{o.slot}/{o.port}", ont_id=o.ont, status="Active"
			)
			for o in online
		]
		result = jobs.sweep_olts(inline=True)
		self.assertGreaterEqual(result["updated"], len(eqps))
		for eqp, truth in zip(eqps, online, strict=True):
			eqp.reload()
			self.assertAlmostEqual(eqp.last_rx_dbm, truth.rx_dbm, places=1)
		ne.reload()
		self.assertIsNotNone(ne.last_sweep_at)
		self.assertFalse(ne.last_error)
		self.assertEqual(ne.last_sweep_onts, len(table.onts))

	def test_a_sweep_split_in_chunk_jobs_stores_what_one_inline_sweep_stores(self):
		from unittest import mock

		communities = ("gf-a", "gf-b", "gf-c")
		table, elements = self.olt_agent(communities, ports=2, onts_per_port=6)
		ours = {ne.name for ne in elements}
		onts = [o for o in table.onts if o.status == "online" and o.kind == "ok"][:3]
		eqps = [
			make_equipment(
				olt=ne.name, pon_port=f"{o.frame}/{o.slot}/{o.port}", ont_id=o.ont, status="Active"
			)
			for ne in elements
			for o in onts
		]
		names = [e.name for e in eqps]

		def stored():
			equipment = frappe.get_all(
				"Service Equipment",
				filters={"name": ["in", names]},
				fields=["name", "olt", "last_rx_dbm", "last_optical_status"],
				order_by="name",
			)
			sweeps = frappe.get_all(
				"Network Element",
				filters={"name": ["in", list(ours)]},
				fields=["name", "last_sweep_onts", "last_error"],
				order_by="name",
			)
			return equipment, sweeps

		def reset():
			for name in names:
				frappe.db.set_value(
					"Service Equipment",
					name,
					{"last_rx_dbm": 0, "last_optical_status": None},
					update_modified=False,
				)
			for name in ours:
				frappe.db.set_value("Network Element", name, "last_sweep_onts", 0, update_modified=False)

		inline = jobs.sweep_olts(chunk_size=2, inline=True)
		one_sweep = stored()
		self.assertGreaterEqual(inline["updated"], len(eqps))
		by_ont = {(f"{o.frame}/{o.slot}/{o.port}", o.ont): o.rx_dbm for o in onts}
		for row in one_sweep[0]:
			eqp = next(e for e in eqps if e.name == row.name)
			self.assertAlmostEqual(row.last_rx_dbm, by_ont[(eqp.pon_port, eqp.ont_id)], places=2)
			self.assertEqual(row.last_optical_status, "ok")
		self.assertEqual([r.last_sweep_onts for r in one_sweep[1]], [len(table.onts)] * len(elements))

		reset()
		calls = []
		with mock.patch.object(frappe, "enqueue", lambda method, **kw: calls.append((method, kw))):
			result = jobs.sweep_olts(chunk_size=2)
			jobs.sweep_olts(chunk_size=2)  # the next scheduler tick, before any chunk ran
		chunks = [kw for method, kw in calls if method.endswith(".sweep_olts_chunk")]
		first, second = chunks[: len(chunks) // 2], chunks[len(chunks) // 2 :]
		self.assertEqual(result["chunks"], len(first))
		self.assertEqual(result["olts"], inline["olts"])
		self.assertTrue(all(len(kw["names"]) <= 2 for kw in chunks))
		self.assertEqual(len({kw["job_id"] for kw in first}), len(first), "one job id per chunk")
		self.assertEqual([kw["job_id"] for kw in second], [kw["job_id"] for kw in first])  # idempotent
		self.assertTrue(all(kw["deduplicate"] and kw["queue"] == "long" for kw in chunks))
		self.assertEqual(sum(len(kw["names"]) for kw in first), result["olts"])  # each OLT once

		mine = [kw for kw in first if ours & set(kw["names"])]
		self.assertEqual({n for kw in mine for n in kw["names"]} & ours, ours)
		self.assertEqual(stored()[0][0].last_optical_status, None)  # nothing swept yet
		for kw in reversed(mine):  # the workers may run them in any order
			jobs.sweep_olts_chunk(kw["names"])
		self.assertEqual(stored(), one_sweep)

	def test_an_alarm_is_an_issue_and_a_flow_event(self):
		from gigafibre_fsm.test_utils import make_template, step

		tpl = make_template(
			[step("s1", "create_todo", {"description": "Vérifier {{doc.subject}}"})],
			applies_to="Issue",
			trigger_event="on_optical_alarm",
		)
		eqp = make_equipment(status="Active")
		row = frappe._dict(name=eqp.name, customer=None, alarm_issue=None)
		self.assertEqual(jobs.raise_alarm(row, "on_optical_alarm", "signal low (-29 dBm)"), 1)
		issue = frappe.db.get_value("Service Equipment", eqp.name, "alarm_issue")
		self.assertTrue(frappe.db.exists("Flow Run", {"template": tpl.name, "reference_name": issue}))
		row.alarm_issue = issue
		self.assertEqual(
			jobs.raise_alarm(row, "on_optical_alarm", "still low"), 0
		)  # one open alarm at a time

	def test_old_diagnostics_are_purged(self):
		eqp = make_equipment()
		old = frappe.get_doc(
			{
				"doctype": "Device Diagnostic",
				"equipment": eqp.name,
				"diagnosed_at": now_datetime() - timedelta(days=200),
				"result": "{}",
			}
		).insert(ignore_permissions=True)
		new = frappe.get_doc(
			{
				"doctype": "Device Diagnostic",
				"equipment": eqp.name,
				"diagnosed_at": now_datetime(),
				"result": "{}",
			}
		).insert(ignore_permissions=True)
		self.assertGreaterEqual(jobs.purge_diagnostics(), 1)
		self.assertFalse(frappe.db.exists("Device Diagnostic", old.name))
		self.assertTrue(frappe.db.exists("Device Diagnostic", new.name))
