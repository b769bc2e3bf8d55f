"""The dispatcher's planning: the board (jobs, technicians with their skills and shifts, open
offers over a range), suggested slots for a job, and draft plans published all at once."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import frappe
from frappe import _
from frappe.utils import get_datetime, now_datetime

from gigafibre_fsm.core import dispatch as core
from gigafibre_fsm.core.dispatch import eligibility
from gigafibre_fsm.dispatch import notify, values
from gigafibre_fsm.dispatch.service import (
	EVENT_PLAN,
	JOB,
	job_value,
	lock_job,
	naive_now,
	publish_job,
	set_schedule,
	withdraw_offers,
)
from gigafibre_fsm.exceptions import ConflictError, core_errors


def board(start, end) -> dict:
	start, end = get_datetime(start).replace(tzinfo=None), get_datetime(end).replace(tzinfo=None)
	if end <= start:
		frappe.throw(_("The end of the range must be after its start"))
	if end - start > timedelta(days=31):
		frappe.throw(_("Ask for at most 31 days at a time"))
	rows = frappe.get_all(
		JOB,
		filters={"status": ["!=", "Cancelled"]},
		or_filters={
			"scheduled_start": ["between", [start, end]],
			"window_start": ["between", [start, end]],
		},
		fields=[*values.JOB_FIELDS, "actual_start", "actual_end"],
		limit_page_length=0,
	)
	# Datetime "is not set" through frappe.get_all compares with '' too, which PostgreSQL refuses
	# for timestamps: null checks go through the query builder.
	job = frappe.qb.DocType(JOB)
	unscheduled = (
		frappe.qb.from_(job)
		.select(*[job[f] for f in (*values.JOB_FIELDS, "actual_start", "actual_end")])
		.where(
			job.status.isin(["Draft", "Offered"]) & job.scheduled_start.isnull() & job.window_start.isnull()
		)
		.limit(500)
	).run(as_dict=True)
	techs = values.technicians(start, end)
	tech_rows = frappe.get_all(
		"Technician",
		filters={"active": 1},
		fields=["name", "technician_name", "phone", "last_latitude", "last_longitude", "last_position_at"],
	)
	offers = frappe.get_all(
		"Dispatch Offer",
		filters={"status": "Open"},
		fields=["name", "job", "technician", "mode", "pool", "price", "expires_at", "overload"],
		limit_page_length=0,
	)
	return {
		"start": str(start),
		"end": str(end),
		"jobs": rows + unscheduled,
		"technicians": [
			t
			| {
				"skills": dict(techs[t.name].skills) if t.name in techs else {},
				"shifts": [
					{"start": str(s.start), "end": str(s.end), "kind": s.kind}
					for s in (techs[t.name].shifts if t.name in techs else ())
				],
			}
			for t in tech_rows
		],
		"offers": offers,
	}


def slots(name: str, limit: int = 5) -> list[dict]:
	job = frappe.get_doc(JOB, name)
	value = job_value(job)
	now = naive_now()
	start = max(now, value.window_start or now)
	until = value.window_end or start + timedelta(days=7)
	techs = values.technicians(start - timedelta(days=1), until + timedelta(days=1))
	planned = values.planned_between(start, until)
	with core_errors():
		found = core.suggest_slots(value, techs.values(), planned, now=now, until=until, limit=limit)
	return [
		{
			"technician": s.technician,
			"start": str(s.start),
			"end": str(s.end),
			"cost": round(s.cost, 2),
			"travel_added_minutes": round(s.travel_added.total_seconds() / 60, 1),
			"lateness_minutes": round(s.lateness.total_seconds() / 60, 1),
			"overtime_minutes": round(s.overtime.total_seconds() / 60, 1),
			"previous_job": s.previous_job,
			"next_job": s.next_job,
		}
		for s in found
	]


def publish_plan(name: str) -> dict:
	"""Apply a draft plan all at once: every assignment is checked against the rules and
	against the others first; one problem and nothing is applied. Each affected
	technician is notified once."""
	frappe.db.get_value("Dispatch Plan", name, "name", for_update=True)
	plan = frappe.get_doc("Dispatch Plan", name)
	if plan.status != "Draft":
		frappe.throw(_("Dispatch Plan {0} is {1}").format(plan.name, _(plan.status)), ConflictError)
	problems: list[str] = []
	jobs = {}
	for item in plan.items:
		jobs[item.job] = lock_job(item.job)
	window_start = min(
		(get_datetime(i.start) for i in plan.items if i.start), default=get_datetime(plan.period_start)
	)
	window_end = max(
		(get_datetime(i.start) for i in plan.items if i.start), default=get_datetime(plan.period_end)
	)
	window_end += timedelta(days=1)
	plan_jobs = set(jobs)
	techs = values.technicians(
		window_start - timedelta(days=1), window_end, {i.technician for i in plan.items if i.technician}
	)
	# What the schedule looks like once the plan is applied: other jobs, then the plan's.
	board = [j for j in values.planned_between(window_start, window_end) if j.id not in plan_jobs]
	seen = set()
	for item in plan.items:
		job = jobs[item.job]
		if item.job in seen:
			problems.append(_("Job {0} is twice in the plan").format(item.job))
			continue
		seen.add(item.job)
		if job.status in ("En Route", "On Site", "Completed", "Cancelled"):
			problems.append(_("Job {0} is {1}").format(item.job, _(job.status)))
			continue
		if not item.technician:
			continue
		if item.technician not in techs:
			problems.append(_("Technician {0} is not active").format(item.technician))
			continue
		value = job_value(job)
		start = get_datetime(item.start).replace(tzinfo=None)
		for p in eligibility.problems(value, techs[item.technician], start, board):
			problems.append(f"{item.job}: {_(p.message).format(*p.params)}")
		board.append(dataclasses.replace(value, technician=item.technician, start=start, status="Assigned"))
	if problems:
		frappe.throw(
			"<br>".join(frappe.utils.escape_html(p) for p in problems),
			ConflictError,
			title=_("Nothing was published"),
		)
	touched: dict[str, list[str]] = {}
	log = []
	for item in plan.items:
		job = jobs[item.job]
		previous = job.technician
		set_schedule(job, item.technician or None, item.start if item.technician else None)
		job.status = "Assigned" if item.technician else "Draft"
		job.save()
		withdraw_offers(job.name)
		publish_job(job, [previous] if previous else [])
		for tech in {previous, item.technician} - {None, ""}:
			touched.setdefault(tech, []).append(job.name)
		log.append({"job": job.name, "from": previous, "to": item.technician, "start": str(item.start or "")})
	for tech, names in touched.items():
		notify.queue(
			tech,
			"Plan",
			_("Gigafibre: your schedule changed ({0}). {1}").format(
				", ".join(names), notify.technician_link(tech)
			),
			plan,
		)
	plan.status = "Published"
	plan.published_by = frappe.session.user
	plan.published_on = now_datetime()
	plan.publish_log = json.dumps(log)
	plan.save()
	frappe.publish_realtime(
		EVENT_PLAN,
		{"plan": plan.name, "status": plan.status},
		doctype="Dispatch Plan",
		docname=plan.name,
		after_commit=True,
	)
	return {
		"plan": plan.name,
		"status": plan.status,
		"jobs": len(log),
		"technicians_notified": sorted(touched),
	}
