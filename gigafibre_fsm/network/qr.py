"""The QR page's one-time codes and sessions, for ``/q/<mac>`` (the endpoints are gigafibre_fsm.api.qr).

A sticker on the customer's modem links to ``/q/<mac>``. The visitor proves they are
the customer by the cell phone number on file: ``request_code`` texts a 6-digit code
to it, ``verify_code`` trades the code for a 30-minute session token (scope ``qr``),
``get_diagnostic`` gives a plain-language state of that one device.

Guest-callable, POST only. What the caller can learn is kept to nothing:

- ``request_code`` answers the same dict whether or not the MAC is known and the
  phone matches, after the same database work; the SMS itself is sent by a
  background job so its network time does not show in the answer;
- ``verify_code`` refuses a wrong, expired, locked or unknown-MAC code with one
  answer; 5 wrong codes lock the MAC until the code expires (gigafibre_fsm.core.otp);
- limits: per IP (Frappe's ``rate_limit``) and 3 code requests per 15 minutes per
  MAC (FACTS: "3 requests per 15 minutes per identifier"), counted for unknown MACs
  too; over the MAC limit the answer is still the same, only no SMS goes out;
- ``get_diagnostic`` returns statuses, Wi-Fi network names, mesh node and client
  device names and counts, never serials, IP or MAC addresses, customer or
  equipment ids, raw errors or OLT data.

Codes live in Redis (``frappe.cache``) under the normalised MAC, as an HMAC only,
with the code's remaining lifetime as expiry. The session token's subject is the
normalised MAC (which the visitor already knows) rather than the equipment name:
the token's payload is readable base64, and the equipment id is internal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import frappe
from frappe import _
from frappe.utils import get_datetime, get_system_timezone

from gigafibre_fsm.connectors.errors import ConnectorError
from gigafibre_fsm.core import otp, tokens
from gigafibre_fsm.core.comms.phones import to_e164
from gigafibre_fsm.core.equipment import normalise_mac
from gigafibre_fsm.core.errors import InvalidInput
from gigafibre_fsm.core.qr_summary import plain_summary
from gigafibre_fsm.exceptions import ForbiddenError
from gigafibre_fsm.network.diagnose import diagnose_equipment
from gigafibre_fsm.network.lookup import by_mac
from gigafibre_fsm.settings import get_settings

SCOPE = "qr"
SESSION_TTL = timedelta(minutes=30)
REQUESTS_PER_MAC = 3
REQUEST_WINDOW = 15 * 60  # seconds
REFRESH_EVERY = 2 * 60  # a live re-diagnosis at most this often per device
NO_SUBJECT = "-"  # hashed against when the MAC is not valid, so the work is the same
CACHE_PREFIX = "gigafibre_fsm:qr"
SMS_BODY = (
	"Gigafibre : votre code est {code} (valide {minutes} min). "
	"Your code is {code} (valid {minutes} min). Ne le partagez pas / Do not share it."
)
LOG = "gigafibre_fsm.qr"


class QrSessionError(ForbiddenError):
	"""The QR session token was refused (one message for every reason)."""


# -- answers ------------------------------------------------------------------------


def _code_sent() -> dict:
	return {"sent": True, "message": _("If this number is on file, a code was sent")}


def _code_refused() -> dict:
	return {
		"ok": False,
		"message": _("This code is not valid. Check it, or ask for a new code in a few minutes."),
	}


def _session_refused():
	frappe.throw(
		_("This session has expired. Ask for a new code."), QrSessionError, title=_("Session expired")
	)


# -- what the endpoints do --------------------------------------------------------


def request_code(mac: str, phone: str) -> dict:
	"""Text a code to the phone on file for this device, if ``phone`` is that number.

	Always answers ``{"sent": True, "message": ...}``."""
	now = datetime.now(UTC)
	subject = _subject(mac)
	key = _identifier(mac, subject)
	within_limit = _count_request(key) <= REQUESTS_PER_MAC
	on_file = _phone_on_file(subject)
	to = to_e164(on_file)
	matches = otp.phones_match(phone, on_file) and bool(to)
	secret = get_settings().token_secret
	code = otp.generate_code()
	send = False
	with _lock(key):
		previous = _load(key)
		if not secret:
			frappe.logger(LOG).error({"event": "qr_no_secret"})
			return _code_sent()
		state, issued = otp.new_challenge(secret, subject or NO_SUBJECT, code, now=now, previous=previous)
		send = bool(subject) and matches and within_limit and issued
		if send:
			_save(key, state, now)
	frappe.logger(LOG).info(
		{"event": "qr_code_request", "sent": send, "ip": getattr(frappe.local, "request_ip", None)}
	)
	if send:
		frappe.enqueue(
			"gigafibre_fsm.network.qr.deliver_code",
			queue="short",
			now=bool(frappe.flags.in_test),
			to=to,
			code=code,
		)
	return _code_sent()


def verify_code(mac: str, code: str) -> dict:
	"""``{"ok": True, "token": ...}`` for the right code; one refusal for anything else."""
	now = datetime.now(UTC)
	subject = _subject(mac)
	key = _identifier(mac, subject)
	secret = get_settings().token_secret
	if not secret:
		return _code_refused()
	with _lock(key):
		state = _load(key)
		outcome, after = otp.attempt(state, secret, subject or NO_SUBJECT, str(code or ""), now=now)
		_save(key, after, now)
	if outcome != otp.OK or not subject:
		frappe.logger(LOG).info(
			{"event": "qr_code_refused", "outcome": outcome, "ip": getattr(frappe.local, "request_ip", None)}
		)
		return _code_refused()
	token = tokens.issue(secret, subject=subject, scope=SCOPE, now=now, ttl=SESSION_TTL)
	return {"ok": True, "token": token}


def diagnostic(token: str, refresh: bool = False) -> dict:
	"""The plain-language state of the session's device (gigafibre_fsm.core.qr_summary)."""
	mac = session_mac(token)
	equipment = by_mac(mac)
	if not equipment:
		_session_refused()
	live = bool(refresh) and _may_refresh(mac)
	try:
		data = diagnose_equipment(equipment, trigger="QR", refresh=live)
	except (ConnectorError, frappe.ValidationError, OSError):
		frappe.log_error(title="QR diagnostic failed", reference_doctype="Service Equipment")
		frappe.throw(_("The diagnostic is not available right now. Try again in a few minutes."))
	summary = plain_summary(data.get("result") or {}, data.get("diagnosed_at"), tz=get_system_timezone())
	summary["outage"] = outage_notice(equipment)
	return summary


def outage_notice(equipment: str) -> dict | None:
	"""The known outage on this device's service, as the customer may see it (its message and
	times; never the OLT, the port or the outage's id), or None."""
	from gigafibre_fsm.network.outage_notice import active_outage_for_customer, active_outage_for_location

	row = frappe.db.get_value("Service Equipment", equipment, ["service_location", "customer"], as_dict=True)
	found = None
	if row and row.service_location:
		found = active_outage_for_location(row.service_location)
	if not found and row and row.customer:
		found = active_outage_for_customer(row.customer)
	if not found:
		return None
	return {
		"message": found.get("message"),
		"started": _iso(found.get("started")),
		"expected_end": _iso(found.get("expected_end")),
	}


def _iso(value) -> str | None:
	if not value:
		return None
	when = get_datetime(value)
	if when.tzinfo is None:
		when = when.replace(tzinfo=ZoneInfo(get_system_timezone()))
	return when.isoformat(timespec="minutes")


# -- background job -----------------------------------------------------------------


def deliver_code(to: str, code: str) -> None:
	"""Send the code (a background job). A failure is logged without the code."""
	from gigafibre_fsm.connectors.twilio import send_sms

	body = SMS_BODY.format(code=code, minutes=otp.CODE_TTL // 60)
	try:
		send_sms(get_settings().twilio, to, body)
	except ConnectorError as e:
		frappe.log_error(
			title="QR code SMS failed", message=f"{type(e).__name__}: {e}".replace(code, "******")
		)


# -- helpers ------------------------------------------------------------------------


def session_mac(token: str) -> str:
	"""The normalised MAC a QR session token is for, or QrSessionError."""
	secret = get_settings().token_secret
	try:
		if not secret:
			raise tokens.TokenMalformed("no secret")
		claims = tokens.verify(secret, str(token or ""), scope=SCOPE, now=datetime.now(UTC))
	except tokens.TokenRejected as e:
		frappe.logger(LOG).info(
			{"event": "qr_token_refused", "reason": e.reason, "ip": getattr(frappe.local, "request_ip", None)}
		)
		_session_refused()
	return claims.subject


def _subject(mac: str) -> str:
	try:
		return normalise_mac(str(mac or "")[:64])
	except InvalidInput:
		return ""


def _identifier(mac: str, subject: str) -> str:
	"""The cache identity of what the caller typed: the normalised MAC, or a digest."""
	if subject:
		return subject
	return "x" + hashlib.sha256(str(mac or "").strip().lower()[:256].encode()).hexdigest()[:32]


def _key(kind: str, identifier: str) -> str:
	return frappe.cache.make_key(f"{CACHE_PREFIX}:{kind}:{identifier}")


def _count_request(identifier: str) -> int:
	"""Count one code request for this MAC in a fixed 15-minute window (atomic)."""
	key = _key("requests", identifier)
	frappe.cache.set(key, 0, ex=REQUEST_WINDOW, nx=True)
	return int(frappe.cache.incr(key))


def _phone_on_file(subject: str) -> str | None:
	"""The cell phone of the customer of the equipment with this MAC (two queries either way)."""
	row = frappe.db.get_value(
		"Service Equipment", {"mac_address": subject or NO_SUBJECT}, ["name", "customer"], as_dict=True
	)
	customer = (row or {}).get("customer") or NO_SUBJECT
	return frappe.db.get_value("Customer", customer, "cell_phone")


@contextmanager
def _lock(identifier: str) -> Iterator[None]:
	"""One read-modify-write of a MAC's code at a time (so parallel guesses all count)."""
	lock = frappe.cache.lock(_key("lock", identifier), timeout=10, blocking_timeout=5)
	if not lock.acquire():
		frappe.throw(_("Too many attempts at once. Try again in a moment."), frappe.TooManyRequestsError)
	try:
		yield
	finally:
		try:
			lock.release()
		except Exception:  # expired meanwhile: nothing to release
			pass


def _load(identifier: str) -> dict | None:
	raw = frappe.cache.get(_key("code", identifier))
	if not raw:
		return None
	try:
		return json.loads(raw)
	except ValueError:
		return None


def _save(identifier: str, state: dict | None, now: datetime) -> None:
	key = _key("code", identifier)
	ttl = otp.ttl_seconds(state, now)
	if ttl <= 0:
		frappe.cache.delete(key)
	else:
		frappe.cache.set(key, json.dumps(state), ex=ttl)


def _may_refresh(mac: str) -> bool:
	"""At most one live re-diagnosis per device every REFRESH_EVERY seconds."""
	return bool(frappe.cache.set(_key("refresh", mac), 1, ex=REFRESH_EVERY, nx=True))
