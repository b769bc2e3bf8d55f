"""Dispatch endpoints for the Ops app (/api/method/gigafibre_fsm.api.dispatch.<name>)."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import get_datetime

from gigafibre_fsm.dispatch import offer_pool, planning, service
from gigafibre_fsm.exceptions import GigafibreValidationError
from gigafibre_fsm.permissions import (
	CUSTOMER_SERVICE,
	DISPATCHER,
	FSM_MANAGER,
	TECHNICIAN,
	fsm_api,
	get_doc_for,
)

PLANNERS = (DISPATCHER, FSM_MANAGER)
VIEWERS = (DISPATCHER, FSM_MANAGER, CUSTOMER_SERVICE)


def current_technician() -> str:
	name = frappe.db.get_value("Technician", {"user": frappe.session.user, "active": 1}, "name")
	if not name:
		frappe.throw(_("Your user is not linked to an active technician"), frappe.PermissionError)
	return name


def when(value, name: str):
	"""A date and time argument, or a clear 417 (never a parser's traceback)."""
	try:
		parsed = get_datetime(value) if value and isinstance(value, str) else None
	except (ValueError, OverflowError, TypeError, AttributeError):
		parsed = None
	if parsed is None:
		frappe.throw(
			_("{0} must be a date and time, such as 2026-12-03 09:00").format(name), GigafibreValidationError
		)
	return parsed


@fsm_api(roles=VIEWERS)
def get_board(start: str, end: str) -> dict:
	"""Jobs, technicians (skills, shifts as availability), open offers for a range, in one call."""
	return planning.board(when(start, "start"), when(end, "end"))


@fsm_api(roles=PLANNERS)
def suggest_slots(job: str, limit: int = 5) -> list:
	get_doc_for("Dispatch Job", job, "read")
	return planning.slots(job, min(max(int(limit), 1), 20))


@fsm_api(roles=PLANNERS, write=True)
def assign(job: str, technician: str, start: str) -> dict:
	start = when(start, "start")
	get_doc_for("Dispatch Job", job, "write")
	return service.assign(job, technician, start)


@fsm_api(roles=PLANNERS, write=True)
def unassign(job: str, confirm: bool = False) -> dict:
	"""Unassigning a published job needs confirm=True."""
	get_doc_for("Dispatch Job", job, "write")
	return service.unassign(job, confirm=bool(confirm))


@fsm_api(roles=PLANNERS, write=True)
def reschedule(job: str, start: str) -> dict:
	start = when(start, "start")
	get_doc_for("Dispatch Job", job, "write")
	return service.reschedule(job, start)


@fsm_api(roles=(*PLANNERS, CUSTOMER_SERVICE), write=True)
def create_from_preset(preset: str, customer: str, service_location: str | None = None) -> dict:
	frappe.has_permission("Dispatch Job", "create", throw=True)
	return {"job": service.create_from_preset(preset, customer, service_location)}


@fsm_api(roles=PLANNERS, write=True)
def publish_plan(plan: str) -> dict:
	get_doc_for("Dispatch Plan", plan, "write")
	return planning.publish_plan(plan)


@fsm_api(roles=PLANNERS, write=True)
def offer_job(
	job: str,
	mode: str,
	technicians: list[str] | None = None,
	price: float | None = None,
	pool: str | None = None,
) -> dict:
	get_doc_for("Dispatch Job", job, "write")
	return offer_pool.offer_job(job, mode, technicians, price, pool)


@fsm_api(roles=(TECHNICIAN,), write=True)
def accept_offer(offer: str) -> dict:
	return offer_pool.accept_offer(offer, current_technician())


@fsm_api(roles=(TECHNICIAN,), write=True)
def decline_offer(offer: str, reason: str) -> dict:
	return offer_pool.decline_offer(offer, current_technician(), reason)


@fsm_api(roles=(TECHNICIAN,), write=True)
def claim_job(job: str) -> dict:
	return offer_pool.claim_job(job, current_technician())


@fsm_api(roles=(*PLANNERS, TECHNICIAN), write=True)
def set_status(job: str, status: str) -> dict:
	"""Technicians move their own jobs; dispatchers any job. Checked against the transition rules."""
	from gigafibre_fsm.permissions import has_any_role

	if has_any_role(PLANNERS):
		get_doc_for("Dispatch Job", job, "write")
		return service.set_status(job, status)
	return service.set_status(job, status, actor_technician=current_technician())


@fsm_api(roles=PLANNERS, write=True)
def override_installation_gate(job: str, reason: str) -> dict:
	"""Let an installation complete without the network check; the reason is recorded."""
	if not (reason or "").strip():
		frappe.throw(_("Give a reason for the override"))
	doc = get_doc_for("Dispatch Job", job, "write")
	doc.gate_override_reason = f"{frappe.session.user}: {reason.strip()}"
	doc.save()
	return {"job": doc.name, "gate_override_reason": doc.gate_override_reason}


@fsm_api(roles=PLANNERS, write=True)
def retry_notification(notification: str) -> dict:
	"""Send a Failed technician SMS again (a person decided to: it may have gone out before)."""
	from gigafibre_fsm.dispatch import notify

	get_doc_for("Dispatch Notification", notification, "read")
	return {"notification": notification, "status": notify.retry(notification)}
