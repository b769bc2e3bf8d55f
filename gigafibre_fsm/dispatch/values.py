"""Turn Dispatch documents into the plain values of gigafibre_fsm.core.dispatch, in a few queries."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta

import frappe
from frappe.utils import get_datetime, getdate

from gigafibre_fsm.core import dispatch as core
from gigafibre_fsm.core.dispatch.eligibility import shifts_from_rule
from gigafibre_fsm.core.dispatch.models import Shift

JOB = "Dispatch Job"
TECH = "Technician"
JOB_FIELDS = [
	"name",
	"status",
	"job_type",
	"priority",
	"technician",
	"customer",
	"service_location",
	"subject",
	"duration_minutes",
	"window_start",
	"window_end",
	"scheduled_start",
	"scheduled_end",
	"parent_job",
	"step_order",
	"depends_on",
	"chain_kind",
]


def _dt(value) -> datetime | None:
	return get_datetime(value).replace(tzinfo=None) if value else None


def depends_on(value) -> tuple[str, ...]:
	if not value:
		return ()
	parsed = json.loads(value) if isinstance(value, str) else value
	return tuple(str(x) for x in parsed or ())


def locations(names) -> dict[str, core.Point]:
	names = [n for n in set(names) if n]
	if not names:
		return {}
	rows = frappe.get_all(
		"Service Location",
		filters={"name": ["in", names]},
		fields=["name", "latitude", "longitude"],
	)
	return {r.name: core.Point(r.latitude, r.longitude) for r in rows if r.latitude or r.longitude}


def job_skills(names) -> dict[str, tuple[core.SkillRequirement, ...]]:
	out: dict[str, list] = defaultdict(list)
	if names:
		for r in frappe.get_all(
			"Dispatch Job Skill",
			filters={"parenttype": JOB, "parent": ["in", list(names)]},
			fields=["parent", "skill", "min_level"],
		):
			out[r.parent].append(core.SkillRequirement(r.skill, r.min_level or 1))
	return {k: tuple(v) for k, v in out.items()}


def to_job(row, points: dict, skills: dict) -> core.Job:
	start = _dt(row.get("scheduled_start"))
	return core.Job(
		id=row["name"],
		duration=timedelta(minutes=row.get("duration_minutes") or 60),
		location=points.get(row.get("service_location")),
		required_skills=skills.get(row["name"], ()),
		window_start=_dt(row.get("window_start")),
		window_end=_dt(row.get("window_end")),
		allow_on_call=row.get("priority") == "Urgent",
		technician=row.get("technician") or None,
		start=start,
		status=row.get("status") or "Draft",
	)


def jobs(filters) -> list[core.Job]:
	rows = frappe.get_all(JOB, filters=filters, fields=JOB_FIELDS, limit_page_length=0)
	return jobs_from_rows(rows)


def jobs_from_rows(rows) -> list[core.Job]:
	points = locations(r.service_location for r in rows)
	skills = job_skills([r.name for r in rows])
	return [to_job(r, points, skills) for r in rows]


def planned_between(start: datetime, end: datetime, technicians=None) -> list[core.Job]:
	"""Jobs with a technician and a start near [start, end) (one day of margin for travel)."""
	filters = {
		"technician": ["is", "set"],
		"status": ["not in", ["Cancelled"]],
		"scheduled_start": ["between", [start - timedelta(days=1), end + timedelta(days=1)]],
	}
	if technicians:
		filters["technician"] = ["in", list(technicians)]
	return jobs(filters)


def technicians(
	start: datetime, end: datetime, names=None, *, active_only=True
) -> dict[str, core.Technician]:
	"""Technicians with skills and their shifts expanded over [start, end), in three queries."""
	# frappe.qb sends the names as parameters: get_all inlines "in" values into the SQL text,
	# which Frappe's PostgreSQL layer then rewrites (a name holding "=1" broke the query).
	tech = frappe.qb.DocType(TECH)
	query = frappe.qb.from_(tech).select(tech.name, tech.home_latitude, tech.home_longitude)
	if active_only:
		query = query.where(tech.active == 1)
	if names is not None:
		query = query.where(tech.name.isin(list(names) or [""]))
	rows = query.run(as_dict=True)
	ids = [r.name for r in rows]
	skills: dict[str, dict] = defaultdict(dict)
	shifts: dict[str, list] = defaultdict(list)
	if ids:
		for s in frappe.get_all(
			"Technician Skill",
			filters={"parenttype": TECH, "parent": ["in", ids]},
			fields=["parent", "skill", "level"],
		):
			skills[s.parent][s.skill] = s.level or 1
		for s in frappe.get_all(
			"Technician Shift",
			filters={"parenttype": TECH, "parent": ["in", ids]},
			fields=["parent", "kind", "start", "end", "rrule", "exdates"],
		):
			shifts[s.parent].extend(expand_shift(s, start, end))
	out = {}
	for r in rows:
		home = (
			core.Point(r.home_latitude, r.home_longitude) if (r.home_latitude or r.home_longitude) else None
		)
		out[r.name] = core.Technician(r.name, skills[r.name], tuple(shifts[r.name]), home)
	return out


def expand_shift(row, start: datetime, end: datetime) -> list[Shift]:
	first_start, first_end = _dt(row.start), _dt(row.end)
	if not row.rrule:
		return [Shift(first_start, first_end, row.kind)] if first_end > start and first_start < end else []
	exdates = [getdate(line.strip()) for line in (row.exdates or "").splitlines() if line.strip()]
	return shifts_from_rule(
		row.rrule, first_start, first_end - first_start, start, end, kind=row.kind, exdates=exdates
	)
