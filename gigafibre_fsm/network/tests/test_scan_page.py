"""The technician page's label scan in headless Chromium: a scan taken offline waits in the
page's outbox, a scan that times out stays there and is retried, and each lands once on the
job it was taken for (the model behind it: a fake Gemini generateContent peer).

The site is served from threads of this process; what the server must see is committed
first, and the settings changed are put back."""

from __future__ import annotations

import io
import time
import uuid

import frappe

from gigafibre_fsm.dispatch import links
from gigafibre_fsm.fakepeers.gemini import FakeGemini
from gigafibre_fsm.test_utils import make_job, make_technician, settings_for_update, unique
from gigafibre_fsm.testing import IntegrationTestCase
from gigafibre_fsm.testing_http import chromium_missing, launch_chromium, serve_site

VISION = ("vision_api_base", "vision_timeout")


def jpeg_bytes() -> bytes:
	from PIL import Image

	buf = io.BytesIO()
	Image.new("RGB", (64, 48), (240, 240, 240)).save(buf, format="JPEG")
	return buf.getvalue()


class TestScanFromTheTechnicianPage(IntegrationTestCase):
	def setUp(self):
		missing = chromium_missing()
		if missing:
			self.skipTest(f"browser test skipped: {missing}")
		frappe.set_user("Administrator")
		settings = settings_for_update()
		before = {f: settings.get(f) for f in VISION}
		before["vision_api_key"] = settings.get_password("vision_api_key", raise_exception=False) or ""
		self.addCleanup(self._restore, before)
		self.peer = FakeGemini(api_key="page-gemini-key").start()
		self.addCleanup(self.peer.stop)
		settings.update(
			{"vision_api_base": self.peer.url, "vision_api_key": self.peer.api_key, "vision_timeout": 2}
		)
		settings.save()

	def _restore(self, before):
		settings = settings_for_update()
		settings.update({k: v or ("" if k != "vision_timeout" else 8) for k, v in before.items()})
		settings.save()
		frappe.db.commit()

	def rows(self, job: str) -> list:
		frappe.db.commit()  # a fresh snapshot: what the server committed
		return frappe.get_all(
			"Dispatch Job Equipment", filters={"parent": job}, fields=["equipment", "serial_no", "action"]
		)

	def wait_for(self, check, timeout=30.0):
		deadline = time.monotonic() + timeout
		while True:
			value = check()
			if value or time.monotonic() > deadline:
				return value
			time.sleep(0.3)

	def test_offline_and_timed_out_scans_are_replayed_once_into_their_job(self):
		from playwright.sync_api import expect, sync_playwright

		tech = make_technician()
		job = make_job(
			technician=tech.name, status="Assigned", job_type="Installation", subject=unique("Install")
		)
		serial = unique("2235").upper()
		eqp = frappe.get_doc(
			{"doctype": "Service Equipment", "equipment_type": "ONT", "serial_no": serial}
		).insert(ignore_permissions=True)
		# the page re-encodes the photo (scaled JPEG): the fake reads this label on any photo
		self.peer.default = {"barcodes": [{"value": serial}], "fields": {"serial": serial, "model": "XX230v"}}
		token = links.issue(tech.name)
		frappe.db.commit()

		with serve_site(frappe.local.site) as base, sync_playwright() as pw:
			browser = launch_chromium(pw)
			try:
				context = browser.new_context(locale="fr-CA")
				page = context.new_page()
				errors = []
				page.on("pageerror", lambda e: errors.append(str(e)))
				page.goto(f"{base}/t/{token}")
				card = page.locator(f'[data-testid="job"][data-job="{job.name}"]')
				expect(card).to_be_visible(timeout=20000)
				pending = page.locator('[data-testid="pending-count"]')

				# 1. offline: the scan waits in the outbox, nothing reaches the model
				context.set_offline(True)
				card.locator('[data-testid="scan-input"]').set_input_files(
					files=[{"name": "etiquette.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}]
				)
				expect(pending).to_have_text("1", timeout=15000)
				(queued,) = page.evaluate("() => window.gfTech.outbox()")
				self.assertEqual((queued["type"], queued["job"]), ("scan_label", job.name))
				# the photo waits in IndexedDB, named by the action (localStorage keeps the action)
				self.assertNotIn("photo", queued)
				self.assertEqual(queued["photo_ref"], queued["id"])
				photo = page.evaluate("(id) => window.gfTech.photo(id)", queued["id"])
				self.assertTrue(photo.startswith("data:image/jpeg;base64,"))
				self.assertEqual(self.peer.calls, [])

				# 2. back online but the model is too slow: a 504, the scan stays queued
				self.peer.delay = 4
				context.set_offline(False)
				page.evaluate("() => window.gfTech.flush()")
				self.assertTrue(self.wait_for(lambda: len(self.peer.requests) >= 1))
				time.sleep(3)
				expect(pending).to_have_text("1")
				self.assertEqual(self.rows(job.name), [])

				# 3. the model answers again: the retry lands once, on the job it was taken for
				self.peer.delay = 0
				page.goto(f"{base}/t/{token}")  # the technician moved on: the page reloads and replays
				expect(pending).to_have_text("0", timeout=30000)
				rows = self.wait_for(lambda: self.rows(job.name))
				self.assertEqual(
					[(r.equipment, r.serial_no, r.action) for r in rows], [(eqp.name, serial, "Installed")]
				)
				calls = len(self.peer.calls)
				self.assertIsNone(page.evaluate("(id) => window.gfTech.photo(id)", queued["id"]))
				sent = {k: v for k, v in queued.items() if k != "photo_ref"} | {"photo": photo}

				# 4. the same action once more (a lost answer, another tab): replayed, not re-read
				again = page.evaluate(
					"""([token, action]) => fetch('/api/method/gigafibre_fsm.api.technician.act', {
						method: 'POST',
						headers: {'Content-Type': 'application/json', 'Accept': 'application/json'},
						body: JSON.stringify({token, action}),
					}).then(r => r.json())""",
					[token, sent],
				)
				self.assertTrue(again["message"]["replayed"])
				self.assertEqual(len(self.peer.calls), calls)
				self.assertEqual(len(self.rows(job.name)), 1)

				# 5. an unreadable label is refused for good: dropped with a message, the outbox moves on
				self.peer.default = {"barcodes": [], "fields": {"mac": "not-a-mac"}}
				bad = {
					"id": str(uuid.uuid4()),
					"type": "scan_label",
					"job": job.name,
					"photo": photo,
				}
				status = page.evaluate(
					"""([token, action]) => fetch('/api/method/gigafibre_fsm.api.technician.act', {
						method: 'POST',
						headers: {'Content-Type': 'application/json', 'Accept': 'application/json'},
						body: JSON.stringify({token, action}),
					}).then(r => r.status)""",
					[token, bad],
				)
				self.assertEqual(status, 417)
				self.assertEqual(len(self.rows(job.name)), 1)
				self.assertEqual(errors, [])
			finally:
				browser.close()
