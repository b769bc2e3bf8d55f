"""Fake peer speaking DocuSeal's REST API and sending its webhooks.

Imitates DocuSeal as its API reference (https://www.docuseal.com/docs/api; ``docs/openapi.json``
and ``docs/webhooks/*.md`` in docusealco/docuseal) and its source describe it:

- ``POST /api/submissions`` (self-hosted base ``/api``): ``X-Auth-Token`` required, else 401
  ``{"error": "Not authenticated"}``. Body ``{template_id, send_email, submitters: [{role, email,
  name, phone, values, external_id, metadata}], completed_redirect_url}``. An unknown template →
  422 ``{"error": "Template not found"}``; no submitters → 422 ``"submitters is required"``; a
  submitter without email, phone or name → 422 ``"email or phone or name is required"``; a role
  the template does not define → 422 ``"Unknown submitter role: ..."``; a value for a field the
  template does not have → 422 ``"Unknown field: ..."``. Success → 200 and the array of created
  submitters (id, submission_id, uuid, email, slug, status "sent" or "awaiting", values
  ``[{field, value}]``, embed_src, ...).
- ``GET /api/submissions/{id}`` → the submission (status pending/completed/declined, documents,
  audit_log_url, submitters with their documents, template, submission_events); unknown → 404.
- ``GET /file/{signed id}/{name}.pdf``: the signed document links (a small real PDF). When
  ``files_require_auth`` is set (DocuSeal's "download links require authentication" account
  setting) the link also needs ``X-Auth-Token``, else 403 ``{"error": "Not authorized"}``.
- Webhooks: :meth:`FakeDocuSeal.complete` signs every pending submitter and POSTs
  ``form.completed`` for each, then ``submission.completed``, as DocuSeal's
  SendWebhookRequest does: ``Content-Type: application/json``, ``User-Agent: DocuSeal.com
  Webhook``, the configured secret key/value as a header, ``X-Docuseal-Signature: <unix
  ts>.<hex HMAC-SHA256(hmac secret, "<ts>.<body>")>``, body ``{"event_type", "timestamp",
  "data"}``. :meth:`FakeDocuSeal.resend` delivers the same event again, as DocuSeal's retries
  do (the data re-serialised from the records; ``timestamp`` the event's creation time, or with
  ``legacy_timestamps`` the time of each attempt, as DocuSeal versions before 2025 did).

``delay`` (seconds) holds back every API answer (timeout tests); ``fail_next`` queues canned
answers.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests

from gigafibre_fsm.fakepeers.http import FakePeer, Response

USER_AGENT = "DocuSeal.com Webhook"
SIGNATURE_HEADER = "X-Docuseal-Signature"


def _iso(when: datetime) -> str:
	"""Rails' JSON time: UTC, milliseconds, ``Z``."""
	return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(status: int, message: str) -> Response:
	return Response.json({"error": message}, status=status)


def tiny_pdf(text: str) -> bytes:
	"""A small, valid one-page PDF showing ``text`` (ASCII)."""
	safe = (
		text.encode("ascii", "replace").decode().replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
	)
	stream = f"BT /F1 18 Tf 72 720 Td ({safe}) Tj ET".encode()
	objects = [
		b"<< /Type /Catalog /Pages 2 0 R >>",
		b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
		b" /Resources << /Font << /F1 5 0 R >> >> >>",
		b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
		b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	]
	out = bytearray(b"%PDF-1.4\n")
	offsets = []
	for number, body in enumerate(objects, start=1):
		offsets.append(len(out))
		out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
	xref = len(out)
	out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
	for offset in offsets:
		out += b"%010d 00000 n \n" % offset
	out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
	return bytes(out)


@dataclass
class Delivery:
	"""One webhook event and every attempt to deliver it."""

	event_type: str
	record: str  # "submitter" or "submission"
	record_id: int
	url: str
	created_at: datetime
	attempts: list[dict] = field(default_factory=list)  # {"status", "body", "headers"}

	@property
	def last_status(self) -> int | None:
		return self.attempts[-1]["status"] if self.attempts else None


class FakeDocuSeal(FakePeer):
	def __init__(
		self,
		api_key: str = "test-api-key",
		*,
		webhook_secret: dict[str, str] | None = None,
		hmac_secret: str | None = None,
		legacy_timestamps: bool = False,
	):
		self.api_key = api_key
		self.webhook_secret = dict(webhook_secret or {})  # DocuSeal's secret key/value → request header
		self.hmac_secret = hmac_secret or "whsec_" + secrets.token_urlsafe(24)
		self.legacy_timestamps = legacy_timestamps
		self.files_require_auth = False
		self.delay = 0.0
		self.fail_next: list[Response] = []
		self.templates: dict[int, dict] = {}
		self.submissions: dict[int, dict] = {}
		self.submitters: dict[int, dict] = {}
		self.files: dict[str, tuple[str, bytes]] = {}  # signed id → (filename, content)
		self.deliveries: list[Delivery] = []
		self._submission_ids = itertools.count(1001)
		self._submitter_ids = itertools.count(5001)
		self._data_lock = threading.RLock()
		super().__init__()

	# -- test set-up

	def add_template(
		self,
		template_id: int = 1000001,
		name: str = "Contrat de service commercial",
		roles: tuple[str, ...] = ("Client",),
		fields: tuple[str, ...] = ("Nom", "Adresse de service", "Forfait", "Prix mensuel", "Signature"),
	) -> dict:
		now = _iso(datetime.now(UTC))
		template = {
			"id": template_id,
			"name": name,
			"external_id": None,
			"folder_name": "Default",
			"created_at": now,
			"updated_at": now,
			"roles": list(roles),
			"fields": list(fields),
		}
		with self._data_lock:
			self.templates[template_id] = template
		return template

	def add_file(self, filename: str, content: bytes) -> str:
		"""Serve ``content`` at a signed link on this peer; returns its URL."""
		signed = secrets.token_urlsafe(24)
		with self._data_lock:
			self.files[signed] = (filename, content)
		return f"{self.url}/file/{signed}/{filename}"

	# -- state changes DocuSeal makes when people sign

	def complete_submitter(self, submitter_id: int, at: datetime | None = None) -> dict:
		with self._data_lock:
			submitter = self.submitters[submitter_id]
			if submitter["completed_at"]:
				return submitter
			when = _iso(at or datetime.now(UTC))
			submitter["opened_at"] = submitter["opened_at"] or when
			submitter["completed_at"] = submitter["updated_at"] = when
			submission = self.submissions[submitter["submission_id"]]
			name = submission["template"]["name"]
			content = tiny_pdf(f"{name} - signed by {submitter['name'] or submitter['email']} on {when}")
			submitter["documents"] = [
				{"name": name, "url": self.add_file(f"{name}.pdf".replace(" ", "_"), content)}
			]
			if all(self.submitters[i]["completed_at"] for i in submission["submitter_ids"]):
				submission["completed_at"] = submission["updated_at"] = when
				submission["audit_log_url"] = self.add_file("audit_log.pdf", tiny_pdf(f"Audit log {when}"))
			return submitter

	def decline_submitter(self, submitter_id: int, reason: str, at: datetime | None = None) -> dict:
		with self._data_lock:
			submitter = self.submitters[submitter_id]
			submitter["declined_at"] = submitter["updated_at"] = _iso(at or datetime.now(UTC))
			submitter["decline_reason"] = reason
			return submitter

	# -- webhooks

	def complete(self, submission_id: int, webhook_url: str, at: datetime | None = None) -> list[Delivery]:
		"""Sign for every pending submitter; deliver form.completed each, then submission.completed."""
		deliveries = []
		with self._data_lock:
			pending = [
				i
				for i in self.submissions[submission_id]["submitter_ids"]
				if not self.submitters[i]["completed_at"]
			]
		for submitter_id in pending:
			self.complete_submitter(submitter_id, at)
			deliveries.append(self.deliver("form.completed", "submitter", submitter_id, webhook_url))
		if self.submissions[submission_id]["completed_at"]:
			deliveries.append(self.deliver("submission.completed", "submission", submission_id, webhook_url))
		return deliveries

	def decline(
		self, submitter_id: int, reason: str, webhook_url: str, at: datetime | None = None
	) -> Delivery:
		self.decline_submitter(submitter_id, reason, at)
		return self.deliver("form.declined", "submitter", submitter_id, webhook_url)

	def deliver(self, event_type: str, record: str, record_id: int, webhook_url: str) -> Delivery:
		delivery = Delivery(event_type, record, record_id, webhook_url, created_at=datetime.now(UTC))
		with self._data_lock:
			self.deliveries.append(delivery)
		self._attempt(delivery)
		return delivery

	def resend(self, delivery: Delivery) -> int | None:
		"""Deliver the same event again (DocuSeal's retry); the receiver's status, None if unreachable."""
		return self._attempt(delivery)

	def webhook_body(self, delivery: Delivery) -> bytes:
		with self._data_lock:
			if delivery.record == "submitter":
				data = self._submitter_for_webhook(self.submitters[delivery.record_id])
			else:
				data = self._submission_json(self.submissions[delivery.record_id])
		stamp = datetime.now(UTC) if self.legacy_timestamps else delivery.created_at
		return json.dumps(
			{"event_type": delivery.event_type, "timestamp": _iso(stamp), "data": data}
		).encode()

	def sign(self, body: bytes, at: datetime | None = None) -> str:
		stamp = str(int((at or datetime.now(UTC)).timestamp()))
		digest = hmac.new(self.hmac_secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
		return f"{stamp}.{digest}"

	def _attempt(self, delivery: Delivery) -> int | None:
		body = self.webhook_body(delivery)
		headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **self.webhook_secret}
		headers[SIGNATURE_HEADER] = self.sign(body)
		try:
			status: int | None = requests.post(
				delivery.url, data=body, headers=headers, timeout=(8, 15)
			).status_code
		except requests.RequestException:
			status = None
		delivery.attempts.append({"status": status, "body": body, "headers": headers})
		return status

	# -- serialisation (DocuSeal's SerializeForApi / SerializeForWebhook, the fields the docs list)

	def _status(self, submitter: dict) -> str:
		if submitter["completed_at"]:
			return "completed"
		if submitter["declined_at"]:
			return "declined"
		if submitter["opened_at"]:
			return "opened"
		return "sent" if submitter["sent_at"] else "awaiting"

	def _submission_status(self, submission: dict) -> str:
		if submission["completed_at"]:
			return "completed"
		if any(self.submitters[i]["declined_at"] for i in submission["submitter_ids"]):
			return "declined"
		return "pending"

	def _submitter_json(
		self, submitter: dict, *, with_documents: bool = True, with_urls: bool = False
	) -> dict:
		data = {
			key: submitter[key]
			for key in (
				"id",
				"submission_id",
				"uuid",
				"email",
				"slug",
				"sent_at",
				"opened_at",
				"completed_at",
				"declined_at",
				"created_at",
				"updated_at",
				"name",
				"phone",
				"external_id",
				"metadata",
				"role",
			)
		}
		data["status"] = self._status(submitter)
		data["values"] = [{"field": k, "value": v} for k, v in submitter["values"].items()]
		data["preferences"] = {"send_email": submitter["send_email"], "send_sms": False}
		if with_documents:
			data["documents"] = list(submitter["documents"])
		if with_urls:
			data["embed_src"] = f"{self.url}/s/{submitter['slug']}"
		return data

	def _submission_json(self, submission: dict) -> dict:
		submitters = [self.submitters[i] for i in submission["submitter_ids"]]
		completed = bool(submission["completed_at"])
		last = max(
			(s for s in submitters if s["completed_at"]), key=lambda s: s["completed_at"], default=None
		)
		template = {
			k: submission["template"][k]
			for k in ("id", "name", "external_id", "folder_name", "created_at", "updated_at")
		}
		return {
			"id": submission["id"],
			"name": None,
			"source": "api",
			"submitters_order": "preserved",
			"slug": submission["slug"],
			"audit_log_url": submission["audit_log_url"] if completed else None,
			"combined_document_url": None,
			"completed_at": submission["completed_at"],
			"expire_at": None,
			"created_at": submission["created_at"],
			"updated_at": submission["updated_at"],
			"archived_at": None,
			"submitters": [self._submitter_json(s) for s in submitters],
			"template": template,
			"created_by_user": {
				"id": 1,
				"first_name": "API",
				"last_name": "User",
				"email": "api@example.com",
			},
			"submission_events": [],
			"documents": list(last["documents"]) if completed and last else [],
			"status": self._submission_status(submission),
			"variables": {},
			"metadata": {},
		}

	def _submitter_for_webhook(self, submitter: dict) -> dict:
		submission = self.submissions[submitter["submission_id"]]
		data = self._submitter_json(submitter)
		data.update(
			{
				"ua": "Mozilla/5.0 (Linux; Android 14) Mobile",
				"ip": "203.0.113.7",
				"decline_reason": submitter.get("decline_reason"),
				"audit_log_url": submission["audit_log_url"],
				"submission_url": f"{self.url}/e/{submission['slug']}",
				"template": {
					k: submission["template"][k]
					for k in ("id", "name", "external_id", "folder_name", "created_at", "updated_at")
				},
				"submission": {
					"id": submission["id"],
					"audit_log_url": submission["audit_log_url"],
					"combined_document_url": None,
					"status": self._submission_status(submission),
					"url": f"{self.url}/e/{submission['slug']}",
					"variables": {},
					"created_at": submission["created_at"],
				},
			}
		)
		return data

	# -- protocol

	def _authorised(self, request) -> bool:
		token = request.headers.get("x-auth-token", "")
		return bool(self.api_key) and hmac.compare_digest(token.encode(), self.api_key.encode())

	def setup_routes(self):
		@self.route("POST", r"/api/submissions/?")
		def create(request):
			if not self._authorised(request):
				return _error(401, "Not authenticated")
			if self.fail_next:
				return self.fail_next.pop(0)
			try:
				params = request.json()
			except ValueError as e:
				return _error(422, f"JSON parse error: {e}")
			answer = self._create(params if isinstance(params, dict) else {})
			answer.delay = self.delay
			return answer

		@self.route("GET", r"/api/submissions/(?P<submission_id>\d+)")
		def show(request, submission_id):
			if not self._authorised(request):
				return _error(401, "Not authenticated")
			if self.fail_next:
				return self.fail_next.pop(0)
			with self._data_lock:
				submission = self.submissions.get(int(submission_id))
				if submission is None:
					return Response.json({"error": "Not found"}, status=404, delay=self.delay)
				return Response.json(self._submission_json(submission), delay=self.delay)

		@self.route("GET", r"/file/(?P<signed>[^/]+)/(?P<filename>.+)")
		def file(request, signed, filename):
			if self.files_require_auth and not self._authorised(request):
				return _error(403, "Not authorized")
			with self._data_lock:
				found = self.files.get(signed)
			if not found or found[0] != filename:
				return Response(404, b"", {"Content-Type": "text/plain"})
			return Response(
				200,
				found[1],
				{"Content-Type": "application/pdf", "Content-Disposition": f'inline; filename="{filename}"'},
				delay=self.delay,
			)

	def _create(self, params: dict) -> Response:
		raw_id = params.get("template_id")
		template_id = int(raw_id) if isinstance(raw_id, str) and raw_id.isdigit() else raw_id
		template = self.templates.get(template_id) if isinstance(template_id, int) else None
		if template is None:
			return _error(422, "Template not found")
		submitters = params.get("submitters")
		if not submitters:
			return _error(422, "submitters is required")
		if not isinstance(submitters, list) or not all(isinstance(s, dict) for s in submitters):
			return _error(422, "submitters must be an Array")
		roles = [s.get("role") for s in submitters]
		if len(set(roles)) != len(roles):
			return _error(422, "role must be unique")
		for s in submitters:
			if not any(s.get(k) for k in ("email", "phone", "name")):
				return _error(422, "email or phone or name is required")
			if s.get("role") not in template["roles"]:
				return _error(
					422, f"Unknown submitter role: {s.get('role')}. Template defines {template['roles']}"
				)
			for key in s.get("values") or {}:
				if key not in template["fields"]:
					return _error(422, f"Unknown field: {key}")
		send_email = params.get("send_email", True) not in (False, "false")
		now = _iso(datetime.now(UTC))
		with self._data_lock:
			submission_id = next(self._submission_ids)
			submission = {
				"id": submission_id,
				"slug": secrets.token_urlsafe(10)[:14],
				"template": template,
				"submitter_ids": [],
				"completed_at": None,
				"audit_log_url": None,
				"created_at": now,
				"updated_at": now,
			}
			self.submissions[submission_id] = submission
			created = []
			for s in submitters:
				submitter_id = next(self._submitter_ids)
				submitter = {
					"id": submitter_id,
					"submission_id": submission_id,
					"uuid": str(uuid.uuid4()),
					"email": s.get("email"),
					"name": s.get("name"),
					"phone": s.get("phone"),
					"external_id": s.get("external_id"),
					"metadata": s.get("metadata") or {},
					"role": s.get("role"),
					"values": dict(s.get("values") or {}),
					"slug": secrets.token_urlsafe(10)[:14],
					"send_email": send_email,
					"sent_at": now if send_email else None,
					"opened_at": None,
					"completed_at": None,
					"declined_at": None,
					"created_at": now,
					"updated_at": now,
					"documents": [],
				}
				self.submitters[submitter_id] = submitter
				submission["submitter_ids"].append(submitter_id)
				created.append(self._submitter_json(submitter, with_documents=False, with_urls=True))
		return Response.json(created)
