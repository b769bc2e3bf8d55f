"""SMS from the desk in a real bench: on a Customer's, an Issue's or a received SMS's thread,
to a number on file (the customer's cell phone by default), refused for a number that texted
STOP until it texts START; sent once through the fake Twilio (which speaks Twilio's documented
Messages API), with its delivery status from signed status callbacks. The browser side is in
test_sms_browser.py."""

import frappe

from gigafibre_fsm.api import customers as customers_api
from gigafibre_fsm.api import webhooks
from gigafibre_fsm.gigafibre_integrations import sms
from gigafibre_fsm.gigafibre_integrations.tests.comms_case import (
	STATUS_PATH,
	CommsCase,
	fake_request,
	national,
)
from gigafibre_fsm.test_utils import make_customer, random_phone, unique


class TestDeskReplies(CommsCase):
	def test_a_reply_goes_on_the_thread_and_status_callbacks_update_it(self):
		number = random_phone()
		customer = make_customer(cell_phone=number)
		issue = frappe.get_doc(
			{"doctype": "Issue", "subject": unique("Facture"), "customer": customer.name}
		).insert(ignore_permissions=True)
		sid, _ = self.sms_in(number, "Ma facture est fausse")
		received = frappe.db.get_value("Communication", {"message_id": sid}, "name")
		answer = customers_api.send_sms("Communication", received, "Votre facture est corrigée.")
		out = frappe.get_doc("Communication", answer["communication"])
		self.assertEqual((out.reference_doctype, out.reference_name), ("Issue", issue.name))
		self.assertEqual(
			(out.sent_or_received, out.delivery_status, answer["to"]), ("Sent", "Sending", number)
		)
		self.assertEqual(sms.send_queued(out.name), "Sent")
		self.assertEqual(sms.send_queued(out.name), "Sent")  # a second run of the job sends nothing
		(message,) = self.twilio.sent
		self.assertEqual((message["to"], message["body"]), (number, "Votre facture est corrigée."))
		self.assertEqual(frappe.db.get_value("Communication", out.name, "message_id"), message["sid"])

		for status in ("delivered", "sent"):  # a late "sent" does not undo "delivered"
			self.signed(
				STATUS_PATH, {"MessageSid": message["sid"], "MessageStatus": status, "AccountSid": "AC"}
			)
			webhooks.twilio_status()
		self.assertEqual(
			frappe.db.get_value("Communication", out.name, ["gigafibre_sms_status", "delivery_status"]),
			("delivered", "Sent"),
		)
		fake_request(STATUS_PATH, {"MessageSid": message["sid"], "MessageStatus": "failed"})
		with self.assertRaises(frappe.AuthenticationError):
			webhooks.twilio_status()

	def test_send_sms_refuses_other_threads(self):
		with self.assertRaises(frappe.ValidationError):
			customers_api.send_sms("User", "Administrator", "x")

	def test_from_an_issue_to_the_cell_phone_on_file_or_a_contact_phone_only(self):
		cell, other = random_phone(), random_phone()
		customer = make_customer(cell_phone=national(cell))
		contact = frappe.get_doc(
			{
				"doctype": "Contact",
				"first_name": unique("Conjoint"),
				"phone_nos": [{"phone": other}],
				"links": [{"link_doctype": "Customer", "link_name": customer.name}],
			}
		).insert(ignore_permissions=True)
		issue = frappe.get_doc(
			{"doctype": "Issue", "subject": unique("Lenteur"), "customer": customer.name}
		).insert(ignore_permissions=True)
		numbers = customers_api.sms_recipients("Issue", issue.name)["numbers"]
		self.assertEqual([(n["number"], n["opted_out"]) for n in numbers], [(cell, False), (other, False)])
		self.assertEqual(numbers[1]["label"], contact.full_name)

		answer = customers_api.send_sms("Issue", issue.name, "Un technicien passera demain.")
		self.assertEqual(answer["to"], cell)  # the cell phone on file by default
		out = frappe.get_doc("Communication", answer["communication"])
		self.assertEqual((out.reference_doctype, out.reference_name), ("Issue", issue.name))
		self.assertIn(customer.name, [link.link_name for link in out.timeline_links])
		to_contact = customers_api.send_sms("Issue", issue.name, "Pour vous aussi.", to=national(other))
		self.assertEqual(to_contact["to"], other)
		with self.assertRaises(frappe.ValidationError):  # a number not on file: nothing queued
			customers_api.send_sms("Issue", issue.name, "Bonjour", to=random_phone())
		for name in (answer["communication"], to_contact["communication"]):
			self.assertEqual(sms.send_queued(name), "Sent")
		self.assertEqual(
			[(m["to"], m["body"]) for m in self.twilio.sent],
			[(cell, "Un technicien passera demain."), (other, "Pour vous aussi.")],
		)

	def test_an_unknown_number_is_answered_on_its_triage_issue(self):
		number = random_phone()
		sid, _ = self.sms_in(number, "Mon internet ne marche plus")
		issue = frappe.db.get_value("Communication", {"message_id": sid}, "reference_name")
		numbers = customers_api.sms_recipients("Issue", issue)["numbers"]
		self.assertEqual([n["number"] for n in numbers], [number])
		answer = customers_api.send_sms("Issue", issue, "Quel est votre nom?")
		self.assertEqual(answer["to"], number)

	def test_a_number_that_texted_stop_is_refused_until_start(self):
		number = random_phone()
		customer = make_customer(cell_phone=number)
		issue = frappe.get_doc(
			{"doctype": "Issue", "subject": unique("Facture"), "customer": customer.name}
		).insert(ignore_permissions=True)
		sid, _ = self.sms_in(number, "Arrêt svp")
		received = frappe.db.get_value("Communication", {"message_id": sid}, "name")
		before = frappe.db.count("Communication", {"sent_or_received": "Sent", "phone_no": number})
		(listed,) = customers_api.sms_recipients("Issue", issue.name)["numbers"]
		self.assertTrue(listed["opted_out"])
		for thread in (("Issue", issue.name), ("Communication", received), ("Customer", customer.name)):
			with self.assertRaises(frappe.ValidationError) as refused:
				customers_api.send_sms(*thread, "Votre facture est corrigée.")
			self.assertIn("STOP", str(refused.exception))
		frappe.local.lang = "fr"
		try:
			with self.assertRaises(frappe.ValidationError) as refused:
				customers_api.send_sms("Issue", issue.name, "Votre facture est corrigée.")
		finally:
			frappe.local.lang = "en"
		self.assertIn("a répondu STOP", str(refused.exception))
		self.assertEqual(
			frappe.db.count("Communication", {"sent_or_received": "Sent", "phone_no": number}), before
		)
		self.sms_in(number, "START")
		answer = customers_api.send_sms("Issue", issue.name, "Votre facture est corrigée.")
		self.assertEqual(sms.send_queued(answer["communication"]), "Sent")
		self.assertEqual([m["to"] for m in self.twilio.sent], [number])
