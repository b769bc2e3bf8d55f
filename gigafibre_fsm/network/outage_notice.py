"""What a customer is told of an outage: the open outage on their service, found from the
Outage Customer rows listed at its start, else from their equipment's OLT and PON port (the
phone menu and the QR page ask; gigafibre_fsm.network.outages opens and closes outages)."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import get_datetime

OUTAGE = "Outage"
OUTAGE_CUSTOMER = "Outage Customer"
EQP = "Service Equipment"


def _describe(row) -> dict:
	message = row.customer_message or _(
		"A service outage is affecting your area since {0}. Our team is working on it."
	).format(get_datetime(row.started).strftime("%H:%M"))
	if row.expected_end and not row.customer_message:
		message += " " + _("Service is expected back by {0}.").format(
			get_datetime(row.expected_end).strftime("%H:%M")
		)
	return {
		"name": row.name,
		"title": row.title,
		"started": row.started,
		"expected_end": row.expected_end,
		"message": message,
		"network_element": row.network_element,
		"pon_port": row.pon_port,
	}


FIELDS = ["name", "title", "started", "expected_end", "customer_message", "network_element", "pon_port"]


def _open_for_ports(ports: set[tuple[str, str | None]]) -> dict | None:
	olts = {olt for olt, _port in ports if olt}
	if not olts:
		return None
	for row in frappe.get_all(
		OUTAGE,
		filters={"status": "Open", "network_element": ["in", list(olts)]},
		fields=FIELDS,
		order_by="started asc",
	):
		if not row.pon_port or (row.network_element, row.pon_port) in ports:
			return _describe(row)
	return None


def active_outage_for_customer(customer: str) -> dict | None:
	"""The open outage that affects the customer (keys: name, title, started, expected_end,
	message, network_element, pon_port), or None."""
	if not customer:
		return None
	listed = frappe.qb.DocType(OUTAGE_CUSTOMER)
	outage = frappe.qb.DocType(OUTAGE)
	rows = (
		frappe.qb.from_(listed)
		.join(outage)
		.on(outage.name == listed.outage)
		.select(*(outage[f] for f in FIELDS))
		.where((listed.customer == customer) & (outage.status == "Open"))
		.orderby(outage.started)
		.limit(1)
	).run(as_dict=True)
	if rows:
		return _describe(frappe._dict(rows[0]))
	ports = {
		(r.olt, r.pon_port)
		for r in frappe.get_all(
			EQP,
			filters={"customer": customer, "olt": ["is", "set"], "status": ["!=", "Returned"]},
			fields=["olt", "pon_port"],
		)
	}
	return _open_for_ports(ports)


def active_outage_for_location(service_location: str) -> dict | None:
	"""The open outage that affects a service location (through its equipment, else the
	location's own OLT and port), or None."""
	if not service_location:
		return None
	ports = {
		(r.olt, r.pon_port)
		for r in frappe.get_all(
			EQP,
			filters={
				"service_location": service_location,
				"olt": ["is", "set"],
				"status": ["!=", "Returned"],
			},
			fields=["olt", "pon_port"],
		)
	}
	if not ports:
		loc = frappe.db.get_value("Service Location", service_location, ["olt", "olt_port"], as_dict=True)
		if loc and loc.olt:
			ports = {(loc.olt, loc.olt_port or None)}
	return _open_for_ports(ports)
