"""3CX: the contact lookup and the call journal.

``lookup(number)``: the customer a number belongs to (matched like SMS), with the desk URL 3CX
opens for the agent. ``journal(entry)``: one call as ERPNext's Call Log (telephony module), named
by the entry's key (core/comms/threecx.py) so a second delivery of the same call stores nothing,
linked to the customer (``customer`` and a Dynamic Link) and so on their timeline; published to
the agent (the user whose e-mail 3CX sends) and to the customer's room. A missed call from a
customer with an open Issue adds a Communication to that Issue.
"""

from __future__ import annotations

from urllib.parse import quote

import frappe
from frappe import _
from frappe.utils import now_datetime

from gigafibre_fsm.core.comms import threecx as rules
from gigafibre_fsm.core.comms.phones import to_e164
from gigafibre_fsm.gigafibre_integrations import sms
from gigafibre_fsm.settings import get_settings

EVENT = "gigafibre_fsm:call"


def desk_url(customer: str) -> str:
	base = get_settings().comms.public_base_url or frappe.utils.get_url()
	return f"{base}/app/customer/{quote(customer)}"


def lookup(number: str) -> dict:
	"""``{"contact": {...}}`` for a customer's number, ``{"contact": None}`` otherwise."""
	e164 = to_e164(number)
	customer = sms.find_party(e164).customer
	if not customer:
		return {"contact": None}
	name = frappe.db.get_value("Customer", customer, "customer_name")
	return {
		"contact": {
			"id": customer,
			"name": name,
			"phone": e164,
			"url": desk_url(customer),
		}
	}


def _local(moment):
	"""A UTC time as the site's naive local time (how Frappe stores Datetime)."""
	if moment is None:
		return None
	from zoneinfo import ZoneInfo

	return moment.astimezone(ZoneInfo(frappe.utils.get_system_timezone())).replace(tzinfo=None)


def journal(entry: dict) -> dict:
	call = rules.parse_entry(entry)
	if frappe.db.exists("Call Log", call.key):
		return {"ok": True, "duplicate": True, "call_log": call.key}
	party = sms.find_party(call.e164)
	agent = (
		frappe.db.get_value("User", {"name": call.agent_email, "enabled": 1}, "name")
		if call.agent_email
		else None
	)
	own_number = get_settings().twilio.from_number or call.agent
	doc = frappe.get_doc(
		{
			"doctype": "Call Log",
			"id": call.key,
			"from": call.e164 or call.number if call.direction == "Incoming" else call.agent,
			"to": call.agent or own_number if call.direction == "Incoming" else call.e164 or call.number,
			"type": call.direction,
			"status": call.status,
			"duration": call.duration,
			"start_time": _local(call.start),
			"end_time": _local(call.end),
			"medium": "3CX",
			"customer": party.customer,
			"employee_user_id": agent,
			"summary": _("3CX: {0} call, extension {1}").format(
				_("missed") if call.missed else (_("answered") if call.answered else _("unanswered")),
				call.agent or "-",
			),
		}
	)
	if party.customer:
		doc.append("links", {"link_doctype": "Customer", "link_name": party.customer})
	doc.flags.ignore_permissions = True
	try:
		doc.insert()
	except frappe.DuplicateEntryError:  # the same call delivered twice at once
		frappe.clear_last_message()
		return {"ok": True, "duplicate": True, "call_log": call.key}
	issue = None
	if call.missed and party.customer:
		issue = sms.open_issue(party.customer)
		if issue:
			_missed_on_issue(issue, party.customer, call, doc.name)
	payload = {
		"call_log": doc.name,
		"customer": party.customer,
		"missed": call.missed,
		"direction": call.direction,
		"number": call.e164 or call.number,
		"agent": call.agent,
		"issue": issue,
	}
	if party.customer:
		frappe.publish_realtime(EVENT, payload, doctype="Customer", docname=party.customer, after_commit=True)
	if agent:
		frappe.publish_realtime(EVENT, payload, user=agent, after_commit=True)
	return {"ok": True, "duplicate": False, "call_log": doc.name, "customer": party.customer, "issue": issue}


def _missed_on_issue(issue: str, customer: str, call: rules.CallEntry, call_log: str) -> None:
	comm = frappe.get_doc(
		{
			"doctype": "Communication",
			"communication_type": "Communication",
			"communication_medium": "Phone",
			"sent_or_received": "Received",
			"subject": _("Missed call"),
			"content": _("Missed call from {0} (extension {1}), Call Log {2}").format(
				call.e164 or call.number, call.agent or "-", call_log
			),
			"phone_no": call.e164 or call.number,
			"message_id": call.key,
			"communication_date": _local(call.start) or now_datetime(),
			"reference_doctype": "Issue",
			"reference_name": issue,
		}
	)
	comm.append("timeline_links", {"link_doctype": "Customer", "link_name": customer})
	comm.flags.ignore_permissions = True
	comm.insert()
