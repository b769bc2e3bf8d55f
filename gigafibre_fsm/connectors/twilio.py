"""Twilio through the official SDK, with our timeout and typed errors.

``send_sms`` posts to /2010-04-01/Accounts/{sid}/Messages.json. The API base is
configurable (Gigafibre Settings → Twilio API Base URL) so tests point it at a
fake peer on loopback. Inbound webhooks: ``signature_valid`` checks X-Twilio-Signature
with the SDK's RequestValidator; ``voice_twiml`` / ``messaging_twiml`` build the answers
with the SDK's VoiceResponse / MessagingResponse.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

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
