"""The dispatch board updates live: Frappe's realtime server (apps/frappe/socketio.js, node,
started by the test on a free port and reached through the desk's origin as nginx does in
production, see desk_browser.socketio_proxy) carries the list_update of an offer accepted by a
technician through the API; the dispatcher's open board shows the job on the technician's row
without a reload."""

from datetime import datetime, time

import frappe
import requests
from frappe.utils.password import update_password

from gigafibre_fsm.dispatch import offer_pool
from gigafibre_fsm.gigafibre_integrations import demo
from gigafibre_fsm.gigafibre_integrations.tests.desk_browser import PASSWORD, DeskBrowserCase, next_weekday
from gigafibre_fsm.test_utils import make_job, make_technician, make_user


class TestBoardLiveInBrowser(DeskBrowserCase):
	realtime = True

	def test_an_offer_accepted_elsewhere_appears_live(self):
		from playwright.sync_api import expect

		day = next_weekday()
		tech_user = make_user(["Technician"])
		update_password(tech_user.name, PASSWORD)
		tech = make_technician(day=frappe.utils.getdate(), user=tech_user.name)
		customer = demo.read_manifest()["documents"]["Customer"][0]
		job = make_job(
			subject="Réparation en direct (test)",
			customer=customer,
			status="Draft",
			scheduled_start=datetime.combine(day, time(10, 0)),
			window_start=datetime.combine(day, time(8, 0)),
			window_end=datetime.combine(day, time(12, 0)),
		)
		offer_pool.offer_job(job.name, "Targeted", [tech.name])
		offer = frappe.db.get_value("Dispatch Offer", {"job": job.name, "technician": tech.name})
		page, row = self.open_board_on(tech.name, day, "Équipe live")
		card = page.locator(f'[data-testid="unassigned-job"][data-job="{job.name}"]')
		expect(card).to_be_visible(timeout=60_000)
		page.wait_for_function(
			"() => frappe.realtime.socket && frappe.realtime.socket.connected", timeout=90_000
		)
		page.evaluate("() => { window.gf_same_page = true; }")
		page.wait_for_timeout(2000)  # the doctype_subscribe round trip (node asks the site)

		# the technician accepts through the API, from another session
		http = requests.Session()
		r = http.post(
			f"{self.base}/api/method/login", data={"usr": tech_user.name, "pwd": PASSWORD}, timeout=90
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		r = http.post(
			f"{self.base}/api/method/gigafibre_fsm.api.dispatch.accept_offer",
			data={"offer": offer},
			timeout=90,
		)
		self.assertEqual(r.status_code, 200, r.text[:500])
		self.assertEqual(self.fresh("Dispatch Job", job.name, ["technician"]).technician, tech.name)

		expect(row.locator(f'[data-testid="job"][data-job="{job.name}"]')).to_be_visible(timeout=60_000)
		expect(card).to_have_count(0)
		self.assertTrue(page.evaluate("() => window.gf_same_page === true"), "the board was not reloaded")
		self.shot(page, "board-live-accepted-en")
		self.assert_no_console_errors()
