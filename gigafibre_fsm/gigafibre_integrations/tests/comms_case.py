"""Shared by the communications tests (test_comms, test_comms_calls): the fake Twilio, webhook
requests built by werkzeug as Twilio and 3CX send them, and the base test case."""

import json
from datetime import UTC, datetime

import frappe
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gigafibre_fsm.api import webhooks
from gigafibre_fsm.fakepeers.twilio import FakeTwilio
from gigafibre_fsm.test_utils import settings_for_update, unique, use_fake_twilio
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
