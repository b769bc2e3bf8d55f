"""SMS to technicians through an outbox: a Dispatch Notification row is written in the
same transaction as the change it announces, and sent by a job after commit. A
rolled-back change sends nothing; a failed send stays visible and retryable.

Nothing lost, nothing sent twice, when a worker dies:

- killed after the commit but before the job was enqueued (or Redis lost the job): the
  row stays Queued; :func:`requeue_stalled` (every 5 minutes) enqueues it again;
- killed during the call to Twilio, which takes no idempotency key: :func:`send` leaves an
  "in flight" mark in Redis before the call and the message sid after it. A new try that
  finds the sid records the row Sent without sending; one that finds only the in-flight
  mark cannot know whether the message went out, so it marks the row Failed with that
  reason instead of sending again (:func:`retry` sends it, on a person's decision).
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import add_to_date, now_datetime

from gigafibre_fsm.connectors import twilio
from gigafibre_fsm.connectors.errors import ConnectorError
from gigafibre_fsm.settings import get_settings

DOCTYPE = "Dispatch Notification"
MARK_SECONDS = 7 * 24 * 3600
STALLED_SECONDS = 120  # a Queued row this old has lost its job
REQUEUE_BATCH = 500


def technician_link(technician: str) -> str:
	from gigafibre_fsm.dispatch.links import link_for

	return link_for(technician)


def queue(technician: str, kind: str, body: str, reference=None) -> str:
	phone = frappe.db.get_value("Technician", technician, "phone")
	doc = frappe.get_doc(
		{
			"doctype": DOCTYPE,
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
		_enqueue(doc.name, after_commit=True)
	return doc.name


def _enqueue(notification: str, *, after_commit: bool = False) -> None:
	frappe.enqueue(
		"gigafibre_fsm.dispatch.notify.send",
		queue="short",
		enqueue_after_commit=after_commit,
		job_id=f"gigafibre_fsm:dispatch_sms:{notification}",
		deduplicate=True,
		notification=notification,
	)


def _marks(notification: str) -> tuple[str, str]:
	return (
		f"gigafibre_fsm:dispatch_sms_sid:{notification}",
		f"gigafibre_fsm:dispatch_sms_inflight:{notification}",
	)


def send(notification: str):
	"""Job: send one queued notification, at most once (see the module docstring)."""
	doc = frappe.get_doc(DOCTYPE, notification, for_update=True)
	if doc.status != "Queued":
		return doc.status
	sid_key, inflight_key = _marks(doc.name)
	# expires=True: a plain get_value keeps a miss in this process's local cache
	sid = frappe.cache.get_value(sid_key, expires=True)
	if sid:  # Twilio took it; the worker died before the row was saved
		doc.db_set({"status": "Sent", "sid": sid, "error": None})
		return doc.status
	if frappe.cache.get_value(inflight_key, expires=True):
		doc.db_set(
			{
				"status": "Failed",
				"error": _(
					"The SMS may already have been sent: the previous try stopped during the call to "
					"Twilio. It was not sent again; retry it to send it."
				),
			}
		)
		return doc.status
	frappe.cache.set_value(inflight_key, 1, expires_in_sec=MARK_SECONDS)
	try:
		from gigafibre_fsm.gigafibre_integrations.sms import status_callback_url

		sent = twilio.send_sms(
			get_settings().twilio, doc.to_number, doc.body, status_callback=status_callback_url()
		)
	except ConnectorError as e:
		frappe.cache.delete_value(inflight_key)
		doc.db_set({"status": "Failed", "error": str(e)})
		return doc.status
	frappe.cache.set_value(sid_key, sent.sid, expires_in_sec=MARK_SECONDS)
	frappe.cache.delete_value(inflight_key)
	doc.db_set({"status": "Sent", "sid": sent.sid, "error": None})
	return doc.status


def retry(notification: str) -> str:
	"""Queue a Failed notification again (a person decided to resend it); clears the marks."""
	doc = frappe.get_doc(DOCTYPE, notification, for_update=True)
	if doc.status != "Failed":
		frappe.throw(
			_("Only a failed notification can be sent again (this one is {0})").format(_(doc.status))
		)
	frappe.cache.delete_value(list(_marks(doc.name)))
	doc.db_set({"status": "Queued", "error": None})
	_enqueue(doc.name, after_commit=True)
	return doc.status


def requeue_stalled(older_than: int = STALLED_SECONDS) -> int:
	"""Scheduler: enqueue again the Queued notifications whose job never ran (a worker killed
	between the commit and the enqueue, a job lost by Redis). The job is idempotent and
	deduplicated by its id, so one still waiting in the queue is not doubled."""
	cutoff = add_to_date(now_datetime(), seconds=-int(older_than))
	names = frappe.get_all(
		DOCTYPE,
		filters={"status": "Queued", "modified": ["<", cutoff]},
		pluck="name",
		order_by="modified asc",
		limit_page_length=REQUEUE_BATCH,
	)
	for name in names:
		_enqueue(name)
	return len(names)
