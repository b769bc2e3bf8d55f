"""Calls in a real bench: the phone menu's TwiML (known and unknown callers, outages, after hours
and holidays, voicemail), 3CX lookup and call journal, and the customer timeline. The webhooks
are called in-process as in test_comms.py, so each test rolls back."""

import os
from datetime import UTC, datetime, timedelta

import frappe

from gigafibre_fsm.api import customers as customers_api
from gigafibre_fsm.api import webhooks
from gigafibre_fsm.exceptions import ForbiddenError
from gigafibre_fsm.gigafibre_integrations import phone, sms
from gigafibre_fsm.gigafibre_integrations.tests.comms_case import (
	HOST,
	OPEN,
	SUNDAY,
	THREECX_CALL,
	VOICE_PATH,
	CommsCase,
	fake_request,
	national,
)
from gigafibre_fsm.test_utils import make_customer, make_user, random_phone, settings_for_update, unique


class TestPhoneMenu(CommsCase):
	def answer(self, number, step="start", digits=None, now=OPEN, lang="fr", extra=None):
		form = {"From": number, "CallSid": "CA" + frappe.generate_hash(length=32), **(extra or {})}
		if digits is not None:
			form["Digits"] = digits
		query = {"step": step, "lang": lang, "attempt": "1"}
		return phone.answer(form, query, HOST + VOICE_PATH, now=now)

	def known_online(self):
		number = random_phone()
		customer = make_customer(cell_phone=number)
		frappe.get_doc(
			{
				"doctype": "Service Equipment",
				"equipment_type": "ONT",
				"serial_no": unique("GF"),
				"status": "Active",
				"customer": customer.name,
				"last_online": 1,
				"last_rx_dbm": -18.5,
				"last_inform": frappe.utils.now_datetime(),
			}
		).insert(ignore_permissions=True)
		return number, customer

	def test_a_known_caller_online(self):
		number, _ = self.known_online()
		start = self.answer(number)
		self.assertIn("Nous avons trouvé votre compte", start)
		self.assertIn("<Gather", start)
		self.assertIn(f"{HOST}{VOICE_PATH}?step=menu&amp;lang=fr&amp;attempt=1", start)
		support = self.answer(number, "menu", "1")
		self.assertIn("Votre service est en ligne", support)
		self.assertIn("Pour ouvrir un billet", support)
		billing = self.answer(number, "menu", "2")
		self.assertIn("aucun solde", billing)

	def test_a_known_caller_in_an_outage(self):
		try:
			from gigafibre_fsm.network import outages
		except ImportError:
			self.skipTest("gigafibre_fsm.network.outages is not on this branch (core tests cover the words)")
		number, customer = self.known_online()
		olt = frappe.get_doc(
			{
				"doctype": "Network Element",
				"element_name": unique("OLT"),
				"vendor_profile": "zte_c300",
				"host": "192.0.2.10",
				"snmp_community": "public",
			}
		).insert(ignore_permissions=True)
		eqp = frappe.get_all("Service Equipment", {"customer": customer.name}, pluck="name")[0]
		frappe.db.set_value("Service Equipment", eqp, {"olt": olt.name, "pon_port": "1/1/1"})
		now = frappe.utils.now_datetime()
		outages.open_outage(
			key=unique("test"),
			title="Panne de test",
			source="Manual",
			started=now - timedelta(hours=1),
			network_element=olt.name,
			pon_port="1/1/1",
			expected_end=now + timedelta(hours=2),
		)
		support = self.answer(number, "menu", "1", now=datetime.now(UTC))
		self.assertIn("Une panne touche actuellement votre secteur", support)
		self.assertIn("Le retour du service est prévu vers", support)
		self.assertNotIn("Votre service est en ligne", support)

	def test_an_unknown_caller(self):
		number = random_phone("367")
		start = self.answer(number)
		self.assertNotIn("votre compte", start)
		self.assertIn("Pour le soutien technique", start)
		support = self.answer(number, "menu", "1")
		self.assertIn("pas trouvé de compte", support)
		self.assertIn("<Dial", support)
		self.assertIn("+14505550199", support)
		self.assertIn("+14505550199", self.answer(number, "menu", "2"))  # billing falls back to support
		self.assertIn("+14505550198", self.answer(number, "menu", "3"))

	def test_after_hours_and_holidays_are_voicemail_that_becomes_an_issue(self):
		number, customer = self.known_online()
		closed = self.answer(number, now=SUNDAY)
		self.assertIn("<Record", closed)
		self.assertIn("fermés", closed)
		holiday_list = frappe.get_doc(
			{
				"doctype": "Holiday List",
				"holiday_list_name": unique("Fériés"),
				"from_date": "2026-01-01",
				"to_date": "2026-12-31",
				"holidays": [{"holiday_date": "2026-12-03", "description": "Test"}],
			}
		).insert(ignore_permissions=True)
		settings = settings_for_update()
		settings.phone_holiday_list = holiday_list.name
		settings.save()
		self.assertIn("<Record", self.answer(number, now=OPEN))
		self.assertIn("<Gather", self.answer(number, now=OPEN + timedelta(days=1)))

		audio = b"ID3\x04\xff\xfb\x90" + frappe.generate_hash(length=64).encode() * 40  # an MP3 frame header
		recording, url = self.twilio.add_recording(audio)
		extra = {"RecordingSid": recording, "RecordingUrl": url, "RecordingDuration": "14"}
		for _ in range(2):  # Twilio may post the recording's action twice
			done = self.answer(number, "voicemail", now=SUNDAY, extra=extra)
			self.assertIn("<Hangup", done)
		(comm,) = self.comms(message_id=recording)
		issue = frappe.get_doc("Issue", comm.reference_name)
		self.assertEqual(issue.customer, customer.name)
		# the job the webhook queued after its commit (run here: tests do not commit)
		attached = {phone.attach_voicemail(issue.name, recording, url) for _ in range(2)}
		(name,) = attached
		files = frappe.get_all(
			"File", {"attached_to_doctype": "Issue", "attached_to_name": issue.name}, pluck="name"
		)
		self.assertEqual(files, [name])
		file = frappe.get_doc("File", name)
		self.assertEqual((file.file_name, file.is_private), (f"voicemail-{recording}.mp3", 1))
		with open(file.get_full_path(), "rb") as stored:
			self.assertEqual(stored.read(), audio)
		self.assertEqual(len([r for r in self.twilio.requests if recording in r.path]), 1)

		# a recording Twilio no longer has: the Issue says so, nothing is attached
		gone, gone_url = self.twilio.add_recording(b"x")
		del self.twilio.recordings[gone]
		self.assertIsNone(phone.attach_voicemail(issue.name, gone, gone_url))
		comments = frappe.get_all(
			"Comment", {"reference_doctype": "Issue", "reference_name": issue.name}, pluck="content"
		)
		self.assertTrue(any("could not be downloaded" in c for c in comments), comments)
		# an address that is not a recording of this account on Twilio's host files nothing
		forged = dict(extra, RecordingSid="RE" + "f" * 32, RecordingUrl="https://example.com/a.mp3")
		self.answer(number, "voicemail", now=SUNDAY, extra=forged)
		self.assertEqual(self.comms(message_id="RE" + "f" * 32), [])
		self.answer(
			number, "transcription", extra={"RecordingSid": recording, "TranscriptionText": "Rappelez-moi"}
		)
		self.assertIn("Rappelez-moi", frappe.db.get_value("Communication", comm.name, "content"))

	def test_support_ticket_and_pay_link(self):
		number, customer = self.known_online()
		ticket = self.answer(number, "support", "1")
		self.assertIn("Un billet a été ouvert", ticket)
		self.assertTrue(frappe.db.exists("Issue", {"customer": customer.name}))
		paid = self.answer(number, "billing", "1")
		self.assertIn("lien de paiement", paid)
		out = frappe.get_all("Communication", {"phone_no": number, "sent_or_received": "Sent"}, pluck="name")
		self.assertEqual(len(out), 1)
		sms.send_queued(out[0])
		self.assertIn("https://pay.example.com/gigafibre", self.twilio.sent[0]["body"])

	def test_the_voice_webhook_checks_the_signature_first(self):
		number = random_phone()
		params = {"From": number, "CallSid": "CA1", "AccountSid": self.twilio.account_sid}
		self.signed(VOICE_PATH, params, query="step=start&lang=fr&attempt=1")
		answer = webhooks.twilio_voice()
		self.assertEqual(answer.mimetype, "text/xml")
		self.assertTrue(b"<Gather" in answer.get_data() or b"<Record" in answer.get_data())
		fake_request(VOICE_PATH, params, query="step=start", headers={"X-Twilio-Signature": "x"})
		with self.assertRaises(frappe.AuthenticationError):
			webhooks.twilio_voice()


class TestThreeCX(CommsCase):
	def entry(self, number, **kw):
		return {
			"Number": number,
			"CallType": "Inbound",
			"Agent": "101",
			"AgentEmail": "Administrator",
			"Duration": "00:02:05",
			"CallStartTimeUTC": "2026-12-03 14:05:00",
			"CallEndTimeUTC": "2026-12-03 14:07:05",
			**kw,
		}

	def post_call(self, entry, token=None):
		fake_request(
			THREECX_CALL,
			json_body=entry,
			headers={"Authorization": f"Bearer {token or self.threecx_token}"},
		)
		return webhooks.threecx_call()

	def test_lookup_only_for_the_authenticated_server(self):
		number = random_phone()
		customer = make_customer(cell_phone=national(number))
		fake_request("/api/method/x", {}, headers={"Authorization": f"Bearer {self.threecx_token}"})
		found = webhooks.threecx_lookup(number=number.replace("+1", ""))
		self.assertEqual(found["contact"]["id"], customer.name)
		self.assertTrue(found["contact"]["url"].endswith(f"/app/customer/{customer.name}"))
		self.assertIsNone(webhooks.threecx_lookup(number=random_phone("367"))["contact"])
		for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-3CX-Token": "wrong"}):
			fake_request("/api/method/x", {}, headers=headers)
			with self.assertRaises(frappe.AuthenticationError):
				webhooks.threecx_lookup(number=number)

	def test_a_call_is_stored_once_and_a_missed_call_joins_the_open_issue(self):
		number = random_phone()
		customer = make_customer(cell_phone=number)
		entry = self.entry(national(number), CallStartTimeUTC=f"2026-12-03 14:{os.urandom(1)[0] % 60:02d}:00")
		first = self.post_call(entry)
		second = self.post_call(dict(entry))
		self.assertFalse(first["duplicate"])
		self.assertTrue(second["duplicate"])
		log = frappe.get_doc("Call Log", first["call_log"])
		self.assertEqual(
			(log.customer, log.type, log.status, log.duration), (customer.name, "Incoming", "Completed", 125)
		)
		self.assertEqual(frappe.db.count("Call Log", {"customer": customer.name}), 1)

		issue = frappe.get_doc(
			{"doctype": "Issue", "subject": unique("Lent"), "customer": customer.name}
		).insert(ignore_permissions=True)
		missed = self.post_call(self.entry(number, CallType="Missed", Duration="0", CallId=unique("c")))
		self.assertEqual(missed["issue"], issue.name)
		self.assertEqual(
			frappe.db.get_value("Communication", {"message_id": missed["call_log"]}, "reference_name"),
			issue.name,
		)

		with self.assertRaises(frappe.AuthenticationError):
			self.post_call(self.entry(number, CallId=unique("c")), token="nope")
		with self.assertRaises(webhooks.WebhookBadRequest):
			self.post_call({"Number": number, "CallType": "Teleport"})


class TestTimeline(CommsCase):
	def test_newest_first_paged_and_role_checked(self):
		number = random_phone()
		customer = make_customer(cell_phone=number)
		sid, _ = self.sms_in(number, "Premier message")
		fake_request(
			THREECX_CALL,
			json_body={
				"Number": number,
				"CallType": "Outbound",
				"Agent": "102",
				"Duration": "60",
				"CallId": unique("c"),
			},
			headers={"Authorization": f"Bearer {self.threecx_token}"},
		)
		call = webhooks.threecx_call()["call_log"]
		reply = customers_api.send_sms("Customer", customer.name, "Bien reçu")["communication"]
		# make the order unambiguous: message, call, reply
		base = frappe.utils.now_datetime() - timedelta(minutes=10)
		received = frappe.db.get_value("Communication", {"message_id": sid}, "name")
		frappe.db.set_value("Communication", received, "communication_date", base)
		frappe.db.set_value("Call Log", call, "creation", base + timedelta(minutes=1), update_modified=False)
		frappe.db.set_value("Communication", reply, "communication_date", base + timedelta(minutes=2))

		page = customers_api.get_timeline(customer.name)
		self.assertEqual([i["name"] for i in page["items"]], [reply, call, received])
		self.assertEqual([i["kind"] for i in page["items"]], ["communication", "call", "communication"])
		self.assertIsNone(page["next_before"])
		first = customers_api.get_timeline(customer.name, limit=2)
		self.assertEqual([i["name"] for i in first["items"]], [reply, call])
		rest = customers_api.get_timeline(customer.name, before=first["next_before"], limit=2)
		self.assertEqual([i["name"] for i in rest["items"]], [received])

		outsider = make_user(["Technician"])
		frappe.set_user(outsider.name)
		try:
			with self.assertRaises(ForbiddenError):
				customers_api.get_timeline(customer.name)
		finally:
			frappe.set_user("Administrator")
		with self.assertRaises(frappe.DoesNotExistError):
			customers_api.get_timeline("CUST-NOPE-404")
