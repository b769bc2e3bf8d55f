"""Communications in a real bench: inbound SMS (signed by the fake Twilio, which computes
Twilio's documented signature independently of the SDK), SMS consent and the flows' send_sms,
desk replies and delivery status, the phone menu's TwiML, 3CX lookup and call journal, and the
customer timeline.

The webhooks are called in-process with ``frappe.local.request`` built by werkzeug from the
form and headers Twilio sends (the test_qr way), so each test rolls back; one test serves the
site over HTTP and commits (then deletes what it made)."""

import json
import os
from datetime import UTC, datetime, timedelta

import frappe
import requests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gigafibre_fsm.api import customers as customers_api
from gigafibre_fsm.api import webhooks
from gigafibre_fsm.exceptions import ForbiddenError
from gigafibre_fsm.fakepeers.twilio import FakeTwilio
from gigafibre_fsm.flows import runtime
from gigafibre_fsm.gigafibre_integrations import consent as sms_consent
from gigafibre_fsm.gigafibre_integrations import phone, sms
from gigafibre_fsm.test_utils import (
	make_customer,
	make_template,
	make_user,
	random_phone,
	serve_site,
	settings_for_update,
	step,
	unique,
	use_fake_twilio,
)
from gigafibre_fsm.testing import IntegrationTestCase

HOST = "http://comms.test"
SMS_PATH = "/api/method/gigafibre_fsm.api.webhooks.twilio_sms"
STATUS_PATH = "/api/method/gigafibre_fsm.api.webhooks.twilio_status"
VOICE_PATH = "/api/method/gigafibre_fsm.api.webhooks.twilio_voice"
THREECX_CALL = "/api/method/gigafibre_fsm.api.webhooks.threecx_call"
SETTINGS = (
	"twilio_account_sid",
	"twilio_from_number",
	"twilio_api_base",
	"public_base_url",
	"support_queue_number",
	"billing_queue_number",
	"sales_queue_number",
	"phone_weekday_open",
	"phone_weekday_close",
	"phone_saturday_open",
	"phone_saturday_close",
	"phone_holiday_list",
	"pay_link_url",
	"sms_keyword_replies",
)
SECRETS = ("twilio_auth_token", "threecx_token")
# Thursday 3 December 2026, 10:00 in Montreal; Sunday 6 December
OPEN = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
SUNDAY = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)


def national(e164: str) -> str:
	"""How a person types it: (514) 555-0123."""
	d = e164[2:]
	return f"({d[:3]}) {d[3:6]}-{d[6:]}"


def fake_request(path: str, form: dict | None = None, *, query: str = "", headers=None, json_body=None):
	builder = EnvironBuilder(
		method="POST",
		base_url=HOST,
		path=path,
		query_string=query,
		data=form if json_body is None else json.dumps(json_body),
		content_type=None if json_body is None else "application/json",
		headers=headers or {},
	)
	frappe.local.request = Request(builder.get_environ())
	frappe.local.request_ip = "127.0.0.1"
	return frappe.local.request


class CommsCase(IntegrationTestCase):
	def setUp(self):
		frappe.set_user("Administrator")
		settings = settings_for_update()
		before = {f: settings.get(f) for f in SETTINGS}
		for f in SECRETS:
			before[f] = settings.get_password(f, raise_exception=False)
		self.settings_before = before
		self.addCleanup(self._restore, before)
		self.twilio = FakeTwilio(auth_token=unique("tok")).start()
		self.addCleanup(self.twilio.stop)
		use_fake_twilio(self.twilio)
		self.threecx_token = unique("3cx")
		settings = settings_for_update()
		settings.update(
			{
				"public_base_url": "",
				"support_queue_number": "+14505550199",
				"billing_queue_number": "",
				"sales_queue_number": "+14505550198",
				"phone_weekday_open": "08:00:00",
				"phone_weekday_close": "20:00:00",
				"phone_saturday_open": "",
				"phone_saturday_close": "",
				"phone_holiday_list": "",
				"pay_link_url": "https://pay.example.com/gigafibre",
				"sms_keyword_replies": 0,
				"threecx_token": self.threecx_token,
			}
		)
		settings.save()
		self.addCleanup(self._forget_request)

	def _forget_request(self):
		if getattr(frappe.local, "request", None) is not None:
			del frappe.local.request

	def _restore(self, before):
		frappe.set_user("Administrator")
		settings = settings_for_update()
		settings.update({k: (v if v is not None else "") for k, v in before.items()})
		settings.save()

	# -- helpers -------------------------------------------------------------------------

	def sms_in(self, from_: str, body: str, sid: str | None = None, *, signature=None, url=None):
		"""Call twilio_sms as Twilio would, signed for ``url`` (default: the URL called)."""
		params = self.twilio.sms_params(from_, body, sid=sid)
		params["SmsSid"] = params["MessageSid"] = params["SmsMessageSid"]
		sig = self.twilio.sign(url or HOST + SMS_PATH, params) if signature is None else signature
		fake_request(SMS_PATH, params, headers={"X-Twilio-Signature": sig} if sig else {})
		return params["MessageSid"], webhooks.twilio_sms()

	def signed(self, path: str, params: dict, query: str = ""):
		url = HOST + path + (f"?{query}" if query else "")
		fake_request(path, params, query=query, headers={"X-Twilio-Signature": self.twilio.sign(url, params)})

	def comms(self, **filters):
		return frappe.get_all("Communication", filters=filters, fields=["*"], order_by="creation asc")


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
