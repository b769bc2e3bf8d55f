"""DocuSeal connector against a fake DocuSeal on loopback (real sockets): submissions, errors,
timeouts and documents. Webhooks: test_docuseal_webhooks.py."""

from __future__ import annotations

import time

import pytest

from gigafibre_fsm.connectors.docuseal import (
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
from gigafibre_fsm.connectors.errors import ConnectorAuthError, ConnectorTimeout, ConnectorUnavailable
from gigafibre_fsm.core.settings import DocuSealSettings
from gigafibre_fsm.fakepeers.docuseal import tiny_pdf
from gigafibre_fsm.fakepeers.http import Response
from tests.connectors.docuseal_helpers import API_KEY, CLIENT, TEMPLATE, client_for, create

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
