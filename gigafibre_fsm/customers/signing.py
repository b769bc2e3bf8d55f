"""Contract acceptance: the two tracks and the one place where both end.

- Residential: :func:`send_contract` issues a signing link ``/c/<token>``
  (``core.contract_tokens``: HS256, scope ``contract``, 7 days, a ``jti`` recorded on the
  contract, so a newer link revokes the older one) and sends it by SMS and e-mail. The
  customer reads :func:`contract_text` on the page, types their name and accepts:
  :func:`accept` records the evidence (typed name, IP, user agent, time, SHA-256 of the
  text shown) and ends in :func:`mark_signed`.
- Commercial: :func:`send_contract` creates a DocuSeal submission of the configured
  template; DocuSeal's webhook (``gigafibre_fsm.api.webhooks.docuseal``) ends in
  :func:`mark_signed`.

:func:`mark_signed` holds the contract's row lock and signs it at most once: the
``on_contract_signed`` flows start once, the realtime event is published after commit, and the
signed contract is attached as a PDF once (``customers.contract_pdf``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal

import frappe
from frappe import _
from frappe.utils import escape_html, get_url, getdate, now_datetime

from gigafibre_fsm.connectors import docuseal
from gigafibre_fsm.connectors.errors import ConnectorError
from gigafibre_fsm.core import contract_tokens
from gigafibre_fsm.core.contracts import money
from gigafibre_fsm.core.termination import CONSUMER_FLAT_CAP, CONSUMER_PERCENT
from gigafibre_fsm.customers import contract_pdf
from gigafibre_fsm.db_retry import retrying
from gigafibre_fsm.exceptions import ExternalServiceError, ForbiddenError, GigafibreValidationError
from gigafibre_fsm.flows import fire
from gigafibre_fsm.settings import get_settings

CONTRACT = "Service Contract"
SUBSCRIPTION = "Service Subscription"
SOURCE_LINK = "Residential link"
SOURCE_DOCUSEAL = "DocuSeal"
SIGNED_STATUSES = ("Signé", "Actif", "Résilié", "Expiré")
SENDABLE_STATUSES = ("Brouillon", "Envoyé")
TPS = Decimal("0.05")
TVQ = Decimal("0.09975")
LANGS = ("fr", "en")
MAX_NAME = 140
MAX_USER_AGENT = 1000
REALTIME_EVENT = "gigafibre_fsm:contract_signed"
LOG = "gigafibre_fsm.contract_signing"


class ContractLinkError(ForbiddenError):
	"""A signing link was refused (one class and one message for every reason)."""


def link_refused():
	frappe.throw(_("This link has expired or is no longer valid"), ContractLinkError, title=_("Link expired"))


# -- sending ----------------------------------------------------------------------------


def send_contract(contract: str) -> dict:
	"""Send the contract for signature: a link (residential) or a DocuSeal submission (commercial).

	A new residential link replaces, and so revokes, any earlier one.
	"""
	doc = frappe.get_doc(CONTRACT, contract, for_update=True)
	if doc.status not in SENDABLE_STATUSES or doc.signed_on:
		frappe.throw(
			_("Contract {0} is {1}: it cannot be sent for signature").format(doc.name, _(doc.status)),
			GigafibreValidationError,
		)
	if doc.contract_type == "Commercial":
		return _send_docuseal(doc)
	return _send_link(doc)


def _send_link(doc) -> dict:
	secret = get_settings().token_secret
	if not secret:
		frappe.throw(_("The token signing secret is not set in Gigafibre Settings"), ExternalServiceError)
	issued = contract_tokens.issue(secret, doc.name, now=datetime.now(UTC))
	doc.signing_jti = issued.jti
	doc.signing_link_sent_on = now_datetime()
	doc.status = "Envoyé"
	doc.flags.ignore_permissions = True
	doc.save()
	link = get_url(f"/c/{issued.token}")
	customer = frappe.db.get_value(
		"Customer", doc.customer, ["customer_name", "cell_phone", "email_billing"], as_dict=True
	)
	if customer.cell_phone:
		frappe.enqueue(
			"gigafibre_fsm.customers.signing.deliver_link_sms",
			queue="short",
			now=bool(frappe.flags.in_test),
			enqueue_after_commit=True,
			to=customer.cell_phone,
			body=_("Gigafibre: your service contract {0} is ready. Read and accept it here: {1}").format(
				doc.name, link
			),
			contract=doc.name,
		)
	emailed = False
	if customer.email_billing:
		try:
			frappe.sendmail(
				recipients=[customer.email_billing],
				subject=_("Your Gigafibre service contract {0}").format(doc.name),
				message=_(
					"Hello {0},<br><br>Your service contract {1} is ready. Read and accept it here:"
					' <a href="{2}">{2}</a><br>The link is valid for 7 days.'
				).format(escape_html(customer.customer_name or ""), doc.name, link),
				reference_doctype=CONTRACT,
				reference_name=doc.name,
				delayed=True,
			)
			emailed = True
		except frappe.OutgoingEmailError:
			# No outgoing e-mail account on the site: the SMS still goes, staff are told.
			frappe.msgprint(
				_("No outgoing e-mail account is set up: the link was not e-mailed"), indicator="orange"
			)
	return {
		"contract": doc.name,
		"status": doc.status,
		"link": link,
		"sms": bool(customer.cell_phone),
		"email": emailed,
	}


def deliver_link_sms(to: str, body: str, contract: str | None = None) -> None:
	"""Job: text the signing link. A failure is logged without the link (it is a credential)."""
	from gigafibre_fsm.connectors.twilio import send_sms

	try:
		send_sms(get_settings().twilio, to, body)
	except ConnectorError as e:
		frappe.log_error(
			title="Contract link SMS failed",
			message=f"{type(e).__name__}: {e}",
			reference_doctype=CONTRACT,
			reference_name=contract,
		)


def _send_docuseal(doc) -> dict:
	settings = get_settings().docuseal
	if not settings.configured or not settings.template_id:
		frappe.throw(_("DocuSeal is not configured in Gigafibre Settings"), ExternalServiceError)
	customer = frappe.db.get_value(
		"Customer", doc.customer, ["customer_name", "cell_phone", "email_billing"], as_dict=True
	)
	if not customer.email_billing:
		frappe.throw(
			_("Customer {0} has no billing e-mail for DocuSeal").format(doc.customer),
			GigafibreValidationError,
		)
	submitter = docuseal.SubmitterRequest(
		role=settings.submitter_role,
		email=customer.email_billing,
		name=customer.customer_name or "",
		external_id=doc.name,
	)
	try:
		with docuseal.DocuSealClient(settings) as client:
			created = client.create_submission(settings.template_id, [submitter], send_email=True)
	except ConnectorError as e:
		frappe.throw(_("DocuSeal did not create the submission: {0}").format(str(e)), ExternalServiceError)
	doc.docuseal_submission = str(created.submission_id)
	doc.signing_link_sent_on = now_datetime()
	doc.status = "Envoyé"
	doc.flags.ignore_permissions = True
	doc.save()
	link = next((s.embed_src for s in created.submitters if s.embed_src), None)
	return {"contract": doc.name, "status": doc.status, "link": link, "submission": doc.docuseal_submission}


# -- the text the customer accepts ------------------------------------------------------


def _lang(lang: str | None) -> str:
	return lang if lang in LANGS else "fr"


def _amount(value: Decimal, lang: str) -> str:
	text = f"{money(value):,.2f}"
	if lang == "fr":
		text = text.replace(",", "\u202f").replace(".", ",")
	return text


def contract_text(contract, lang: str | None = None) -> dict:
	"""The contract as the page shows it: ``lines`` ({kind: h|p|li, text}), their ``text``
	(joined by newlines) and its ``sha256``, the fingerprint recorded on acceptance."""
	doc = frappe.get_doc(CONTRACT, contract) if isinstance(contract, str) else contract
	lang = _lang(lang)

	lines: list[dict] = []

	def add(kind: str, text: str) -> None:
		lines.append({"kind": kind, "text": text})

	customer_name = frappe.db.get_value("Customer", doc.customer, "customer_name") or doc.customer
	add("h", _("Service contract {0}", lang=lang).format(doc.name))
	add("p", _("Customer: {0}", lang=lang).format(customer_name))

	add("h", _("Plans", lang=lang))
	subtotal = Decimal("0")
	for sub in frappe.get_all(
		SUBSCRIPTION,
		filters={"service_contract": doc.name, "status": ["!=", "Annulé"]},
		fields=["plan", "plan_name", "monthly_price"],
		order_by="creation asc",
	):
		price = money(sub.monthly_price)
		subtotal += price
		add(
			"li", _("{0}: {1} $ per month", lang=lang).format(sub.plan_name or sub.plan, _amount(price, lang))
		)
	tps = money(subtotal * TPS)
	tvq = money(subtotal * TVQ)
	add("p", _("Monthly price before taxes: {0} $", lang=lang).format(_amount(subtotal, lang)))
	add("p", _("TPS (5 %): {0} $", lang=lang).format(_amount(tps, lang)))
	add("p", _("TVQ (9.975 %): {0} $", lang=lang).format(_amount(tvq, lang)))
	add("p", _("Monthly total with taxes: {0} $", lang=lang).format(_amount(subtotal + tps + tvq, lang)))

	add("h", _("Term", lang=lang))
	months = int(doc.duration_months or 0)
	if not months:
		add("p", _("No fixed term: the contract continues from month to month", lang=lang))
	elif doc.start_date and doc.end_date:
		add(
			"p",
			_("{0} months, from {1} to {2}", lang=lang).format(
				months,
				getdate(doc.start_date).isoformat(),
				getdate(doc.end_date).isoformat(),
			),
		)
	else:
		add("p", _("{0} months from the installation date", lang=lang).format(months))

	if doc.benefits:
		add("h", _("Benefits", lang=lang))
		for row in doc.benefits:
			add(
				"li",
				_("{0}: regular price {1} $, your price {2} $", lang=lang).format(
					row.description,
					_amount(money(row.regular_price), lang),
					_amount(money(row.granted_price), lang),
				),
			)

	add("h", _("Cancellation", lang=lang))
	if not months:
		add("p", _("The contract has no fixed term: no termination fee", lang=lang))
	elif doc.contract_type == "Commercial":
		add(
			"p",
			_(
				"If the contract ends before its term, the termination clause of the contract applies.",
				lang=lang,
			),
		)
	else:
		add(
			"p",
			_(
				"You may cancel at any time. Before the end of the term, the cancellation fee is at most"
				" the lesser of {0} $ and {1} % of the price of the services not yet supplied.",
				lang=lang,
			).format(_amount(CONSUMER_FLAT_CAP, lang), CONSUMER_PERCENT),
		)
		add(
			"p",
			_(
				"If the contract includes a rebate on equipment needed for the service, the fee is at most"
				" the part of that rebate not yet earned: the rebate less the rebate multiplied by the"
				" months elapsed and divided by {0} months (the month in progress counts as elapsed).",
				lang=lang,
			).format(months),
		)
	text = "\n".join(line["text"] for line in lines)
	return {
		"lang": lang,
		"lines": lines,
		"text": text,
		"sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
	}


# -- the residential link ---------------------------------------------------------------


def _jti_state(contract: str, jti: str) -> str:
	row = frappe.db.get_value(CONTRACT, contract, ["signing_jti", "status", "signed_on"], as_dict=True)
	if not row or not row.signing_jti or row.signing_jti != jti:
		return contract_tokens.JTI_REVOKED
	if row.signed_on or row.status in SIGNED_STATUSES:
		return contract_tokens.JTI_USED
	return contract_tokens.JTI_ACTIVE


def verify_link(token: str, *, allow_used: bool = False) -> tuple[str, str | None, bool]:
	"""(contract, jti, already signed) for a genuine link; ContractLinkError otherwise.

	A used link (the contract it signed) is accepted only with ``allow_used``: the page then
	says the contract is signed, and nothing else.
	"""
	secret = get_settings().token_secret
	try:
		if not secret:
			raise contract_tokens.TokenMalformed("no secret")
		claims = contract_tokens.verify(secret, str(token or ""), now=datetime.now(UTC), jti_state=_jti_state)
	except contract_tokens.TokenAlreadyUsed:
		if allow_used:
			contract = _subject(token)
			if contract:
				return contract, None, True
		_log_refusal("already_used")
	except contract_tokens.TokenRejected as e:
		_log_refusal(e.reason)
	else:
		return claims.contract, claims.jti, False
	link_refused()


def _subject(token: str) -> str | None:
	"""The contract of a token verify() already found genuine but used."""
	import jwt

	try:
		return jwt.decode(token, options={"verify_signature": False}).get("sub")
	except jwt.InvalidTokenError:
		return None


def _log_refusal(reason: str) -> None:
	frappe.logger(LOG).info(
		{"event": "contract_link_refused", "reason": reason, "ip": getattr(frappe.local, "request_ip", None)}
	)


def view(token: str, lang: str | None = None) -> dict:
	"""What the page shows for a link."""
	contract, _jti, signed = verify_link(token, allow_used=True)
	if signed:
		return {"already_signed": True}
	content = contract_text(contract, lang)
	return {"already_signed": False, **content}


def accept(
	token: str,
	typed_name: str,
	accepted: bool,
	ip: str | None = None,
	user_agent: str | None = None,
	lang: str | None = None,
	text_sha256: str | None = None,
) -> dict:
	"""Sign a residential contract through its link, once. Two acceptances at the same moment
	(two tabs, a double tap): the later one waits on the contract's row lock; on PostgreSQL it
	then loses the race (40001) and is made again in a fresh snapshot, which shows the contract
	signed: it answers ``already_signed`` like any later acceptance."""
	return retrying(_accept, token, typed_name, accepted, ip, user_agent, lang, text_sha256)


def _accept(token, typed_name, accepted, ip, user_agent, lang, text_sha256) -> dict:
	contract, jti, signed = verify_link(token, allow_used=True)
	if signed:
		return {"contract": contract, "already_signed": True}
	name = " ".join(str(typed_name or "").split())
	if not accepted or not name:
		frappe.throw(
			_("Type your full name and check the box to accept the contract"), GigafibreValidationError
		)
	if len(name) > MAX_NAME:
		frappe.throw(_("The name must be at most {0} characters").format(MAX_NAME), GigafibreValidationError)
	content = contract_text(contract, lang)
	if text_sha256 and text_sha256 != content["sha256"]:
		frappe.throw(
			_("The contract has changed since the page was opened. Reload the page to read it again."),
			GigafibreValidationError,
		)
	return mark_signed(
		contract,
		SOURCE_LINK,
		evidence={
			"signed_by_name": name,
			"signed_ip": (ip or "")[:140] or None,
			"signed_user_agent": (user_agent or "")[:MAX_USER_AGENT] or None,
			"signed_text_sha256": content["sha256"],
		},
		expected_jti=jti,
	)


# -- where both tracks end --------------------------------------------------------------


def mark_signed(contract, source: str, evidence: dict | None = None, expected_jti: str | None = None) -> dict:
	"""Sign ``contract`` once, under its row lock: status Signé, the time, the source and the
	evidence; then the ``on_contract_signed`` flows and the realtime event. A contract already
	signed is left as it is: ``{"already_signed": True}``. ``expected_jti``: the link's id, which
	must still be the contract's current one once the row is locked (a newer link revokes it).
	"""
	name = contract if isinstance(contract, str) else contract.name
	doc = frappe.get_doc(CONTRACT, name, for_update=True)
	if doc.signed_on or doc.status in SIGNED_STATUSES:
		return {"contract": doc.name, "status": doc.status, "already_signed": True}
	if expected_jti is not None and doc.signing_jti != expected_jti:
		link_refused()
	doc.update(evidence or {})
	doc.signature_source = source
	doc.signed_on = now_datetime()
	doc.status = "Signé"
	doc.flags.ignore_permissions = True
	doc.save()
	runs = fire("on_contract_signed", doc)
	contract_pdf.queue(doc.name)  # the signed contract as a PDF on the contract, once
	frappe.publish_realtime(
		REALTIME_EVENT,
		{"contract": doc.name, "customer": doc.customer, "source": source, "status": doc.status},
		doctype="Customer",
		docname=doc.customer,
		after_commit=True,
	)
	return {
		"contract": doc.name,
		"status": doc.status,
		"already_signed": False,
		"signed_on": str(doc.signed_on),
		"flow_runs": runs,
	}


def signed_submission(submission_id: int | str) -> str | None:
	"""The contract of a DocuSeal submission, if any."""
	return frappe.db.get_value(CONTRACT, {"docuseal_submission": str(submission_id)}, "name")
