"""DocuSeal connector and webhook helpers against a fake DocuSeal on loopback (real sockets)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from gigafibre_fsm.connectors.docuseal import (
	CreatedSubmission,
	DocumentTooLarge,
	DocuSealAuthError,
	DocuSealClient,
	DocuSealInvalidInput,
	DocuSealNotFound,
	DocuSealResponseError,
	DocuSealTimeout,
	DocuSealUnavailable,
	SubmitterRequest,
)
from gigafibre_fsm.connectors.docuseal_webhooks import (
	SIGNATURE_HEADER,
	WEBHOOK_SECRET_HEADER,
	WebhookMalformed,
	WebhookRejected,
	event_key,
	parse_webhook,
	verify_signature,
	verify_webhook,
)
from gigafibre_fsm.connectors.errors import ConnectorAuthError, ConnectorTimeout, ConnectorUnavailable
from gigafibre_fsm.core.settings import DocuSealSettings
from gigafibre_fsm.fakepeers.docuseal import FakeDocuSeal, tiny_pdf
from gigafibre_fsm.fakepeers.http import FakePeer, Response

API_KEY = "ds-key-123"
SECRET = "wh-secret-456"
TEMPLATE = 1000001
CLIENT = SubmitterRequest(
	role="Client",
	email="marie.tremblay@example.ca",
	name="Marie Tremblay",
	external_id="CTR-00042",
)


class Receiver(FakePeer):
	"""Our webhook endpoint as the Frappe layer will build it: verify, parse, dedupe by key."""

	def __init__(self, secret: str = SECRET, statuses: list[int] | None = None):
		self.secret = secret
		self.statuses = list(statuses or [])  # answers to give first (e.g. a 500 to cause a retry)
		self.events = []  # every verified event, duplicates included
		self.handled: dict[str, object] = {}  # key → event: what was acted on once
		self.refusals: list[str] = []
		super().__init__()

	def setup_routes(self):
		@self.route("POST", r"/hooks/docuseal")
		def hook(request):
			try:
				verify_webhook(request.headers, WEBHOOK_SECRET_HEADER, self.secret)
			except WebhookRejected as e:
				self.refusals.append(e.reason)
				return Response.json({"error": "unauthorised"}, status=401)
			event = parse_webhook(request.body)
			self.events.append(event)
			if self.statuses:
				return Response.json({}, status=self.statuses.pop(0))
			self.handled.setdefault(event.key, event)
			return Response.json({"ok": True})

	@property
	def hook_url(self) -> str:
		return self.url + "/hooks/docuseal"


@pytest.fixture
def docuseal(fake_peer) -> FakeDocuSeal:
	peer = fake_peer(FakeDocuSeal(API_KEY, webhook_secret={WEBHOOK_SECRET_HEADER: SECRET}))
	peer.add_template(TEMPLATE, roles=("Client", "Gigafibre"))
	return peer


@pytest.fixture
def receiver(fake_peer) -> Receiver:
	return fake_peer(Receiver())


def client_for(peer: FakeDocuSeal, api_key: str = API_KEY, **kwargs) -> DocuSealClient:
	return DocuSealClient(DocuSealSettings(url=peer.url + "/api", api_key=api_key), **kwargs)


def create(peer, **kwargs) -> CreatedSubmission:
	with client_for(peer) as client:
		return client.create_submission(TEMPLATE, [CLIENT], **kwargs)


# -- API


def test_create_submission(docuseal):
	created = create(
		docuseal, values={"Client": {"Nom": "Marie Tremblay", "Forfait": "Fibre 1 Gb/s"}}, send_email=False
	)
	assert created.submission_id in docuseal.submissions
	(submitter,) = created.submitters
	assert submitter.role == "Client" and submitter.email == CLIENT.email
	assert submitter.external_id == "CTR-00042"
	assert submitter.status == "awaiting"  # no email sent: the app sends the link itself
	assert submitter.embed_src == f"{docuseal.url}/s/{submitter.slug}"
	request = docuseal.requests[-1]
	assert request.method == "POST" and request.path == "/api/submissions"
	assert request.headers["x-auth-token"] == API_KEY
	assert request.json() == {
		"template_id": TEMPLATE,
		"send_email": False,
		"submitters": [
			{
				"role": "Client",
				"email": "marie.tremblay@example.ca",
				"name": "Marie Tremblay",
				"external_id": "CTR-00042",
				"values": {"Nom": "Marie Tremblay", "Forfait": "Fibre 1 Gb/s"},
			}
		],
	}


def test_create_with_two_parties_and_email(docuseal):
	rep = SubmitterRequest(
		role="Gigafibre", email="ventes@gigafibre.ca", name="Ventes", values={"Signature": "x"}
	)
	with client_for(docuseal) as client:
		created = client.create_submission(TEMPLATE, [CLIENT, rep], send_email=True)
	assert [s.role for s in created.submitters] == ["Client", "Gigafibre"]
	assert {s.status for s in created.submitters} == {"sent"}
	assert len({s.submission_id for s in created.submitters}) == 1


def test_get_submission(docuseal):
	created = create(docuseal)
	with client_for(docuseal) as client:
		submission = client.get_submission(created.submission_id)
	assert submission.id == created.submission_id
	assert submission.status == "pending" and not submission.completed
	assert submission.documents == () and submission.audit_log_url is None
	assert [s.id for s in submission.submitters] == [created.submitters[0].id]
	assert docuseal.requests[-1].path == f"/api/submissions/{created.submission_id}"


def test_get_a_completed_submission_and_download_its_document(docuseal, receiver):
	created = create(docuseal)
	docuseal.complete(created.submission_id, receiver.hook_url)
	with client_for(docuseal) as client:
		submission = client.get_submission(created.submission_id)
		assert submission.completed and submission.completed_at
		(document,) = submission.documents
		assert submission.submitters[0].documents == (document,)
		pdf = client.download_document(document.url)
		assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
		assert client.download_document(submission.audit_log_url).startswith(b"%PDF")


def test_unknown_submission_is_not_found(docuseal):
	with pytest.raises(DocuSealNotFound) as err:
		client_for(docuseal).get_submission(999999)
	assert err.value.status == 404 and err.value.source == "docuseal"


def test_bad_api_key_is_an_auth_error(docuseal):
	client = client_for(docuseal, api_key="wrong")
	with pytest.raises(DocuSealAuthError) as err:
		client.create_submission(TEMPLATE, [CLIENT])
	assert isinstance(err.value, ConnectorAuthError)
	assert err.value.status == 401 and "Not authenticated" in str(err.value)
	with pytest.raises(DocuSealAuthError):
		client.get_submission(1001)
	assert not docuseal.submissions


@pytest.mark.parametrize(
	"template_id, submitters, message",
	[
		(424242, [CLIENT], "Template not found"),
		(TEMPLATE, [SubmitterRequest(role="Témoin", email="a@example.ca")], "Unknown submitter role: Témoin"),
		(TEMPLATE, [SubmitterRequest(role="Client")], "email or phone or name is required"),
		(
			TEMPLATE,
			[SubmitterRequest(role="Client", name="A", values={"Couleur": "bleu"})],
			"Unknown field: Couleur",
		),
	],
)
def test_invalid_input_is_422(docuseal, template_id, submitters, message):
	with pytest.raises(DocuSealInvalidInput) as err:
		client_for(docuseal).create_submission(template_id, submitters)
	assert err.value.status == 422 and message in str(err.value)


def test_obviously_bad_requests_are_not_sent(docuseal):
	client = client_for(docuseal)
	for args, kwargs in (
		((0, [CLIENT]), {}),
		((TEMPLATE, []), {}),
		((TEMPLATE, [CLIENT, CLIENT]), {}),
		((TEMPLATE, [CLIENT]), {"values": {"Witness": {"Nom": "x"}}}),
	):
		with pytest.raises(DocuSealInvalidInput) as err:
			client.create_submission(*args, **kwargs)
		assert err.value.status is None
	with pytest.raises(DocuSealInvalidInput):
		client.get_submission("abc")
	assert docuseal.requests == []


def test_slow_docuseal_times_out(docuseal):
	docuseal.delay = 1.5
	client = client_for(docuseal, timeout=0.3)
	started = time.monotonic()
	with pytest.raises(DocuSealTimeout) as err:
		client.create_submission(TEMPLATE, [CLIENT])
	assert time.monotonic() - started < 1.2
	# a timeout is both: callers may catch either
	assert isinstance(err.value, ConnectorTimeout) and isinstance(err.value, ConnectorUnavailable)
	with pytest.raises(DocuSealUnavailable):
		client.get_submission(1001)


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_are_unavailable(docuseal, status):
	docuseal.fail_next.append(Response.json({"error": "boom"}, status=status))
	with pytest.raises(DocuSealUnavailable) as err:
		client_for(docuseal).get_submission(1001)
	assert err.value.status == status


def test_unreachable_and_unconfigured_are_unavailable(docuseal):
	port = docuseal.port
	docuseal.stop()
	dead = DocuSealClient(DocuSealSettings(url=f"http://127.0.0.1:{port}/api", api_key=API_KEY), timeout=1)
	with pytest.raises(DocuSealUnavailable):
		dead.get_submission(1001)
	with pytest.raises(DocuSealUnavailable):
		DocuSealClient(DocuSealSettings()).get_submission(1001)


def test_unreadable_answers_are_response_errors(docuseal):
	docuseal.fail_next.append(Response.text("<html>maintenance</html>", content_type="text/html"))
	with pytest.raises(DocuSealResponseError):
		client_for(docuseal).get_submission(1001)
	docuseal.fail_next.append(Response.json([{"id": "x"}]))
	with pytest.raises(DocuSealResponseError):
		create(docuseal)


# -- documents


def test_document_size_is_capped(docuseal):
	url = docuseal.add_file("big.pdf", b"%PDF-" + b"0" * 300_000)
	client = client_for(docuseal, max_document_bytes=100_000)
	with pytest.raises(DocumentTooLarge):
		client.download_document(url)
	small = docuseal.add_file("small.pdf", tiny_pdf("ok"))
	assert client.download_document(small) == tiny_pdf("ok")


def test_slow_document_times_out(docuseal):
	url = docuseal.add_file("c.pdf", tiny_pdf("c"))
	docuseal.delay = 1.5
	with pytest.raises(DocuSealTimeout):
		client_for(docuseal, timeout=0.3).download_document(url)


def test_documents_are_fetched_only_from_docuseal(docuseal, receiver):
	client = client_for(docuseal)
	for url in (
		receiver.url + "/file/abc/contract.pdf",  # another port on loopback
		"https://evil.example.com/file/abc/contract.pdf",
		"file:///etc/passwd",
		"ftp://127.0.0.1/x.pdf",
		"not a url",
		None,
	):
		with pytest.raises(DocuSealInvalidInput):
			client.download_document(url)
	assert receiver.requests == []


def test_cloud_documents_come_from_the_main_domain():
	client = DocuSealClient(DocuSealSettings(url="https://api.docuseal.com", api_key="k"))
	client._check_document_url("https://docuseal.com/file/abc/contract.pdf")
	client._check_document_url("https://api.docuseal.com/file/abc/contract.pdf")
	with pytest.raises(DocuSealInvalidInput):
		client._check_document_url("https://docuseal.com.evil.example/file/abc/contract.pdf")
	with pytest.raises(DocuSealInvalidInput):
		client._check_document_url("http://docuseal.com/file/abc/contract.pdf")


def test_download_links_that_require_auth_get_the_key(docuseal):
	docuseal.files_require_auth = True
	url = docuseal.add_file("c.pdf", tiny_pdf("c"))
	assert client_for(docuseal).download_document(url).startswith(b"%PDF")
	assert docuseal.requests[-1].headers["x-auth-token"] == API_KEY
	with pytest.raises(DocuSealAuthError):
		client_for(docuseal, api_key="wrong").download_document(url)
	with pytest.raises(DocuSealNotFound):
		client_for(docuseal).download_document(url.replace("/c.pdf", "/other.pdf"))


# -- webhooks: delivery, verification


def test_completion_delivers_form_and_submission_events(docuseal, receiver):
	created = create(docuseal)
	deliveries = docuseal.complete(created.submission_id, receiver.hook_url)
	assert [d.event_type for d in deliveries] == ["form.completed", "submission.completed"]
	assert all(d.last_status == 200 for d in deliveries)
	form, submission = receiver.events
	assert form.event_type == "form.completed" and form.record == "submitter"
	assert form.submitter_id == created.submitters[0].id and form.submission_id == created.submission_id
	assert form.status == "completed" and form.completed  # the only party: the submission is complete
	assert form.external_id == "CTR-00042"
	assert len(form.documents) == 1 and form.documents[0].url.startswith(docuseal.url + "/file/")
	assert form.audit_log_url
	assert submission.event_type == "submission.completed" and submission.record == "submission"
	assert submission.submission_id == created.submission_id and submission.submitter_id is None
	assert submission.completed and submission.status == "completed"
	assert submission.documents == form.documents
	assert submission.external_id == "CTR-00042"
	# the documents named in the webhook can be fetched
	assert client_for(docuseal).download_document(submission.documents[0].url).startswith(b"%PDF")


def test_a_party_signing_first_does_not_complete_the_submission(docuseal, receiver):
	rep = SubmitterRequest(role="Gigafibre", email="ventes@gigafibre.ca")
	with client_for(docuseal) as client:
		created = client.create_submission(TEMPLATE, [CLIENT, rep])
	first = created.submitters[0].id
	docuseal.complete_submitter(first)
	delivery = docuseal.deliver("form.completed", "submitter", first, receiver.hook_url)
	assert delivery.last_status == 200
	event = receiver.events[-1]
	assert event.status == "completed" and event.submission_status == "pending" and not event.completed


def test_declined_event(docuseal, receiver):
	created = create(docuseal)
	docuseal.decline(created.submitters[0].id, "Prix trop élevé", receiver.hook_url)
	event = receiver.events[-1]
	assert event.event_type == "form.declined" and event.status == "declined"
	assert event.submission_status == "declined" and not event.completed
	assert event.data["decline_reason"] == "Prix trop élevé"


def test_webhook_with_the_wrong_or_missing_secret_is_refused(fake_peer, receiver):
	wrong = fake_peer(FakeDocuSeal(API_KEY, webhook_secret={WEBHOOK_SECRET_HEADER: "guess"}))
	missing = fake_peer(FakeDocuSeal(API_KEY))
	for peer in (wrong, missing):
		peer.add_template(TEMPLATE, roles=("Client",))
		(delivery, *_) = peer.complete(create(peer).submission_id, receiver.hook_url)
		assert delivery.last_status == 401
	assert receiver.refusals == ["wrong_secret", "wrong_secret", "missing_secret", "missing_secret"]
	assert receiver.events == []


def test_verify_webhook():
	verify_webhook({WEBHOOK_SECRET_HEADER: SECRET}, WEBHOOK_SECRET_HEADER, SECRET)
	verify_webhook({WEBHOOK_SECRET_HEADER.lower(): SECRET}, WEBHOOK_SECRET_HEADER, SECRET)  # any case
	cases = [
		({WEBHOOK_SECRET_HEADER: SECRET[:-1]}, SECRET, "wrong_secret"),
		({WEBHOOK_SECRET_HEADER: SECRET + "x"}, SECRET, "wrong_secret"),
		({WEBHOOK_SECRET_HEADER: ""}, SECRET, "wrong_secret"),
		({"X-Other": SECRET}, SECRET, "missing_secret"),
		({}, SECRET, "missing_secret"),
		({WEBHOOK_SECRET_HEADER: ""}, "", "not_configured"),  # no secret configured: refuse all
	]
	for headers, expected, reason in cases:
		with pytest.raises(WebhookRejected) as err:
			verify_webhook(headers, WEBHOOK_SECRET_HEADER, expected)
		assert err.value.reason == reason
		assert SECRET not in str(err.value)


def test_verify_webhook_refuses_a_repeated_header():
	class MultiHeaders(dict):
		def getlist(self, name):  # werkzeug-style
			return [SECRET, "other"] if name == WEBHOOK_SECRET_HEADER else []

	with pytest.raises(WebhookRejected) as err:
		verify_webhook(MultiHeaders(), WEBHOOK_SECRET_HEADER, SECRET)
	assert err.value.reason == "duplicate_secret"


def test_verify_signature(docuseal, receiver):
	created = create(docuseal)
	(delivery, *_) = docuseal.complete(created.submission_id, receiver.hook_url)
	attempt = delivery.attempts[-1]
	body, header = attempt["body"], attempt["headers"][SIGNATURE_HEADER]
	now = datetime.now(UTC)
	verify_signature(body, header, docuseal.hmac_secret, now=now)
	for value, secret, when, reason in (
		(header, "whsec_other", now, "bad_signature"),
		(header, docuseal.hmac_secret, now + timedelta(minutes=6), "stale_signature"),
		(None, docuseal.hmac_secret, now, "missing_signature"),
		("abc.def", docuseal.hmac_secret, now, "missing_signature"),
		(header, "", now, "not_configured"),
	):
		with pytest.raises(WebhookRejected) as err:
			verify_signature(body, value, secret, now=when)
		assert err.value.reason == reason
	with pytest.raises(WebhookRejected):
		verify_signature(body.replace(b"completed", b"declined"), header, docuseal.hmac_secret, now=now)


# -- webhooks: parsing and idempotency


def test_retries_of_an_event_have_the_same_key(docuseal, fake_peer):
	# the receiver fails the first three deliveries; DocuSeal retries non-2xx deliveries
	flaky = fake_peer(Receiver(statuses=[500, 500, 503]))
	created = create(docuseal)
	form, submission = docuseal.complete(created.submission_id, flaky.hook_url)
	assert (form.last_status, submission.last_status) == (500, 500)
	time.sleep(0.01)
	assert docuseal.resend(form) == 503
	assert docuseal.resend(form) == 200
	assert docuseal.resend(form) == 200  # delivered already, and DocuSeal still repeats it
	assert docuseal.resend(submission) == 200
	form_events = [e for e in flaky.events if e.event_type == "form.completed"]
	assert len(form_events) == 4 and len({e.key for e in form_events}) == 1
	assert len({e.key for e in flaky.events if e.event_type == "submission.completed"}) == 1
	# acted on once per event, however many deliveries
	assert sorted(flaky.handled) == sorted({form_events[0].key, flaky.events[1].key})


def test_keys_are_stable_even_when_the_envelope_timestamp_changes(fake_peer, receiver):
	# DocuSeal versions before 2025 stamped each attempt with its own time
	legacy = fake_peer(
		FakeDocuSeal(API_KEY, webhook_secret={WEBHOOK_SECRET_HEADER: SECRET}, legacy_timestamps=True)
	)
	legacy.add_template(TEMPLATE, roles=("Client",))
	created = create(legacy)
	(delivery, *_) = legacy.complete(created.submission_id, receiver.hook_url)
	time.sleep(0.01)
	legacy.resend(delivery)
	first, retry = [e for e in receiver.events if e.event_type == "form.completed"]
	assert first.timestamp != retry.timestamp
	assert first.key == retry.key


def test_distinct_events_have_distinct_keys(docuseal, receiver):
	a, b = create(docuseal), create(docuseal)
	docuseal.complete(a.submission_id, receiver.hook_url)
	docuseal.complete(b.submission_id, receiver.hook_url)
	keys = [e.key for e in receiver.events]
	assert len(keys) == len(set(keys)) == 4


def test_parse_form_completed_body():
	body = {
		"event_type": "form.completed",
		"timestamp": "2026-03-02T14:05:00.000Z",
		"data": {
			"id": 5001,
			"submission_id": 1001,
			"email": "marie.tremblay@example.ca",
			"status": "completed",
			"completed_at": "2026-03-02T14:04:59.120Z",
			"external_id": "CTR-00042",
			"documents": [{"name": "contrat", "url": "https://docuseal.example/file/a/contrat.pdf"}],
			"audit_log_url": "https://docuseal.example/file/b/audit.pdf",
			"submission": {
				"id": 1001,
				"status": "completed",
				"audit_log_url": "https://docuseal.example/file/b/audit.pdf",
			},
		},
	}
	event = parse_webhook(json.dumps(body).encode())
	assert event.key == "docuseal:form.completed:submitter:5001:2026-03-02T14:04:59.120Z"
	assert event.key == event_key("form.completed", "submitter", 5001, "2026-03-02T14:04:59.120Z")
	assert (event.submission_id, event.submitter_id, event.completed) == (1001, 5001, True)
	assert event.documents[0].name == "contrat"
	assert event.as_dict()["documents"] == [
		{"name": "contrat", "url": "https://docuseal.example/file/a/contrat.pdf"}
	]
	# without its own date, the envelope timestamp is used
	del body["data"]["completed_at"]
	assert parse_webhook(json.dumps(body)).key.endswith(":2026-03-02T14:05:00.000Z")


def test_parse_events_without_an_anchor():
	created = parse_webhook(
		json.dumps({"event_type": "submission.created", "timestamp": "t1", "data": {"id": 7}})
	)
	assert created.key == "docuseal:submission.created:submission:7" and not created.completed
	template = parse_webhook(
		json.dumps({"event_type": "template.updated", "timestamp": "t2", "data": {"id": 3}})
	)
	assert template.record == "template" and template.key == "docuseal:template.updated:template:3:t2"
	future = parse_webhook(json.dumps({"event_type": "thing.happened", "timestamp": "t3", "data": {}}))
	assert future.record == "other" and future.key == "docuseal:thing.happened:other:-:t3"


@pytest.mark.parametrize(
	"body",
	[
		b"",
		b"not json",
		b"\xff\xfe",
		b"[1, 2]",
		b'{"event_type": "form.completed"}',
		b'{"data": {"id": 1}}',
		b'{"event_type": "form.completed", "data": {"id": "abc"}}',
		b'{"event_type": "form.completed", "data": {}}',
		b'{"event_type": "form.completed", "data": {"id": true}}',
		b'{"event_type": "submission.completed", "data": {"id": 1, "documents": [{"name": "x"}]}}',
		b'{"event_type": "form.completed", "data": {"id": 1, "documents": "x"}}',
		b"{" + b'"a": "' + b"x" * (3 * 1024 * 1024) + b'"}',
	],
)
def test_malformed_webhooks(body):
	with pytest.raises(WebhookMalformed):
		parse_webhook(body)
