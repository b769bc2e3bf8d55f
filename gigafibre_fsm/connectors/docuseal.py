"""DocuSeal REST client (commercial contract signature).

What this client relies on (DocuSeal API reference, https://www.docuseal.com/docs/api, and
``docs/openapi.json`` / ``docs/webhooks/*.md`` in docusealco/docuseal):

- Base URL: ``https://api.docuseal.com`` (global cloud), ``https://api.docuseal.eu`` (EU cloud)
  or ``https://<host>/api`` for a self-hosted DocuSeal. ``DocuSealSettings.url`` is that base.
- Authentication: ``X-Auth-Token: <API key>`` on every request; without a valid key DocuSeal
  answers 401 ``{"error": "Not authenticated"}``; a record of another account, 403.
- ``POST /submissions`` with ``{"template_id", "send_email", "submitters": [{"role", "email",
  "name", "values": {field: value}, "external_id"}, ...]}`` → 200 and a JSON *array* of the
  created submitters (id, submission_id, uuid, email, slug, status, values, embed_src, ...).
  Invalid input (unknown template or role, missing submitters, unknown field) → 422
  ``{"error": "..."}``.
- ``GET /submissions/{id}`` → the submission: status (``pending``, ``completed``, ``declined``,
  ``expired``), ``documents`` ``[{name, url}]`` (the signed PDFs once completed), audit_log_url,
  submitters (each with its status and documents). Unknown id → 404.
- Document URLs (``/file/<signed id>/<name>.pdf``) are signed links served by DocuSeal itself;
  when the account requires authentication for download links they also take ``X-Auth-Token``.

Errors: 401/403 → :class:`DocuSealAuthError`; 404 → :class:`DocuSealNotFound`; 422 →
:class:`DocuSealInvalidInput` (DocuSeal's message kept); 429, 5xx, refused connections →
:class:`DocuSealUnavailable`; timeouts → :class:`DocuSealTimeout` (an unavailable *and* a
timeout); other statuses and unreadable answers → :class:`DocuSealResponseError`. Every request
carries ``timeout`` as its connect and read timeout, a download also has a total budget
(``download_timeout``) and a size cap (``max_document_bytes``); redirects are not followed. ``POST /submissions`` is not idempotent: after a timeout the submission may exist, so
the caller records the submitters' ``external_id`` (the contract name) and looks before retrying.

Webhooks: docuseal_webhooks.py (pure helpers, no network).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from gigafibre_fsm.connectors.errors import (
	ConnectorAuthError,
	ConnectorResponseError,
	ConnectorTimeout,
	ConnectorUnavailable,
)
from gigafibre_fsm.core.settings import DocuSealSettings

SOURCE = "docuseal"
DEFAULT_TIMEOUT = 10.0
DEFAULT_DOWNLOAD_TIMEOUT = 60.0
MAX_DOCUMENT_BYTES = 25 * 1024 * 1024
CHUNK = 64 * 1024

SUBMISSION_STATUSES = ("pending", "completed", "declined", "expired")
SUBMITTER_STATUSES = ("awaiting", "sent", "opened", "completed", "declined")


# -- errors


class DocuSealAuthError(ConnectorAuthError):
	"""DocuSeal refused the API key (401) or the record belongs to another account (403)."""

	source = SOURCE


class DocuSealResponseError(ConnectorResponseError):
	"""DocuSeal answered something we cannot use (an unexpected status, unreadable JSON)."""

	source = SOURCE


class DocuSealNotFound(DocuSealResponseError):
	pass


class DocuSealInvalidInput(DocuSealResponseError):
	"""DocuSeal refused the request as invalid (422), or we refused to send it."""


class DocuSealUnavailable(ConnectorUnavailable):
	"""Not configured, unreachable, rate limited or failing (5xx): retry later."""

	source = SOURCE


class DocuSealTimeout(DocuSealUnavailable, ConnectorTimeout):
	"""DocuSeal did not answer within the timeout (an unavailable and a timeout)."""


class DocumentTooLarge(DocuSealResponseError):
	pass


# -- values


@dataclass(frozen=True)
class SubmitterRequest:
	"""One party to sign: the template ``role`` and who plays it."""

	role: str
	email: str = ""
	name: str = ""
	phone: str = ""
	values: Mapping[str, object] = field(default_factory=dict)  # pre-filled fields
	external_id: str = ""  # our reference (the Service Contract name)
	metadata: Mapping[str, object] = field(default_factory=dict)

	def to_api(self, extra_values: Mapping[str, object] | None = None) -> dict:
		body: dict = {"role": self.role}
		for key in ("email", "name", "phone", "external_id"):
			if getattr(self, key):
				body[key] = getattr(self, key)
		values = {**self.values, **(extra_values or {})}
		if values:
			body["values"] = values
		if self.metadata:
			body["metadata"] = dict(self.metadata)
		return body


@dataclass(frozen=True)
class Document:
	name: str
	url: str

	def as_dict(self) -> dict:
		return {"name": self.name, "url": self.url}


@dataclass(frozen=True)
class Submitter:
	id: int
	submission_id: int | None
	role: str
	status: str
	email: str | None = None
	name: str | None = None
	slug: str | None = None
	embed_src: str | None = None
	external_id: str | None = None
	completed_at: str | None = None
	documents: tuple[Document, ...] = ()

	@classmethod
	def from_api(cls, data) -> Submitter:
		if not isinstance(data, dict):
			raise DocuSealResponseError("DocuSeal sent a submitter that is not an object")
		return cls(
			id=read_int(data.get("id"), "submitter id"),
			submission_id=read_int(data.get("submission_id"), "submission id", optional=True),
			role=read_str(data.get("role")) or "",
			status=read_str(data.get("status")) or "",
			email=read_str(data.get("email")),
			name=read_str(data.get("name")),
			slug=read_str(data.get("slug")),
			embed_src=read_str(data.get("embed_src")),
			external_id=read_str(data.get("external_id")),
			completed_at=read_str(data.get("completed_at")),
			documents=read_documents(data.get("documents")),
		)

	def as_dict(self) -> dict:
		return {
			"id": self.id,
			"submission_id": self.submission_id,
			"role": self.role,
			"status": self.status,
			"email": self.email,
			"name": self.name,
			"slug": self.slug,
			"embed_src": self.embed_src,
			"external_id": self.external_id,
			"completed_at": self.completed_at,
			"documents": [d.as_dict() for d in self.documents],
		}


@dataclass(frozen=True)
class CreatedSubmission:
	submission_id: int
	submitters: tuple[Submitter, ...]

	def as_dict(self) -> dict:
		return {"submission_id": self.submission_id, "submitters": [s.as_dict() for s in self.submitters]}


@dataclass(frozen=True)
class Submission:
	id: int
	status: str
	completed_at: str | None
	audit_log_url: str | None
	combined_document_url: str | None
	documents: tuple[Document, ...]
	submitters: tuple[Submitter, ...]

	@property
	def completed(self) -> bool:
		return self.status == "completed"

	@classmethod
	def from_api(cls, data) -> Submission:
		if not isinstance(data, dict):
			raise DocuSealResponseError("DocuSeal sent a submission that is not an object")
		submitters = data.get("submitters") or []
		if not isinstance(submitters, list):
			raise DocuSealResponseError("DocuSeal sent submitters that are not a list")
		return cls(
			id=read_int(data.get("id"), "submission id"),
			status=read_str(data.get("status")) or "",
			completed_at=read_str(data.get("completed_at")),
			audit_log_url=read_str(data.get("audit_log_url")),
			combined_document_url=read_str(data.get("combined_document_url")),
			documents=read_documents(data.get("documents")),
			submitters=tuple(Submitter.from_api(s) for s in submitters),
		)

	def as_dict(self) -> dict:
		return {
			"id": self.id,
			"status": self.status,
			"completed": self.completed,
			"completed_at": self.completed_at,
			"audit_log_url": self.audit_log_url,
			"combined_document_url": self.combined_document_url,
			"documents": [d.as_dict() for d in self.documents],
			"submitters": [s.as_dict() for s in self.submitters],
		}


# -- client


class DocuSealClient:
	def __init__(
		self,
		settings: DocuSealSettings,
		*,
		timeout: float = DEFAULT_TIMEOUT,
		max_document_bytes: int = MAX_DOCUMENT_BYTES,
		download_timeout: float = DEFAULT_DOWNLOAD_TIMEOUT,
		session: requests.Session | None = None,
	):
		self.settings = settings
		self.timeout = timeout  # connect and read timeout of every request
		self.max_document_bytes = max_document_bytes
		self.download_timeout = download_timeout  # the whole download, however slowly it trickles
		self.session = session or requests.Session()

	def close(self) -> None:
		self.session.close()

	def __enter__(self) -> DocuSealClient:
		return self

	def __exit__(self, *exc) -> None:
		self.close()

	# -- API

	def create_submission(
		self,
		template_id: int,
		submitters: Sequence[SubmitterRequest],
		*,
		values: Mapping[str, Mapping[str, object]] | None = None,
		send_email: bool = True,
		completed_redirect_url: str | None = None,
	) -> CreatedSubmission:
		"""Create a submission of ``template_id`` for ``submitters`` (one per template role).

		``values`` pre-fills fields per role (``{"Client": {"Nom": "..."}}``), merged over each
		submitter's own ``values``. ``send_email=False`` when the app sends the signing link itself
		(``embed_src`` of each submitter).
		"""
		if isinstance(template_id, bool) or not isinstance(template_id, int) or template_id <= 0:
			raise DocuSealInvalidInput(f"{template_id!r} is not a DocuSeal template id")
		if not submitters:
			raise DocuSealInvalidInput("A submission needs at least one submitter")
		roles = [s.role for s in submitters]
		if len(set(roles)) != len(roles) or not all(roles):
			raise DocuSealInvalidInput("Each submitter needs its own template role")
		unknown = set(values or {}) - set(roles)
		if unknown:
			raise DocuSealInvalidInput(f"Values given for roles without a submitter: {sorted(unknown)}")
		body: dict = {
			"template_id": template_id,
			"send_email": bool(send_email),
			"submitters": [s.to_api((values or {}).get(s.role)) for s in submitters],
		}
		if completed_redirect_url:
			body["completed_redirect_url"] = completed_redirect_url
		data = self._request("POST", "/submissions", body)
		if not isinstance(data, list) or not data:
			raise DocuSealResponseError("DocuSeal answered a submission without submitters")
		created = tuple(Submitter.from_api(s) for s in data)
		ids = {s.submission_id for s in created}
		if len(ids) != 1 or None in ids:
			raise DocuSealResponseError("DocuSeal answered submitters of several submissions")
		return CreatedSubmission(submission_id=created[0].submission_id or 0, submitters=created)

	def get_submission(self, submission_id: int) -> Submission:
		wanted = read_int(submission_id, "submission id", error=DocuSealInvalidInput)
		return Submission.from_api(self._request("GET", f"/submissions/{wanted}"))

	def download_document(self, url: str) -> bytes:
		"""The bytes of a document DocuSeal links to (at most ``max_document_bytes``).

		Only URLs on DocuSeal's own host are fetched (the API host, or for the cloud its parent
		domain: api.docuseal.com → docuseal.com), so a URL taken from a webhook cannot point the
		server elsewhere; the API key goes with it (accounts can require it for downloads).
		"""
		self._require_configured()
		self._check_document_url(url)
		try:
			resp = self.session.get(
				url,
				headers={"X-Auth-Token": self.settings.api_key},
				timeout=(self.timeout, self.timeout),
				allow_redirects=False,
				stream=True,
			)
		except requests.Timeout as e:
			raise DocuSealTimeout(f"DocuSeal did not send the document within {self.timeout}s") from e
		except requests.ConnectionError as e:
			raise DocuSealUnavailable(f"DocuSeal could not be reached: {e}") from e
		with resp:
			self._raise_for_status(resp, "the document", read_body=False)
			declared = resp.headers.get("Content-Length")
			if declared and declared.isdigit() and int(declared) > self.max_document_bytes:
				raise DocumentTooLarge(
					f"The document is {declared} bytes, more than {self.max_document_bytes}",
					status=resp.status_code,
				)
			content = bytearray()
			deadline = time.monotonic() + self.download_timeout
			try:
				for chunk in resp.iter_content(CHUNK):
					content += chunk
					if len(content) > self.max_document_bytes:
						raise DocumentTooLarge(
							f"The document is larger than {self.max_document_bytes} bytes",
							status=resp.status_code,
						)
					if time.monotonic() > deadline:
						raise DocuSealTimeout(
							f"DocuSeal did not send the document within {self.download_timeout}s"
						)
			except requests.Timeout as e:
				raise DocuSealTimeout(f"DocuSeal did not send the document within {self.timeout}s") from e
			except requests.ConnectionError as e:  # requests reports a read timeout while streaming so
				raise DocuSealUnavailable(f"DocuSeal broke off the document: {e}") from e
		return bytes(content)

	# -- internals

	def _require_configured(self) -> None:
		if not self.settings.configured:
			raise DocuSealUnavailable("DocuSeal is not configured")

	def _check_document_url(self, url) -> None:
		api = urlsplit(self.settings.url)
		api_host = (api.hostname or "").lower()
		try:
			parts = urlsplit(url)
			host, port = (parts.hostname or "").lower(), parts.port
		except (TypeError, AttributeError, ValueError):  # not a string, a bad port
			raise DocuSealInvalidInput("This is not a DocuSeal document URL") from None
		if parts.scheme not in ("https", api.scheme) or not host:
			raise DocuSealInvalidInput("This is not a DocuSeal document URL")
		if host == api_host:
			allowed = port == api.port
		else:  # the cloud serves files from its main domain: api.docuseal.com → docuseal.com
			allowed = api_host.startswith("api.") and host == api_host[4:]
		if not allowed:
			raise DocuSealInvalidInput("Documents are only downloaded from DocuSeal's own host")

	def _request(self, method: str, path: str, body: dict | None = None):
		self._require_configured()
		try:
			resp = self.session.request(
				method,
				self.settings.url + path,
				json=body,
				headers={"X-Auth-Token": self.settings.api_key, "Accept": "application/json"},
				timeout=(self.timeout, self.timeout),
				allow_redirects=False,
			)
		except requests.Timeout as e:
			raise DocuSealTimeout(f"DocuSeal did not answer {method} {path} within {self.timeout}s") from e
		except requests.ConnectionError as e:
			raise DocuSealUnavailable(f"DocuSeal could not be reached: {e}") from e
		self._raise_for_status(resp, f"{method} {path}")
		try:
			return resp.json()
		except ValueError as e:
			raise DocuSealResponseError(
				f"DocuSeal sent invalid JSON for {method} {path}", status=resp.status_code
			) from e

	@staticmethod
	def _raise_for_status(resp: requests.Response, what: str, *, read_body: bool = True) -> None:
		status = resp.status_code
		if 200 <= status < 300:
			return
		detail = _error_detail(resp) if read_body else resp.reason or ""
		if status in (401, 403):
			raise DocuSealAuthError(
				f"DocuSeal refused the API key for {what} ({status}: {detail})", status=status
			)
		if status == 404:
			raise DocuSealNotFound(f"DocuSeal has no {what} ({detail})", status=status)
		if status == 422:
			raise DocuSealInvalidInput(f"DocuSeal refused {what}: {detail}", status=status)
		if status == 429 or status >= 500:
			raise DocuSealUnavailable(
				f"DocuSeal is unavailable for {what} ({status}: {detail})", status=status
			)
		raise DocuSealResponseError(f"DocuSeal answered {status} to {what}: {detail}", status=status)


# -- helpers


def _error_detail(resp: requests.Response) -> str:
	try:
		data = resp.json()
	except ValueError:
		data = None
	if isinstance(data, dict) and isinstance(data.get("error"), str):
		return data["error"][:300]
	text = (resp.text or "").strip().splitlines()[:1]
	return text[0][:200] if text else resp.reason or ""


def read_int(value, what: str, *, optional: bool = False, error: type[Exception] = DocuSealResponseError):
	if value is None and optional:
		return None
	if isinstance(value, str) and value.isdigit():
		value = int(value)
	if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
		raise error(f"DocuSeal sent no valid {what}")
	return value


def read_str(value) -> str | None:
	if value is None or value == "":
		return None
	return value if isinstance(value, str) else str(value)


def read_documents(value, *, error: type[Exception] = DocuSealResponseError) -> tuple[Document, ...]:
	if value is None:
		return ()
	if not isinstance(value, list) or not all(
		isinstance(d, dict) and isinstance(d.get("url"), str) and d["url"] for d in value
	):
		raise error("DocuSeal sent documents we cannot read")
	return tuple(Document(name=str(d.get("name") or ""), url=d["url"]) for d in value)
