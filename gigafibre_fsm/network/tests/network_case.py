"""Shared by the network tests (test_network, test_olt_sweep): Service Equipment, a free port, and
the base test case with a fake GenieACS."""

import socket
from datetime import UTC, datetime

import frappe

from gigafibre_fsm.fakepeers import cpe_documents
from gigafibre_fsm.fakepeers.genieacs import FakeGenieACS
from gigafibre_fsm.network import jobs
from gigafibre_fsm.test_utils import settings_for_update, unique
from gigafibre_fsm.testing import IntegrationTestCase


def free_port() -> int:
	with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


def make_equipment(**kw):
	return frappe.get_doc(
		{
			"doctype": "Service Equipment",
			"equipment_type": kw.pop("equipment_type", "ONT"),
			"serial_no": unique("GF"),
			**kw,
		}
	).insert(ignore_permissions=True)


class NetworkCase(IntegrationTestCase):
	def setUp(self):
		self.peer = FakeGenieACS().start()
		self.addCleanup(self.peer.stop)
		settings = settings_for_update()
		settings.genieacs_nbi_url = self.peer.url
		settings.genieacs_timeout = 3
		settings.snmp_timeout = 0.5
		settings.snmp_retries = 0
		settings.modem_bridge_enabled = 0
		settings.save()
		self.addCleanup(frappe.cache.delete_value, jobs.SINCE_KEY)

	def cpe(self, serial, **kw):
		doc = cpe_documents.xx230v_document(serial, last_inform=datetime.now(UTC), **kw)
		self.peer.add_devices([doc])
		return doc
