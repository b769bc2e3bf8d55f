"""Communications in a real bench: inbound SMS (signed by the fake Twilio, which computes
Twilio's documented signature independently of the SDK), SMS consent and the flows' send_sms,
desk replies and delivery status. Calls and the timeline: test_comms_calls.py.

The webhooks are called in-process with ``frappe.local.request`` built by werkzeug from the
form and headers Twilio sends (the test_qr way), so each test rolls back; one test serves the
site over HTTP and commits (then deletes what it made)."""

import json

import frappe
import requests

from gigafibre_fsm.flows import runtime
from gigafibre_fsm.gigafibre_integrations import consent as sms_consent
from gigafibre_fsm.gigafibre_integrations.tests.comms_case import HOST, SMS_PATH, CommsCase, national
from gigafibre_fsm.test_utils import (
	make_customer,
	make_template,
	random_phone,
	settings_for_update,
	step,
	unique,
)
from gigafibre_fsm.testing_http import serve_site


class TestInboundSms(CommsCase):
	def test_a_signed_sms_sent_twice_lands_once_on_the_open_issue_and_fires_the_flow_once(self):
		number = random_phone()
		customer = make_customer(cell_phone=national(number))
		issue = frappe.get_doc(
			{"doctype": "Issue", "subject": unique("Panne"), "customer": customer.name}
		).insert(ignore_permissions=True)
		template = make_template(
			[step("s1", "create_todo", {"description": "SMS {{doc.name}}"})],
			applies_to="Issue",
			trigger_event="on_sms_received",
			category="Agent",
			kind="other_agent",
		)
		sid = "SM" + frappe.generate_hash(length=32)
		_, first = self.sms_in(number, "Mon internet ne fonctionne plus", sid)
		_, second = self.sms_in(number, "Mon internet ne fonctionne plus", sid)
		for answer in (first, second):
			self.assertEqual(answer.status_code, 200)
			self.assertEqual(answer.mimetype, "text/xml")
			self.assertIn(b"<Response", answer.get_data())
		(comm,) = self.comms(message_id=sid)
		self.assertEqual((comm.reference_doctype, comm.reference_name), ("Issue", issue.name))
		self.assertEqual(
			(comm.communication_medium, comm.sent_or_received, comm.phone_no), ("SMS", "Received", number)
		)
		self.assertIn("ne fonctionne plus", comm.content)
		links = frappe.get_all("Communication Link", {"parent": comm.name}, pluck="link_name")
		self.assertIn(customer.name, links)
		runs = frappe.get_all(
			"Flow Run",
			{"template": template.name, "reference_name": issue.name, "trigger_event": "on_sms_received"},
		)
		self.assertEqual(len(runs), 1)

	def test_a_contact_phone_matches_and_no_open_issue_means_the_customer_timeline(self):
		number = random_phone("438")
		customer = make_customer()
		frappe.get_doc(
			{
				"doctype": "Contact",
				"first_name": unique("Marie"),
				"phone_nos": [
					{
						"phone": f"1-{national(number)[1:4]}-{number[5:8]}-{number[8:]}",
						"is_primary_mobile_no": 1,
					}
				],
				"links": [{"link_doctype": "Customer", "link_name": customer.name}],
			}
		).insert(ignore_permissions=True)
		sid, _ = self.sms_in(number, "Bonjour, quelle est ma date de facturation?")
		(comm,) = self.comms(message_id=sid)
		self.assertEqual((comm.reference_doctype, comm.reference_name), ("Customer", customer.name))

	def test_an_unknown_number_starts_one_triage_issue(self):
		number = random_phone("819")
		issues = frappe.db.count("Issue")
		first, _ = self.sms_in(number, "Est-ce que vous desservez Saint-Rémi?")
		second, _ = self.sms_in(number, "Au 12 rue Principale")
		self.assertEqual(frappe.db.count("Issue"), issues + 1)
		triage = frappe.db.get_value("SMS Consent", number, "triage_issue")
		self.assertTrue(triage)
		for sid in (first, second):
			self.assertEqual(
				frappe.db.get_value("Communication", {"message_id": sid}, "reference_name"), triage
			)

	def test_unsigned_or_wrongly_signed_changes_nothing_and_answers_alike(self):
		known = random_phone()
		make_customer(cell_phone=known)
		unknown = random_phone("873")
		counts = (frappe.db.count("Communication"), frappe.db.count("Issue"), frappe.db.count("SMS Consent"))
		refusals = []
		for number in (known, unknown):
			for kind, kw in (
				("none", {"signature": ""}),
				("wrong", {"signature": self.twilio.sign(HOST + SMS_PATH, {"Body": "x"})}),
				("other url", {"url": "https://elsewhere.example.com" + SMS_PATH}),
				("garbage", {"signature": "A" * 4000}),
			):
				with self.assertRaises(frappe.AuthenticationError) as caught:
					self.sms_in(number, "STOP", **kw)
				refusals.append((kind, str(caught.exception)))
				frappe.clear_messages()
		self.assertEqual(len({r for _, r in refusals}), 1)  # one message for every refusal
		self.assertEqual(
			(frappe.db.count("Communication"), frappe.db.count("Issue"), frappe.db.count("SMS Consent")),
			counts,
		)
		self.assertFalse(sms_consent.opted_out(known))

	def test_behind_a_proxy_the_public_url_is_checked(self):
		settings = settings_for_update()
		settings.public_base_url = "https://erp.example.com"
		settings.save()
		number = random_phone()
		sid, answer = self.sms_in(number, "allo", url="https://erp.example.com" + SMS_PATH)
		self.assertEqual(answer.status_code, 200)
		self.assertTrue(self.comms(message_id=sid))
		with self.assertRaises(frappe.AuthenticationError):
			self.sms_in(number, "allo")  # signed for the inner URL: not what Twilio signs


class TestConsent(CommsCase):
	def test_stop_then_an_agent_flow_sms_is_not_sent_and_start_resumes(self):
		number = random_phone()
		customer = make_customer(cell_phone=number)
		self.sms_in(number, " Arrêt svp ")
		self.assertTrue(sms_consent.opted_out(national(number)))
		consent = frappe.get_doc("SMS Consent", number)
		self.assertEqual((consent.opted_out, consent.keyword), (1, "STOP"))
		# the STOP message is on the timeline too, and starts no flow nor triage
		self.assertEqual(self.comms(phone_no=number)[0].reference_name, customer.name)

		template = make_template(
			[step("s1", "send_sms", {"to": "{{doc.cell_phone}}", "body": "Promo {{doc.name}}"})],
			applies_to="Customer",
		)
		run = runtime.start_run(template.name, "Customer", customer.name, enqueue=False)
		self.assertEqual(runtime.advance_run(run), "Completed")
		self.assertEqual(self.twilio.sent, [])
		output = json.loads(frappe.get_doc("Flow Run", run).steps[0].output)
		self.assertEqual((output["sent"], output["reason"]), (False, "opted_out"))

		self.sms_in(number, "START")
		self.assertFalse(sms_consent.opted_out(number))
		run = runtime.start_run(
			template.name, "Customer", customer.name, enqueue=False, occurrence=unique("o")
		)
		self.assertEqual(runtime.advance_run(run), "Completed")
		self.assertEqual([m["to"] for m in self.twilio.sent], [number])

	def test_keyword_replies_when_asked(self):
		settings = settings_for_update()
		settings.sms_keyword_replies = 1
		settings.save()
		_, answer = self.sms_in(random_phone(), "STOP")
		self.assertIn("START", answer.get_data(as_text=True))
		_, answer = self.sms_in(random_phone(), "Bonjour")
		self.assertNotIn("<Message", answer.get_data(as_text=True))


class TestOverHttp(CommsCase):
	def test_signed_sms_over_http_twice_is_stored_once_and_forgeries_answer_alike(self):
		number = random_phone()
		customer = make_customer(cell_phone=number)
		frappe.db.commit()  # the server threads read with their own connections
		self.addCleanup(lambda: (self._restore(self.settings_before), frappe.db.commit()))
		self.addCleanup(self._delete, customer.name, number)
		with serve_site(frappe.local.site) as base:
			url = base + SMS_PATH
			sid = "SM" + frappe.generate_hash(length=32)
			answers = [self.twilio.deliver_sms(url, number, "Allo, service coupé", sid=sid) for _ in range(2)]
			self.assertEqual([a.status_code for a in answers], [200, 200])
			self.assertTrue(all(a.headers["Content-Type"].startswith("text/xml") for a in answers))
			forged = [
				self.twilio.deliver_sms(url, n, "STOP", signature="Zm9yZ2Vk")
				for n in (number, random_phone("367"))
			]
			self.assertEqual({a.status_code for a in forged}, {401})
			self.assertEqual(len({json.loads(a.text)["exc_type"] for a in forged}), 1)
			unsigned = requests.post(url, data={"From": number, "Body": "x", "MessageSid": "SMx"}, timeout=60)
			self.assertEqual(unsigned.status_code, 401)
		frappe.db.rollback()
		self.assertEqual(frappe.db.count("Communication", {"message_id": sid}), 1)
		self.assertFalse(sms_consent.opted_out(number))

	def _delete(self, customer: str, number: str):
		frappe.db.rollback()
		for name in frappe.get_all("Communication", {"phone_no": number}, pluck="name"):
			frappe.delete_doc("Communication", name, force=True, ignore_permissions=True)
		frappe.delete_doc("Customer", customer, force=True, ignore_permissions=True)
		frappe.db.commit()
