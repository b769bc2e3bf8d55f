from datetime import datetime, timedelta

import pytest

from gigafibre_fsm.core.dispatch.eligibility import (
	availability,
	check_assignment,
	is_eligible,
	overtime,
	problems,
	shifts_from_rule,
	skill_surplus,
	worked_time,
)
from gigafibre_fsm.core.dispatch.models import Job, Point, Shift, SkillRequirement, Technician
from gigafibre_fsm.core.dispatch.travel import GeodesicTravel
from gigafibre_fsm.core.errors import Conflict, InvalidInput

DAY = datetime(2026, 11, 23)  # a Monday
H = timedelta(hours=1)
HQ = Point(45.16, -73.68)  # Sainte-Clotilde
NAPIERVILLE = Point(45.186, -73.405)  # ~22 km east


def at(hour, minute=0, day=0):
	return DAY + timedelta(days=day, hours=hour, minutes=minute)


def tech(**kw):
	defaults = dict(
		id="T1",
		skills={"fibre": 2, "tv": 1},
		shifts=(Shift(at(8), at(16)), Shift(at(16), at(18), "Extra"), Shift(at(18), at(8, day=1), "On-Call")),
		home=HQ,
	)
	return Technician(**(defaults | kw))


def job(**kw):
	defaults = dict(id="J1", duration=H, location=HQ, required_skills=(SkillRequirement("fibre", 2),))
	return Job(**(defaults | kw))


def codes(found):
	return sorted(p.code for p in found)


def test_eligible_inside_a_regular_shift():
	assert problems(job(), tech(), at(9)) == []
	assert is_eligible(job(), tech(), at(15))  # ends exactly at 16:00


def test_skills_and_levels():
	assert codes(problems(job(required_skills=(SkillRequirement("fibre", 3),)), tech(), at(9))) == ["skill"]
	assert codes(problems(job(required_skills=(SkillRequirement("voip"),)), tech(), at(9))) == ["skill"]
	found = problems(
		job(required_skills=(SkillRequirement("fibre", 3), SkillRequirement("tv"))), tech(), at(9)
	)
	assert [str(p) for p in found] == ["Technician T1 lacks skill fibre at level 3"]
	assert skill_surplus(tech(), (SkillRequirement("fibre", 1), SkillRequirement("tv", 1))) == 1


def test_hours_and_extra_shifts():
	assert codes(problems(job(), tech(), at(7, 30))) == ["shift"]  # starts before the shift
	# 15:30-16:30 crosses into the extra shift that follows: one continuous stretch
	assert is_eligible(job(), tech(), at(15, 30))
	assert overtime(tech().shifts, at(15, 30), at(16, 30)) == timedelta(minutes=30)
	# 17:30-18:30 would run into on-call time, which is not worked time
	assert codes(problems(job(), tech(), at(17, 30))) == ["shift"]
	# without the extra shift, 15:30 is out
	regular_only = tech(shifts=(Shift(at(8), at(16)),))
	assert codes(problems(job(), regular_only, at(15, 30))) == ["shift"]
	# split shift: a gap between two shifts is not bridged
	split = tech(shifts=(Shift(at(8), at(12)), Shift(at(13), at(17))))
	assert codes(problems(job(), split, at(11, 30))) == ["shift"]
	assert is_eligible(job(), split, at(13))


def test_on_call_is_not_worked_time():
	t = tech()
	assert codes(problems(job(), t, at(20))) == ["shift"]
	assert is_eligible(job(allow_on_call=True), t, at(20))  # an urgent call-out may use it
	assert availability(t) == [(at(8), at(18))]
	assert availability(t, allow_on_call=True) == [(at(8), at(8, day=1))]
	assert worked_time(t.shifts, at(0), at(0, day=1)) == timedelta(hours=10)
	assert overtime(t.shifts, at(20), at(21)) == H


def test_worked_time_counts_overlaps_once():
	shifts = [Shift(at(8), at(12)), Shift(at(10), at(14), "Extra"), Shift(at(13), at(22), "On-Call")]
	assert worked_time(shifts, at(0), at(0, day=1)) == timedelta(hours=6)
	assert worked_time(shifts, at(11), at(13)) == timedelta(hours=2)


def test_recurring_working_hours_and_on_call():
	week = shifts_from_rule(
		"FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", at(8), timedelta(hours=8, minutes=30), at(0), at(0, day=7)
	)
	assert len(week) == 5 and all(s.kind == "Regular" and s.start.hour == 8 for s in week)
	on_call = shifts_from_rule(
		"FREQ=WEEKLY;INTERVAL=2;BYDAY=SA",
		at(8, day=5),
		timedelta(hours=24),
		at(0),
		at(0, day=28),
		kind="On-Call",
	)
	assert [s.start.day for s in on_call] == [28, 12]  # Nov 28, Dec 12
	assert worked_time([*week, *on_call], at(0), at(0, day=28)) == timedelta(hours=42, minutes=30)


def test_customer_window():
	windowed = job(window_start=at(12), window_end=at(16))
	assert codes(problems(windowed, tech(), at(11))) == ["window"]
	assert codes(problems(windowed, tech(), at(15, 30))) == ["window"]  # would end after 16:00
	assert is_eligible(windowed, tech(), at(15))
	with pytest.raises(InvalidInput, match="shorter than the job"):
		job(window_start=at(12), window_end=at(12, 30))


def test_overlaps_with_existing_jobs_and_travel():
	existing = [
		job(id="A", technician="T1", start=at(9), location=NAPIERVILLE),
		job(id="B", technician="T1", start=at(13), location=NAPIERVILLE),
		job(id="C", technician="T2", start=at(11)),  # another technician
		job(id="D", technician="T1", start=at(11), status="Cancelled"),  # cancelled: frees the time
	]
	assert codes(problems(job(), tech(), at(9, 30), existing)) == ["overlap"]
	assert codes(problems(job(), tech(), at(12, 30), existing)) == ["overlap"]
	assert is_eligible(job(), tech(), at(10), existing)  # back to back, no travel model
	assert is_eligible(job(), tech(), at(11), existing)
	road = GeodesicTravel()
	# 22 km x 1.3 at 60 km/h is about 29 minutes each way
	assert codes(problems(job(), tech(), at(10), existing, travel=road)) == ["travel"]
	assert codes(problems(job(), tech(), at(11, 40), existing, travel=road)) == ["travel"]
	assert is_eligible(job(), tech(), at(10, 30), existing, travel=road)
	# the job itself is ignored among existing jobs (rescheduling it)
	assert is_eligible(job(id="A"), tech(), at(9), existing)


def test_not_in_the_past_and_inactive():
	assert codes(problems(job(), tech(), at(9), now=at(10))) == ["past"]
	assert codes(problems(job(), tech(active=False), at(9))) == ["inactive"]


def test_check_assignment_raises_typed_errors():
	existing = [job(id="A", technician="T1", start=at(9))]
	with pytest.raises(Conflict, match="already has job A"):
		check_assignment(job(), tech(), at(9, 30), existing)
	with pytest.raises(InvalidInput, match="not on shift"):
		check_assignment(job(), tech(), at(6), existing)
	check_assignment(job(), tech(), at(10), existing)


def test_bad_values_are_refused():
	with pytest.raises(InvalidInput):
		Shift(at(9), at(8))
	with pytest.raises(InvalidInput):
		Shift(at(8), at(9), "Night")
	with pytest.raises(InvalidInput):
		Job("J", timedelta(0))
	with pytest.raises(InvalidInput):
		Point(91, 0)
	with pytest.raises(InvalidInput):
		GeodesicTravel(road_factor=0.5)
