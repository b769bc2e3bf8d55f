"""The QR page /q/<mac> in a real bench: the same page for known and unknown MACs, and the whole
visit in Chromium (phone, code, diagnostic) in French and English."""

from unittest import mock

import frappe

from gigafibre_fsm.network.tests.qr_case import RESULT, QrCase, drop_request, random_mac
from gigafibre_fsm.testing_http import chromium_missing, launch_chromium, serve_site


class TestPage(QrCase):
	def render(self, mac: str) -> str:
		from frappe.utils import get_html_for_route

		self.addCleanup(drop_request)
		frappe.local.form_dict = frappe._dict()
		return get_html_for_route(f"q/{mac}")

	def test_the_page_is_the_same_for_known_and_unknown_macs(self):
		unknown = random_mac()
		known_html = self.render(self.mac)
		unknown_html = self.render(unknown)
		self.assertIn('data-mac="' + self.mac + '"', known_html)
		self.assertEqual(known_html.replace(self.mac, "MAC"), unknown_html.replace(unknown, "MAC"))
		self.assertIn("gigafibre_fsm.api.qr.", known_html)
		self.assertNotIn(self.eqp.name, known_html)
		self.assertNotIn("onmouseover", self.render('aa"onmouseover=alert(1)'))


def run_job_inline(method, queue=None, now=False, **kwargs):
	"""frappe.enqueue for the server threads (no worker runs in tests)."""
	return frappe.get_attr(method)(**kwargs)


class TestPageInBrowser(QrCase):
	def test_phone_code_then_diagnostic_in_french_and_english(self):
		missing = chromium_missing()
		if missing:
			self.skipTest(f"browser test skipped: {missing}")
		from playwright.sync_api import expect, sync_playwright

		frappe.set_user("Administrator")
		self.add_diagnostic(self.eqp, RESULT)
		frappe.db.commit()  # the server threads read with their own connections
		# runs before QrCase's own cleanup (last in, first out): restore, then commit
		self.addCleanup(lambda: (self._restore_settings(self.settings_before), frappe.db.commit()))
		for method in ("request_code", "verify_code", "get_diagnostic"):
			key = frappe.cache.make_key(f"rl:gigafibre_fsm.api.qr.{method}:127.0.0.1")
			self.addCleanup(frappe.cache.delete, key)
		frappe.set_user("Guest")

		with (
			mock.patch.object(frappe, "enqueue", run_job_inline),
			serve_site(frappe.local.site) as base,
			sync_playwright() as pw,
		):
			browser = launch_chromium(pw)
			try:
				page = browser.new_context(locale="fr-CA").new_page()
				errors = []
				page.on("pageerror", lambda e: errors.append(str(e)))
				page.goto(f"{base}/q/{self.mac.upper().replace(':', '-')}")
				expect(page.locator("h1")).to_have_text("Diagnostic de votre Internet")
				page.locator('[data-testid="lang-toggle"]').click()
				expect(page.locator("h1")).to_have_text("Your Internet check-up")
				page.locator('[data-testid="lang-toggle"]').click()

				page.locator("#phone").fill(f"{self.phone[2:5]} {self.phone[5:8]}-{self.phone[8:]}")
				page.locator("#form-phone button").click()
				expect(page.locator('[data-testid="step-code"]')).to_be_visible(timeout=15000)
				code = self.code_of(self.sms()[0])

				page.locator("#code").fill(self.other_code(code))
				page.locator("#form-code button").click()
				expect(page.locator("#code-msg")).to_contain_text("Ce code n'est pas valide", timeout=15000)

				page.locator("#code").fill(code)
				page.locator("#form-code button").click()
				fibre = page.locator('[data-testid="fibre"]')
				expect(fibre).to_contain_text("Bon", timeout=15000)
				expect(page.locator('[data-testid="internet"]')).to_contain_text("En ligne")
				expect(page.locator('[data-testid="wifi"]')).to_contain_text("Maison-Tremblay-5G")
				expect(page.locator('[data-testid="mesh"]')).to_contain_text("2 bornes")
				expect(page.locator('[data-testid="devices"]')).to_contain_text("3 appareils connectés")
				page.locator('[data-testid="lang-toggle"]').click()
				expect(fibre).to_contain_text("Good")
				expect(page.locator('[data-testid="devices"]')).to_contain_text("3 devices connected")

				page.reload()  # the session token is kept in sessionStorage
				expect(page.locator('[data-testid="devices"]')).to_contain_text(
					"iPhone-de-Marie", timeout=15000
				)
				html = page.content()
				for secret in (self.eqp.name, self.customer.name, "192.168.68", "GFSERIAL42"):
					self.assertNotIn(secret, html)
				self.assertEqual(errors, [])
			finally:
				browser.close()
