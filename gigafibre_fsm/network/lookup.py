"""Find equipment by what a person types or scans: serial, then barcode, then MAC (indexed)."""

from __future__ import annotations

import frappe

from gigafibre_fsm.core.equipment import normalise_mac
from gigafibre_fsm.core.errors import InvalidInput

EQP = "Service Equipment"


def lookup(query: str) -> str | None:
	text = (query or "").strip()
	if not text:
		return None
	for field, value in (
		("serial_no", text.upper()),
		("gpon_serial", text.upper()),
		("cwmp_serial", text.upper()),
		("barcode", text),
	):
		name = frappe.db.get_value(EQP, {field: value}, "name")
		if name:
			return name
	return by_mac(text)


def by_mac(value: str) -> str | None:
	try:
		mac = normalise_mac(value)
	except InvalidInput:
		return None
	return frappe.db.get_value(EQP, {"mac_address": mac}, "name") if mac else None
