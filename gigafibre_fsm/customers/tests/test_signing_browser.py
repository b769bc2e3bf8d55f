"""The residential signature end to end in headless Chromium, in a real bench: a submitted
quotation becomes a contract whose link is texted (fake Twilio); the customer opens ``/c/<token>``
on a phone-sized screen, reads the prices with TPS and TVQ, types their name, checks the box and
accepts. The same link accepted from a second tab at the same moment, and a late DocuSeal-style
completion, sign nothing more: one set of flow runs, one installation chain, one
acknowledgement SMS."""

import frappe

from gigafibre_fsm.api import customers as api
from gigafibre_fsm.customers import signing
from gigafibre_fsm.customers.tests.contract_case import ContractCase
from gigafibre_fsm.customers.tests.test_signing import signed_runs
from gigafibre_fsm.test_utils import make_quotation
from gigafibre_fsm.testing_http import chromium_missing, launch_chromium, serve_site

PHONE_SCREEN = {"width": 390, "height": 844}
USER_AGENT = "Mozilla/5.0 (Linux; Android 14) GigafibreSigningTest"


class TestSigningInChromium(ContractCase):
	def setUp(self):
		missing = chromium_missing()
		if missing:
			self.skipTest(f"browser test skipped: {missing}")
		super().setUp()

	def runs_by_template(self, contract: str) -> dict:
		rows = frappe.get_all(
			"Flow Run",
			filters={
				"trigger_event": "on_contract_signed",
				"reference_doctype": "Service Contract",
				"reference_name": contract,
			},
			fields=["name", "template"],
		)
		by_template: dict = {}
		for row in rows:
			by_template.setdefault(row.template, []).append(row.name)
		return by_template

	def seeded(self, key: str) -> str:
		name = frappe.db.get_value("Flow Template", {"seed_key": key, "enabled": 1})
		self.assertTrue(name, f"the seeded template {key} is enabled")
		return name

	def test_the_customer_signs_on_a_phone_and_a_second_tab_changes_nothing(self):
		from playwright.sync_api import expect, sync_playwright

		from gigafibre_fsm.flows import runtime

		installation, ack = self.seeded("residential_installation"), self.seeded("post_signature_ack")
		quote = make_quotation(
			self.customer.name,
			[(self.plan, 50, 50), (self.modem, 300, 0), (self.install, 99, 0)],
			gigafibre_term_months=24,
		)
		contract = api.create_contract_from_quotation(quote.name)["contract"]
		(sms,) = self.twilio.sent
		token = self.token_of(sms)
		frappe.db.commit()  # the served site reads with its own connections

		with serve_site(frappe.local.site) as base, sync_playwright() as pw:
			browser = launch_chromium(pw)
			try:
				pages, errors = [], []
				for _ in range(2):  # the link opened on two tabs (or tapped twice)
					ctx = browser.new_context(locale="fr-CA", viewport=PHONE_SCREEN, user_agent=USER_AGENT)
					page = ctx.new_page()
					page.on("pageerror", lambda e: errors.append(str(e)))
					page.goto(f"{base}/c/{token}")
					expect(page.locator("[data-testid=contract]")).to_contain_text(contract)
					pages.append(page)
				first, second = pages
				text = first.locator("[data-testid=contract]").inner_text()
				for amount in ("50,00 $", "2,50 $", "4,99 $", "57,49 $", "300,00 $"):
					self.assertIn(amount, text)  # the plan, TPS 5 %, TVQ 9.975 %, the total, the modem

				# accepting without the box says what is missing and signs nothing
				first.locator("#full-name").fill("Marie Tremblay")
				first.locator("#accept").click()
				expect(first.locator("#form-msg")).to_contain_text("cochez la case")

				# English on the second tab, then both accept at the same moment
				second.locator("[data-testid=lang-toggle]").click()
				expect(second.locator("#accept")).to_have_text("Accept the contract")
				second.locator("#full-name").fill("Marie Tremblay")
				second.locator("#accepted").check()
				first.locator("#accepted").check()
				first.locator("#accept").click()
				second.locator("#accept").click()
				for page in pages:
					expect(page.locator("[data-testid=done]")).to_be_visible(timeout=120_000)
				said = sorted(page.locator("#done-msg").inner_text() for page in pages)
				self.assertEqual(
					len([s for s in said if "déjà signé" in s or "already signed" in s]), 1, said
				)
				self.assertEqual(errors, [])

				# the link opened again later says the contract is signed
				again = browser.new_context(locale="en-CA").new_page()
				again.goto(f"{base}/c/{token}?lang=en")
				expect(again.locator("#done-msg")).to_have_text("This contract is already signed. Thank you!")
			finally:
				browser.close()

		frappe.db.rollback()  # a fresh snapshot of what the server committed
		doc = frappe.get_doc("Service Contract", contract)
		self.assertEqual((doc.status, doc.signature_source), ("Signé", signing.SOURCE_LINK))
		self.assertEqual(doc.signed_by_name, "Marie Tremblay")
		self.assertEqual(doc.signed_user_agent, USER_AGENT)
		self.assertEqual(doc.signed_ip, "127.0.0.1")
		self.assertEqual(len(doc.signed_text_sha256 or ""), 64)

		# a completion arriving by the other track afterwards changes nothing
		self.assertTrue(signing.mark_signed(contract, "DocuSeal")["already_signed"])
		runs = self.runs_by_template(contract)
		self.assertEqual(len(runs.get(installation, [])), 1, runs)
		self.assertEqual(len(runs.get(ack, [])), 1, runs)
		self.assertEqual(signed_runs(contract), sum(len(v) for v in runs.values()))

		# the runs do their work once, however often they are advanced
		for _ in range(2):
			for names in runs.values():
				for name in names:
					runtime.advance_run(name)
		acks = [m for m in self.twilio.sent if m["to"] == self.phone and "Bon de commande" in m["body"]]
		self.assertEqual(len(acks), 1, self.twilio.sent)
		# one installation file, the chain's first step (other templates of the site may file theirs)
		issues = frappe.get_all(
			"Issue", {"subject": ["like", f"Installation résidentielle {contract} %"]}, pluck="name"
		)
		self.assertEqual(len(issues), 1, issues)
