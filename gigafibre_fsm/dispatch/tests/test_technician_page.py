"""The technician page /t/<token>: its guest endpoints, then the page in headless Chromium.

The browser test serves the site's WSGI app (``frappe.app.application``) from a
thread of this process on 127.0.0.1 (werkzeug's ``make_server``); the site is named
by the ``X-Frappe-Site-Name`` header a small wrapper adds, as a proxy would. The data
it must see is committed first (the server threads have their own connections).
"""

import base64
import io
import threading
import time
import uuid
from datetime import datetime
from datetime import time as dtime
from unittest import mock

import frappe
from frappe.utils import add_days, getdate, now_datetime

from gigafibre_fsm.api import technician as api
from gigafibre_fsm.core import tokens
from gigafibre_fsm.dispatch import links, offer_pool, technician_page
from gigafibre_fsm.settings import get_settings
from gigafibre_fsm.test_utils import make_customer, make_job, make_location, make_technician
from gigafibre_fsm.testing import IntegrationTestCase
from gigafibre_fsm.testing_http import chromium_missing, launch_chromium, serve_site


def at(day_offset: int, hour: int, minute: int = 0) -> datetime:
	return datetime.combine(add_days(getdate(), day_offset), dtime(hour, minute))


def png_bytes(size=(4, 3)) -> bytes:
	from PIL import Image

	buf = io.BytesIO()
	Image.new("RGB", size, (200, 30, 30)).save(buf, format="PNG")
	return buf.getvalue()


def data_url(content: bytes, mime="image/png") -> str:
	return f"data:{mime};base64,{base64.b64encode(content).decode()}"


def assigned_job(tech, day_offset=1, hour=9, **kw):
	customer = make_customer()
	loc = make_location(customer=customer.name)
	return make_job(
		technician=tech.name,
		status=kw.pop("status", "Assigned"),
		scheduled_start=at(day_offset, hour),
		customer=customer.name,
		service_location=loc.name,
		checklist=[{"item": "Test du signal"}, {"item": "Photo du boîtier"}],
		**kw,
	)


def action(kind, **kw) -> dict:
	return {"id": str(uuid.uuid4()), "type": kind, **kw}


class TestTechnicianEndpoints(IntegrationTestCase):
	def test_refused_links_get_one_message(self):
		tech = make_technician()
		secret = get_settings().token_secret
		good = links.issue(tech.name)
		payload, signature = good.split(".")
		forged = f"{payload}.{'A' * len(signature)}"
		expired = tokens.issue(secret, subject=tech.name, scope="technician", now=0, ttl=60, version=0)
		wrong_scope = tokens.issue(
			secret, subject=tech.name, scope="contract", now=time.time(), ttl=60, version=0
		)
		self.assertEqual(api.get_jobs(good)["technician"]["name"], tech.name)
		links.revoke(tech.name)
		messages = set()
		for bad in (good, forged, expired, wrong_scope, "not-a-token", ""):
			for call in (
				lambda t: api.get_jobs(t),
				lambda t: api.act(t, action("add_note", job="DJ-00000", note="x")),
			):
				with self.assertRaises(technician_page.TechnicianLinkError) as caught:
					call(bad)
				self.assertIsInstance(caught.exception, frappe.PermissionError)
				messages.add(str(caught.exception))
		self.assertEqual(len(messages), 1, messages)
		frappe.clear_messages()

	def test_a_technician_sees_only_their_own_jobs_and_offers(self):
		me, other = make_technician(), make_technician()
		mine = assigned_job(me)
		today = assigned_job(me, day_offset=0, hour=10, status="On Site")
		done_today = assigned_job(me, day_offset=0, hour=8, status="Completed", actual_end=now_datetime())
		done_before = assigned_job(me, day_offset=-1, hour=8, status="Completed", actual_end=at(-1, 9))
		cancelled = assigned_job(me, status="Cancelled")
		far = assigned_job(me, day_offset=60)
		theirs = assigned_job(other)
		offered = make_job(service_location=make_location().name)
		(my_offer,) = offer_pool.offer_job(offered.name, "Targeted", [me.name])["offers"]
		elsewhere = make_job()
		offer_pool.offer_job(elsewhere.name, "Targeted", [other.name])

		data = api.get_jobs(links.issue(me.name))
		names = [j["name"] for j in data["jobs"]]
		self.assertEqual(set(names), {mine.name, today.name, done_today.name})
		for absent in (done_before, cancelled, far, theirs):
			self.assertNotIn(absent.name, names)
		self.assertEqual([o["name"] for o in data["offers"]], [my_offer])
		self.assertNotIn("customer_name", data["offers"][0])  # the customer comes with the job

		job = next(j for j in data["jobs"] if j["name"] == mine.name)
		self.assertEqual(
			set(job),
			{
				"name",
				"subject",
				"job_type",
				"status",
				"priority",
				"duration_minutes",
				"window_start",
				"window_end",
				"scheduled_start",
				"scheduled_end",
				"customer_name",
				"address_line",
				"city",
				"postal_code",
				"latitude",
				"longitude",
				"access_notes",
				"checklist",
				"notes",
				"photo_count",
				"next_statuses",
			},
		)
		self.assertEqual(job["next_statuses"], ["En Route", "On Site"])
		self.assertEqual([c["item"] for c in job["checklist"]], ["Test du signal", "Photo du boîtier"])
		self.assertEqual(job["city"], "Sainte-Clotilde")

		with self.assertRaises(frappe.PermissionError):
			api.act(links.issue(me.name), action("set_status", job=theirs.name, status="En Route"))
		with self.assertRaises(frappe.PermissionError):
			api.act(links.issue(me.name), action("add_note", job=theirs.name, note="pas à moi"))
		self.assertFalse(frappe.db.get_value("Dispatch Job", theirs.name, "notes"))

	def test_a_replayed_action_applies_once(self):
		tech = make_technician()
		job = assigned_job(tech)
		token = links.issue(tech.name)
		note = action("add_note", job=job.name, note="Chien dans la cour")
		first = api.act(token, note)
		self.assertFalse(first["replayed"])
		frappe.db.commit()  # the result is kept once the change is committed
		again = api.act(token, dict(note))
		self.assertTrue(again["replayed"])
		self.assertEqual(again["result"], first["result"])
		self.assertEqual(
			frappe.db.get_value("Dispatch Job", job.name, "notes").count("Chien dans la cour"), 1
		)

		en_route = action("set_status", job=job.name, status="En Route")
		self.assertEqual(api.act(token, en_route)["result"]["status"], "En Route")
		frappe.db.commit()
		api.act(token, action("set_status", job=job.name, status="On Site"))
		frappe.db.commit()
		replay = api.act(token, en_route)  # an old action replayed late changes nothing
		self.assertEqual((replay["replayed"], replay["result"]["status"]), (True, "En Route"))
		self.assertEqual(frappe.db.get_value("Dispatch Job", job.name, "status"), "On Site")

	def test_a_failed_action_can_be_retried(self):
		tech = make_technician()
		job = assigned_job(tech)
		token = links.issue(tech.name)
		bad = action("set_status", job=job.name, status="Completed")  # Assigned → Completed is illegal
		with self.assertRaises(frappe.ValidationError):
			api.act(token, bad)
		api.act(token, action("set_status", job=job.name, status="On Site"))
		self.assertFalse(api.act(token, bad)["replayed"])  # refused once, not remembered as done

	def test_two_replays_racing_apply_once(self):
		tech = make_technician()
		job = assigned_job(tech)
		frappe.db.commit()
		token = links.issue(tech.name)
		note = action("add_note", job=job.name, note="Deux envois en même temps")
		site, answers, errors = frappe.local.site, [], []
		barrier = threading.Barrier(6)

		def replay():
			try:
				frappe.init(site=site)
				frappe.connect()
				barrier.wait(30)
				try:
					answers.append(api.act(token, dict(note)))
					frappe.db.commit()
				except technician_page.ActionInProgressError:
					frappe.db.rollback()
					answers.append("in progress")
			except Exception as e:
				errors.append(repr(e))
			finally:
				frappe.destroy()

		threads = [threading.Thread(target=replay) for _ in range(6)]
		for t in threads:
			t.start()
		for t in threads:
			t.join(60)
		self.assertEqual(errors, [])
		applied = [a for a in answers if isinstance(a, dict) and not a["replayed"]]
		self.assertEqual(len(applied), 1, answers)
		frappe.db.rollback()
		self.assertEqual(
			frappe.db.get_value("Dispatch Job", job.name, "notes").count("Deux envois en même temps"), 1
		)
		# Once it is settled, a late replay gets the first result back.
		self.assertTrue(api.act(token, dict(note))["replayed"])

	def test_photos_are_private_files_on_the_job(self):
		tech = make_technician()
		job = assigned_job(tech)
		token = links.issue(tech.name)
		for bad in (
			"data:text/plain;base64,aGVsbG8=",
			data_url(b"not really a png"),
			data_url(png_bytes(), mime="image/jpeg"),  # the bytes must match the type
			"https://example.com/x.png",
		):
			with self.assertRaises(frappe.ValidationError):
				api.act(token, action("add_photo", job=job.name, photo=bad))
		with mock.patch.object(technician_page, "MAX_PHOTO_BYTES", 10):
			with self.assertRaises(frappe.ValidationError):
				api.act(token, action("add_photo", job=job.name, photo=data_url(png_bytes())))
		result = api.act(
			token, action("add_photo", job=job.name, photo=data_url(png_bytes()), note="Boîtier")
		)
		file = frappe.get_doc("File", result["result"]["file"])
		self.assertEqual((file.is_private, file.attached_to_name), (1, job.name))
		photos = frappe.get_doc("Dispatch Job", job.name).photos
		self.assertEqual([(p.image, p.note) for p in photos], [(file.file_url, "Boîtier")])
		self.assertTrue(photos[0].taken_at)

	def test_offers_are_accepted_or_declined_with_a_reason(self):
		tech = make_technician()
		token = links.issue(tech.name)
		first, second = make_job(), make_job()
		(offer1,) = offer_pool.offer_job(first.name, "Targeted", [tech.name])["offers"]
		(offer2,) = offer_pool.offer_job(second.name, "Targeted", [tech.name])["offers"]
		accepted = api.act(token, action("accept_offer", offer=offer1))
		self.assertEqual(accepted["result"]["job"], first.name)
		self.assertEqual(frappe.db.get_value("Dispatch Job", first.name, "technician"), tech.name)
		with self.assertRaises(frappe.ValidationError):
			api.act(token, action("decline_offer", offer=offer2, reason="  "))
		api.act(token, action("decline_offer", offer=offer2, reason="Trop loin"))
		self.assertEqual(
			frappe.db.get_value("Dispatch Offer", offer2, ["status", "decline_reason"]),
			("Declined", "Trop loin"),
		)
		data = api.get_jobs(token)
		self.assertEqual(data["offers"], [])
		self.assertIn(first.name, [j["name"] for j in data["jobs"]])

	def test_bad_actions_are_refused(self):
		tech = make_technician()
		job = assigned_job(tech)
		token = links.issue(tech.name)
		for bad in (
			{"type": "add_note", "job": job.name, "note": "x"},  # no id
			action("delete_job", job=job.name),
			action("set_status", job=job.name, status="Cancelled"),  # the dispatcher's call
			action("add_note", job=job.name, note="   "),
			action("add_note", note="x"),
		):
			with self.assertRaises(frappe.ValidationError):
				api.act(token, bad)


class TestTechnicianPageInBrowser(IntegrationTestCase):
	def fresh(self, field, job):
		frappe.db.commit()  # end this connection's snapshot: see what the server committed
		return frappe.db.get_value("Dispatch Job", job, field)

	def wait_for(self, check, timeout=15.0):
		deadline = time.monotonic() + timeout
		while True:
			value = check()
			if value or time.monotonic() > deadline:
				return value
			time.sleep(0.2)

	def test_page_moves_a_job_and_replays_offline_actions_once(self):
		missing = chromium_missing()
		if missing:
			self.skipTest(f"browser test skipped: {missing}")
		from playwright.sync_api import expect, sync_playwright

		tech = make_technician()
		job = assigned_job(tech, day_offset=0, hour=10, subject="Installation fibre rue Principale")
		token = links.issue(tech.name)
		frappe.db.commit()  # the server threads read with their own connections

		with serve_site(frappe.local.site) as base, sync_playwright() as pw:
			browser = launch_chromium(pw)
			try:
				context = browser.new_context(locale="fr-CA")
				page = context.new_page()
				page_errors = []
				page.on("pageerror", lambda e: page_errors.append(str(e)))

				page.goto(f"{base}/t/{token}")
				card = page.locator(f'[data-testid="job"][data-job="{job.name}"]')
				expect(card).to_be_visible(timeout=15000)
				expect(card).to_contain_text("Installation fibre rue Principale")
				expect(card.locator('[data-testid="job-status"]')).to_have_text("Assigné")

				card.locator('[data-testid="status-button"][data-status="En Route"]').click()
				self.assertEqual(self.wait_for(lambda: self.fresh("status", job.name) == "En Route"), True)
				expect(card.locator('[data-testid="job-status"]')).to_have_text("En route", timeout=15000)
				pending = page.locator('[data-testid="pending-count"]')
				expect(pending).to_have_text("0")

				context.set_offline(True)
				card.locator('[data-testid="note-open"]').click()
				card.locator('[data-testid="note-input"]').fill("Client absent, laissé un avis")
				card.locator('[data-testid="note-save"]').click()
				expect(pending).to_have_text("1")
				expect(card.locator('[data-testid="job-notes"]')).to_contain_text("Client absent")
				(queued,) = page.evaluate("() => window.gfTech.outbox()")
				self.assertEqual((queued["type"], queued["job"]), ("add_note", job.name))
				time.sleep(1)
				self.assertFalse(self.fresh("notes", job.name))

				context.set_offline(False)  # the "online" event replays the outbox
				page.evaluate("() => window.gfTech.flush()")  # and a second replay on top
				expect(pending).to_have_text("0", timeout=20000)
				notes = self.wait_for(lambda: self.fresh("notes", job.name))
				self.assertEqual(notes.count("Client absent, laissé un avis"), 1)

				# The same action sent once more (another tab, a retry after a lost answer).
				again = page.evaluate(
					"""([token, action]) => fetch('/api/method/gigafibre_fsm.api.technician.act', {
						method: 'POST',
						headers: {'Content-Type': 'application/json', 'Accept': 'application/json'},
						body: JSON.stringify({token, action}),
					}).then(r => r.json())""",
					[token, queued],
				)
				self.assertTrue(again["message"]["replayed"])
				self.assertEqual(self.fresh("notes", job.name).count("Client absent, laissé un avis"), 1)

				# A photo from the camera input: scaled on the phone, sent as a private file.
				card.locator('[data-testid="photo-input"]').set_input_files(
					files=[{"name": "boitier.png", "mimeType": "image/png", "buffer": png_bytes((40, 30))}]
				)
				self.wait_for(
					lambda: frappe.db.commit() or frappe.db.count("Dispatch Job Photo", {"parent": job.name})
				)
				photos = frappe.get_all("Dispatch Job Photo", filters={"parent": job.name}, fields=["image"])
				self.assertEqual(len(photos), 1)
				self.assertTrue(photos[0].image.startswith("/private/files/"))
				expect(pending).to_have_text("0", timeout=15000)

				# A revoked link: the page says so, in both languages, and nothing else.
				links.revoke(tech.name)
				frappe.db.commit()
				refused = page.evaluate(
					"""(token) => fetch('/api/method/gigafibre_fsm.api.technician.get_jobs?token='
						+ encodeURIComponent(token), {headers: {Accept: 'application/json'}})
						.then(async r => [r.status, (await r.json()).exc_type])""",
					token,
				)
				self.assertEqual(refused, [403, "TechnicianLinkError"])
				page.evaluate("() => window.gfTech.refresh()")  # the open page notices too
				expect(page.locator('[data-testid="link-expired"]')).to_be_visible()
				self.assertEqual(page.locator('[data-testid="job"]').count(), 0)
				page.goto(f"{base}/t/{token}")
				expect(page.locator('[data-testid="link-expired"]')).to_contain_text("Lien expiré")
				expect(page.locator('[data-testid="link-expired"]')).to_contain_text("Link expired")
				self.assertNotIn(job.name, page.content())
				self.assertEqual(page_errors, [])
			finally:
				browser.close()
