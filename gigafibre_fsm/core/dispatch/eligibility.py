"""Can this technician do this job at this time?

A (technician, start) is eligible for a job when all of these hold:

1. the technician is active;
2. skills: for every required skill the technician has it at ``min_level`` or above;
3. shifts: the whole job [start, start + duration) lies inside one continuous
   stretch of the technician's worked shifts (Regular and Extra, merged when they
   touch or overlap). On-call shifts are not worked time: they count only for a
   job marked ``allow_on_call`` (an urgent call-out), and never in
   :func:`worked_time`;
4. the customer's window: the whole job lies in [window_start, window_end];
5. not in the past: start >= now (when now is given);
6. no overlap with the technician's other jobs (Cancelled ones and the job
   itself are ignored);
7. travel (when a travel model is given): the technician can drive from the
   previous job after it ends and reach the next job before it starts.

The drive from home to the first job and back after the last one is commuting
and is not required to fit inside the shift.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from gigafibre_fsm.core.dispatch import recurrence
from gigafibre_fsm.core.dispatch.models import ON_CALL, REGULAR, Job, Shift, SkillRequirement, Technician
from gigafibre_fsm.core.dispatch.status import CANCELLED, normalise_status
from gigafibre_fsm.core.dispatch.travel import TravelModel
from gigafibre_fsm.core.errors import Conflict, InvalidInput

# problems that are a clash with other planned work rather than a bad choice
CONFLICT_CODES = frozenset({"overlap", "travel"})


@dataclass(frozen=True, slots=True)
class Problem:
	"""Why a (technician, start) is not eligible: a code and an English message template."""

	code: str
	message: str
	params: tuple = ()

	def __str__(self) -> str:
		return self.message.format(*self.params)


def merge(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
	"""Union of half-open intervals; intervals that touch are joined."""
	merged: list[list[datetime]] = []
	for start, end in sorted(intervals):
		if merged and start <= merged[-1][1]:
			if end > merged[-1][1]:
				merged[-1][1] = end
		else:
			merged.append([start, end])
	return [(s, e) for s, e in merged]


def availability(technician: Technician, *, allow_on_call: bool = False) -> list[tuple[datetime, datetime]]:
	"""Continuous stretches in which the technician can work (on-call only if allowed)."""
	return merge(
		(s.start, s.end) for s in technician.shifts if s.worked or (allow_on_call and s.kind == ON_CALL)
	)


def _covered(intervals: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime) -> timedelta:
	total = timedelta(0)
	for s, e in merge(intervals):
		lo, hi = max(s, start), min(e, end)
		if hi > lo:
			total += hi - lo
	return total


def worked_time(shifts: Iterable[Shift], start: datetime, end: datetime) -> timedelta:
	"""Worked time (Regular and Extra shifts, overlaps counted once) in [start, end). On-call is not worked."""
	return _covered(((s.start, s.end) for s in shifts if s.worked), start, end)


def overtime(shifts: Iterable[Shift], start: datetime, end: datetime) -> timedelta:
	"""The part of [start, end) outside Regular shifts (worked in an Extra or On-Call shift)."""
	return (end - start) - _covered(((s.start, s.end) for s in shifts if s.kind == REGULAR), start, end)


def shifts_from_rule(
	rule: str,
	dtstart: datetime,
	duration: timedelta,
	window_start: datetime,
	window_end: datetime,
	*,
	kind: str = REGULAR,
	exdates: Iterable[date | datetime] = (),
	tz: str = recurrence.SITE_TIME_ZONE,
) -> list[Shift]:
	"""Concrete shifts (naive site-local times) of a recurring working-hours or on-call rule."""
	return [
		Shift(start, end, kind)
		for start, end in recurrence.intervals(
			rule, dtstart, duration, window_start, window_end, exdates=exdates, tz=tz, naive=True
		)
	]


def skill_shortfalls(
	technician: Technician, requirements: Iterable[SkillRequirement]
) -> list[SkillRequirement]:
	"""Requirements the technician does not meet."""
	return [r for r in requirements if technician.skills.get(r.skill, 0) < r.min_level]


def skill_surplus(technician: Technician, requirements: Iterable[SkillRequirement]) -> int:
	"""Levels above what the job needs, summed over its required skills (0 = exact fit)."""
	return sum(max(0, technician.skills.get(r.skill, 0) - r.min_level) for r in requirements)


def is_planned(job: Job) -> bool:
	"""A job that holds a technician's time: it has both and is not cancelled."""
	return bool(job.technician and job.start) and normalise_status(job.status) != CANCELLED


def jobs_of(technician_id: str, jobs: Iterable[Job], *, excluding: str | None = None) -> list[Job]:
	"""The technician's planned jobs, by start."""
	return sorted(
		(j for j in jobs if j.technician == technician_id and j.id != excluding and is_planned(j)),
		key=lambda j: j.start,
	)


def problems(
	job: Job,
	technician: Technician,
	start: datetime,
	existing: Sequence[Job] = (),
	*,
	travel: TravelModel | None = None,
	now: datetime | None = None,
) -> list[Problem]:
	"""Every reason why ``technician`` cannot do ``job`` starting at ``start`` (empty: eligible)."""
	found: list[Problem] = []
	end = start + job.duration
	if not technician.active:
		found.append(Problem("inactive", "Technician {0} is not active", (technician.id,)))
	for req in skill_shortfalls(technician, job.required_skills):
		found.append(
			Problem(
				"skill",
				"Technician {0} lacks skill {1} at level {2}",
				(technician.id, req.skill, req.min_level),
			)
		)
	if not any(s <= start and end <= e for s, e in availability(technician, allow_on_call=job.allow_on_call)):
		found.append(
			Problem("shift", "Technician {0} is not on shift from {1} to {2}", (technician.id, start, end))
		)
	if (job.window_start and start < job.window_start) or (job.window_end and end > job.window_end):
		found.append(
			Problem(
				"window",
				"The job must fit in the customer's window from {0} to {1}",
				(job.window_start, job.window_end),
			)
		)
	if now is not None and start < now:
		found.append(Problem("past", "A job cannot be planned in the past"))
	previous = following = None
	for other in jobs_of(technician.id, existing, excluding=job.id):
		if other.start < end and start < other.end:
			found.append(
				Problem(
					"overlap", "Technician {0} already has job {1} at that time", (technician.id, other.id)
				)
			)
		elif other.end <= start:
			previous = other
		elif following is None:
			following = other
	if travel is not None:
		if (
			previous
			and previous.end + timedelta(seconds=travel.seconds(previous.location, job.location)) > start
		):
			found.append(
				Problem(
					"travel",
					"Technician {0} cannot arrive in time from job {1}",
					(technician.id, previous.id),
				)
			)
		if (
			following
			and end + timedelta(seconds=travel.seconds(job.location, following.location)) > following.start
		):
			found.append(
				Problem(
					"travel", "Technician {0} cannot reach job {1} in time", (technician.id, following.id)
				)
			)
	return found


def is_eligible(
	job: Job,
	technician: Technician,
	start: datetime,
	existing: Sequence[Job] = (),
	*,
	travel: TravelModel | None = None,
	now: datetime | None = None,
) -> bool:
	return not problems(job, technician, start, existing, travel=travel, now=now)


def check_assignment(
	job: Job,
	technician: Technician,
	start: datetime,
	existing: Sequence[Job] = (),
	*,
	travel: TravelModel | None = None,
	now: datetime | None = None,
) -> None:
	"""Raise for the first problem: Conflict for a clash with other jobs, InvalidInput otherwise."""
	found = problems(job, technician, start, existing, travel=travel, now=now)
	if found:
		first = next((p for p in found if p.code not in CONFLICT_CODES), found[0])
		error = Conflict if first.code in CONFLICT_CODES else InvalidInput
		raise error(first.message, *first.params)
