"""The desk screens in a real browser (Playwright driving Debian's /usr/bin/chromium) against
the site served from this process with its built assets, on the demo ISP and the fake peers
the package ships (GenieACS NBI, snmpd OLT agents, TP-Link, Traccar: loopback servers that
speak those systems' documented APIs). Each test acts as a person would and asserts what
changed on the server. Screenshots go to $GF_SCREENSHOTS (default /tmp/gf-desk-screens)."""

import os
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta

import frappe
from frappe.utils import add_days, get_datetime, getdate
from frappe.utils.password import update_password

from gigafibre_fsm.gigafibre_integrations import demo, demo_peers
from gigafibre_fsm.test_utils import (
	chromium_missing,
	free_port,
	launch_chromium,
	make_job,
	make_technician,
	make_user,
	settings_for_update,
)
from gigafibre_fsm.testing import IntegrationTestCase

SHOTS = os.environ.get("GF_SCREENSHOTS", "/tmp/gf-desk-screens")
PASSWORD = "Gf-desk-Test-2026!"
SETTINGS = ("genieacs_nbi_url", "traccar_url", "modem_bridge_enabled", "snmp_timeout", "snmp_retries")
# Console noise that is not a fault of these pages: the realtime socket (no socket.io server in
# this test) and the HTTP status of a refusal the page shows in place (409/417 by design).
NOISE = ("socket.io", "ERR_CONNECTION_REFUSED", "status of 409", "status of 417", "WebSocket")


@contextmanager
def serve_desk(site: str):
	"""The site's WSGI app with /assets and /files (as `bench serve`), on 127.0.0.1:<port>."""
	from unittest import mock

	import frappe.app
	from frappe.middlewares import StaticDataMiddleware
	from werkzeug.middleware.shared_data import SharedDataMiddleware
	from werkzeug.serving import WSGIRequestHandler, make_server

	class QuietHandler(WSGIRequestHandler):
		def log_request(self, *args, **kwargs):
			pass

	sites = os.path.abspath(frappe.local.sites_path)

	def app(environ, start_response):
		environ["HTTP_X_FRAPPE_SITE_NAME"] = site
		return frappe.app.application(environ, start_response)

	wrapped = SharedDataMiddleware(app, {"/assets": os.path.join(sites, "assets")})
	wrapped = StaticDataMiddleware(wrapped, {"/files": sites})
	port = free_port()
	server = make_server("127.0.0.1", port, wrapped, threaded=True, request_handler=QuietHandler)
	thread = threading.Thread(target=server.serve_forever, daemon=True)
	with mock.patch.object(frappe.app, "_sites_path", sites):
		thread.start()
		try:
			yield f"http://127.0.0.1:{port}"
		finally:
			server.shutdown()
			thread.join(10)


def next_weekday(days: int = 1):
	day = add_days(getdate(), days)
	while day.weekday() >= 5:
		day = add_days(day, 1)
	return day


class TestDeskInBrowser(IntegrationTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.missing = chromium_missing()
		if cls.missing:
			return
		os.makedirs(SHOTS, exist_ok=True)
		cls.own_demo = not demo.read_manifest()
		if cls.own_demo:
			demo.load(customers=30, technicians=4, force=True)
		settings = settings_for_update()
		cls.saved_settings = {f: settings.get(f) for f in SETTINGS}
		frappe.db.commit()
		cls.peers = demo_peers.start()
		cls.users = {}
		for key, roles, lang in (
			("dispatcher", ["Dispatcher"], "en"),
			("manager", ["FSM Manager", "Dispatcher"], "fr"),
			("service", ["Customer Service", "Sales User", "Support Team"], "fr"),
			("service_en", ["Customer Service", "Sales User", "Support Team"], "en"),
		):
			user = make_user(roles)
			frappe.db.set_value("User", user.name, "language", lang)
			update_password(user.name, PASSWORD)
			cls.users[key] = user.name
		frappe.db.commit()
		cls.server = serve_desk(frappe.local.site)
		cls.base = cls.server.__enter__()
		from playwright.sync_api import sync_playwright

		cls.pw = sync_playwright().start()
		cls.browser = launch_chromium(cls.pw)

	@classmethod
	def tearDownClass(cls):
		if not cls.missing:
			cls.browser.close()
			cls.pw.stop()
			cls.server.__exit__(None, None, None)
			cls.peers.stop()
			settings = settings_for_update()
			settings.update(cls.saved_settings)
			settings.save()
			if cls.own_demo and demo.read_manifest():
				demo.remove()
			frappe.db.commit()
		super().tearDownClass()

	def setUp(self):
		if self.missing:
			self.skipTest(f"browser test skipped: {self.missing}")

	# -- helpers

	def open_as(self, who: str, path: str, width: int = 1440):
		french = frappe.db.get_value("User", self.users[who], "language") == "fr"
		context = self.browser.new_context(
			viewport={"width": width, "height": 900}, locale="fr-CA" if french else "en-CA"
		)
		context.set_default_timeout(90_000)
		r = context.request.post(
			f"{self.base}/api/method/login", form={"usr": self.users[who], "pwd": PASSWORD}, timeout=90_000
		)
		self.assertEqual(r.status, 200, r.text()[:300])
		page = context.new_page()
		self.errors = []
		page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
		page.on(
			"console",
			lambda m: self.errors.append(f"console: {m.text} ({m.location.get('url')})")
			if m.type == "error"
			else None,
		)
		page.on(
			"response",
			lambda r: self.errors.append(f"http {r.status} {r.request.method} {r.url}")
			if r.status >= 400 and r.status not in (409, 417)
			else None,
		)
		self.addCleanup(context.close)
		page.goto(f"{self.base}{path}", wait_until="domcontentloaded", timeout=120_000)
		return page

	def assert_no_console_errors(self, expected: tuple[str, ...] = ()):
		"""No console error but the realtime socket's and, with ``expected``, the server's
		traceback of a refusal the test provoked (Frappe logs what it receives)."""
		real = [e for e in self.errors if not any(n in e for n in (*NOISE, *expected))]
		self.assertEqual(real, [])

	def shot(self, page, name: str):
		page.wait_for_timeout(400)
		page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=False)

	def fresh(self, doctype, name, fields):
		frappe.db.commit()  # end this connection's snapshot: read what the server committed
		return frappe.db.get_value(doctype, name, fields, as_dict=True)

	def wait_for(self, check, timeout=30.0):
		deadline = time.monotonic() + timeout
		while True:
			value = check()
			if value or time.monotonic() > deadline:
				return value
			time.sleep(0.3)

	# -- the tests

	def test_workspace_loads_its_cards(self):
		from playwright.sync_api import expect

		page = self.open_as("manager", "/app/gigafibre")
		cards = page.locator(".number-widget-box")
		expect(cards).to_have_count(6, timeout=120_000)
		expect(cards.first.locator(".number")).to_be_visible(timeout=60_000)
		expect(page.locator(".widget.shortcut-widget-box").first).to_be_visible()
		offers_open = frappe.db.count("Dispatch Offer", {"status": "Open"})
		card = page.locator(".number-widget-box", has_text="Offres ouvertes")
		expect(card.locator(".number")).to_have_text(str(offers_open), timeout=60_000)
		self.shot(page, "workspace-fr")
		self.assert_no_console_errors()

	def test_drag_assign_refuse_and_publish_on_the_board(self):
		from playwright.sync_api import expect

		day = next_weekday()
		tech = make_technician(skills={"Fibre": 3}, day=getdate())
		customer = demo.read_manifest()["documents"]["Customer"][0]
		ok_job = make_job(subject="Remplacer le boîtier (test)", customer=customer, status="Draft")
		forbidden = make_job(
			subject="Travail en nacelle (test)", customer=customer, status="Draft", skills={"Nacelle": 5}
		)
		planned = make_job(subject="Vérifier le signal (test)", customer=customer, status="Draft")
		group = frappe.get_doc(
			{
				"doctype": "Dispatch Preset",
				"preset_name": f"Équipe test {tech.name}",
				"preset_type": "Resource Group",
				"technicians": [{"technician": tech.name}],
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()

		page = self.open_as("dispatcher", "/app/dispatch-board")
		expect(page.locator('[data-testid="technician-row"]').first).to_be_visible(timeout=120_000)
		page.locator('[data-testid="view-day"]').click()
		page.locator('[data-testid="group-filter"]').select_option(group.name)  # the preset group filter
		for _ in range((day - getdate()).days):
			page.get_by_title("Next").click()
		row = page.locator(f'[data-testid="technician-row"][data-technician="{tech.name}"]')
		expect(row).to_be_visible()
		expect(page.locator('[data-testid="technician-row"]')).to_have_count(1)
		track = row.locator('[data-testid="track"]')
		box = track.bounding_box()

		def drop(job, hour):
			card = page.locator(f'[data-testid="unassigned-job"][data-job="{job}"]')
			expect(card).to_be_visible()
			x = box["width"] * (hour - 7) / 13 + 1
			card.drag_to(track, target_position={"x": x, "y": box["height"] / 2})

		drop(ok_job.name, 10)
		placed = row.locator(f'[data-testid="job"][data-job="{ok_job.name}"], [data-testid="refusal"]')
		expect(placed.first).to_be_visible(timeout=60_000)
		self.shot(page, "board-assigned-en")
		expect(row.locator('[data-testid="refusal"]')).to_have_count(0)
		expect(row.locator(f'[data-testid="job"][data-job="{ok_job.name}"]')).to_be_visible()
		saved = self.fresh("Dispatch Job", ok_job.name, ["technician", "status", "scheduled_start"])
		self.assertEqual((saved.technician, saved.status), (tech.name, "Assigned"))
		self.assertEqual(
			get_datetime(saved.scheduled_start),
			datetime.combine(day, datetime.min.time()) + timedelta(hours=10),
		)

		drop(forbidden.name, 14)
		refusal = row.locator('[data-testid="refusal"]')
		expect(refusal).to_be_visible(timeout=60_000)
		expect(refusal).to_contain_text("Nacelle")
		self.shot(page, "board-refusal-en")
		self.assertIsNone(self.fresh("Dispatch Job", forbidden.name, ["technician"]).technician)

		page.locator(
			f'[data-testid="unassigned-job"][data-job="{forbidden.name}"] [data-testid="suggest"]'
		).click()
		dialog = page.locator(".modal.show")
		expect(dialog).to_contain_text("Suggested slots", timeout=60_000)
		page.wait_for_timeout(1500)
		self.shot(page, "board-suggest-en")
		dialog.locator(".btn-modal-close").first.click()

		page.locator('[data-testid="planning-toggle"]').click()
		drop(planned.name, 15)
		expect(row.locator(f'[data-testid="draft"][data-job="{planned.name}"]')).to_be_visible()
		plan = self.wait_for(
			lambda: frappe.db.commit()
			or frappe.db.get_value("Dispatch Plan Item", {"job": planned.name}, "parent")
		)
		self.assertTrue(plan, "the draft plan was saved")
		self.assertIsNone(self.fresh("Dispatch Job", planned.name, ["technician"]).technician)  # invisible
		self.shot(page, "board-planning-en")
		page.locator('[data-testid="publish"]').click()
		dialog = page.locator(".modal.show")
		expect(dialog).to_contain_text(tech.technician_name)
		dialog.locator(".btn-modal-primary").click()
		expect(row.locator(f'[data-testid="job"][data-job="{planned.name}"]')).to_be_visible(timeout=60_000)
		self.assertEqual(self.fresh("Dispatch Plan", plan, ["status"]).status, "Published")
		self.assertEqual(self.fresh("Dispatch Job", planned.name, ["technician"]).technician, tech.name)
		page.locator('[data-testid="view-week"]').click()
		expect(page.locator('[data-testid="job"]').first).to_be_visible()
		self.shot(page, "board-week-en")
		self.assert_no_console_errors(expected=("lacks skill Nacelle",))

	def test_board_in_french(self):
		from playwright.sync_api import expect

		page = self.open_as("manager", "/app/dispatch-board")
		expect(page.locator('[data-testid="technician-row"]').first).to_be_visible(timeout=120_000)
		expect(page.locator('[data-testid="unassigned"]')).to_contain_text("Non assignées")
		self.shot(page, "board-day-fr")
		self.assert_no_console_errors()

	def diagnose_from_the_customer_form(self, who: str, lang: str):
		from playwright.sync_api import expect

		documents = demo.read_manifest()["documents"]
		ont = frappe.get_all(
			"Service Equipment",
			filters={
				"name": ["in", documents["Service Equipment"]],
				"equipment_type": "ONT",
				"last_online": 1,
				"ip_address": ["is", "not set"],
			},
			fields=["name", "customer"],
			order_by="name desc",
			limit=1,
		)[0]
		page = self.open_as(who, f"/app/customer/{ont.customer}")
		panel = page.locator('[data-testid="customer-360"]')
		expect(panel.locator(".gf-diagnose").first).to_be_visible(timeout=120_000)
		page.wait_for_timeout(800)
		self.shot(page, f"customer-360-{lang}")
		panel.locator(f'.gf-diagnose[data-equipment="{ont.name}"]').click()
		optical = page.locator('.modal.show [data-testid="optical"]')
		expect(optical).to_be_visible(timeout=90_000)
		rx = float(optical.get_attribute("data-rx"))
		diag = self.wait_for(
			lambda: frappe.db.commit()
			or frappe.db.get_value(
				"Service Equipment", ont.name, ["last_diagnostic", "last_rx_dbm"], as_dict=True
			)
		)
		stored = frappe.db.get_value("Device Diagnostic", diag.last_diagnostic, "rx_dbm")
		self.assertAlmostEqual(rx, stored, places=1)
		self.assertTrue(-40 < rx < 0)
		page.wait_for_timeout(600)
		self.shot(page, f"customer-diagnose-{lang}")
		self.assert_no_console_errors()

	def test_diagnose_from_the_customer_form_shows_optical_power(self):
		self.diagnose_from_the_customer_form("service", "fr")

	def test_diagnose_in_english(self):
		self.diagnose_from_the_customer_form("service_en", "en")
