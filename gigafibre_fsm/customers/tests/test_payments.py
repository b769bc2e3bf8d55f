"""Stripe payments in a real bench, against a fake Stripe on loopback (gigafibre_fsm.fakepeers.stripe:
Stripe's REST API and its webhook signatures as documented) and the site served by this process
(serve_site: its own threads and database connections, so what they must see is committed first).

The webhook books one Payment Entry per PaymentIntent whatever the order, repetition and
concurrency of its two events; bad, forged and stale signatures write nothing; refunds and
disputes; autopay (success and a decline that fires on_payment_failed); saving a card; the
account link (same answer, rate limit, revocation) and the account page (one customer only).
"""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs, urlparse

import frappe
import requests
from frappe.utils import add_days, flt, getdate

from gigafibre_fsm.customers import account, payments, stripe_events
from gigafibre_fsm.fakepeers.stripe import FakeStripe
from gigafibre_fsm.fakepeers.twilio import FakeTwilio
from gigafibre_fsm.test_utils import (
	ensure_outgoing_email,
	make_customer,
	make_plan_item,
	make_template,
	serve_site,
	settings_for_update,
	step,
	unique,
	use_fake_twilio,
)
from gigafibre_fsm.testing import IntegrationTestCase

WEBHOOK = "/api/method/gigafibre_fsm.api.webhooks.stripe"
API = "/api/method/gigafibre_fsm.api.billing."
STRIPE_FIELDS = (
	"stripe_api_base",
	"stripe_timeout",
	"stripe_account",
	"stripe_publishable_key",
	"stripe_js_url",
)
STRIPE_SECRETS = ("stripe_secret_key", "stripe_webhook_secret")
TWILIO_FIELDS = ("twilio_account_sid", "twilio_from_number", "twilio_api_base")
CAD_COMPANY = "Gigafibre Tests CAD"


def cad_company() -> str:
	"""A company in CAD (the card payments' currency): the site's default one if it is in CAD,
	else one made once for these tests (committed: the served site must see it)."""
	default = frappe.defaults.get_user_default("Company") or frappe.db.get_single_value(
		"Global Defaults", "default_company"
	)
	if default and frappe.get_cached_value("Company", default, "default_currency") == "CAD":
		return default
	if not frappe.db.exists("Company", CAD_COMPANY):
		frappe.get_doc(
			{
				"doctype": "Company",
				"company_name": CAD_COMPANY,
				"abbr": "GTCAD",
				"default_currency": "CAD",
				"country": "Canada",
				"create_chart_of_accounts_based_on": "Standard Template",
				"chart_of_accounts": "Standard",
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
	return CAD_COMPANY


_SHARED_STRIPE: list = []


def use_fake_stripe() -> FakeStripe:
	"""One fake Stripe for the process, and Gigafibre Settings pointed at it (for tests that only
	need Stripe to answer, e.g. the endpoint role checks)."""
	if not _SHARED_STRIPE:
		_SHARED_STRIPE.append(FakeStripe().start())
	peer = _SHARED_STRIPE[0]
	settings = settings_for_update()
	settings.update(
		{
			"stripe_secret_key": peer.api_key,
			"stripe_webhook_secret": peer.webhook_secret,
			"stripe_api_base": peer.url,
		}
	)
	settings.save()
	return peer


def make_invoice(customer: str, amount: float = 45.94, due=None) -> str:
	company = cad_company()
	values = frappe.get_cached_value(
		"Company",
		company,
		["default_income_account", "cost_center", "default_receivable_account"],
		as_dict=True,
	)
	si = frappe.get_doc(
		{
			"doctype": "Sales Invoice",
			"customer": customer,
			"company": company,
			"currency": "CAD",
			"conversion_rate": 1,
			"debit_to": values.default_receivable_account,
			"posting_date": due or getdate(),
			"set_posting_time": 1,
			"due_date": due or getdate(),
			"disable_rounded_total": 1,
			"ignore_pricing_rule": 1,
			"items": [
				{
					"item_code": make_plan_item(),
					"qty": 1,
					"rate": amount,
					"income_account": values.default_income_account,
					"cost_center": values.cost_center,
				}
			],
		}
	)
	si.flags.ignore_permissions = True
	si.insert()
	si.submit()
	return si.name


def receipts(payment_intent: str) -> list[dict]:
	return frappe.get_all(
		"Payment Entry",
		filters={"reference_no": payment_intent, "docstatus": 1, "payment_type": "Receive"},
		fields=["name", "paid_amount", "unallocated_amount"],
	)


class StripeCase(IntegrationTestCase):
	def setUp(self):
		frappe.set_user("Administrator")
		self.stripe = FakeStripe().start()
		self.addCleanup(self.stripe.stop)
		settings = settings_for_update()
		before = {f: settings.get(f) for f in STRIPE_FIELDS + TWILIO_FIELDS}
		before.update({f: settings.get_password(f, raise_exception=False) for f in STRIPE_SECRETS})
		before["twilio_auth_token"] = settings.get_password("twilio_auth_token", raise_exception=False)
		self.addCleanup(self._restore, before)
		settings.update(
			{
				"stripe_secret_key": self.stripe.api_key,
				"stripe_webhook_secret": self.stripe.webhook_secret,
				"stripe_api_base": self.stripe.url,
				"stripe_timeout": 30,
				"stripe_publishable_key": "pk_test_gigafibre",
			}
		)
		settings.save()
		self.twilio = FakeTwilio().start()
		self.addCleanup(self.twilio.stop)
		use_fake_twilio(self.twilio)
		ensure_outgoing_email()
		# committed, and the cached copy dropped after the commit: the served site's threads and the
		# bench's workers read the settings too, and one that cached them before our commit would
		# keep the old ones
		frappe.db.commit()
		frappe.clear_document_cache("Gigafibre Settings", "Gigafibre Settings")
		self.customer = make_customer(
			cell_phone=f"+1450555{int(time.time() * 1000) % 10000:04d}",
			email_billing=f"{unique('pay').lower()}@example.com",
		).name

	def _restore(self, before):
		frappe.set_user("Administrator")
		settings = settings_for_update()
		settings.update({k: v or "" for k, v in before.items() if k != "stripe_timeout"})
		settings.stripe_timeout = before.get("stripe_timeout") or 10
		settings.save()
		frappe.db.commit()
		frappe.clear_document_cache("Gigafibre Settings", "Gigafibre Settings")

	def deliver(self, base: str, event_id: str) -> int:
		"""POST the event as Stripe does (signed now); a refusal fails with the server's answer."""
		body, signature = self.stripe.signed(event_id)
		r = requests.post(
			base + WEBHOOK,
			data=body,
			headers={"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": signature},
			timeout=120,
		)
		if r.status_code != 200:
			print(f"\nwebhook {event_id}: {r.status_code} {r.text[:2000]}")
		return r.status_code

	def paid_checkout(self, invoice: str) -> tuple[str, list[str]]:
		"""The invoice paid through its Checkout Session: (PaymentIntent, [its two event ids])."""
		link = payments.payment_link(invoice)
		self.stripe.pay_checkout(link["session"])
		intent = self.stripe.objects[link["session"]]["payment_intent"]
		events = [
			e["id"]
			for e in self.stripe.events.values()
			if e["type"] in ("checkout.session.completed", "payment_intent.succeeded")
			and intent in (e["data"]["object"].get("payment_intent"), e["data"]["object"].get("id"))
		]
		self.assertEqual(len(events), 2)
		return intent, events


class TestPayLink(StripeCase):
	def test_a_session_for_the_outstanding_amount_reused_while_open(self):
		invoice = make_invoice(self.customer, 45.94)
		first = payments.payment_link(invoice)
		self.assertEqual((first["amount"], first["currency"], first["reused"]), (45.94, "CAD", False))
		session = self.stripe.objects[first["session"]]
		self.assertEqual(session["metadata"], {"invoice": invoice, "customer": self.customer})
		self.assertEqual(
			frappe.db.get_value("Sales Invoice", invoice, "gigafibre_checkout_session"), first["session"]
		)
		again = payments.payment_link(invoice)
		self.assertEqual((again["session"], again["reused"]), (first["session"], True))
		self.assertEqual(
			len([o for o in self.stripe.objects.values() if o["object"] == "checkout.session"]), 1
		)


class TestWebhook(StripeCase):
	def test_one_payment_entry_whatever_the_order_repetition_and_concurrency(self):
		first, second = make_invoice(self.customer, 45.94), make_invoice(self.customer, 20.00)
		intent1, (completed1, succeeded1) = self.paid_checkout(first)
		intent2, events2 = self.paid_checkout(second)
		frappe.db.commit()
		with serve_site(frappe.local.site) as base:
			# payment_intent.succeeded first, then the session, then both again (Stripe's retries)
			statuses = [self.deliver(base, e) for e in (succeeded1, completed1, completed1, succeeded1)]
			self.assertEqual(statuses, [200] * 4)
			# the other invoice: both events twice each, all four at once
			answers = []
			threads = [
				threading.Thread(target=lambda e=e: answers.append(self.deliver(base, e)))
				for e in events2 * 2
			]
			for t in threads:
				t.start()
			for t in threads:
				t.join(180)
			self.assertEqual(sorted(answers), [200] * 4)
		frappe.db.rollback()
		for intent, invoice, amount in ((intent1, first, 45.94), (intent2, second, 20.0)):
			(pe,) = receipts(intent)
			self.assertEqual(flt(pe.paid_amount, 2), amount)
			self.assertEqual(flt(pe.unallocated_amount, 2), 0)
			self.assertEqual(flt(frappe.db.get_value("Sales Invoice", invoice, "outstanding_amount"), 2), 0)
			self.assertEqual(frappe.db.get_value("Stripe Payment", intent, "payment_entry"), pe.name)
		self.assertEqual(frappe.db.count("Stripe Event", {"payment_intent": ["in", [intent1, intent2]]}), 4)

	def test_unsigned_forged_and_stale_deliveries_write_nothing(self):
		invoice = make_invoice(self.customer)
		intent, (completed, _succeeded) = self.paid_checkout(invoice)
		frappe.db.commit()
		body, good = self.stripe.signed(completed)
		_, forged = self.stripe.signed(completed, secret="whsec_" + "x" * 32)
		_, stale = self.stripe.signed(completed, timestamp=int(time.time()) - 3600)
		with serve_site(frappe.local.site) as base:
			for header in (None, "t=123", forged, stale, good.replace("v1=", "v1=00")):
				headers = {"Content-Type": "application/json"}
				if header:
					headers["Stripe-Signature"] = header
				r = requests.post(base + WEBHOOK, data=body, headers=headers, timeout=120)
				self.assertEqual(r.status_code, 401, (header, r.text[:300]))
			# correctly signed but not an event: 400
			import hashlib
			import hmac

			junk, ts = b"[1, 2]", int(time.time())
			mac = hmac.new(self.stripe.webhook_secret.encode(), f"{ts}.".encode() + junk, hashlib.sha256)
			r = requests.post(
				base + WEBHOOK,
				data=junk,
				headers={"Stripe-Signature": f"t={ts},v1={mac.hexdigest()}"},
				timeout=120,
			)
			self.assertEqual(r.status_code, 400, r.text[:300])
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("Stripe Event", completed))
		self.assertEqual(receipts(intent), [])
		self.assertFalse(frappe.db.exists("Stripe Payment", intent))

	def test_refunds_are_booked_once_as_pay_entries(self):
		invoice = make_invoice(self.customer, 45.94)
		intent, events = self.paid_checkout(invoice)
		self.stripe.refund(intent, 1000)
		partial = list(self.stripe.events)[-1]
		self.stripe.refund(intent)  # the rest: cumulative 4594
		full = list(self.stripe.events)[-1]
		frappe.db.commit()
		with serve_site(frappe.local.site) as base:
			for e in [*events, full, partial, full, partial]:  # the newer refund event first
				self.assertEqual(self.deliver(base, e), 200)
		frappe.db.rollback()
		refunds = frappe.get_all(
			"Payment Entry",
			filters={"party": self.customer, "payment_type": "Pay", "docstatus": 1},
			fields=["paid_amount", "paid_from", "paid_to"],
		)
		self.assertEqual(sum(flt(r.paid_amount, 2) for r in refunds), 45.94)
		self.assertEqual(len(refunds), 1)  # the full event came first: one entry for everything
		self.assertEqual(flt(frappe.db.get_value("Stripe Payment", intent, "refunded_amount"), 2), 45.94)
		(receipt,) = receipts(intent)
		self.assertEqual(
			frappe.db.get_value("Payment Entry", receipt.name, "paid_to"), refunds[0].paid_from
		)  # out of the account it came into

	def test_a_dispute_opens_an_issue_for_billing(self):
		invoice = make_invoice(self.customer)
		intent, events = self.paid_checkout(invoice)
		self.stripe.dispute(intent, reason="fraudulent")
		dispute = list(self.stripe.events)[-1]
		for e in [*events, dispute, dispute]:
			body, header = self.stripe.signed(e)
			from gigafibre_fsm.connectors import stripe_webhooks as sw

			stripe_events.handle_event(sw.verify_event(body, header, self.stripe.webhook_secret))
		issues = frappe.get_all("Issue", filters={"customer": self.customer}, fields=["subject", "priority"])
		self.assertEqual(len(issues), 1)
		self.assertIn(invoice, issues[0].subject)
		self.assertTrue(frappe.db.get_value("Stripe Payment", intent, "disputed"))


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
		from gigafibre_fsm.test_utils import chromium_missing, launch_chromium

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


class TestOverdueReminder(StripeCase):
	def test_the_seeded_reminder_texts_the_pay_link_and_the_link_opens_checkout(self):
		template = frappe.db.get_value(
			"Flow Template", {"seed_key": "payment_reminder"}, ["name", "enabled"], as_dict=True
		)
		self.assertTrue(template and template.enabled)
		invoice = make_invoice(self.customer, 45.94, due=add_days(getdate(), -6))
		self.assertGreaterEqual(payments.fire_overdue(), 1)
		from gigafibre_fsm.flows import runtime

		(run,) = frappe.get_all(
			"Flow Run", {"reference_name": invoice, "template": template.name}, pluck="name"
		)
		runtime.advance_run(run)
		doc = frappe.get_doc("Flow Run", run)
		states = {r.step_id: r.status for r in doc.steps}
		self.assertEqual((states["s1"], states["s2"], states["s4"]), ("Completed", "Completed", "Waiting"))
		phone = frappe.db.get_value("Customer", self.customer, "cell_phone")
		(sms,) = [m for m in self.twilio.sent if m["to"] == phone]
		self.assertIn(invoice, sms["body"])
		pay = sms["body"].split("Pay online : ", 1)[1].split()[0]
		self.assertIn("/payer/", pay)
		payments.fire_overdue()  # the next day's job: the same invoice starts nothing new
		self.assertEqual(
			frappe.db.count("Flow Run", {"reference_name": invoice, "template": template.name}), 1
		)
		frappe.db.commit()
		with serve_site(frappe.local.site) as base:
			r = requests.get(base + urlparse(pay).path, allow_redirects=False, timeout=120)
			self.assertEqual(r.status_code, 302, r.text[:300])
			self.assertTrue(r.headers["Location"].startswith(self.stripe.url + "/c/pay/cs_"))
			r = requests.get(base + "/payer/forged.token", allow_redirects=False, timeout=120)
			self.assertIn('data-testid="invalid"', r.text)
