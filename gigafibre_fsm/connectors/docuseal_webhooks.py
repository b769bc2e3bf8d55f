"""DocuSeal webhooks: pure helpers, no network.

- DocuSeal POSTs ``{"event_type", "timestamp", "data"}`` (JSON) to the configured URL, adds the
  *secret* key/value pair configured with the webhook as a request header, and retries a failed
  delivery (non-2xx or no answer) every 2^attempt minutes for about 48 hours.
  :func:`verify_webhook` checks that header in constant time (``hmac.compare_digest``).
  Recent DocuSeal versions also sign the body (``X-Docuseal-Signature: <unix ts>.<hex
  HMAC-SHA256(hmac secret, "<ts>.<body>")>``): :func:`verify_signature` checks it when the
  HMAC secret is configured.
- :func:`parse_webhook` reads an event into a :class:`WebhookEvent` whose ``key`` is stable
  across DocuSeal's retries of the same event (see :func:`event_key`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from gigafibre_fsm.connectors.docuseal import (
	SOURCE,
	Document,
	DocuSealResponseError,
	read_documents,
	read_int,
	read_str,
)
from gigafibre_fsm.connectors.errors import ConnectorAuthError

# The header name we configure in DocuSeal's webhook "secret" (key/value) setting.
WEBHOOK_SECRET_HEADER = "X-Gigafibre-Webhook-Secret"
SIGNATURE_HEADER = "X-Docuseal-Signature"
SIGNATURE_TOLERANCE = 5 * 60  # seconds, as DocuSeal's own verifier
MAX_WEBHOOK_BYTES = 2 * 1024 * 1024


class WebhookRejected(ConnectorAuthError):
	"""An incoming webhook failed authentication. ``reason`` is for logs, never for the caller."""

	source = SOURCE

	def __init__(self, message: str, *, reason: str):
		super().__init__(message)
		self.reason = reason


class WebhookMalformed(DocuSealResponseError):
	"""An incoming body is not a DocuSeal webhook we can read."""


@dataclass(frozen=True)
class WebhookEvent:
	"""One DocuSeal webhook, read.

	``record`` is "submitter" (form.* events), "submission" (submission.*), "template"
	(template.*) or "other"; ``record_id`` its id. ``status`` is the record's own status,
	``submission_status`` the submission's; ``completed`` is true when the whole submission is
	completed (every party signed). ``key`` identifies the event across retries (:func:`event_key`).
	"""

	event_type: str
	timestamp: str | None
	record: str
	record_id: int | None
	submission_id: int | None
	submitter_id: int | None
	status: str | None
	submission_status: str | None
	completed: bool
	documents: tuple[Document, ...]
	audit_log_url: str | None
	external_id: str | None
	key: str
	data: dict = field(repr=False, compare=False, default_factory=dict)

	def as_dict(self) -> dict:
		return {
			"event_type": self.event_type,
			"timestamp": self.timestamp,
			"record": self.record,
			"record_id": self.record_id,
			"submission_id": self.submission_id,
			"submitter_id": self.submitter_id,
			"status": self.status,
			"submission_status": self.submission_status,
			"completed": self.completed,
			"documents": [d.as_dict() for d in self.documents],
			"audit_log_url": self.audit_log_url,
			"external_id": self.external_id,
			"key": self.key,
		}


# The record's own field that dates the fact an event reports. DocuSeal serialises it from its
# database on every attempt, so it is the same in every retry of one event, and it changes when the
# fact happens again (a form completed anew after changes were requested). None: the event happens
# once per record.
EVENT_ANCHORS: dict[str, str | None] = {
	"form.viewed": "opened_at",
	"form.started": None,
	"form.completed": "completed_at",
	"form.declined": "declined_at",
	"submission.created": None,
	"submission.completed": "completed_at",
	"submission.expired": "expire_at",
	"submission.archived": "archived_at",
}


def event_key(event_type: str, record: str, record_id: int | None, anchor: str | None) -> str:
	"""``docuseal:<event_type>:<record>:<id>[:<anchor>]``: one key per event, equal across retries.

	Not the envelope ``timestamp``: older DocuSeal versions set it to the time of each attempt
	(current ones to the event's creation), so a key built on it could differ between a delivery
	and its retry. The anchor is the record's own date of the fact (:data:`EVENT_ANCHORS`); only
	events without one (template.*, types DocuSeal may add) fall back to the envelope timestamp.
	"""
	key = f"docuseal:{event_type}:{record}:{record_id if record_id is not None else '-'}"
	return f"{key}:{anchor}" if anchor else key


def parse_webhook(body: bytes | str) -> WebhookEvent:
	"""Read a DocuSeal webhook body; WebhookMalformed when it is not one."""
	if isinstance(body, bytes | bytearray):
		if len(body) > MAX_WEBHOOK_BYTES:
			raise WebhookMalformed("The webhook body is too large")
		try:
			body = bytes(body).decode("utf-8")
		except UnicodeDecodeError as e:
			raise WebhookMalformed("The webhook body is not UTF-8") from e
	try:
		payload = json.loads(body)
	except (TypeError, ValueError) as e:
		raise WebhookMalformed("The webhook body is not JSON") from e
	if not isinstance(payload, dict):
		raise WebhookMalformed("The webhook body is not a JSON object")
	event_type, data = payload.get("event_type"), payload.get("data")
	if not isinstance(event_type, str) or not event_type or not isinstance(data, dict):
		raise WebhookMalformed("The webhook has no event_type or data")
	timestamp = read_str(payload.get("timestamp"))
	prefix = event_type.split(".", 1)[0]
	record = {"form": "submitter", "submission": "submission", "template": "template"}.get(prefix, "other")
	record_id = read_int(data.get("id"), "record id", optional=record == "other", error=WebhookMalformed)
	submission = data.get("submission") if isinstance(data.get("submission"), dict) else {}
	if record == "submitter":
		submitter_id = record_id
		submission_id = read_int(
			data.get("submission_id", submission.get("id")),
			"submission id",
			optional=True,
			error=WebhookMalformed,
		)
		status = read_str(data.get("status"))
		submission_status = read_str(submission.get("status"))
		audit_log_url = read_str(data.get("audit_log_url")) or read_str(submission.get("audit_log_url"))
		external_id = read_str(data.get("external_id"))
	elif record == "submission":
		submitter_id = None
		submission_id = record_id
		status = submission_status = read_str(data.get("status"))
		audit_log_url = read_str(data.get("audit_log_url"))
		submitters = data.get("submitters") if isinstance(data.get("submitters"), list) else []
		external_id = next(
			(
				read_str(s.get("external_id"))
				for s in submitters
				if isinstance(s, dict) and s.get("external_id")
			),
			None,
		)
	else:
		submitter_id = submission_id = None
		status = submission_status = read_str(data.get("status"))
		audit_log_url = external_id = None
	documents = read_documents(data.get("documents"), error=WebhookMalformed)
	if event_type in EVENT_ANCHORS:
		anchor_field = EVENT_ANCHORS[event_type]
		# the record's own date; when DocuSeal left it out, the envelope timestamp is the best there is
		anchor = (read_str(data.get(anchor_field)) or timestamp) if anchor_field else None
	else:
		anchor = timestamp
	return WebhookEvent(
		event_type=event_type,
		timestamp=timestamp,
		record=record,
		record_id=record_id,
		submission_id=submission_id,
		submitter_id=submitter_id,
		status=status,
		submission_status=submission_status,
		completed=submission_status == "completed",
		documents=documents,
		audit_log_url=audit_log_url,
		external_id=external_id,
		key=event_key(event_type, record, record_id, anchor),
		data=data,
	)


def verify_webhook(headers: Mapping[str, str], expected_header_name: str, expected_secret: str) -> None:
	"""Check the secret header DocuSeal sends with each webhook; WebhookRejected if it is not right.

	The header name is matched without regard to case; its value is compared in constant time.
	No secret configured refuses everything (never an open endpoint); a header sent twice is
	refused (ambiguous).
	"""
	if not expected_header_name or not expected_secret:
		raise WebhookRejected("The DocuSeal webhook secret is not configured", reason="not_configured")
	values = _header_values(headers, expected_header_name)
	if not values:
		raise WebhookRejected("The webhook carries no secret", reason="missing_secret")
	if len(values) > 1:
		raise WebhookRejected("The webhook carries its secret more than once", reason="duplicate_secret")
	if not hmac.compare_digest(values[0].encode("utf-8"), expected_secret.encode("utf-8")):
		raise WebhookRejected("The webhook secret is wrong", reason="wrong_secret")


def verify_signature(
	body: bytes,
	header_value: str | None,
	hmac_secret: str,
	*,
	now: datetime | float,
	tolerance: int = SIGNATURE_TOLERANCE,
) -> None:
	"""Check ``X-Docuseal-Signature`` (``<unix ts>.<hex HMAC-SHA256(secret, "<ts>.<body>")>``).

	``body`` is the raw request body, byte for byte. ``now`` is passed in (aware datetime or epoch
	seconds); a signature more than ``tolerance`` seconds away from it is refused (replays).
	"""
	if not hmac_secret:
		raise WebhookRejected("The DocuSeal HMAC secret is not configured", reason="not_configured")
	stamp, _, signature = (header_value or "").partition(".")
	if not stamp.isdigit() or not signature:
		raise WebhookRejected("The webhook carries no valid signature", reason="missing_signature")
	current = now.timestamp() if isinstance(now, datetime) else float(now)
	if abs(current - int(stamp)) > tolerance:
		raise WebhookRejected("The webhook signature is too old or in the future", reason="stale_signature")
	expected = hmac.new(
		hmac_secret.encode("utf-8"), stamp.encode("ascii") + b"." + body, hashlib.sha256
	).hexdigest()
	if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8")):
		raise WebhookRejected("The webhook signature is wrong", reason="bad_signature")


def _header_values(headers, name: str) -> list[str]:
	getlist = getattr(headers, "getlist", None)
	if callable(getlist):  # werkzeug's headers (Frappe's request): every occurrence
		found = [v for v in getlist(name) if v is not None]
		if found:
			return [str(v) for v in found]
	wanted = name.lower()
	return [str(v) for k, v in (headers or {}).items() if isinstance(k, str) and k.lower() == wanted]
