"""The desk screens in a real browser (see desk_browser.DeskBrowserCase): each test acts as a
person would and asserts what changed on the server."""

from datetime import datetime, timedelta

import frappe
from frappe.utils import get_datetime, getdate

from gigafibre_fsm.gigafibre_integrations import demo
from gigafibre_fsm.gigafibre_integrations.tests.desk_browser import DeskBrowserCase, next_weekday
from gigafibre_fsm.test_utils import make_job, make_technician


class TestDeskInBrowser(DeskBrowserCase):
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
		# both charts drawn (the widgets' own requests done first: on PostgreSQL two refreshes
		# of one chart at once collide on Frappe's update of its last_synced_on)
		charts = page.locator(".widget.dashboard-widget-box")
		expect(charts).to_have_count(2)
		page.mouse.wheel(0, 900)
		for n in range(2):
			expect(charts.nth(n).locator("svg.frappe-chart")).to_be_visible(timeout=60_000)
		page.wait_for_timeout(1500)  # frappe-charts grows its bars from the axis
		# and they have data on the demo, asked as the widget asks (refresh: not the cache)
		labels = {}
		for chart in ("Jobs Completed per Day", "Optical Alarms per OLT"):
			data = page.evaluate(
				"""(name) => frappe.xcall("frappe.desk.doctype.dashboard_chart.dashboard_chart.get",
					{chart_name: name, refresh: 1})""",
				chart,
			)
			values = (data or {}).get("datasets", [{}])[0].get("values", [])
			self.assertGreater(sum(values), 0, f"{chart}: {data}")
			labels[chart] = (data or {}).get("labels", [])
		# the OLT chart is one bar split by OLT (the five with most alarms, the others as one
		# grey "Rest" slice, so it stays readable at 30 OLTs), its legend naming each OLT whole
		olts = labels["Optical Alarms per OLT"]
		counts = dict(zip(olts, values, strict=True))  # the OLT chart's, asked last
		legend = page.locator('[chart_name="Optical Alarms per OLT"] svg.frappe-chart .legend-dataset-label')
		expect(legend).to_have_count(min(len(olts), 6), timeout=60_000)
		named = legend.all_text_contents()
		if len(olts) > 6:
			self.assertEqual(named[-1], "Rest")
			named = named[:-1]
			fifth = sorted(counts.values(), reverse=True)[4]
			# the five with most alarms (any of those tied with the fifth), each named whole
			self.assertTrue(all(counts.get(n, -1) >= fifth for n in named), (named, counts))
		self.assertEqual(len(set(named)), len(named))
		self.assertTrue(set(named) <= set(olts), (named, olts))
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
		page, row = self.open_board_on(tech.name, day, "Équipe test")
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
