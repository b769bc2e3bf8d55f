"""Shared by the Stripe payment tests (test_payments, test_payments_account, test_saved_cards,
test_api_roles): a CAD company, the fake Stripe on loopback set in Gigafibre Settings, invoices,
and the base test case serving the site (serve_site) for the webhooks."""

from __future__ import annotations

import frappe
import requests
from frappe.utils import getdate

from gigafibre_fsm.customers import payments
from gigafibre_fsm.fakepeers.stripe import FakeStripe
from gigafibre_fsm.fakepeers.twilio import FakeTwilio
from gigafibre_fsm.test_utils import (
	ensure_outgoing_email,
	make_customer,
	make_plan_item,
	random_phone,
	settings_for_update,
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
			cell_phone=random_phone("450"),
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
