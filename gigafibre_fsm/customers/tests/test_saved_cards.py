"""Saved cards in a real bench, against the fake Stripe (gigafibre_fsm.fakepeers.stripe and
stripe_cards: the PaymentMethods API, SetupIntent confirmation from the browser, a fake Stripe.js v3).

The card's brand, last 4 digits and expiry are read from Stripe on setup_intent.succeeded and on the
payment_method.* events of the saved card; the account page shows them; the daily job warns once
per card and expiry through the seeded flow; in Chromium, Save a card goes through Stripe.js
(the fake one), Stripe's webhook and back to the page.
"""

from __future__ import annotations

from datetime import date

import frappe
import requests
from frappe.utils import getdate

from gigafibre_fsm.connectors import stripe_webhooks as sw
from gigafibre_fsm.customers import account, payments, saved_cards, stripe_events
from gigafibre_fsm.customers.tests.stripe_case import WEBHOOK, StripeCase
from gigafibre_fsm.test_utils import settings_for_update
from gigafibre_fsm.testing_http import serve_site


def month_after(day: date, months: int) -> tuple[int, int]:
	index = day.year * 12 + day.month - 1 + months
	return index // 12, index % 12 + 1


class CardCase(StripeCase):
	def handle(self, event_type: str, nth: int = -1) -> dict:
		"""Act on the fake's ``nth`` event of that type, as the webhook does."""
		event = self.stripe.events_of(event_type)[nth]
		body, header = self.stripe.signed(event["id"])
		return stripe_events.handle_event(sw.verify_event(body, header, self.stripe.webhook_secret))

	def card(self) -> dict:
		return frappe.db.get_value(
			"Customer",
			self.customer,
			[
				"gigafibre_payment_method",
				"gigafibre_autopay",
				"gigafibre_card_brand",
				"gigafibre_card_last4",
				"gigafibre_card_expiry",
				"gigafibre_card_exp_month",
				"gigafibre_card_exp_year",
				"gigafibre_card_expiry_notice",
			],
			as_dict=True,
		)

	def save_card(self, payment_method: str = "pm_card_visa") -> str:
		answer = payments.setup_card(self.customer)
		self.stripe.complete_setup(answer["setup_intent"], payment_method)
		self.handle("setup_intent.succeeded")
		return payment_method


class TestCardDetails(CardCase):
	def test_a_card_saved_in_the_browser_is_read_from_stripe(self):
		answer = payments.setup_card(self.customer)
		r = requests.post(  # what Stripe.js sends: the publishable key, the client secret, the card
			f"{self.stripe.url}/v1/setup_intents/{answer['setup_intent']}/confirm",
			data={
				"key": self.stripe.publishable_key,
				"client_secret": answer["client_secret"],
				"payment_method_data[type]": "card",
				"payment_method_data[card][number]": "5555555555554444",
				"payment_method_data[card][exp_month]": "3",
				"payment_method_data[card][exp_year]": "2031",
				"payment_method_data[card][cvc]": "123",
			},
			timeout=120,
		)
		self.assertEqual(r.status_code, 200, r.text[:300])
		pm = r.json()["payment_method"]
		self.assertEqual(self.handle("payment_method.attached")["action"], "ignore")  # not saved yet
		outcome = self.handle("setup_intent.succeeded")
		self.assertEqual((outcome["customer"], outcome["card"]), (self.customer, "03/2031"))
		card = self.card()
		self.assertEqual(
			(card.gigafibre_payment_method, card.gigafibre_autopay, card.gigafibre_card_brand),
			(pm, 1, "mastercard"),
		)
		self.assertEqual((card.gigafibre_card_last4, card.gigafibre_card_expiry), ("4444", "03/2031"))
		self.assertEqual((card.gigafibre_card_exp_month, card.gigafibre_card_exp_year), (3, 2031))
		reads = [r.path for r in self.stripe.requests if r.method == "GET" and "/payment_methods/" in r.path]
		self.assertEqual(reads, [f"/v1/payment_methods/{pm}"])
		shown = account.summary(self.customer)["autopay"]["card"]
		self.assertEqual(shown["label"]["en"], "Mastercard •••• 4444, exp 03/2031")
		self.assertEqual(shown["label"]["fr"], "Mastercard •••• 4444, exp. 03/2031")

	def test_a_renewed_card_is_read_again_even_when_an_older_event_comes_last(self):
		pm = self.save_card()
		self.assertEqual(self.card().gigafibre_card_expiry, "12/2030")
		self.stripe.update_card(pm, 8, 2032)  # payment_method.automatically_updated
		self.stripe.update_card(pm, 9, 2033, automatic=False)  # payment_method.updated
		self.assertEqual(self.handle("payment_method.updated")["card"], "09/2033")
		# the older renewal delivered late: Stripe is read again, the newer expiry stays
		self.assertEqual(self.handle("payment_method.automatically_updated")["card"], "09/2033")
		self.assertEqual(
			(self.card().gigafibre_card_exp_month, self.card().gigafibre_card_exp_year), (9, 2033)
		)
		# a PaymentMethod nobody saved changes nothing
		self.stripe.update_card("pm_card_amex", 1, 2034)
		self.assertEqual(self.handle("payment_method.automatically_updated")["action"], "ignore")

	def test_stripe_failing_rolls_the_event_back_for_a_retry(self):
		answer = payments.setup_card(self.customer)
		self.stripe.complete_setup(answer["setup_intent"], "pm_card_visa")
		frappe.db.commit()
		from gigafibre_fsm.fakepeers.http import Response

		# a 500 Stripe says not to retry (Stripe-Should-Retry: false): the SDK gives up at once
		self.stripe.fail_next.append(
			Response(
				500,
				b'{"error": {"type": "api_error", "message": "boom"}}',
				{"Content-Type": "application/json", "Stripe-Should-Retry": "false"},
			)
		)
		with serve_site(frappe.local.site) as base:
			(event,) = self.stripe.events_of("setup_intent.succeeded")
			self.assertGreaterEqual(self.deliver(base, event["id"]), 500)
			frappe.db.rollback()
			self.assertFalse(frappe.db.exists("Stripe Event", event["id"]))
			self.assertFalse(self.card().gigafibre_payment_method)
			self.assertEqual(self.stripe.resend(event["id"], base + WEBHOOK), 200)  # Stripe's retry
		frappe.db.rollback()
		self.assertEqual(
			(self.card().gigafibre_payment_method, self.card().gigafibre_card_last4), ("pm_card_visa", "4242")
		)


class TestExpiryNotice(CardCase):
	def runs(self) -> list[str]:
		return frappe.get_all(
			"Flow Run",
			{
				"reference_doctype": "Customer",
				"reference_name": self.customer,
				"trigger_event": "on_card_expiring",
			},
			pluck="name",
			order_by="creation asc",
		)

	def test_once_per_card_and_expiry_by_sms_and_email_with_the_account_link(self):
		template = frappe.db.get_value(
			"Flow Template", {"seed_key": "card_expiring"}, ["name", "enabled"], as_dict=True
		)
		self.assertTrue(template and template.enabled)
		today = getdate()
		pm = self.save_card()
		year, month = month_after(today, 2)
		self.stripe.update_card(pm, month, year)  # two months ahead: not yet
		self.handle("payment_method.automatically_updated")
		saved_cards.warn_expiring(today)
		self.assertEqual(self.runs(), [])
		year, month = month_after(today, 1)  # next month: warned, once
		self.stripe.update_card(pm, month, year)
		self.handle("payment_method.automatically_updated")
		saved_cards.warn_expiring(today)
		saved_cards.warn_expiring(today)
		(run,) = self.runs()
		self.assertEqual(self.card().gigafibre_card_expiry_notice, f"{pm}:{year:04d}-{month:02d}")
		from gigafibre_fsm.flows import runtime

		runtime.advance_run(run)
		states = {r.step_id: r.status for r in frappe.get_doc("Flow Run", run).steps}
		self.assertEqual(states, {"s1": "Completed", "s2": "Completed", "s3": "Completed"})
		phone = frappe.db.get_value("Customer", self.customer, "cell_phone")
		(sms,) = [m for m in self.twilio.sent if m["to"] == phone]
		self.assertIn("4242", sms["body"])
		self.assertIn(f"{month:02d}/{year}", sms["body"])
		self.assertIn("Enregistrez une nouvelle carte", sms["body"])
		self.assertIn("Save a new card", sms["body"])
		link = sms["body"].rsplit(" ", 1)[1]
		self.assertEqual(account.customer_for(link.split("/compte/", 1)[1]), self.customer)
		mail = frappe.get_all(
			"Email Queue", {"reference_doctype": "Customer", "reference_name": self.customer}, pluck="name"
		)
		self.assertEqual(len(mail), 1)  # the bilingual e-mail, queued
		# this month: the same card and expiry is not warned about again
		saved_cards.warn_expiring(date(year, month, 3))
		self.assertEqual(len(self.runs()), 1)
		# a new card expiring next month is: another card, another notice
		self.save_card("pm_card_mastercard")
		self.stripe.update_card("pm_card_mastercard", month, year)
		self.handle("payment_method.automatically_updated")
		saved_cards.warn_expiring(today)
		self.assertEqual(len(self.runs()), 2)

	def test_the_account_page_shows_the_card_and_says_it_expires(self):
		today = getdate()
		pm = self.save_card()
		token = account.issue(self.customer)
		frappe.db.commit()
		with serve_site(frappe.local.site) as base:
			page = requests.get(f"{base}/compte/{token}?lang=en", timeout=120)
			self.assertIn("Visa •••• 4242, exp 12/2030", page.text)
			self.assertNotIn('data-testid="card-expiry"', page.text)
			self.stripe.update_card(pm, today.month, today.year)
			self.assertEqual(
				self.deliver(base, self.stripe.events_of("payment_method.automatically_updated")[-1]["id"]),
				200,
			)
			page = requests.get(f"{base}/compte/{token}?lang=fr", timeout=120)
			self.assertIn(f"Visa •••• 4242, exp. {today.month:02d}/{today.year}", page.text)
			self.assertIn('data-testid="card-expiry"', page.text)
			self.assertIn("Cette carte expire bientôt", page.text)
			self.assertIn('data-stripe-js="https://js.stripe.com/v3/"', page.text)
		frappe.db.rollback()


class TestSaveCardInChromium(CardCase):
	def test_save_a_card_through_stripe_js_and_see_it_on_the_page(self):
		from gigafibre_fsm.testing_http import chromium_missing, launch_chromium

		missing = chromium_missing()
		if missing:
			self.skipTest(f"browser test skipped: {missing}")
		from playwright.sync_api import expect, sync_playwright

		settings = settings_for_update()
		settings.update(
			{"stripe_publishable_key": self.stripe.publishable_key, "stripe_js_url": f"{self.stripe.url}/v3/"}
		)
		settings.save()
		token = account.issue(self.customer)
		frappe.db.commit()
		frappe.clear_document_cache("Gigafibre Settings", "Gigafibre Settings")
		with serve_site(frappe.local.site) as base, sync_playwright() as pw:
			self.stripe.webhook_url = base + WEBHOOK  # Stripe sends its events to the site
			browser = launch_chromium(pw)
			try:
				page = browser.new_context(locale="en-CA", viewport={"width": 390, "height": 844}).new_page()
				errors = []
				page.on("pageerror", lambda e: errors.append(str(e)))
				page.goto(f"{base}/compte/{token}?lang=en")
				expect(page.locator("[data-testid=saved-card]")).to_have_count(0)
				page.locator("[data-testid=save-card]").click()
				page.locator("[data-testid=fake-card-number]").fill("4242 4242 4242 4242")
				page.locator("[data-testid=fake-card-expiry]").fill("12 / 30")
				page.locator("[data-testid=fake-card-cvc]").fill("123")
				expect(page.locator("[data-testid=save-card]")).to_be_enabled()
				page.locator("[data-testid=save-card]").click()
				page.wait_for_url("**card=saved*", timeout=60000)
				expect(page.locator("[data-testid=saved-card]")).to_have_text("Visa •••• 4242, exp 12/2030")
				expect(page.locator("[data-testid=card-saved]")).to_have_text("Card saved. Thank you!")
				expect(page.locator("[data-testid=autopay]")).to_contain_text("On: each invoice is paid")
				self.assertEqual(errors, [])
			finally:
				browser.close()
				self.stripe.webhook_url = None
		frappe.db.rollback()
		card = self.card()
		self.assertTrue(card.gigafibre_payment_method.startswith("pm_test_"))
		self.assertEqual(
			(card.gigafibre_autopay, card.gigafibre_card_last4, card.gigafibre_card_expiry),
			(1, "4242", "12/2030"),
		)
		statuses = [a["status"] for d in self.stripe.deliveries for a in d.attempts]
		self.assertEqual(statuses, [200, 200])  # payment_method.attached, setup_intent.succeeded
