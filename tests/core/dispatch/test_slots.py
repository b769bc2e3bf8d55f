import random
from datetime import datetime, timedelta

import pytest

from gigafibre_fsm.core.dispatch.eligibility import availability, problems
from gigafibre_fsm.core.dispatch.models import Job, Point, Shift, SkillRequirement, Technician
from gigafibre_fsm.core.dispatch.slots import CostWeights, GeodesicTravel, TravelModel, suggest_slots
from gigafibre_fsm.core.errors import InvalidInput

DAY = datetime(2026, 11, 23)
H = timedelta(hours=1)
HQ = Point(45.16, -73.68)
ROAD = GeodesicTravel()
TRAVEL_ONLY = CostWeights(lateness_per_minute=0, overtime_per_minute=0, skill_surplus_per_level=0)


def at(hour, minute=0, day=0):
	return DAY + timedelta(days=day, hours=hour, minutes=minute)


def east(km):
	"""A point ``km`` kilometres east of HQ (1° of longitude is ~78.7 km at this latitude)."""
	return Point(HQ.lat, HQ.lon + km / 78.7)


def regular(day=0):
	return Shift(at(8, day=day), at(16, day=day))


def test_the_nearest_technician_comes_first():
	near = Technician("near", {"fibre": 1}, (regular(),), home=east(5))
	far = Technician("far", {"fibre": 1}, (regular(),), home=east(40))
	j = Job("J", H, east(6), (SkillRequirement("fibre"),))
	slots = suggest_slots(j, [far, near], [], now=at(7), until=at(0, day=1))
	assert [s.technician for s in slots] == ["near", "far"]
	assert slots[0].start == at(8) and slots[0].previous_job is None and slots[0].next_job is None
	# home → job → home, minus nothing: twice ~1 km x 1.3 at 60 km/h
	assert slots[0].travel_added == timedelta(seconds=2 * ROAD.seconds(east(5), east(6)))
	assert slots[0].cost < slots[1].cost


def test_insertion_between_planned_jobs_uses_the_detour_and_leaves_time_to_drive():
	t = Technician("T", {}, (regular(),), home=HQ)
	planned = [
		Job("A", H, east(20), technician="T", start=at(8)),
		Job("B", H, east(20), technician="T", start=at(11)),
	]
	j = Job("J", H, east(21))
	(slot,) = suggest_slots(j, [t], planned, now=at(7), until=at(0, day=1), limit=1)
	# after A (ends 9:00) plus ~1 minute of driving, rounded up to 5 minutes
	assert slot.start == at(9, 5)
	assert (slot.previous_job, slot.next_job) == ("A", "B")
	assert slot.travel_added == timedelta(seconds=2 * ROAD.seconds(east(20), east(21)))
	assert problems(j, t, slot.start, planned, travel=ROAD) == []


def test_skills_window_now_and_limits():
	techs = [
		Technician("junior", {"fibre": 1}, (regular(),), home=HQ),
		Technician("senior", {"fibre": 3}, (regular(),), home=HQ),
	]
	j = Job("J", H, HQ, (SkillRequirement("fibre", 2),), window_start=at(12), window_end=at(15))
	slots = suggest_slots(j, techs, [], now=at(7), until=at(0, day=2))
	assert {s.technician for s in slots} == {"senior"}
	assert [s.start for s in slots] == [at(12), at(12, day=1)][: len(slots)]
	assert slots[0].skill_surplus == 1
	# now is after the window: nothing
	assert suggest_slots(j, techs, [], now=at(14, 30), until=at(0, day=2)) == []
	# now inside the shift: start from now, rounded up
	late = suggest_slots(Job("K", H, HQ), techs, [], now=at(9, 2), until=at(0, day=1), limit=1)
	assert late[0].start == at(9, 5)
	assert (
		late[0].technician == "junior"
	)  # no surplus needed for a job without skills... both 0: id breaks the tie
	with pytest.raises(InvalidInput):
		suggest_slots(j, techs, [], now=at(9), until=at(8))


def test_lateness_overtime_and_on_call():
	t = Technician(
		"T",
		{},
		(Shift(at(6), at(8), "Extra"), regular(), Shift(at(18), at(8, day=1), "On-Call")),
		home=HQ,
	)
	j = Job("J", H, HQ)
	slots = suggest_slots(j, [t], [], now=at(5), until=at(0, day=1), per_technician=None, limit=10)
	# 06:00 in the extra shift (overtime) and 08:00 in the regular shift are both offered; 08:00 wins
	assert [s.start for s in slots] == [at(8), at(6)]
	assert slots[1].overtime == H and slots[0].overtime == timedelta(0)
	assert slots[0].lateness == 3 * H
	# on-call time is only offered for urgent jobs
	urgent = Job("U", H, HQ, allow_on_call=True)
	evening = suggest_slots(
		urgent,
		[t],
		[Job("A", timedelta(hours=12), technician="T", start=at(6))],
		now=at(5),
		until=at(0, day=1),
	)
	assert [s.start for s in evening] == [at(18)]
	assert evening[0].overtime == H


def test_a_custom_travel_model():
	class Flat:
		def seconds(self, a, b):
			return 0.0 if a == b else 1800.0

	assert isinstance(Flat(), TravelModel)
	t = Technician("T", {}, (regular(),), home=HQ)
	planned = [Job("A", H, east(1), technician="T", start=at(8))]
	(slot,) = suggest_slots(
		Job("J", H, east(2)), [t], planned, now=at(7), until=at(0, day=1), travel=Flat(), limit=1
	)
	assert slot.start == at(9, 30) and slot.travel_added == timedelta(minutes=30)


def test_nothing_when_no_one_is_available():
	t = Technician("T", {}, (Shift(at(8), at(8, 30)),), home=HQ)
	assert suggest_slots(Job("J", H, HQ), [t], [], now=at(7), until=at(0, day=1)) == []
	assert (
		suggest_slots(
			Job("J", H, HQ), [Technician("X", {}, (regular(),), active=False)], [], now=at(7), until=at(20)
		)
		== []
	)


# --- property-style checks on random instances -------------------------------------------------


def random_point(rng):
	return Point(45.16 + rng.uniform(-0.3, 0.3), -73.68 + rng.uniform(-0.4, 0.4))


def random_instance(seed):
	rng = random.Random(seed)
	technicians = []
	for n in range(rng.randint(3, 7)):
		shifts = []
		for day in range(2):
			begin = at(rng.choice([7, 8, 9]), day=day)
			shifts.append(Shift(begin, begin + timedelta(hours=rng.choice([6, 8, 8.5]))))
			if rng.random() < 0.4:
				shifts.append(Shift(shifts[-1].end, shifts[-1].end + 2 * H, "Extra"))
			if rng.random() < 0.3:
				shifts.append(Shift(at(19, day=day), at(7, day=day + 1), "On-Call"))
		skills = {s: rng.randint(1, 3) for s in ("fibre", "tv", "voip") if rng.random() < 0.7}
		technicians.append(
			Technician(f"T{n}", skills, tuple(shifts), home=random_point(rng), active=rng.random() > 0.1)
		)
	planned = []
	for tech in technicians:
		cursor = at(7)
		for _ in range(rng.randint(0, 10)):
			cursor += timedelta(minutes=rng.choice([0, 15, 30, 60, 120]))
			length = timedelta(minutes=rng.choice([30, 45, 60, 90]))
			planned.append(
				Job(f"P{len(planned)}", length, random_point(rng), technician=tech.id, start=cursor)
			)
			cursor += length
	jobs = []
	for n in range(6):
		required = tuple(
			SkillRequirement(s, rng.randint(1, 2)) for s in ("fibre", "tv") if rng.random() < 0.4
		)
		window = {}
		if rng.random() < 0.5:
			lo = at(rng.choice([8, 12]), day=rng.randint(0, 1))
			window = dict(window_start=lo, window_end=lo + 4 * H)
		jobs.append(
			Job(
				f"N{n}",
				timedelta(minutes=rng.choice([30, 60, 90])),
				random_point(rng),
				required,
				allow_on_call=rng.random() < 0.2,
				**window,
			)
		)
	now = at(rng.choice([6, 9, 11]), rng.choice([0, 7, 30]))
	return technicians, planned, jobs, now


def grid_starts(now, until, step=timedelta(minutes=5)):
	start = at(0)
	while start < until:
		if start >= now:
			yield start
		start += step


def detour(tech, planned, job, start):
	"""The insertion detour computed independently: same-day neighbours, else home."""
	mine = sorted((p for p in planned if p.technician == tech.id), key=lambda p: p.start)
	before = [p for p in mine if p.end <= start and p.end.date() == start.date()]
	after = [p for p in mine if p.start >= start + job.duration and p.start.date() == start.date()]
	a = before[-1].location if before else tech.home
	b = after[0].location if after else tech.home
	return ROAD.seconds(a, job.location) + ROAD.seconds(job.location, b) - ROAD.seconds(a, b)


@pytest.mark.parametrize("seed", range(25))
def test_random_instances_only_get_eligible_sorted_suggestions(seed):
	technicians, planned, jobs, now = random_instance(seed)
	until = at(0, day=2)
	by_id = {t.id: t for t in technicians}
	for job in jobs:
		slots = suggest_slots(
			job, technicians, planned, now=now, until=until, limit=1000, per_technician=None
		)
		costs = [s.cost for s in slots]
		assert costs == sorted(costs)
		for slot in slots:
			tech = by_id[slot.technician]
			assert problems(job, tech, slot.start, planned, travel=ROAD, now=now) == [], slot
			assert now <= slot.start < until and slot.end == slot.start + job.duration
			blocks = availability(tech, allow_on_call=job.allow_on_call)
			assert any(s <= slot.start and slot.end <= e for s, e in blocks)
			assert any(
				sh.start < slot.end and slot.start < sh.end and (sh.worked or job.allow_on_call)
				for sh in tech.shifts
			)
		# complete: every technician with an eligible start on the 5-minute grid gets a suggestion,
		# and with travel-only weights the best detour is the least over that grid
		best = suggest_slots(job, technicians, planned, now=now, until=until, weights=TRAVEL_ONLY, limit=1)
		eligible = [
			(tech, start)
			for tech in technicians
			for start in grid_starts(now, until)
			if not problems(job, tech, start, planned, travel=ROAD, now=now)
		]
		assert {s.technician for s in slots} == {t.id for t, _ in eligible}
		if eligible:
			least = min(detour(t, planned, job, s) for t, s in eligible)
			assert best[0].travel_added.total_seconds() == pytest.approx(max(0.0, least), abs=1e-3)
		else:
			assert best == []


@pytest.mark.parametrize("seed", range(5))
def test_limits_and_per_technician_cap(seed):
	technicians, planned, jobs, now = random_instance(100 + seed)
	for job in jobs:
		everything = suggest_slots(
			job, technicians, planned, now=now, until=at(0, day=2), limit=1000, per_technician=None
		)
		capped = suggest_slots(
			job, technicians, planned, now=now, until=at(0, day=2), limit=3, per_technician=1
		)
		assert len(capped) <= 3 and len({s.technician for s in capped}) == len(capped)
		assert [s.cost for s in capped] == sorted(s.cost for s in capped)
		if everything:
			assert capped[0] == everything[0]
