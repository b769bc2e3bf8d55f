"""Twilio through the official SDK, with our timeout and typed errors.

``send_sms`` posts to /2010-04-01/Accounts/{sid}/Messages.json; ``fetch_recording``
downloads a voicemail's audio (the recording's media, ``<RecordingUrl>.mp3``). The API base is
configurable (Gigafibre Settings → Twilio API Base URL) so tests point it at a
fake peer on loopback. Inbound webhooks: ``signature_valid`` checks X-Twilio-Signature
with the SDK's RequestValidator; ``voice_twiml`` / ``messaging_twiml`` build the answers
with the SDK's VoiceResponse / MessagingResponse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather, VoiceResponse

from gigafibre_fsm.connectors.errors import (
	ConnectorAuthError,
	ConnectorResponseError,
	ConnectorTimeout,
	ConnectorUnavailable,
)
from gigafibre_fsm.core.comms import phone_menu
from gigafibre_fsm.core.settings import TwilioSettings

SOURCE = "Twilio"


class TwilioRejected(ConnectorResponseError):
	"""Twilio refused the message (4xx): retrying the same request will not help."""

	def __init__(self, message: str, *, status: int | None, code: int | None):
		super().__init__(message, source=SOURCE, status=status)
		self.code = code


@dataclass(frozen=True)
class SentMessage:
	sid: str
	status: str
	to: str

	def as_dict(self) -> dict:
		return {"sid": self.sid, "status": self.status, "to": self.to}


def client(settings: TwilioSettings) -> Client:
	if not settings.configured:
		raise ConnectorUnavailable("Twilio is not configured", source=SOURCE)
	c = Client(
		settings.account_sid, settings.auth_token, http_client=TwilioHttpClient(timeout=settings.timeout)
	)
	c.api.base_url = settings.api_base
	return c


def send_sms(
	settings: TwilioSettings, to: str, body: str, *, status_callback: str | None = None
) -> SentMessage:
	if not to or not body:
		raise TwilioRejected("An SMS needs a recipient and a body", status=None, code=None)
	kwargs = {"to": to, "from_": settings.from_number, "body": body}
	if status_callback:
		kwargs["status_callback"] = status_callback
	try:
		message = client(settings).messages.create(**kwargs)
	except TwilioRestException as e:
		if e.status in (401, 403):
			raise ConnectorAuthError(
				f"Twilio refused the credentials ({e.code})", source=SOURCE, status=e.status
			)
		if e.status and 400 <= e.status < 500 and e.status != 429:
			raise TwilioRejected(
				f"Twilio refused the message: {e.msg} ({e.code})", status=e.status, code=e.code
			)
		raise ConnectorResponseError(f"Twilio error {e.status}: {e.msg}", source=SOURCE, status=e.status)
	except requests.Timeout as e:
		raise ConnectorTimeout(f"Twilio did not answer within {settings.timeout}s", source=SOURCE) from e
	except requests.ConnectionError as e:
		raise ConnectorUnavailable(f"Twilio could not be reached: {e}", source=SOURCE) from e
	return SentMessage(sid=message.sid, status=str(message.status), to=message.to)


# -- recordings ------------------------------------------------------------------------------

RECORDING_PATH = re.compile(
	r"^/2010-04-01/Accounts/(?P<account>AC[0-9a-fA-F]{32})/Recordings/(?P<sid>RE[0-9a-fA-F]{32})$"
)
MAX_RECORDING_BYTES = 25 * 2**20  # a 10-minute voicemail in MP3 is about 5 MB


def recording_media_url(settings: TwilioSettings, recording_url: str) -> str | None:
	"""The MP3 media address of a recording a webhook names, or None when the address is not a
	recording of this account on the configured API host: the app never fetches an address a
	request chose."""
	try:
		parts = urlsplit(str(recording_url or ""))
	except ValueError:
		return None
	base = urlsplit(settings.api_base)
	if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or parts.query or parts.fragment:
		return None
	match = RECORDING_PATH.match(parts.path)
	if not match or match["account"] != settings.account_sid:
		return None
	return f"{base.scheme}://{base.netloc}{parts.path}.mp3"


def fetch_recording(settings: TwilioSettings, recording_url: str) -> bytes:
	"""The audio of a recording (Basic auth with the account, as Twilio's "HTTP Basic
	Authentication for media" requires when it is on); at most MAX_RECORDING_BYTES."""
	if not settings.configured:
		raise ConnectorUnavailable("Twilio is not configured", source=SOURCE)
	url = recording_media_url(settings, recording_url)
	if not url:
		raise TwilioRejected("Not a recording of this Twilio account", status=None, code=None)
	try:
		with requests.get(
			url, auth=(settings.account_sid, settings.auth_token), timeout=settings.timeout, stream=True
		) as answer:
			if answer.status_code in (401, 403):
				raise ConnectorAuthError(
					"Twilio refused the credentials for the recording",
					source=SOURCE,
					status=answer.status_code,
				)
			if answer.status_code == 404:
				raise TwilioRejected("Twilio has no such recording", status=404, code=20404)
			if answer.status_code >= 400:
				raise ConnectorResponseError(
					f"Twilio error {answer.status_code} on the recording",
					source=SOURCE,
					status=answer.status_code,
				)
			kind = answer.headers.get("Content-Type", "")
			if not kind.startswith("audio/"):
				raise ConnectorResponseError(f"The recording is not audio ({kind})", source=SOURCE)
			audio = bytearray()
			for chunk in answer.iter_content(65536):
				audio += chunk
				if len(audio) > MAX_RECORDING_BYTES:
					raise ConnectorResponseError("The recording is too large", source=SOURCE)
			return bytes(audio)
	except requests.Timeout as e:
		raise ConnectorTimeout(f"Twilio did not answer within {settings.timeout}s", source=SOURCE) from e
	except requests.ConnectionError as e:
		raise ConnectorUnavailable(f"Twilio could not be reached: {e}", source=SOURCE) from e


# -- inbound webhooks: signatures and TwiML ------------------------------------------------

SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_SIGNATURE_LENGTH = 200


class _Form:
	"""The form as the SDK's validator reads it (``getlist``), from a MultiDict or a plain dict."""

	def __init__(self, params):
		self._params = params or {}

	def __iter__(self):
		return iter(self._params)

	def getlist(self, name) -> list[str]:
		if hasattr(self._params, "getlist"):
			return [str(v) for v in self._params.getlist(name)]
		value = self._params[name]
		return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def signature_valid(auth_token: str, url: str, params, signature) -> bool:
	"""Whether ``signature`` (the X-Twilio-Signature header) signs ``url`` + ``params`` with the
	account's auth token, as Twilio computes it (the SDK's RequestValidator: HMAC-SHA1 over the
	exact URL Twilio requested and the sorted form fields, compared in constant time, with and
	without the default port). ``url`` must be the public URL Twilio called, query included."""
	if not auth_token or not isinstance(signature, str) or not signature:
		return False
	if len(signature) > MAX_SIGNATURE_LENGTH:
		return False
	return RequestValidator(auth_token).validate(url, _Form(params), signature)


def _url(action_url: str, params: dict) -> str:
	return f"{action_url}{'&' if '?' in action_url else '?'}{urlencode(params)}"


def voice_twiml(decision: phone_menu.Decision, *, action_url: str, queues: dict[str, str]) -> str:
	"""TwiML (``<Response>``) for a phone-menu decision, built with the SDK's VoiceResponse.

	``action_url``: the menu webhook's public URL; each gather, redirect, dial and recording comes
	back to it with the decision's query (step, lang, attempt). ``queues``: queue name → number
	to dial; a queue without a number goes straight to the dial's follow-up (the voicemail)."""
	response = VoiceResponse()
	for verb in decision.verbs:
		if isinstance(verb, phone_menu.Say):
			response.say(verb.text, language=phone_menu.VOICE_LANG[verb.lang])
		elif isinstance(verb, phone_menu.Gather):
			lang = verb.params.get("lang", "fr")
			gather = Gather(
				action=_url(action_url, verb.params),
				method="POST",
				input="dtmf",
				timeout=verb.timeout,
				num_digits=verb.num_digits,
				language=phone_menu.VOICE_LANG.get(lang, "fr-CA"),
			)
			for say in verb.prompt:
				gather.say(say.text, language=phone_menu.VOICE_LANG[say.lang])
			response.append(gather)
		elif isinstance(verb, phone_menu.Redirect):
			response.redirect(_url(action_url, verb.params), method="POST")
		elif isinstance(verb, phone_menu.Dial):
			number = (queues.get(verb.queue) or "").strip()
			if number:
				response.dial(
					number, action=_url(action_url, verb.params), method="POST", timeout=verb.timeout
				)
			else:
				response.redirect(_url(action_url, verb.params), method="POST")
		elif isinstance(verb, phone_menu.Record):
			response.record(
				action=_url(action_url, verb.params),
				method="POST",
				max_length=verb.max_length,
				timeout=5,
				play_beep=True,
				finish_on_key="#",
				transcribe=True,
				transcribe_callback=_url(action_url, {**verb.params, "step": "transcription"}),
			)
		elif isinstance(verb, phone_menu.Hangup):
			response.hangup()
	return str(response)


def messaging_twiml(reply: str | None = None) -> str:
	"""TwiML for an inbound SMS: empty (nothing sent back), or one reply message."""
	response = MessagingResponse()
	if reply:
		response.message(reply)
	return str(response)
