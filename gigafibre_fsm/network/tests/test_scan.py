"""Label scans in a real bench against a fake Gemini generateContent peer: the scan names
the equipment and fills the job's equipment rows once; a slow model is a clear timeout; an
unreadable or ambiguous label is an error, never a guess; technicians scan into their own
jobs only."""

from __future__ import annotations

import base64
import os

import frappe

from gigafibre_fsm.api import network as api
from gigafibre_fsm.fakepeers.gemini import FakeGemini
from gigafibre_fsm.network import scan
from gigafibre_fsm.test_utils import make_job, make_technician, make_user, settings_for_update, unique
from gigafibre_fsm.testing import IntegrationTestCase


def photo() -> bytes:
	return b"\xff\xd8\xff\xe0" + unique("label").encode() * 8


def as_data_url(data: bytes) -> str:
	return "data:image/jpeg;base64," + base64.b64encode(data).decode()


class TestScanLabel(IntegrationTestCase):
	def setUp(self):
		frappe.set_user("Administrator")
		self.peer = FakeGemini(api_key="gem-key").start()
		self.addCleanup(self.peer.stop)
		settings = settings_for_update()
		settings.vision_api_base = self.peer.url
		settings.vision_api_key = "gem-key"
		settings.vision_model = "gemini-2.5-flash"
		settings.vision_timeout = 8
		settings.save()
		self.serial = unique("2235").upper().replace("-", "")
		self.mac = "a0:b1:c2:" + ":".join(f"{b:02x}" for b in os.urandom(3))
		self.eqp = frappe.get_doc(
			{
				"doctype": "Service Equipment",
				"equipment_type": "ONT",
				"serial_no": self.serial,
				"mac_address": self.mac,
				"status": "Inventory",
			}
		).insert(ignore_permissions=True)

	def label(self, **fields) -> bytes:
		image = photo()
		self.peer.add_label(
			image,
			{
				"barcodes": [{"format": "CODE128", "value": self.serial}],
				"fields": {"model": "XX230v", **fields},
			},
		)
		return image

	def test_a_scan_fills_the_jobs_equipment_once(self):
		job = make_job(job_type="Installation")
		image = self.label(serial=self.serial.lower(), mac=self.mac.upper().replace(":", "-"))
		answer = api.scan_label(as_data_url(image), job.name)
		self.assertEqual(answer["equipment"]["name"], self.eqp.name)
		self.assertEqual([h["kind"] for h in answer["matched_by"]], ["serial", "mac"])
		self.assertTrue(answer["job"]["added"])
		rows = frappe.get_doc("Dispatch Job", job.name).equipment
		self.assertEqual(
			[(r.action, r.equipment, r.serial_no) for r in rows], [("Installed", self.eqp.name, self.serial)]
		)
		again = api.scan_label(base64.b64encode(image).decode(), job.name)  # the offline queue retries
		self.assertFalse(again["job"]["added"])
		self.assertEqual(len(frappe.get_doc("Dispatch Job", job.name).equipment), 1)
		body = self.peer.calls[-1]
		self.assertEqual(body["generationConfig"]["responseMimeType"], "application/json")

	def test_an_unknown_device_is_recorded_by_its_serial(self):
		job = make_job(job_type="Removal")
		image = photo()
		self.peer.add_label(image, {"barcodes": [], "fields": {"gpon_serial": "HWTC1A2B3C4D"}})
		answer = api.scan_label(as_data_url(image), job.name)
		self.assertIsNone(answer["equipment"])
		row = frappe.get_doc("Dispatch Job", job.name).equipment[0]
		self.assertEqual((row.action, row.equipment, row.serial_no), ("Removed", None, "HWTC1A2B3C4D"))

	def test_a_slow_model_is_a_clear_timeout(self):
		settings = settings_for_update()
		settings.vision_timeout = 1
		settings.save()
		self.peer.delay = 4
		job = make_job()
		with self.assertRaises(scan.ScanTimeoutError) as caught:
			api.scan_label(as_data_url(self.label(serial=self.serial)), job.name)
		frappe.clear_messages()
		self.assertIn("1", str(caught.exception))
		self.assertEqual(caught.exception.http_status_code, 504)
		self.assertEqual(frappe.get_doc("Dispatch Job", job.name).equipment, [])

	def test_unreadable_or_ambiguous_labels_are_errors(self):
		job = make_job()
		bad = photo()
		self.peer.add_label(bad, {"barcodes": [], "fields": {"mac": "A0:B1:C2:D3:E4"}})
		with self.assertRaises(scan.ScanUnreadableError):
			api.scan_label(as_data_url(bad), job.name)
		empty = photo()  # the fake reads nothing on an unknown photo
		with self.assertRaises(scan.ScanUnreadableError):
			api.scan_label(as_data_url(empty), job.name)
		other = frappe.get_doc(
			{"doctype": "Service Equipment", "equipment_type": "Modem", "serial_no": unique("OTHER")}
		).insert(ignore_permissions=True)
		from gigafibre_fsm.exceptions import ConflictError

		with self.assertRaises(ConflictError):
			api.scan_label(as_data_url(self.label(serial=other.serial_no, mac=self.mac)), job.name)
		with self.assertRaises(frappe.ValidationError):
			api.scan_label("not a photo", job.name)
		frappe.clear_messages()
		self.assertEqual(frappe.get_doc("Dispatch Job", job.name).equipment, [])

	def test_technicians_scan_into_their_own_jobs_only(self):
		user = make_user(["Technician"]).name
		tech = make_technician(user=user).name
		mine = make_job(technician=tech, status="Assigned")
		theirs = make_job(technician=make_technician().name, status="Assigned")
		image = self.label(serial=self.serial)
		frappe.set_user(user)
		try:
			self.assertTrue(api.scan_label(as_data_url(image), mine.name)["job"]["added"])
			with self.assertRaises(frappe.PermissionError):
				api.scan_label(as_data_url(image), theirs.name)
			self.assertEqual(api.scan_label(as_data_url(image))["equipment"]["name"], self.eqp.name)
		finally:
			frappe.set_user("Administrator")
		frappe.clear_messages()
		self.assertEqual(len(frappe.get_doc("Dispatch Job", mine.name).equipment), 1)
		self.assertEqual(frappe.get_doc("Dispatch Job", theirs.name).equipment, [])
