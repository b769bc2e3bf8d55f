"""Shared by the DocuSeal connector tests (test_docuseal, test_docuseal_webhooks): the fake
DocuSeal's key and template, a webhook receiver built as the Frappe layer builds it, a client."""

from __future__ import annotations

from gigafibre_fsm.connectors.docuseal import CreatedSubmission, DocuSealClient, SubmitterRequest
from gigafibre_fsm.connectors.docuseal_webhooks import (
	WEBHOOK_SECRET_HEADER,
	WebhookRejected,
	parse_webhook,
	verify_webhook,
)
from gigafibre_fsm.core.settings import DocuSealSettings
from gigafibre_fsm.fakepeers.docuseal import FakeDocuSeal
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


def client_for(peer: FakeDocuSeal, api_key: str = API_KEY, **kwargs) -> DocuSealClient:
	return DocuSealClient(DocuSealSettings(url=peer.url + "/api", api_key=api_key), **kwargs)


def create(peer, **kwargs) -> CreatedSubmission:
	with client_for(peer) as client:
		return client.create_submission(TEMPLATE, [CLIENT], **kwargs)
