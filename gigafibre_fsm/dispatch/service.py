"""Dispatch operations: thin wiring of documents to gigafibre_fsm.core.dispatch.

Every mutation locks the job row it changes (SELECT ... FOR UPDATE), checks the
pure rules, saves, then publishes realtime events after commit and queues the
technicians' SMS in the notification outbox.

This module holds a job's own operations (assign, unassign, reschedule, status, completion,
presets) and the primitives the others share; offers are in offer_pool.py, the board, slots and
plans in planning.py, what a completed installation activates and bills in activation.py.
"""

from __future__ import annotations

from datetime import timedelta

import frappe
from frappe import _
from frappe.utils import get_datetime, getdate, now_datetime

from gigafibre_fsm.core import dispatch as core
from gigafibre_fsm.core.dispatch import chains, eligibility
from gigafibre_fsm.core.dispatch.status import normalise_status
from gigafibre_fsm.dispatch import activation, notify, values
from gigafibre_fsm.exceptions import ConfirmationRequiredError, ConflictError, core_errors

JOB = "Dispatch Job"
EVENT_JOB = "gigafibre_fsm:dispatch_job"
EVENT_OFFER = "gigafibre_fsm:dispatch_offer"
EVENT_PLAN = "gigafibre_fsm:dispatch_plan"
ACTIVE_STATUSES = ("Assigned", "En Route", "On Site")


def naive_now():
	return now_datetime().replace(tzinfo=None)


def lock_job(name: str):
	"""The job, read with its row lock held (a locking read: on MariaDB's REPEATABLE READ a
	plain read could return the state from before a concurrent writer committed)."""
	if not frappe.db.exists(JOB, name):
		frappe.throw(_("{0} {1} not found").format(_(JOB), name), frappe.DoesNotExistError)
	try:
		return frappe.get_doc(JOB, name, for_update=True)
	except Exception as e:
		# PostgreSQL (REPEATABLE READ): the row changed after this transaction's snapshot.
		if getattr(e, "pgcode", None) == "40001":
			frappe.db.rollback()
			frappe.throw(
				_("Job {0} was just changed by someone else: reload and try again").format(name),
				ConflictError,
			)
		raise


def save_job(job, *, for_technician: str | None = None) -> None:
	"""Save a job. ``for_technician``: the change is a technician's own (their offer, their
	job, a transition the rules allow), checked by this service before the call. The
	Technician role reads Dispatch Job but may not edit it in the desk, so the service
	writes with the authority it has just checked, for this save only; the session's
	user stays the modifier, so the job's timeline shows who did it."""
	if for_technician:
		if job.technician and job.technician != for_technician:
			frappe.throw(_("Job {0} is not assigned to you").format(job.name), frappe.PermissionError)
		job.flags.ignore_permissions = True
	try:
		job.save()
	finally:
		job.flags.ignore_permissions = False


def publish_job(job, technicians=()):
	payload = {
		"job": job.name,
		"status": job.status,
		"technician": job.technician,
		"scheduled_start": str(job.scheduled_start) if job.scheduled_start else None,
	}
	frappe.publish_realtime(EVENT_JOB, payload, doctype=JOB, docname=job.name, after_commit=True)
	for tech in {t for t in (job.technician, *technicians) if t}:
		user = frappe.db.get_value("Technician", tech, "user")
		if user:
			frappe.publish_realtime(EVENT_JOB, payload, user=user, after_commit=True)


def job_value(job) -> core.Job:
	return values.jobs_from_rows([frappe._dict({f: job.get(f) for f in values.JOB_FIELDS})])[0]


def _existing(technician: str, start, end, excluding: str) -> list[core.Job]:
	return [j for j in values.planned_between(start, end, [technician]) if j.id != excluding]


def check_fit(job, technician: str, start) -> None:
	"""Refuse an assignment the rules forbid (skills, shifts, window, overlaps, travel)."""
	value = job_value(job)
	start = get_datetime(start).replace(tzinfo=None)
	end = start + value.duration
	techs = values.technicians(start - timedelta(days=1), end + timedelta(days=1), [technician])
	if technician not in techs:
		frappe.throw(_("Technician {0} is not active").format(technician), ConflictError)
	with core_errors():
		eligibility.check_assignment(
			value, techs[technician], start, _existing(technician, start, end, job.name)
		)


def set_schedule(job, technician, start):
	job.technician = technician
	job.scheduled_start = get_datetime(start) if start else None
	job.scheduled_end = (
		job.scheduled_start + timedelta(minutes=job.duration_minutes or 60) if job.scheduled_start else None
	)


def assign(name: str, technician: str, start) -> dict:
	job = lock_job(name)
	with core_errors():
		status = (
			core.transition(job.status, "Assigned", technician=technician)
			if job.status
			in (
				"Draft",
				"Offered",
			)
			else normalise_status(job.status)
		)
	check_fit(job, technician, start)
	previous = job.technician
	set_schedule(job, technician, start)
	job.status = status
	job.save()
	withdraw_offers(job.name)
	publish_job(job, [previous] if previous else [])
	notify.queue(
		technician,
		"Assignment",
		_("Gigafibre: job {0} on {1}. {2}").format(
			job.name, frappe.utils.format_datetime(job.scheduled_start), notify.technician_link(technician)
		),
		job,
	)
	if previous and previous != technician:
		notify.queue(
			previous, "Unassignment", _("Gigafibre: job {0} is no longer yours.").format(job.name), job
		)
	return job_summary(job)


def unassign(name: str, confirm: bool = False) -> dict:
	job = lock_job(name)
	if not job.technician:
		return job_summary(job)
	if not confirm:
		frappe.throw(
			_("Job {0} is assigned to {1}: confirm to unassign it").format(job.name, job.technician),
			ConfirmationRequiredError,
		)
	if job.status in ("En Route", "On Site", "Completed", "Cancelled"):
		frappe.throw(
			_("Job {0} is {1}: it cannot be unassigned").format(job.name, _(job.status)), ConflictError
		)
	previous = job.technician
	set_schedule(job, None, None)
	job.status = "Draft"
	job.save()
	publish_job(job, [previous])
	notify.queue(previous, "Unassignment", _("Gigafibre: job {0} is no longer yours.").format(job.name), job)
	return job_summary(job)


def reschedule(name: str, start) -> dict:
	job = lock_job(name)
	if job.status in ("Completed", "Cancelled", "On Site"):
		frappe.throw(
			_("Job {0} is {1}: it cannot be rescheduled").format(job.name, _(job.status)), ConflictError
		)
	if job.technician:
		check_fit(job, job.technician, start)
	set_schedule(job, job.technician, start)
	job.save()
	publish_job(job)
	if job.technician:
		notify.queue(
			job.technician,
			"Assignment",
			_("Gigafibre: job {0} moved to {1}.").format(
				job.name, frappe.utils.format_datetime(job.scheduled_start)
			),
			job,
		)
	return job_summary(job)


def set_status(name: str, status: str, *, actor_technician: str | None = None) -> dict:
	job = lock_job(name)
	if actor_technician and job.technician != actor_technician:
		frappe.throw(_("Job {0} is not assigned to you").format(job.name), frappe.PermissionError)
	pending = _pending_predecessors(job)
	with core_errors():
		target = core.transition(job.status, status, technician=job.technician, pending_predecessors=pending)
	if target == job.status and target != "Completed":
		return job_summary(job)
	if target == "Completed":
		return complete(job, for_technician=actor_technician)
	job.status = target
	if target == "On Site" and not job.actual_start:
		job.actual_start = now_datetime()
	save_job(job, for_technician=actor_technician)
	publish_job(job)
	return job_summary(job)


def _pending_predecessors(job) -> list[str]:
	deps = values.depends_on(job.depends_on)
	if not deps:
		return []
	done = set(frappe.get_all(JOB, filters={"name": ["in", list(deps)], "status": "Completed"}, pluck="name"))
	return [d for d in deps if d not in done]


def chain_members(job) -> list:
	root = job.parent_job or job.name
	return frappe.get_all(
		JOB, or_filters={"name": root, "parent_job": root}, fields=["name", "status", "depends_on"]
	)


def complete(job, *, for_technician: str | None = None) -> dict:
	"""Complete a job; completing the last job of an installation chain activates the
	customer's pending subscriptions from the next day and drafts the prorated invoice,
	once (the chain's root row is locked and marked)."""
	from gigafibre_fsm.network.gate import check_installation_gate

	check_installation_gate(job)
	root_name = job.parent_job or job.name
	if root_name != job.name:
		frappe.db.get_value(JOB, root_name, "name", for_update=True)
	root = frappe.get_doc(JOB, root_name) if root_name != job.name else job
	members = chain_members(job)
	chain = [chains.ChainJob(m.name, m.status, values.depends_on(m.depends_on)) for m in members]
	completed_on = getdate(now_datetime())
	subs = (
		activation.pending_subscriptions(job) if (root.chain_kind or job.chain_kind) == "Installation" else []
	)
	with core_errors():
		plan = core.complete_job(
			chain,
			job.name,
			completed_on=completed_on,
			chain_kind=root.chain_kind or job.chain_kind or "Other",
			subscriptions=subs,
			invoice_issued=bool(root.completion_processed),
		)
	if not plan.already_completed:
		job.status = "Completed"
		job.actual_end = now_datetime()
		save_job(job, for_technician=for_technician)
		publish_job(job)
	if plan.chain_complete and not root.completion_processed and (plan.activations or plan.invoice):
		invoice = activation.apply_activation(job, plan)
		frappe.db.set_value(JOB, root.name, {"completion_processed": 1, "invoice": invoice})
		from gigafibre_fsm.flows import fire

		fire("on_installation_completed", frappe.get_doc(JOB, root.name))
	return job_summary(frappe.get_doc(JOB, job.name)) | {
		"unblocked": list(plan.unblocked),
		"chain_complete": plan.chain_complete,
	}


def job_summary(job) -> dict:
	return {
		"job": job.name,
		"status": job.status,
		"technician": job.technician,
		"scheduled_start": str(job.scheduled_start) if job.scheduled_start else None,
		"scheduled_end": str(job.scheduled_end) if job.scheduled_end else None,
	}


# -- presets ----------------------------------------------------------------------


def create_from_preset(preset: str, customer: str, service_location: str | None = None, **extra) -> str:
	p = frappe.get_doc("Dispatch Preset", preset)
	if p.preset_type != "Job Template":
		frappe.throw(_("{0} is a resource group, not a job template").format(preset))
	job = frappe.new_doc(JOB)
	job.update(
		{
			"job_type": p.job_type or "Installation",
			"priority": p.priority,
			"duration_minutes": p.duration_minutes or 60,
			"customer": customer,
			"service_location": service_location,
			"subject": (p.subject or p.preset_name)
			.replace("{{customer}}", customer or "")
			.replace("{{service_location}}", service_location or ""),
			"preset": p.name,
			"source_type": extra.pop("source_type", "Manual"),
		}
	)
	job.update(extra)
	for s in p.required_skills:
		job.append("required_skills", {"skill": s.skill, "min_level": s.min_level})
	for c in p.checklist:
		job.append("checklist", {"item": c.item})
	job.insert()
	publish_job(job)
	return job.name


def withdraw_offers(job: str, keep: str | None = None):
	for offer in frappe.get_all("Dispatch Offer", filters={"job": job, "status": "Open"}, pluck="name"):
		if offer != keep:
			frappe.db.set_value("Dispatch Offer", offer, "status", "Withdrawn")
