"""Offers: a job without a technician offered to several (broadcast to the eligible ones, targeted,
or to a resource group's pool); the first accept or claim wins (the job row is locked), the other
offers are withdrawn; declined or expired offers put the job back to Draft when none is left."""

from __future__ import annotations

from datetime import timedelta

import frappe
from frappe import _
from frappe.utils import get_datetime, now_datetime

from gigafibre_fsm.core import dispatch as core
from gigafibre_fsm.core.dispatch import eligibility
from gigafibre_fsm.dispatch import notify, values
from gigafibre_fsm.dispatch.service import (
	EVENT_OFFER,
	JOB,
	job_summary,
	job_value,
	lock_job,
	naive_now,
	publish_job,
	save_job,
	set_schedule,
	withdraw_offers,
)
from gigafibre_fsm.exceptions import ConflictError, core_errors


def eligible_for_offer(job) -> list[str]:
	"""Active technicians with the required skills (and, if the job is scheduled, free then)."""
	value = job_value(job)
	start = value.start or value.window_start
	horizon = (start or naive_now()) - timedelta(days=1), (start or naive_now()) + timedelta(days=2)
	techs = values.technicians(*horizon)
	planned = values.planned_between(*horizon)
	out = []
	for tech in techs.values():
		if eligibility.skill_shortfalls(tech, value.required_skills):
			continue
		if start and eligibility.problems(value, tech, start, [j for j in planned if j.id != job.name]):
			continue
		out.append(tech.id)
	return out


def _overloaded(technician: str, job) -> bool:
	value = job_value(job)
	start = value.start or value.window_start
	if not start:
		return False
	day = start.replace(hour=0, minute=0, second=0, microsecond=0)
	techs = values.technicians(day, day + timedelta(days=1), [technician])
	if technician not in techs:
		return False
	capacity = eligibility.worked_time(techs[technician].shifts, day, day + timedelta(days=1))
	booked = sum(
		(
			j.duration
			for j in values.planned_between(day, day + timedelta(days=1), [technician])
			if j.start and day <= j.start < day + timedelta(days=1)
		),
		timedelta(),
	)
	return booked + value.duration > capacity


def offer_job(
	name: str, mode: str, technicians=None, price=None, pool: str | None = None, expires_in_minutes: int = 240
) -> dict:
	job = lock_job(name)
	if job.technician:
		frappe.throw(_("Job {0} already has a technician").format(job.name), ConflictError)
	if mode not in ("Broadcast", "Targeted", "Pool"):
		frappe.throw(_("Unknown offer mode {0}").format(mode))
	if mode == "Broadcast":
		recipients = eligible_for_offer(job)
	elif mode == "Targeted":
		recipients = list(dict.fromkeys(technicians or []))
		if not recipients:
			frappe.throw(_("A targeted offer needs technicians"))
	else:
		if not pool:
			frappe.throw(_("A pool offer needs a resource group"))
		recipients = [r.technician for r in frappe.get_doc("Dispatch Preset", pool).technicians]
	if not recipients:
		frappe.throw(_("No technician can take job {0}").format(job.name), ConflictError)
	with core_errors():
		job.status = core.transition(job.status, "Offered")
	job.save()
	expires = now_datetime() + timedelta(minutes=expires_in_minutes)
	offers = []
	for tech in recipients:
		offer = frappe.get_doc(
			{
				"doctype": "Dispatch Offer",
				"job": job.name,
				"technician": tech,
				"mode": mode,
				"pool": pool,
				"price": price,
				"expires_at": expires,
				"status": "Open",
				"overload": 1 if _overloaded(tech, job) else 0,
			}
		).insert(ignore_permissions=True)
		offers.append(offer.name)
		price_text = _(" for {0} $").format(price) if price else ""
		notify.queue(
			tech,
			"Offer",
			_("Gigafibre: job {0} is offered to you{1}. {2}").format(
				job.name, price_text, notify.technician_link(tech)
			),
			offer,
		)
		frappe.publish_realtime(
			EVENT_OFFER,
			{"offer": offer.name, "job": job.name, "status": "Open"},
			doctype=JOB,
			docname=job.name,
			after_commit=True,
		)
	publish_job(job)
	return {"job": job.name, "offers": offers}


def accept_offer(offer_name: str, technician: str) -> dict:
	"""First accept wins: the job row is locked, and an offer is only granted while the
	job still has no technician."""
	offer = frappe.get_doc("Dispatch Offer", offer_name)
	if offer.technician != technician:
		frappe.throw(_("This offer is not yours"), frappe.PermissionError)
	job = lock_job(offer.job)
	offer.reload()
	if offer.status != "Open" or (offer.expires_at and get_datetime(offer.expires_at) < now_datetime()):
		frappe.throw(_("This offer is no longer open"), ConflictError)
	if job.technician or job.status != "Offered":
		frappe.throw(_("Job {0} was already taken").format(job.name), ConflictError)
	return _grant(job, technician, offer)


def claim_job(name: str, technician: str) -> dict:
	"""Claim an offered job from a group queue (or any open offer made to this technician)."""
	job = lock_job(name)
	offers = dict(
		frappe.get_all(
			"Dispatch Offer",
			filters={"job": name, "technician": technician},
			fields=["name", "status"],
			as_list=True,
		)
	)
	if not offers:  # never offered to them: not theirs to claim, taken or not
		frappe.throw(_("Job {0} is not offered to you").format(name), frappe.PermissionError)
	open_offer = next((o for o, status in offers.items() if status == "Open"), None)
	if job.technician or job.status != "Offered" or not open_offer:
		frappe.throw(_("Job {0} was already taken").format(job.name), ConflictError)
	return _grant(job, technician, frappe.get_doc("Dispatch Offer", open_offer))


def _grant(job, technician, offer) -> dict:
	with core_errors():
		job.status = core.transition(job.status, "Assigned", technician=technician)
	job.technician = technician
	if job.scheduled_start:
		set_schedule(job, technician, job.scheduled_start)
	save_job(job, for_technician=technician)
	offer.status = "Accepted"
	offer.responded_at = now_datetime()
	offer.save(ignore_permissions=True)
	withdraw_offers(job.name, keep=offer.name)
	publish_job(job)
	frappe.publish_realtime(
		EVENT_OFFER,
		{"offer": offer.name, "job": job.name, "status": "Accepted", "technician": technician},
		doctype=JOB,
		docname=job.name,
		after_commit=True,
	)
	return job_summary(job) | {"offer": offer.name}


def decline_offer(offer_name: str, technician: str, reason: str) -> dict:
	if not (reason or "").strip():
		frappe.throw(_("Give a reason to decline"))
	offer = frappe.get_doc("Dispatch Offer", offer_name, for_update=True)
	if offer.technician != technician:
		frappe.throw(_("This offer is not yours"), frappe.PermissionError)
	if offer.status != "Open":
		frappe.throw(_("This offer is no longer open"), ConflictError)
	offer.status = "Declined"
	offer.decline_reason = reason.strip()
	offer.responded_at = now_datetime()
	offer.save(ignore_permissions=True)
	_back_to_draft_if_no_offer(offer.job)
	frappe.publish_realtime(
		EVENT_OFFER,
		{"offer": offer.name, "job": offer.job, "status": "Declined"},
		doctype=JOB,
		docname=offer.job,
		after_commit=True,
	)
	return {"offer": offer.name, "status": offer.status}


def _back_to_draft_if_no_offer(job_name: str):
	if frappe.db.exists("Dispatch Offer", {"job": job_name, "status": "Open"}):
		return
	job = lock_job(job_name)
	if job.status == "Offered" and not job.technician:
		job.status = "Draft"
		job.save(ignore_permissions=True)  # the system's consequence: the last open offer is gone
		publish_job(job)


def expire_offers(now=None) -> int:
	now = now or now_datetime()
	names = frappe.get_all(
		"Dispatch Offer", filters={"status": "Open", "expires_at": ["<", now]}, fields=["name", "job"]
	)
	for row in names:
		frappe.db.set_value("Dispatch Offer", row.name, "status", "Expired")
	for job in {r.job for r in names}:
		_back_to_draft_if_no_offer(job)
	return len(names)
