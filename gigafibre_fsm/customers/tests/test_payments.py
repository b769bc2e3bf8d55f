"""Stripe payments in a real bench, against a fake Stripe on loopback (gigafibre_fsm.fakepeers.stripe:
Stripe's REST API and its webhook signatures as documented) and the site served by this process
(serve_site: its own threads and database connections, so what they must see is committed first).

The webhook books one Payment Entry per PaymentIntent whatever the order, repetition and
concurrency of its two events; bad, forged and stale signatures write nothing; refunds and
disputes; the pay link; the overdue reminder. Autopay, cards and the account page:
test_payments_account.py.
"""

from __future__ import annotations

import threading
import time
from urllib.parse import urlparse

import frappe
import requests
from frappe.utils import add_days, flt, getdate

from gigafibre_fsm.customers import payments, stripe_events
from gigafibre_fsm.customers.tests.stripe_case import WEBHOOK, StripeCase, make_invoice, receipts
from gigafibre_fsm.testing_http import serve_site


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
