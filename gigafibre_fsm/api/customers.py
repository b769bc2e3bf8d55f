"""Customer endpoints for the Ops app (/api/method/gigafibre_fsm.api.customers.<name>)."""

from __future__ import annotations

import math
import re
from datetime import date as Date

import frappe
from frappe import _
from frappe.rate_limiter import rate_limit

from gigafibre_fsm.customers import footprint
from gigafibre_fsm.exceptions import ForbiddenError, GigafibreValidationError, core_errors
from gigafibre_fsm.permissions import (
	CUSTOMER_SERVICE,
	DISPATCHER,
	FSM_MANAGER,
	NETWORK_OPERATOR,
	fsm_api,
	get_doc_for,
	text_arguments,
)

CHECKERS = (CUSTOMER_SERVICE, DISPATCHER, FSM_MANAGER, NETWORK_OPERATOR)
CONTRACT_STAFF = (CUSTOMER_SERVICE, FSM_MANAGER)
MAX_ADDRESS_LENGTH = 300
MAX_REASON_LENGTH = 2000
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _address(value) -> str | None:
	if value is None:
		return None
	if not isinstance(value, str):
		frappe.throw(_("The address must be text"), GigafibreValidationError)
	value = value.strip()
	if len(value) > MAX_ADDRESS_LENGTH:
		frappe.throw(
			_("The address must be at most {0} characters").format(MAX_ADDRESS_LENGTH),
			GigafibreValidationError,
		)
	return value or None


def _number(value, message: str) -> float | None:
	if value is None or (isinstance(value, str) and not value.strip()):
		return None
	if isinstance(value, bool):
		frappe.throw(message, GigafibreValidationError)
	try:
		number = float(value)
	except (TypeError, ValueError):
		number = math.nan
	if not math.isfinite(number):
		frappe.throw(message, GigafibreValidationError)
	return number


@fsm_api(roles=CHECKERS)
def check_address(address: str | None = None, lat: float | None = None, lon: float | None = None) -> dict:
	"""Serviceability of an address and/or a position: the reason, the matched served address
	(or the candidates of an ambiguous text), the zone, the plans with today's prices and
	promotions, the install fee and the earliest installation date. The customer of the
	matched address is given to Customer Service and FSM Managers only."""
	text = _address(address)
	lat_f = _number(lat, _("The latitude must be a number"))
	lon_f = _number(lon, _("The longitude must be a number"))
	with core_errors():
		return footprint.check(text, lat_f, lon_f)


@fsm_api(roles=CHECKERS)
def get_customer_360(customer: str) -> dict:
	"""The Customer form's panel: subscriptions and contracts (months left), service locations,
	equipment with its last-known state (online, last inform, optical power) and the healthy
	optical band, open Issues, upcoming and recent Dispatch Jobs, the last flow runs."""
	from gigafibre_fsm.customers import customer_360

	return customer_360.panel(str(customer or "").strip())


# -- referrals ------------------------------------------------------------------------------


@fsm_api(roles=(CUSTOMER_SERVICE, FSM_MANAGER))
def get_referral_summary(customer: str) -> dict:
	"""A customer's referral code (formatted), its uses (the referrals made with it), the credits
	granted (count, sum), applied on invoices and pending, the referrals waiting for the referred
	customer's activation, and who referred this customer."""
	from gigafibre_fsm.customers import referrals

	return referrals.summary(str(customer or "").strip())


# -- contract signature -------------------------------------------------------------------


@fsm_api(roles=(CUSTOMER_SERVICE, FSM_MANAGER), write=True)
def send_contract(contract: str) -> dict:
	"""Send a contract for signature: a signing link by SMS and e-mail (residential, a new link
	revokes the previous one) or a DocuSeal submission (commercial).
	Returns ``{"contract", "status", "link"}``."""
	from gigafibre_fsm.customers import signing

	doc = get_doc_for("Service Contract", str(contract or ""), "write")
	return signing.send_contract(doc.name)


# -- contracts: from a quotation, the view, termination ------------------------------------


def day(value, name: str) -> Date:
	"""A date argument (YYYY-MM-DD), or a clear 417 (never a parser's traceback)."""
	text = value.strip() if isinstance(value, str) else ""
	try:
		parsed = Date.fromisoformat(text) if _ISO_DATE.match(text) else None
	except ValueError:
		parsed = None
	if parsed is None:
		frappe.throw(_("{0} must be a date, such as 2026-12-03").format(name), GigafibreValidationError)
	return parsed


@fsm_api(roles=CONTRACT_STAFF, write=True)
def create_contract_from_quotation(quotation: str) -> dict:
	"""Make the Service Contract of a submitted quotation and send it for signature: plans become
	pending subscriptions at the customer's Service Location, discounted items become benefits,
	the term is the quotation's. Again for the same quotation: the same contract (not sent again).
	Returns ``{"contract", "created", "sent", "status", "contract_type", "subscriptions", ...}``."""
	from gigafibre_fsm.customers import contracts

	if not frappe.has_permission("Service Contract", "create"):
		frappe.throw(_("You may not create service contracts"), ForbiddenError)
	return contracts.create_contract_from_quotation(str(quotation or ""))


@fsm_api(roles=CONTRACT_STAFF)
def get_contract_status(contract: str) -> dict:
	"""Where a contract stands today: months elapsed and left, each benefit's value, recognised
	to date and residual, the subscriptions and their state, the termination if any."""
	from gigafibre_fsm.customers import contracts

	doc = get_doc_for("Service Contract", str(contract or ""), "read")
	return contracts.contract_status(doc.name)


@fsm_api(roles=CONTRACT_STAFF)
def preview_termination(contract: str, date: str) -> dict:
	"""The termination fee on ``date`` (YYYY-MM-DD) and how it was computed (Quebec's Consumer
	Protection Act for a residential contract, the contract's clause for a commercial one)."""
	from gigafibre_fsm.customers import contract_termination

	on = day(date, "date")
	doc = get_doc_for("Service Contract", str(contract or ""), "read")
	return contract_termination.preview_termination(doc.name, on)


@fsm_api(roles=CONTRACT_STAFF, write=True)
def terminate_contract(contract: str, date: str, reason: str) -> dict:
	"""Terminate a contract on ``date`` (YYYY-MM-DD), once, all or nothing: status Résilié, its
	subscriptions Annulé, the fee invoiced (a submitted Sales Invoice), the days invoiced after
	``date`` credited (``credit_notes``: submitted Sales Invoice returns), the equipment to return
	listed, the ``on_contract_terminated`` flows started."""
	from gigafibre_fsm.customers import contract_termination

	on = day(date, "date")
	if not isinstance(reason, str) or len(reason) > MAX_REASON_LENGTH:
		frappe.throw(
			_("The reason must be text of at most {0} characters").format(MAX_REASON_LENGTH),
			GigafibreValidationError,
		)
	doc = get_doc_for("Service Contract", str(contract or ""), "write")
	return contract_termination.terminate_contract(doc.name, on, reason)


def _client_ip() -> str | None:
	return getattr(frappe.local, "request_ip", None)


def _user_agent() -> str | None:
	request = getattr(frappe.local, "request", None)
	return request.headers.get("User-Agent") if request is not None else None


@frappe.whitelist(allow_guest=True, methods=["POST"])
@text_arguments("token")
@rate_limit(limit=300, seconds=60)
@rate_limit(key="token", limit=30, seconds=60)
def get_contract(token: str, lang: str | None = None) -> dict:
	"""The contract a signing link shows (``/c/<token>``): its lines, text and SHA-256, or
	``{"already_signed": True}``. Every refused link gets one message."""
	from gigafibre_fsm.customers import signing

	return signing.view(str(token or ""), lang)


@frappe.whitelist(allow_guest=True, methods=["POST"])
@text_arguments("token")
@rate_limit(limit=60, seconds=60)
@rate_limit(key="token", limit=10, seconds=60)
def accept_contract(
	token: str, full_name: str, accepted: bool, lang: str | None = None, text_sha256: str | None = None
) -> dict:
	"""Accept the contract of a signing link: the typed full name and the checked box. Records
	the evidence and signs once; a second acceptance answers ``already_signed``."""
	from frappe.utils import sbool

	from gigafibre_fsm.customers import signing

	return signing.accept(
		str(token or ""),
		str(full_name or ""),
		sbool(accepted) in (True, 1),
		ip=_client_ip(),
		user_agent=_user_agent(),
		lang=lang,
		text_sha256=str(text_sha256) if text_sha256 else None,
	)


# -- communications: the timeline, SMS from the desk ---------------------------------------

TIMELINE_STAFF = (CUSTOMER_SERVICE, FSM_MANAGER, DISPATCHER)
SMS_THREADS = ("Customer", "Issue", "Communication")
SMS_STAFF = (CUSTOMER_SERVICE, FSM_MANAGER)


def _existing(doctype: str, name) -> str:
	name = str(name or "").strip()
	if not name or len(name) > 140 or not frappe.db.exists(doctype, name):
		frappe.throw(_("{0} {1} not found").format(_(doctype), name), frappe.DoesNotExistError)
	return name


@fsm_api(roles=TIMELINE_STAFF)
def get_timeline(customer: str, before: str | None = None, limit: int = 50) -> dict:
	"""A customer's communications, newest first: Communications (SMS both ways, calls, e-mail,
	on the customer or their Issues) and Call Logs (3CX). ``limit`` 1–200; the next page is asked
	with ``before`` = the answer's ``next_before`` (None on the last page).
	Returns ``{"customer", "items": [{"kind", "name", "date", ...}], "next_before"}``."""
	from gigafibre_fsm.gigafibre_integrations import timeline

	name = _existing("Customer", customer)
	cursor = None
	if before not in (None, ""):
		try:
			cursor = frappe.utils.get_datetime(str(before)[:40])
		except Exception:
			cursor = None
		if cursor is None:
			frappe.throw(
				_("before must be a date and time, such as 2026-12-03 14:05:00"), GigafibreValidationError
			)
	if isinstance(limit, bool) or not 1 <= int(limit) <= timeline.MAX_LIMIT:
		frappe.throw(
			_("limit must be between 1 and {0}").format(timeline.MAX_LIMIT), GigafibreValidationError
		)
	return timeline.timeline(name, cursor, int(limit))


def _sms_thread(reference_doctype, reference_name) -> str:
	if reference_doctype not in SMS_THREADS:
		frappe.throw(_("An SMS goes on a Customer, an Issue or a Communication"), GigafibreValidationError)
	return _existing(reference_doctype, reference_name)


@fsm_api(roles=SMS_STAFF)
def sms_recipients(reference_doctype: str, reference_name: str) -> dict:
	"""The numbers ``send_sms`` may text on this thread, the default first, each with its consent:
	``{"numbers": [{"number", "label", "opted_out"}], "max_length"}``."""
	from gigafibre_fsm.gigafibre_integrations import sms

	name = _sms_thread(reference_doctype, reference_name)
	return {"numbers": sms.recipients(sms.thread_of(reference_doctype, name)), "max_length": sms.MAX_BODY}


@fsm_api(roles=SMS_STAFF, write=True)
def send_sms(reference_doctype: str, reference_name: str, body: str, to: str | None = None) -> dict:
	"""Text the customer from the desk on a thread: a Customer, an Issue, or a received SMS
	(Communication: the reply goes to its number, on its Issue or customer), to ``to`` (one of
	``sms_recipients``; default: the first). Refused for a number that texted STOP. Queued as an
	outgoing Communication on the thread and sent through Twilio after commit. Returns
	``{"communication", "to", "status"}``."""
	from gigafibre_fsm.gigafibre_integrations import sms

	name = _sms_thread(reference_doctype, reference_name)
	if not isinstance(body, str) or not body.strip() or len(body) > sms.MAX_BODY:
		frappe.throw(
			_("The message must be 1 to {0} characters").format(sms.MAX_BODY), GigafibreValidationError
		)
	return sms.desk_message(reference_doctype, name, body, to=to or None)
