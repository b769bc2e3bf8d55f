"""Inbound webhooks (``/api/method/gigafibre_fsm.api.webhooks.<name>``).

Guest-callable: each proves itself with the secret its sender was configured with, and is
idempotent (senders retry).

``docuseal``: DocuSeal POSTs its events with the secret header configured in its webhook
settings (``X-Gigafibre-Webhook-Secret``, value in Gigafibre Settings' DocuSeal Webhook
Secret). No secret configured or a wrong one → 401; a body that is not a DocuSeal event →
400; an event already handled (DocuSeal retries for about 48 hours) → 200, nothing done. A
completed submission signs its contract through ``customers.signing.mark_signed`` (once).
The event key is remembered in Redis for 7 days after the transaction that handled it
commits, so a failure leaves nothing behind and DocuSeal's retry is handled anew; two
deliveries racing both reach ``mark_signed``, whose row lock signs once.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.rate_limiter import rate_limit

from gigafibre_fsm.connectors import docuseal as ds
from gigafibre_fsm.settings import get_settings

EVENT_TTL = 7 * 24 * 3600  # longer than DocuSeal's 48 hours of retries
LOG = "gigafibre_fsm.webhooks"


class WebhookBadRequest(frappe.ValidationError):
	"""The body is not an event we can read (HTTP 400)."""

	http_status_code = 400


def _seen_key(event_key: str) -> str:
	return frappe.cache.make_key(f"gigafibre_fsm:webhook_seen:{event_key}")


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=600, seconds=60)
def docuseal() -> dict:
	request = frappe.request
	body = request.get_data(cache=True) if request is not None else b""
	headers = request.headers if request is not None else {}
	try:
		ds.verify_webhook(headers, ds.WEBHOOK_SECRET_HEADER, get_settings().docuseal.webhook_secret)
	except ds.WebhookRejected as e:
		frappe.logger(LOG).warning(
			{"event": "docuseal_refused", "reason": e.reason, "ip": getattr(frappe.local, "request_ip", None)}
		)
		frappe.throw(_("Not authorised"), frappe.AuthenticationError)
	try:
		event = ds.parse_webhook(body)
	except ds.WebhookMalformed as e:
		frappe.logger(LOG).warning({"event": "docuseal_malformed", "error": str(e)})
		frappe.throw(_("This is not a DocuSeal event"), WebhookBadRequest)
	return handle_docuseal_event(event)


def handle_docuseal_event(event: ds.WebhookEvent) -> dict:
	"""Act on one verified DocuSeal event, at most once per event key."""
	from gigafibre_fsm.customers import signing

	seen = _seen_key(event.key)
	if frappe.cache.get(seen):
		return {"ok": True, "duplicate": True}
	answer: dict = {"ok": True, "duplicate": False}
	if event.completed and event.submission_id:
		contract = signing.signed_submission(event.submission_id)
		if contract:
			result = signing.mark_signed(contract, signing.SOURCE_DOCUSEAL, evidence=_evidence(event))
			answer.update({"contract": contract, "already_signed": result["already_signed"]})
		else:
			frappe.logger(LOG).info(
				{"event": "docuseal_unknown_submission", "submission": event.submission_id}
			)
	frappe.db.after_commit.add(lambda: frappe.cache.set(seen, 1, ex=EVENT_TTL))
	return answer


def _evidence(event: ds.WebhookEvent) -> dict:
	"""Who signed, as DocuSeal reports it (submitter events carry the signer's IP and browser)."""
	data = event.data or {}
	signer = data if event.record == "submitter" else None
	if signer is None:
		signer = next(
			(s for s in data.get("submitters") or [] if isinstance(s, dict) and s.get("completed_at")), {}
		)
	return {
		"signed_by_name": str(signer.get("name") or signer.get("email") or "")[:140] or None,
		"signed_ip": str(signer.get("ip") or "")[:140] or None,
		"signed_user_agent": str(signer.get("ua") or "")[:1000] or None,
	}


# -- Uptime-Kuma --------------------------------------------------------------------------

KUMA_TOKEN_HEADER = "X-Gigafibre-Token"


def _kuma_token(request) -> str:
	"""The token Uptime-Kuma sends: ``Authorization: Bearer <token>`` or the
	``X-Gigafibre-Token`` header (its webhook's "Additional Headers"), else ``?token=`` in
	the webhook URL."""
	if request is None:
		return ""
	auth = request.headers.get("Authorization") or ""
	if auth[:7].lower() == "bearer ":
		return auth[7:].strip()
	return (request.headers.get(KUMA_TOKEN_HEADER) or request.args.get("token") or "").strip()


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=600, seconds=60)
def uptime_kuma() -> dict:
	"""Uptime-Kuma's webhook notification (JSON, or form-data with a ``data`` field). The
	token from Gigafibre Settings (Uptime-Kuma Token) is compared in constant time: none
	configured or a wrong one → 401, nothing read. DOWN opens one outage per monitor however
	many alerts arrive, UP closes it; a retried delivery does nothing. The customers are
	listed and told in a background job."""
	import hmac

	from gigafibre_fsm.core import outages as rules
	from gigafibre_fsm.core.errors import InvalidInput
	from gigafibre_fsm.network import outages

	request = frappe.request
	expected = get_settings().webhooks.uptime_kuma
	given = _kuma_token(request)
	if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
		frappe.logger(LOG).warning(
			{"event": "uptime_kuma_refused", "ip": getattr(frappe.local, "request_ip", None)}
		)
		frappe.throw(_("Not authorised"), frappe.AuthenticationError)
	try:
		body = request.get_data(cache=True) if request is not None else b""
		form = request.form if request is not None and request.form else None
		event = rules.parse_kuma(rules.load_body(body, form))
	except InvalidInput as e:
		frappe.logger(LOG).warning({"event": "uptime_kuma_malformed", "error": str(e)})
		frappe.throw(_("This is not an Uptime-Kuma notification"), WebhookBadRequest)
	seen = _seen_key(event.event_key)
	if not event.is_test and frappe.cache.get(seen):
		return {"ok": True, "duplicate": True}
	answer = outages.handle_kuma(event)
	if not event.is_test:
		frappe.db.after_commit.add(lambda: frappe.cache.set(seen, 1, ex=EVENT_TTL))
	return {**answer, "duplicate": False}
