"""Inbound webhooks (``/api/method/gigafibre_fsm.api.webhooks.<name>``).

Guest-callable: each proves itself with the secret its sender was configured with, and is
idempotent (senders retry). Each is wrapped by ``unavailable.webhook``: no traceback in an
error answer, and a 503 ``ServiceUnavailable`` while the database or Redis is unreachable.

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
from werkzeug.wrappers import Response

from gigafibre_fsm.connectors import docuseal_webhooks as ds
from gigafibre_fsm.settings import get_settings
from gigafibre_fsm.unavailable import webhook

EVENT_TTL = 7 * 24 * 3600  # longer than DocuSeal's 48 hours of retries
LOG = "gigafibre_fsm.webhooks"


class WebhookBadRequest(frappe.ValidationError):
	"""The body is not an event we can read (HTTP 400)."""

	http_status_code = 400


def _seen_key(event_key: str) -> str:
	return frappe.cache.make_key(f"gigafibre_fsm:webhook_seen:{event_key}")


@frappe.whitelist(allow_guest=True, methods=["POST"])
@webhook
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


# -- Twilio: SMS, delivery status, the phone menu --------------------------------------------
#
# Twilio signs each request (X-Twilio-Signature) with the account's auth token over the exact URL
# it called: behind a proxy that is Gigafibre Settings' Public Site URL + the path and query.
# The signature is checked first; any failure is the same 401 whatever the number, so nothing
# tells whether a customer exists. Answers are TwiML (text/xml).


def _public_url() -> str:
	request = frappe.request
	base = get_settings().comms.public_base_url
	if not base:
		return request.url
	query = request.query_string.decode("latin-1") if request.query_string else ""
	return f"{base}{request.path}" + (f"?{query}" if query else "")


def _twilio_form():
	"""The request's POST fields once the Twilio signature is valid, else a 401."""
	from gigafibre_fsm.connectors import twilio

	request = frappe.request
	form = request.form if request is not None else {}
	signature = request.headers.get(twilio.SIGNATURE_HEADER) if request is not None else None
	url = _public_url() if request is not None else ""
	if not twilio.signature_valid(get_settings().twilio.auth_token, url, form, signature):
		frappe.logger(LOG).warning(
			{"event": "twilio_refused", "path": getattr(request, "path", None), "ip": frappe.local.request_ip}
		)
		frappe.throw(_("Not authorised"), frappe.AuthenticationError)
	return form


def _xml(twiml: str) -> Response:
	"""TwiML as the answer (Frappe passes a Response through as it is)."""
	return Response(twiml, mimetype="text/xml")


@frappe.whitelist(allow_guest=True, methods=["POST"])
@webhook
@rate_limit(limit=1200, seconds=60)
def twilio_sms() -> Response:
	"""Twilio's inbound SMS webhook: the message on the sender's timeline, once per MessageSid;
	STOP / START change the number's SMS consent. Answers TwiML (empty, or a keyword reply)."""
	from gigafibre_fsm.connectors import twilio
	from gigafibre_fsm.gigafibre_integrations import sms

	form = _twilio_form()
	sms.receive_retrying(form)
	return _xml(twilio.messaging_twiml(sms.keyword_reply(form)))


@frappe.whitelist(allow_guest=True, methods=["POST"])
@webhook
@rate_limit(limit=1200, seconds=60)
def twilio_status() -> dict:
	"""Twilio's status callback of an outgoing SMS: its delivery status (never moved back)."""
	from gigafibre_fsm.gigafibre_integrations import sms

	return sms.update_status(_twilio_form())


@frappe.whitelist(allow_guest=True, methods=["POST"])
@webhook
@rate_limit(limit=1200, seconds=60)
def twilio_voice() -> Response:
	"""Twilio's voice webhook: the phone menu's TwiML for every request of a call (the first one
	and the follow-ups, told apart by the ``step`` query parameter of the previous answer)."""
	from gigafibre_fsm.gigafibre_integrations import phone

	form = _twilio_form()
	return _xml(phone.answer(form, frappe.request.args, _public_url()))


# -- 3CX: contact lookup and call journal ---------------------------------------------------
#
# 3CX's CRM template sends the token of Gigafibre Settings' 3CX Token as "Authorization: Bearer
# <token>" (or X-3CX-Token); it is compared in constant time, and a missing or wrong one is 401.

THREECX_HEADER = "X-3CX-Token"
MAX_NUMBER = 40


def _threecx_verified() -> None:
	import hmac

	request = frappe.request
	expected = get_settings().webhooks.threecx
	header = request.headers.get("Authorization", "") if request is not None else ""
	token = header[7:].strip() if header[:7].lower() == "bearer " else ""
	if not token and request is not None:
		token = request.headers.get(THREECX_HEADER, "")
	if not expected or not hmac.compare_digest(token.encode()[:512], expected.encode()):
		frappe.logger(LOG).warning({"event": "threecx_refused", "ip": frappe.local.request_ip})
		frappe.throw(_("Not authorised"), frappe.AuthenticationError)


@frappe.whitelist(allow_guest=True, methods=["GET", "POST"])
@webhook
@rate_limit(limit=1200, seconds=60)
def threecx_lookup(number: str | None = None) -> dict:
	"""3CX's contact lookup: the customer a number belongs to (id, name, desk URL) or
	``{"contact": null}``; only for the authenticated 3CX server."""
	from gigafibre_fsm.gigafibre_integrations import threecx

	_threecx_verified()
	if not isinstance(number, str) or len(number) > MAX_NUMBER:
		frappe.throw(
			_("The number must be text of at most {0} characters").format(MAX_NUMBER), WebhookBadRequest
		)
	return threecx.lookup(number)


@frappe.whitelist(allow_guest=True, methods=["POST"])
@webhook
@rate_limit(limit=1200, seconds=60)
def threecx_call() -> dict:
	"""3CX's call journal entry (JSON): stored once as a Call Log linked to the customer; a missed
	call from a customer with an open Issue is added to that Issue."""
	from gigafibre_fsm.core.comms.threecx import JournalError
	from gigafibre_fsm.gigafibre_integrations import threecx

	_threecx_verified()
	request = frappe.request
	entry = request.get_json(silent=True) if request is not None else None
	if entry is None and request is not None and request.form:
		entry = request.form.to_dict()
	try:
		return threecx.journal(entry)
	except JournalError as e:
		frappe.logger(LOG).warning({"event": "threecx_malformed", "error": str(e)})
		frappe.throw(_("This is not a 3CX call journal entry: {0}").format(str(e)), WebhookBadRequest)


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


# -- Stripe ------------------------------------------------------------------------------------
# ``stripe``: Stripe POSTs its events signed with the endpoint's secret (Gigafibre Settings'
# Stripe Webhook Secret): ``Stripe-Signature: t=<ts>,v1=<HMAC-SHA256>``, checked with the SDK
# (``stripe.Webhook.construct_event``, 300 s tolerance) by connectors/stripe_payments.py. No
# header, a signature that does not match, or one older than the tolerance (a replay) → 401,
# nothing written; no secret configured → 401; a signed body that is not an event → 400. An event
# is acted on once (its id is the primary key of a Stripe Event row written in the same
# transaction as its effects): see gigafibre_fsm.customers.stripe_events.


@frappe.whitelist(allow_guest=True, methods=["POST"])
@webhook
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


@frappe.whitelist(allow_guest=True, methods=["POST"])
@webhook
@rate_limit(limit=600, seconds=60)
def stripe() -> dict:
	from gigafibre_fsm.connectors import stripe_payments as sp
	from gigafibre_fsm.connectors import stripe_webhooks
	from gigafibre_fsm.customers import stripe_events, stripe_ledger

	request = frappe.request
	body = request.get_data(cache=True) if request is not None else b""
	header = request.headers.get(stripe_webhooks.SIGNATURE_HEADER) if request is not None else None
	try:
		event = stripe_webhooks.verify_event(body, header, stripe_ledger.stripe_settings().webhook_secret)
	except (stripe_webhooks.WebhookRejected, sp.StripeUnavailable) as e:
		frappe.logger(LOG).warning(
			{
				"event": "stripe_refused",
				"reason": getattr(e, "reason", str(e)),
				"ip": getattr(frappe.local, "request_ip", None),
			}
		)
		frappe.throw(_("Not authorised"), frappe.AuthenticationError)
	except stripe_webhooks.WebhookMalformed as e:
		frappe.logger(LOG).warning({"event": "stripe_malformed", "error": str(e)})
		frappe.throw(_("This is not a Stripe event"), WebhookBadRequest)
	return stripe_events.handle_event(event)
