from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gigafibre_fsm.core.dispatch.recurrence import intervals, localize, occurrences
from gigafibre_fsm.core.errors import InvalidInput

TORONTO = ZoneInfo("America/Toronto")


def test_weekly_0900_stays_0900_across_both_dst_changes_of_2026():
	# Sundays at 09:00 from Feb 22 to Nov 29: DST starts Mar 8 and ends Nov 1, 2026 (both Sundays)
	starts = occurrences(
		"FREQ=WEEKLY;BYDAY=SU", datetime(2026, 2, 22, 9), datetime(2026, 2, 1), datetime(2026, 11, 30)
	)
	assert len(starts) == 41
	assert all((s.hour, s.minute) == (9, 0) and s.tzinfo == TORONTO for s in starts)
	offsets = {s.date(): s.utcoffset() for s in starts}
	assert offsets[date(2026, 3, 1)] == timedelta(hours=-5)
	assert offsets[date(2026, 3, 8)] == timedelta(hours=-4)  # the day of the change
	assert offsets[date(2026, 10, 25)] == timedelta(hours=-4)
	assert offsets[date(2026, 11, 1)] == timedelta(hours=-5)  # the day of the change
	# in UTC the job moves by an hour, which is the point
	assert starts[0].astimezone(UTC).hour == 14
	assert starts[2].astimezone(UTC).hour == 13


def test_exdate_removes_occurrences():
	rule = "RRULE:FREQ=WEEKLY;BYDAY=MO"
	window = (datetime(2026, 3, 1), datetime(2026, 3, 31))
	every = occurrences(rule, datetime(2026, 3, 2, 9), *window, naive=True)
	assert [d.day for d in every] == [2, 9, 16, 23, 30]
	skipped = occurrences(
		rule,
		datetime(2026, 3, 2, 9),
		*window,
		naive=True,
		exdates=[datetime(2026, 3, 9, 9), date(2026, 3, 23), datetime(2026, 3, 16, 10)],
	)
	# a datetime removes that occurrence, a date the whole day; 10:00 on the 16th matches nothing
	assert [d.day for d in skipped] == [2, 16, 30]
	# an aware exception (UTC) is matched on local time: 13:00Z on Mar 30 is 09:00 EDT
	aware = occurrences(
		rule, datetime(2026, 3, 2, 9), *window, exdates=[datetime(2026, 3, 30, 13, tzinfo=UTC)]
	)
	assert [d.day for d in aware] == [2, 9, 16, 23]


def test_the_window_bounds_the_expansion():
	starts = occurrences("FREQ=DAILY", datetime(2020, 1, 1, 8), datetime(2026, 11, 1), datetime(2026, 11, 4))
	assert [s.day for s in starts] == [1, 2, 3]
	with pytest.raises(InvalidInput, match="more than 10 occurrences"):
		occurrences(
			"FREQ=HOURLY",
			datetime(2026, 1, 1),
			datetime(2026, 1, 1),
			datetime(2026, 1, 2),
			max_occurrences=10,
		)
	with pytest.raises(InvalidInput, match="after its start"):
		occurrences("FREQ=DAILY", datetime(2026, 1, 1), datetime(2026, 1, 2), datetime(2026, 1, 1))


def test_count_and_utc_until():
	starts = occurrences(
		"FREQ=DAILY;COUNT=3", datetime(2026, 3, 7, 9), datetime(2026, 3, 1), datetime(2026, 4, 1)
	)
	assert [(s.day, s.hour) for s in starts] == [(7, 9), (8, 9), (9, 9)]
	# UNTIL in UTC: 2026-03-10 13:00Z is 09:00 EDT, included
	until = occurrences(
		"FREQ=DAILY;UNTIL=20260310T130000Z",
		datetime(2026, 3, 7, 9),
		datetime(2026, 3, 1),
		datetime(2026, 4, 1),
	)
	assert [s.day for s in until] == [7, 8, 9, 10]


def test_nonexistent_and_ambiguous_local_times():
	spring = occurrences(
		"FREQ=DAILY", datetime(2026, 3, 7, 2, 30), datetime(2026, 3, 7), datetime(2026, 3, 10)
	)
	assert [(s.day, s.hour, s.minute) for s in spring] == [(7, 2, 30), (8, 3, 30), (9, 2, 30)]
	fall = occurrences(
		"FREQ=DAILY", datetime(2026, 10, 31, 1, 30), datetime(2026, 10, 31), datetime(2026, 11, 3)
	)
	nov1 = fall[1]
	assert (nov1.day, nov1.hour, nov1.utcoffset()) == (1, 1, timedelta(hours=-4))  # the first 01:30
	assert localize(datetime(2026, 3, 8, 2, 30)).hour == 3


def test_aware_dtstart_is_read_in_the_site_zone():
	# 14:00 UTC in February is 09:00 EST; the series stays at 09:00 local in summer
	starts = occurrences(
		"FREQ=WEEKLY;BYDAY=MO",
		datetime(2026, 2, 2, 14, tzinfo=UTC),
		datetime(2026, 6, 1),
		datetime(2026, 6, 9),
	)
	assert [(s.day, s.hour) for s in starts] == [(1, 9), (8, 9)]


def test_bad_rules_are_refused():
	with pytest.raises(InvalidInput, match="Invalid recurrence rule"):
		occurrences("FREQ=SOMETIMES", datetime(2026, 1, 1), datetime(2026, 1, 1), datetime(2026, 2, 1))
	with pytest.raises(InvalidInput, match="empty"):
		occurrences("  ", datetime(2026, 1, 1), datetime(2026, 1, 1), datetime(2026, 2, 1))
	with pytest.raises(InvalidInput, match="single RRULE"):
		occurrences(
			"DTSTART:20260101T090000\nRRULE:FREQ=DAILY",
			datetime(2026, 1, 1),
			datetime(2026, 1, 1),
			datetime(2026, 2, 1),
		)


def test_intervals_keep_wall_clock_ends_across_dst_nights():
	# on-call 18:00 → 08:00 next morning, every day, around both changes
	for first_day in (date(2026, 3, 6), date(2026, 10, 30)):
		start = datetime.combine(first_day, datetime.min.time()).replace(hour=18)
		spans = intervals(
			"FREQ=DAILY",
			start,
			timedelta(hours=14),
			start - timedelta(hours=1),
			start + timedelta(days=3),
			naive=True,
		)
		assert len(spans) == 3
		assert all((s.hour, e.hour) == (18, 8) and e - s == timedelta(hours=14) for s, e in spans)
	# the one that started before the window but runs into it is included
	spans = intervals(
		"FREQ=DAILY",
		datetime(2026, 3, 1, 18),
		timedelta(hours=14),
		datetime(2026, 3, 3, 6),
		datetime(2026, 3, 3, 7),
	)
	assert [(s.day, e.day) for s, e in spans] == [(2, 3)]
	# real elapsed time of the DST night is an hour shorter
	aware = intervals(
		"FREQ=DAILY",
		datetime(2026, 3, 7, 18),
		timedelta(hours=14),
		datetime(2026, 3, 7),
		datetime(2026, 3, 8),
	)
	assert aware[0][1].astimezone(UTC) - aware[0][0].astimezone(UTC) == timedelta(hours=13)
