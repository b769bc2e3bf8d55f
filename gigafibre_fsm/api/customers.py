"""Customer endpoints for the Ops app (/api/method/gigafibre_fsm.api.customers.<name>)."""

from __future__ import annotations

import math

import frappe
from frappe import _
from frappe.rate_limiter import rate_limit

from gigafibre_fsm.customers import footprint
from gigafibre_fsm.exceptions import GigafibreValidationError, core_errors
from gigafibre_fsm.permissions import (
	CUSTOMER_SERVICE,
	DISPATCHER,
	FSM_MANAGER,
	NETWORK_OPERATOR,
	fsm_api,
	get_doc_for,
)

CHECKERS = (CUSTOMER_SERVICE, DISPATCHER, FSM_MANAGER, NETWORK_OPERATOR)
MAX_ADDRESS_LENGTH = 300


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


def _client_ip() -> str | None:
	return getattr(frappe.local, "request_ip", None)


def _user_agent() -> str | None:
	request = getattr(frappe.local, "request", None)
	return request.headers.get("User-Agent") if request is not None else None


@frappe.whitelist(allow_guest=True, methods=["POST"])
@rate_limit(limit=300, seconds=60)
@rate_limit(key="token", limit=30, seconds=60)
def get_contract(token: str, lang: str | None = None) -> dict:
	"""The contract a signing link shows (``/c/<token>``): its lines, text and SHA-256, or
	``{"already_signed": True}``. Every refused link gets one message."""
	from gigafibre_fsm.customers import signing

	return signing.view(str(token or ""), lang)


@frappe.whitelist(allow_guest=True, methods=["POST"])
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
