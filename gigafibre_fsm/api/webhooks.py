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


# -- Stripe ------------------------------------------------------------------------------------
# ``stripe``: Stripe POSTs its events signed with the endpoint's secret (Gigafibre Settings'
# Stripe Webhook Secret): ``Stripe-Signature: t=<ts>,v1=<HMAC-SHA256>``, checked with the SDK
# (``stripe.Webhook.construct_event``, 300 s tolerance) by connectors/stripe_payments.py. No
# header, a signature that does not match, or one older than the tolerance (a replay) → 401,
# nothing written; no secret configured → 401; a signed body that is not an event → 400. An event
# is acted on once (its id is the primary key of a Stripe Event row written in the same
# transaction as its effects): see gigafibre_fsm.customers.payments.


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=600, seconds=60)
def stripe() -> dict:
	from gigafibre_fsm.connectors import stripe_payments as sp
	from gigafibre_fsm.customers import payments

	request = frappe.request
	body = request.get_data(cache=True) if request is not None else b""
	header = request.headers.get(sp.SIGNATURE_HEADER) if request is not None else None
	try:
		event = sp.verify_event(body, header, payments.stripe_settings().webhook_secret)
	except (sp.WebhookRejected, sp.StripeUnavailable) as e:
		frappe.logger(LOG).warning(
			{
				"event": "stripe_refused",
				"reason": getattr(e, "reason", str(e)),
				"ip": getattr(frappe.local, "request_ip", None),
			}
		)
		frappe.throw(_("Not authorised"), frappe.AuthenticationError)
	except sp.WebhookMalformed as e:
		frappe.logger(LOG).warning({"event": "stripe_malformed", "error": str(e)})
		frappe.throw(_("This is not a Stripe event"), WebhookBadRequest)
	return payments.handle_event(event)
