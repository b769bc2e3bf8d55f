"""DocuSeal webhook helpers against a fake DocuSeal on loopback (real sockets): delivery,
verification, event keys and parsing."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from gigafibre_fsm.connectors.docuseal import SubmitterRequest
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
from gigafibre_fsm.fakepeers.docuseal import FakeDocuSeal
from tests.connectors.docuseal_helpers import API_KEY, CLIENT, SECRET, TEMPLATE, Receiver, client_for, create

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
