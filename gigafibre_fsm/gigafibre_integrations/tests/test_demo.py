"""The demo ISP (bench gigafibre-demo): it refuses a site with customers of its own, loads a
coherent set, diagnoses against the package's fake peers (GenieACS NBI, snmpd OLT agents,
TP-Link, Traccar: loopback servers speaking those systems' documented APIs), and its removal
leaves the site as it was."""

import frappe

from gigafibre_fsm.api import network
from gigafibre_fsm.gigafibre_integrations import demo, demo_peers
from gigafibre_fsm.test_utils import make_customer, settings_for_update
from gigafibre_fsm.testing import IntegrationTestCase

COUNTED = (*demo.SWEPT, "Version", "Comment", "Activity Log", "Deleted Document", "Dispatch Plan Item")
SETTINGS = ("genieacs_nbi_url", "traccar_url", "modem_bridge_enabled", "snmp_timeout", "snmp_retries")


def counts() -> dict:
	return {doctype: frappe.db.count(doctype) for doctype in COUNTED}


class TestDemo(IntegrationTestCase):
	def tearDown(self):
		if demo.read_manifest():
			demo.remove()
			frappe.db.commit()

	def test_refuses_a_site_with_customers_of_its_own(self):
		make_customer()
		with self.assertRaises(demo.DemoRefused):
			demo.load(customers=3, technicians=1)
		self.assertIsNone(demo.read_manifest())

	def test_load_diagnose_and_remove_leave_nothing(self):
		before = counts()
		made = demo.load(customers=14, technicians=3, force=True)
		self.assertEqual(made["Customer"], 14)
		self.assertEqual(made["Technician"], 3)
		self.assertEqual(made["Network Element"], 2)
		manifest = demo.read_manifest()
		customers = manifest["documents"]["Customer"]
		statuses = set(
			frappe.get_all(
				"Dispatch Job",
				filters={"name": ["in", manifest["documents"]["Dispatch Job"]]},
				pluck="status",
			)
		)
		self.assertTrue({"Draft", "Offered"} <= statuses, statuses)
		self.assertTrue(statuses & {"Completed", "Assigned", "En Route", "On Site"}, statuses)
		self.assertEqual(
			frappe.db.count("Service Location", {"customer": ["in", customers], "city": ["is", "set"]}), 14
		)
		self.assertGreaterEqual(
			frappe.db.count(
				"Flow Run", {"reference_doctype": "Customer", "reference_name": ["in", customers]}
			),
			1,
		)
		with self.assertRaises(demo.DemoRefused):  # once only
			demo.load(customers=3, technicians=1, force=True)

		settings = settings_for_update()
		saved = {f: settings.get(f) for f in SETTINGS}
		frappe.db.commit()
		peers = demo_peers.start()
		try:
			ont = frappe.get_all(
				"Service Equipment",
				filters={
					"name": ["in", manifest["documents"]["Service Equipment"]],
					"equipment_type": "ONT",
					"last_online": 1,
					"ip_address": ["is", "not set"],
				},
				pluck="name",
				limit=1,
			)[0]
			answer = network.diagnose(ont, refresh=True)["result"]
			self.assertIsNotNone(answer["optical"]["rx_dbm"])
			self.assertGreater(len(peers.genieacs.requests), 0)  # the NBI was asked
		finally:
			peers.stop()
			settings = settings_for_update()
			settings.update(saved)
			settings.save()

		removed = demo.remove()
		self.assertEqual(removed["Customer"], 14)
		self.assertIsNone(demo.read_manifest())
		after = counts()
		self.assertEqual({k: after[k] - before[k] for k in COUNTED if after[k] != before[k]}, {})
		frappe.db.commit()
