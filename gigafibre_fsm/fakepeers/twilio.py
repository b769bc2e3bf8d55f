"""Fake peer speaking Twilio's REST API 2010-04-01 (Messages resource).

Answers as twilio/twilio-oai's description of the API says (shared/specs/
twilio_api_v2010.json): POST /2010-04-01/Accounts/{AccountSid}/Messages.json
with a form body (To, From, Body, StatusCallback) → 201 and an
api.v2010.account.message JSON; Basic auth with the account SID and token, else
401 with Twilio's error body (code 20003); a "To" that is not E.164 → 400 with
code 21211; GET of one message → 200. Every accepted message is kept in
``messages``. Recordings (``add_recording``) are served as their media, GET
/2010-04-01/Accounts/{AccountSid}/Recordings/{RecordingSid}.mp3 → audio/mpeg, with the same
Basic auth (Twilio's "HTTP Basic Authentication for media access").

It also plays Twilio's side of the webhooks it calls on our site, signed as Twilio's
"Webhooks security" page documents (X-Twilio-Signature: base64 of HMAC-SHA1, keyed with the
auth token, over the full URL followed by every POST field name and value sorted by name),
computed here independently of the SDK's validator: ``deliver_sms`` (an inbound message, the
fields of Twilio's messaging webhook), ``deliver_status`` (a status callback), ``call`` (a voice
webhook request with the call's fields).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from base64 import b64decode, b64encode
from email.utils import formatdate

import requests

from gigafibre_fsm.fakepeers.http import FakePeer, Response

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def _error(status: int, code: int, message: str) -> Response:
	return Response.json(
		{
			"code": code,
			"message": message,
			"more_info": f"https://www.twilio.com/docs/errors/{code}",
			"status": status,
		},
		status=status,
	)


class FakeTwilio(FakePeer):
	def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "test-token"):
		self.account_sid = account_sid
		self.auth_token = auth_token
		self.messages: dict[str, dict] = {}
		self.recordings: dict[str, tuple[bytes, str]] = {}  # sid → (media, content type)
		self.fail_next: list[Response] = []  # queued canned answers (e.g. a 500) for retry tests
		# seconds between recording a message and answering (a caller killed in between)
		self.answer_delay = 0.0
		self._msg_lock = threading.Lock()
		super().__init__()

	def _authorised(self, request, account) -> Response | None:
		header = request.headers.get("authorization", "")
		try:
			user, _, password = b64decode(header.removeprefix("Basic ")).decode().partition(":")
		except Exception:
			user = password = ""
		if (
			header[:6] != "Basic "
			or user != self.account_sid
			or password != self.auth_token
			or account != user
		):
			return _error(401, 20003, "Authenticate")
		return None

	def setup_routes(self):
		base = r"/2010-04-01/Accounts/(?P<account>AC[0-9a-fA-F]{32})"

		@self.route("POST", base + r"/Messages\.json")
		def create(request, account):
			refused = self._authorised(request, account)
			if refused:
				return refused
			if self.fail_next:
				return self.fail_next.pop(0)
			form = {k: v[-1] for k, v in request.form().items()}
			to = form.get("To", "")
			if not E164.match(to):
				return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
			if not form.get("Body") and not form.get("MediaUrl"):
				return _error(400, 21602, "Message body is required.")
			sid = "SM" + secrets.token_hex(16)
			now = formatdate(usegmt=True)
			message = {
				"account_sid": account,
				"api_version": "2010-04-01",
				"body": form.get("Body", ""),
				"date_created": now,
				"date_sent": None,
				"date_updated": now,
				"direction": "outbound-api",
				"error_code": None,
				"error_message": None,
				"from": form.get("From"),
				"messaging_service_sid": None,
				"num_media": "0",
				"num_segments": str(max(1, -(-len(form.get("Body", "")) // 160))),
				"price": None,
				"price_unit": "USD",
				"sid": sid,
				"status": "queued",
				"subresource_uris": {"media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"},
				"to": to,
				"uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
			}
			with self._msg_lock:
				self.messages[sid] = message
			return Response.json(message, status=201, delay=self.answer_delay)

		@self.route("GET", base + r"/Messages/(?P<sid>SM[0-9a-f]{32})\.json")
		def fetch(request, account, sid):
			refused = self._authorised(request, account)
			if refused:
				return refused
			if sid not in self.messages:
				return _error(404, 20404, f"The requested resource {request.path} was not found")
			return Response.json(self.messages[sid])

		@self.route("GET", base + r"/Recordings/(?P<sid>RE[0-9a-fA-F]{32})\.mp3")
		def recording(request, account, sid):
			refused = self._authorised(request, account)
			if refused:
				return refused
			if sid not in self.recordings:
				return _error(404, 20404, f"The requested resource {request.path} was not found")
			media, kind = self.recordings[sid]
			return Response(200, media, {"Content-Type": kind})

	def add_recording(self, audio: bytes, content_type: str = "audio/mpeg") -> tuple[str, str]:
		"""A recording of this account: its sid and the RecordingUrl Twilio's webhooks give."""
		sid = "RE" + secrets.token_hex(16)
		self.recordings[sid] = (audio, content_type)
		return sid, f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Recordings/{sid}"

	@property
	def sent(self) -> list[dict]:
		with self._msg_lock:
			return list(self.messages.values())

	# -- Twilio calling our webhooks ---------------------------------------------------------

	def sign(self, url: str, params: dict[str, str]) -> str:
		data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
		return b64encode(hmac.new(self.auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()

	def post_signed(
		self, url: str, params: dict[str, str], *, signature: str | None = None, signed_url: str | None = None
	) -> requests.Response:
		"""POST ``params`` form-encoded to ``url`` with the signature of ``signed_url`` (default
		``url``: the public URL when the site sits behind a proxy); ``signature`` overrides it
		(forgeries; "" sends none)."""
		sig = self.sign(signed_url or url, params) if signature is None else signature
		headers = {"X-Twilio-Signature": sig} if sig else {}
		headers["User-Agent"] = "TwilioProxy/1.1"
		return requests.post(url, data=params, headers=headers, timeout=60)

	def sms_params(self, from_: str, body: str, *, to: str = "+14505550100", sid: str | None = None) -> dict:
		return {
			"ToCountry": "CA",
			"ToState": "QC",
			"SmsMessageSid": sid or "SM" + secrets.token_hex(16),
			"NumMedia": "0",
			"ToCity": "",
			"FromZip": "",
			"SmsSid": sid or "",
			"FromState": "QC",
			"SmsStatus": "received",
			"FromCity": "MONTREAL",
			"Body": body,
			"FromCountry": "CA",
			"To": to,
			"ToZip": "",
			"NumSegments": "1",
			"MessageSid": sid or "",
			"AccountSid": self.account_sid,
			"From": from_,
			"ApiVersion": "2010-04-01",
		}

	def deliver_sms(
		self, url: str, from_: str, body: str, *, sid: str | None = None, **kw
	) -> requests.Response:
		params = self.sms_params(from_, body, sid=sid)
		params["SmsSid"] = params["MessageSid"] = params["SmsMessageSid"]
		return self.post_signed(url, params, **kw)

	def deliver_status(self, url: str, sid: str, status: str, *, error_code: str | None = None, **kw):
		message = self.messages.get(sid, {})
		params = {
			"MessageSid": sid,
			"SmsSid": sid,
			"MessageStatus": status,
			"SmsStatus": status,
			"AccountSid": self.account_sid,
			"From": message.get("from") or "+14505550100",
			"To": message.get("to") or "",
			"ApiVersion": "2010-04-01",
		}
		if error_code:
			params["ErrorCode"] = error_code
		return self.post_signed(url, params, **kw)

	def call(self, url: str, from_: str, *, call_sid: str | None = None, extra: dict | None = None, **kw):
		"""One request of a voice call to ``url`` (the first, or a gather's / record's action)."""
		params = {
			"CallSid": call_sid or "CA" + secrets.token_hex(16),
			"AccountSid": self.account_sid,
			"From": from_,
			"To": "+14505550100",
			"CallStatus": "in-progress",
			"ApiVersion": "2010-04-01",
			"Direction": "inbound",
			"CallerCountry": "CA",
			**(extra or {}),
		}
		return self.post_signed(url, params, **kw)
