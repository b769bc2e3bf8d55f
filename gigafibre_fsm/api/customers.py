"""Customer endpoints for the Ops app (/api/method/gigafibre_fsm.api.customers.<name>)."""

from __future__ import annotations

import math

import frappe
from frappe import _

from gigafibre_fsm.customers import footprint
from gigafibre_fsm.exceptions import GigafibreValidationError, core_errors
from gigafibre_fsm.permissions import (
	CUSTOMER_SERVICE,
	DISPATCHER,
	FSM_MANAGER,
	NETWORK_OPERATOR,
	fsm_api,
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
