"""Twilio SMS through the official SDK, with our timeout and typed errors.

``send_sms`` posts to /2010-04-01/Accounts/{sid}/Messages.json. The API base is
configurable (Gigafibre Settings → Twilio API Base URL) so tests point it at a
fake peer on loopback.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from gigafibre_fsm.connectors.errors import (
	ConnectorAuthError,
	ConnectorResponseError,
	ConnectorTimeout,
	ConnectorUnavailable,
)
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
