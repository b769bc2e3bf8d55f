"""Suggested slots: the best few (technician, start) options for one job.

Only eligible options are produced (see eligibility.py: active, skills and
levels, inside one continuous stretch of worked shifts — on-call only for a job
that allows it —, inside the customer's window, not before ``now``, no overlap
with the technician's planned jobs, and enough time to drive from the previous
job and on to the next one). Planned jobs are never moved: a suggestion is an
insertion into the technician's day as it stands.

Candidates. For each technician, each gap between two consecutive planned jobs
is intersected with each availability stretch; the candidate is the earliest
feasible start in it, rounded up to ``granularity`` (5 minutes by default). When
that start runs outside Regular shifts, the first start in the same gap that
begins a Regular shift is also tried (less overtime for a later start).

Cost of a candidate (lower is better), in "minutes of driving" units::

	cost = travel_per_minute       * added_travel_minutes
	     + lateness_per_minute     * lateness_minutes
	     + overtime_per_minute     * overtime_minutes
	     + skill_surplus_per_level * skill_surplus_levels

- added travel: the insertion detour t(prev, job) + t(job, next) - t(prev, next),
  where prev/next are the technician's planned jobs just before/after on the same
  local day, or the technician's home when there is none (home → first job and
  last job → home are part of the route). Travel comes from a
  :class:`~gigafibre_fsm.core.dispatch.travel.TravelModel`; the default is
  ``GeodesicTravel(road_factor=1.3, speed_kmh=60)``.
- lateness: start - max(now, preferred start, else window start, else now); the
  customer waits longer for a later start (nights and weekends count, so the
  next day costs 24 h of lateness).
- overtime: the part of the job outside Regular shifts (Extra or On-Call).
- skill surplus: levels above the required ones, summed; it keeps senior
  technicians free for the jobs only they can do.

Default weights (:class:`CostWeights`): 1 per minute of added travel, 0.05 per
minute of lateness (3 per hour, 72 per day: one day later is worth about 72
minutes of extra driving), 1.5 per minute of overtime (paid time and a half),
10 per level of surplus. Ties are broken by earlier start, then technician id.

Speed: one pass over the planned jobs to group them by technician, then a few
haversine evaluations per gap; about a millisecond or two for 50 technicians
and 300 planned jobs (see benchmarks/bench_slots.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from gigafibre_fsm.core.dispatch.eligibility import (
	availability,
	is_planned,
	skill_shortfalls,
	skill_surplus,
)
from gigafibre_fsm.core.dispatch.models import REGULAR, Job, Point, Technician
from gigafibre_fsm.core.dispatch.travel import GeodesicTravel, TravelModel, haversine_km
from gigafibre_fsm.core.errors import InvalidInput

__all__ = [
	"CostWeights",
	"GeodesicTravel",
	"Slot",
	"TravelModel",
	"haversine_km",
	"suggest_slots",
]

DEFAULT_TRAVEL = GeodesicTravel()
DEFAULT_GRANULARITY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class CostWeights:
	travel_per_minute: float = 1.0
	lateness_per_minute: float = 0.05
	overtime_per_minute: float = 1.5
	skill_surplus_per_level: float = 10.0


@dataclass(frozen=True, slots=True)
class Slot:
	technician: str
	start: datetime
	end: datetime
	cost: float
	travel_added: timedelta
	travel_to: timedelta
	lateness: timedelta
	overtime: timedelta
	skill_surplus: int
	previous_job: str | None
	next_job: str | None


def _ceil(value: datetime, step: timedelta | None) -> datetime:
	if not step:
		return value
	rest = (value - value.replace(hour=0, minute=0, second=0, microsecond=0)) % step
	return value + (step - rest) if rest else value


def _minutes(value: timedelta) -> float:
	return value.total_seconds() / 60.0


def suggest_slots(
	job: Job,
	technicians: Iterable[Technician],
	planned: Iterable[Job],
	*,
	now: datetime,
	until: datetime,
	travel: TravelModel | None = None,
	weights: CostWeights | None = None,
	limit: int = 5,
	per_technician: int | None = 2,
	granularity: timedelta | None = DEFAULT_GRANULARITY,
) -> list[Slot]:
	"""The ``limit`` cheapest eligible (technician, start) options for ``job``, cheapest first.

	``planned`` holds the jobs already planned (any technician; Cancelled ones,
	unplanned ones and ``job`` itself are ignored). Starts are searched in
	[now, until). At most ``per_technician`` options per technician (None: no cap).
	"""
	if until <= now:
		raise InvalidInput("The end of the search horizon must be after its start")
	if limit < 1:
		return []
	travel = travel or DEFAULT_TRAVEL
	weights = weights or CostWeights()
	seconds = travel.seconds
	duration = job.duration

	earliest = max(now, job.window_start) if job.window_start else now
	latest_start = until - timedelta(microseconds=1)
	if job.window_end:
		latest_start = min(latest_start, job.window_end - duration)
	if latest_start < earliest:
		return []
	target = job.preferred_start or job.window_start or now
	reference = max(target, now)

	by_tech: dict[str, list[Job]] = defaultdict(list)
	for other in planned:
		if other.id != job.id and is_planned(other):
			by_tech[other.technician].append(other)

	found: list[Slot] = []
	for tech in technicians:
		if not tech.active or skill_shortfalls(tech, job.required_skills):
			continue
		surplus = skill_surplus(tech, job.required_skills)
		blocks = [
			(s, e)
			for s, e in availability(tech, allow_on_call=job.allow_on_call)
			if e - duration >= earliest and s <= latest_start
		]
		if not blocks:
			continue
		regular = [(s.start, s.end) for s in tech.shifts if s.kind == REGULAR]
		jobs = sorted(by_tech.get(tech.id, ()), key=lambda j: j.start)
		found.extend(
			_technician_slots(
				job,
				tech,
				surplus,
				blocks,
				regular,
				jobs,
				earliest,
				latest_start,
				reference,
				seconds,
				weights,
				granularity,
			)
		)

	found.sort(key=lambda s: (s.cost, s.start, s.technician))
	if per_technician is None:
		return found[:limit]
	result: list[Slot] = []
	taken: dict[str, int] = defaultdict(int)
	for slot in found:
		if taken[slot.technician] < per_technician:
			taken[slot.technician] += 1
			result.append(slot)
			if len(result) == limit:
				break
	return result


def _technician_slots(
	job: Job,
	tech: Technician,
	surplus: int,
	blocks: Sequence[tuple[datetime, datetime]],
	regular: Sequence[tuple[datetime, datetime]],
	jobs: Sequence[Job],
	earliest: datetime,
	latest_start: datetime,
	reference: datetime,
	seconds,
	weights: CostWeights,
	granularity: timedelta | None,
) -> list[Slot]:
	duration, here, home = job.duration, job.location, tech.home
	slots: list[Slot] = []
	prev: Job | None = None
	for k in range(len(jobs) + 1):
		nxt = jobs[k] if k < len(jobs) else None
		if k:
			candidate = jobs[k - 1]
			if prev is None or candidate.end > prev.end:
				prev = candidate
		travel_in = timedelta(seconds=seconds(prev.location, here)) if prev else timedelta(0)
		travel_out = timedelta(seconds=seconds(here, nxt.location)) if nxt else timedelta(0)
		lo = max(earliest, prev.end + travel_in) if prev else earliest
		hi = min(latest_start, nxt.start - travel_out - duration) if nxt else latest_start
		if hi < lo:
			continue
		for block_start, block_end in blocks:
			if block_start > hi:
				break
			first = _ceil(max(lo, block_start), granularity)
			last = min(hi, block_end - duration)
			if first > last:
				continue
			starts = [first]
			if _overtime(regular, first, first + duration):
				starts.extend(
					begin for begin in (_ceil(s, granularity) for s, _ in regular) if first < begin <= last
				)
			for start in starts:
				slots.append(
					_slot(
						job, tech, surplus, start, prev, nxt, here, home, regular, reference, seconds, weights
					)
				)
	return slots


def _overtime(regular: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime) -> timedelta:
	covered = timedelta(0)
	for s, e in regular:
		lo, hi = max(s, start), min(e, end)
		if hi > lo:
			covered += hi - lo
	return max(timedelta(0), (end - start) - covered)


def _slot(
	job: Job,
	tech: Technician,
	surplus: int,
	start: datetime,
	prev: Job | None,
	nxt: Job | None,
	here: Point | None,
	home: Point | None,
	regular: Sequence[tuple[datetime, datetime]],
	reference: datetime,
	seconds,
	weights: CostWeights,
) -> Slot:
	day = start.date()
	before = prev if prev is not None and prev.end.date() == day else None
	after = nxt if nxt is not None and nxt.start.date() == day else None
	origin = before.location if before else home
	destination = after.location if after else home
	to_job = seconds(origin, here)
	added = timedelta(seconds=max(0.0, to_job + seconds(here, destination) - seconds(origin, destination)))
	end = start + job.duration
	lateness = max(timedelta(0), start - reference)
	extra = _overtime(regular, start, end)
	cost = (
		weights.travel_per_minute * _minutes(added)
		+ weights.lateness_per_minute * _minutes(lateness)
		+ weights.overtime_per_minute * _minutes(extra)
		+ weights.skill_surplus_per_level * surplus
	)
	return Slot(
		technician=tech.id,
		start=start,
		end=end,
		cost=round(cost, 6),
		travel_added=added,
		travel_to=timedelta(seconds=to_job),
		lateness=lateness,
		overtime=extra,
		skill_surplus=surplus,
		previous_job=before.id if before else None,
		next_job=after.id if after else None,
	)
