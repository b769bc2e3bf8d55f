"""SMS to technicians through an outbox: a Dispatch Notification row is written in the
same transaction as the change it announces, and sent by a job after commit. A
rolled-back change sends nothing; a failed send stays visible and retryable."""

from __future__ import annotations

import frappe
from frappe import _

from gigafibre_fsm.connectors import twilio
from gigafibre_fsm.connectors.errors import ConnectorError
from gigafibre_fsm.settings import get_settings


def technician_link(technician: str) -> str:
	from gigafibre_fsm.dispatch.links import link_for

	return link_for(technician)


def queue(technician: str, kind: str, body: str, reference=None) -> str:
	phone = frappe.db.get_value("Technician", technician, "phone")
	doc = frappe.get_doc(
		{
			"doctype": "Dispatch Notification",
			"technician": technician,
			"kind": kind,
			"body": body,
			"to_number": phone,
			"status": "Queued" if phone else "Skipped",
			"error": None if phone else _("The technician has no phone number"),
			"reference_doctype": reference.doctype if reference else None,
			"reference_name": reference.name if reference else None,
		}
	).insert(ignore_permissions=True)
	if phone:
		frappe.enqueue(
			"gigafibre_fsm.dispatch.notify.send",
			queue="short",
			enqueue_after_commit=True,
			job_id=f"gigafibre_fsm:dispatch_sms:{doc.name}",
			deduplicate=True,
			notification=doc.name,
		)
	return doc.name


def send(notification: str):
	"""Job: send one queued notification (idempotent: a sent one is not sent again)."""
	doc = frappe.get_doc("Dispatch Notification", notification, for_update=True)
	if doc.status != "Queued":
		return doc.status
	try:
		from gigafibre_fsm.gigafibre_integrations.sms import status_callback_url

		sent = twilio.send_sms(
			get_settings().twilio, doc.to_number, doc.body, status_callback=status_callback_url()
		)
	except ConnectorError as e:
		doc.db_set({"status": "Failed", "error": str(e)})
		return doc.status
	doc.db_set({"status": "Sent", "sid": sent.sid, "error": None})
	return doc.status
