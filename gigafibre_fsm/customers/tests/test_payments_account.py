"""Stripe payments in a real bench, the customer's side (fake Stripe and serve_site as in
test_payments.py): autopay (success and a decline that fires on_payment_failed), saving a card,
the account link (same answer, rate limit, revocation) and the account page (one customer only,
in Chromium too).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import frappe
import requests
from frappe.utils import flt

from gigafibre_fsm.customers import account, payments, stripe_events
from gigafibre_fsm.customers.tests.stripe_case import API, StripeCase, make_invoice, receipts
from gigafibre_fsm.test_utils import make_customer, make_template, step, unique
from gigafibre_fsm.testing_http import serve_site


class TestAutopayAndCards(StripeCase):
	def _card(self, payment_method: str):
		stripe_customer = self.stripe._new("cus", "customer", metadata={"customer": self.customer})["id"]
		frappe.db.set_value(
			"Customer",
			self.customer,
			{
				"gigafibre_stripe_customer": stripe_customer,
				"gigafibre_payment_method": payment_method,
				"gigafibre_autopay": 1,
			},
		)

	def test_a_declined_card_leaves_the_invoice_open_and_fires_on_payment_failed(self):
		invoice = make_invoice(self.customer, 30.00)  # before autopay is on: no queued job races us
		template = make_template(
			[step("s1", "create_todo", {"description": "Carte refusée {{doc.name}}"})],
			applies_to="Sales Invoice",
			trigger_event="on_payment_failed",
			category="Agent",
			kind="payment_reminder",
		)
		self._card("pm_card_chargeDeclinedInsufficientFunds")
		result = payments.autopay_invoice(invoice)
		self.assertTrue(result["failed"])
		self.assertEqual(result["code"], "insufficient_funds")
		(attempt,) = frappe.get_all(
			"Autopay Attempt", {"invoice": invoice}, ["status", "idempotency_key", "payment_intent"]
		)
		self.assertEqual((attempt.status, attempt.idempotency_key), ("failed", f"autopay-{invoice}-1"))
		self.assertEqual(flt(frappe.db.get_value("Sales Invoice", invoice, "outstanding_amount"), 2), 30.0)
		runs = frappe.get_all(
			"Flow Run",
			{"reference_doctype": "Sales Invoice", "reference_name": invoice, "template": template.name},
			["trigger_event"],
		)
		self.assertEqual([r.trigger_event for r in runs], ["on_payment_failed"])
		# Stripe's own payment_intent.payment_failed for the same PaymentIntent adds nothing
		(failed,) = self.stripe.events_of("payment_intent.payment_failed")
		body, header = self.stripe.signed(failed["id"])
		from gigafibre_fsm.connectors import stripe_webhooks as sw

		stripe_events.handle_event(sw.verify_event(body, header, self.stripe.webhook_secret))
		self.assertEqual(
			frappe.db.count("Flow Run", {"reference_name": invoice, "template": template.name}), 1
		)
		# the daily retry picks the invoice up; the job waits (3 days after a soft decline)
		self.assertGreaterEqual(payments.retry_autopay(), 1)
		self.assertFalse(payments.autopay_invoice(invoice)["charged"])
		self.assertEqual(len(self.stripe.events_of("payment_intent.payment_failed")), 1)

	def test_a_good_card_pays_once_even_when_the_webhook_follows(self):
		invoice = make_invoice(self.customer, 30.00)
		self._card("pm_card_visa")
		result = payments.autopay_invoice(invoice)
		self.assertTrue(result["charged"])
		self.assertEqual(payments.autopay_invoice(invoice)["charged"], False)  # paid: nothing to do
		(succeeded,) = self.stripe.events_of("payment_intent.succeeded")
		body, header = self.stripe.signed(succeeded["id"])
		from gigafibre_fsm.connectors import stripe_webhooks as sw

		stripe_events.handle_event(sw.verify_event(body, header, self.stripe.webhook_secret))
		self.assertEqual(len(receipts(result["payment_intent"])), 1)
		self.assertEqual(flt(frappe.db.get_value("Sales Invoice", invoice, "outstanding_amount"), 2), 0)

	def test_saving_a_card_turns_autopay_on(self):
		answer = payments.setup_card(self.customer)
		self.assertTrue(answer["client_secret"].startswith(answer["setup_intent"]))
		self.assertEqual(answer["publishable_key"], "pk_test_gigafibre")
		self.stripe.complete_setup(answer["setup_intent"], "pm_card_visa")
		(event,) = self.stripe.events_of("setup_intent.succeeded")
		body, header = self.stripe.signed(event["id"])
		from gigafibre_fsm.connectors import stripe_webhooks as sw

		stripe_events.handle_event(sw.verify_event(body, header, self.stripe.webhook_secret))
		card = frappe.db.get_value(
			"Customer", self.customer, ["gigafibre_payment_method", "gigafibre_autopay"], as_dict=True
		)
		self.assertEqual((card.gigafibre_payment_method, card.gigafibre_autopay), ("pm_card_visa", 1))
		# a second SetupIntent reuses the Stripe customer
		self.assertEqual(payments.setup_card(self.customer)["setup_intent"][:4], "seti")
		self.assertEqual(len([o for o in self.stripe.objects.values() if o["object"] == "customer"]), 1)


class TestAccountLinkAndPage(StripeCase):
	def test_same_answer_for_anyone_three_links_per_fifteen_minutes(self):
		phone = frappe.db.get_value("Customer", self.customer, "cell_phone")
		unknown = account.send_link(f"{unique('nobody').lower()}@example.com")
		self.assertEqual(unknown, account.link_requested())
		self.assertEqual(account.send_link("pas un identifiant"), unknown)
		answers = [account.send_link(phone.replace("+1", "")) for _ in range(4)]
		self.assertEqual(answers, [unknown] * 4)
		sent = [m for m in self.twilio.sent if m["to"] == phone]
		self.assertEqual(len(sent), 3)  # the 4th request within 15 minutes sends nothing
		token = sent[0]["body"].split("/compte/", 1)[1].split()[0]
		self.assertEqual(account.customer_for(token), self.customer)
		account.revoke(self.customer)
		with self.assertRaises(account.AccountLinkError):
			account.customer_for(token)
		frappe.clear_messages()

	def test_the_page_shows_that_customer_only_and_pays_through_stripe(self):
		other = make_customer().name
		mine, theirs = make_invoice(self.customer, 45.94), make_invoice(other, 99.99)
		token = account.issue(self.customer)
		frappe.db.commit()
		with serve_site(frappe.local.site) as base:
			page = requests.get(f"{base}/compte/{token}?lang=fr", timeout=120)
			self.assertEqual(page.status_code, 200)
			self.assertIn(mine, page.text)
			self.assertIn("45.94 $", page.text)
			self.assertNotIn(theirs, page.text)
			self.assertNotIn(other, page.text)
			expired = requests.get(f"{base}/compte/{token}x", timeout=120)
			self.assertIn('data-testid="link-expired"', expired.text)
			self.assertNotIn(mine, expired.text)
			# another customer's invoice is not reachable with this link
			r = requests.post(
				f"{base}{API}account_pay", data={"token": token, "invoice": theirs}, timeout=120
			)
			self.assertEqual(r.status_code, 404, r.text[:300])
			r = requests.get(
				f"{base}{API}account_invoice_pdf", params={"token": token, "invoice": theirs}, timeout=120
			)
			self.assertEqual(r.status_code, 404, r.text[:300])
			r = requests.post(f"{base}{API}account_pay", data={"token": token, "invoice": mine}, timeout=120)
			self.assertEqual(r.status_code, 200, r.text[:300])
			url = r.json()["message"]["url"]
			self.assertTrue(url.startswith(self.stripe.url))
			# the customer pays on Stripe's page, comes back, the webhook books it
			paid = requests.post(url, allow_redirects=False, timeout=120)
			self.assertEqual(paid.status_code, 303)
			self.assertEqual(parse_qs(urlparse(paid.headers["Location"]).query).get("paid"), ["1"])
			for e in list(self.stripe.events):
				self.assertEqual(self.deliver(base, e), 200)
			page = requests.get(f"{base}/compte/{token}?lang=en", timeout=120)
			self.assertIn("Nothing to pay", page.text)
		frappe.db.rollback()
		self.assertEqual(flt(frappe.db.get_value("Sales Invoice", mine, "outstanding_amount"), 2), 0)
		self.assertEqual(flt(frappe.db.get_value("Sales Invoice", theirs, "outstanding_amount"), 2), 99.99)

	def test_in_chromium_the_customer_sees_their_invoice_and_pays_it(self):
		from gigafibre_fsm.testing_http import chromium_missing, launch_chromium

		missing = chromium_missing()
		if missing:
			self.skipTest(f"browser test skipped: {missing}")
		from playwright.sync_api import expect, sync_playwright

		other = make_customer().name
		mine, theirs = make_invoice(self.customer, 45.94), make_invoice(other, 12.34)
		token = account.issue(self.customer)
		frappe.db.commit()
		with serve_site(frappe.local.site) as base, sync_playwright() as pw:
			browser = launch_chromium(pw)
			try:
				page = browser.new_context(locale="fr-CA", viewport={"width": 390, "height": 844}).new_page()
				errors = []
				page.on("pageerror", lambda e: errors.append(str(e)))
				page.goto(f"{base}/compte/{token}?lang=fr")
				expect(page.locator("h1")).to_have_text("Mon compte Gigafibre")
				rows = page.locator("[data-testid=invoices] .row")
				expect(rows).to_have_count(1)
				expect(rows.first).to_contain_text(mine)
				self.assertNotIn(theirs, page.content())
				page.locator("[data-testid=lang-toggle]").click()
				expect(page.locator("h1")).to_have_text("My Gigafibre account")
				page.locator("[data-testid=pay]").click()
				page.wait_for_url(f"{self.stripe.url}/c/pay/cs_*", timeout=60000)
				expect(page.locator("[data-testid=amount]")).to_have_text("45.94 CAD")
				page.locator("[data-testid=pay]").click()
				page.wait_for_url("**/compte?paid=1*", timeout=60000, wait_until="commit")
				self.assertEqual(errors, [])
			finally:
				browser.close()
			for e in list(self.stripe.events):
				self.assertEqual(self.deliver(base, e), 200)
		frappe.db.rollback()
		self.assertEqual(flt(frappe.db.get_value("Sales Invoice", mine, "outstanding_amount"), 2), 0)
		self.assertEqual(len(frappe.get_all("Stripe Payment", {"invoice": mine})), 1)
