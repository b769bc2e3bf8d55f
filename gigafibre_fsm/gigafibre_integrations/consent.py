"""SMS consent per phone number (SMS Consent): STOP / ARRÊT opt out of agent-flow and marketing
SMS, START opts back in. Kept apart from the SMS inbox so the flows' send_sms step can ask
without importing what fires flows."""

from __future__ import annotations

import frappe
from frappe.utils import now_datetime

from gigafibre_fsm.core.comms import sms as rules
from gigafibre_fsm.core.comms.phones import to_e164

CONSENT = "SMS Consent"


def consent_of(e164: str, *, for_update: bool = False):
	"""The number's SMS Consent record, made on first use (one per number, whoever comes first)."""
	if frappe.db.exists(CONSENT, e164):
		return frappe.get_doc(CONSENT, e164, for_update=for_update)
	doc = frappe.get_doc({"doctype": CONSENT, "phone": e164})
	doc.flags.ignore_permissions = True
	try:
		doc.insert()
	except frappe.DuplicateEntryError:  # another delivery made it a moment ago
		frappe.clear_last_message()
		return frappe.get_doc(CONSENT, e164, for_update=for_update)
	return doc


def opted_out(number: str | None) -> bool:
	"""Whether the number asked for no more agent-flow or marketing SMS (STOP)."""
	e164 = to_e164(number)
	return bool(e164 and frappe.db.get_value(CONSENT, e164, "opted_out"))


def may_send(number: str | None, category: str) -> bool:
	return rules.may_send(category, opted_out(number))


def set_consent(e164: str, word: str, message_sid: str | None = None) -> None:
	doc = consent_of(e164, for_update=True)
	doc.opted_out = 1 if word == rules.STOP else 0
	doc.changed_on = now_datetime()
	doc.keyword = word.upper()
	doc.last_message = message_sid
	doc.flags.ignore_permissions = True
	doc.save()
