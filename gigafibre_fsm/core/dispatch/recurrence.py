"""Expanding RFC 5545 recurrence rules (RRULE) in the site's time zone.

Rules repeat in *local wall-clock time*: a weekly job at 09:00 stays at 09:00 in
America/Toronto across the March and November DST changes (its UTC offset moves
from -05:00 to -04:00 and back). To get that, the rule is expanded by
``dateutil.rrule`` on a naive local DTSTART and each occurrence is then given the
zone (``zoneinfo``). Following RFC 5545 §3.3.5:

- a local time that does not exist (02:30 on the spring-forward day) is moved
  forward by the length of the gap (03:30 EDT);
- a local time that happens twice (01:30 on the fall-back day) is the first one
  (EDT, ``fold=0``).

EXDATE exceptions are matched on the local wall-clock value: a datetime removes
that occurrence, a date removes every occurrence on that day. Aware exceptions
are converted to the site zone first. ``UNTIL`` written in UTC (``...Z``) is
converted to local time. Expansion is always bounded by a window and by
``max_occurrences``; a rule that would give more raises InvalidInput rather than
being cut silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from gigafibre_fsm.core.errors import InvalidInput

SITE_TIME_ZONE = "America/Toronto"
MAX_OCCURRENCES = 5000

_UNTIL_UTC = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.IGNORECASE)


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
	return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def localize(value: datetime, tz: str | ZoneInfo = SITE_TIME_ZONE) -> datetime:
	"""An aware datetime in ``tz`` for a naive local wall-clock value (RFC 5545 gap/overlap rules)."""
	zone = _zone(tz)
	if value.tzinfo is not None:
		return value.astimezone(zone)
	aware = value.replace(tzinfo=zone, fold=0)
	# a non-existent local time does not survive a round trip through UTC: zoneinfo
	# reads it with the offset before the gap, so the round trip moves it forward.
	return aware.astimezone(UTC).astimezone(zone)


def to_local_naive(value: datetime, tz: str | ZoneInfo = SITE_TIME_ZONE) -> datetime:
	"""The naive wall-clock value in ``tz`` (what Frappe stores) for any datetime."""
	if value.tzinfo is None:
		return value
	return value.astimezone(_zone(tz)).replace(tzinfo=None)


def _rule_text(rule: str, zone: ZoneInfo) -> str:
	text = "\n".join(line.strip() for line in rule.strip().splitlines() if line.strip())
	if not text:
		raise InvalidInput("The recurrence rule is empty")
	if "\n" in text or text.upper().startswith(("DTSTART", "EXDATE", "RDATE")):
		raise InvalidInput("Pass a single RRULE line; DTSTART and EXDATE are separate values")

	def local_until(match: re.Match) -> str:
		utc = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
		return "UNTIL=" + utc.astimezone(zone).strftime("%Y%m%dT%H%M%S")

	text = _UNTIL_UTC.sub(local_until, text)
	return text if text.upper().startswith("RRULE:") else "RRULE:" + text


def occurrences(
	rule: str,
	dtstart: datetime,
	window_start: datetime,
	window_end: datetime,
	*,
	exdates: Iterable[date | datetime] = (),
	tz: str | ZoneInfo = SITE_TIME_ZONE,
	naive: bool = False,
	max_occurrences: int = MAX_OCCURRENCES,
) -> list[datetime]:
	"""Occurrence starts of ``rule`` in [window_start, window_end), in order.

	``dtstart`` is the first occurrence, naive local time or aware (converted to
	``tz``). Window bounds may be naive (local) or aware. Returns aware datetimes in
	``tz``, or naive local ones with ``naive=True``.
	"""
	zone = _zone(tz)
	start_local = to_local_naive(dtstart, zone)
	lo, hi = localize(window_start, zone), localize(window_end, zone)
	if hi <= lo:
		raise InvalidInput("The end of the window must be after its start")
	try:
		parsed = rrulestr(_rule_text(rule, zone), dtstart=start_local)
	except (ValueError, TypeError) as error:
		raise InvalidInput("Invalid recurrence rule {0}: {1}", rule, str(error))
	skip_days, skip_times = set(), set()
	for ex in exdates:
		if isinstance(ex, datetime):
			skip_times.add(to_local_naive(ex, zone))
		else:
			skip_days.add(ex)

	found: list[datetime] = []
	# expand in naive local time, with a day of margin either side for DST shifts
	last_local = to_local_naive(hi, zone) + timedelta(days=1)
	for local in parsed.xafter(to_local_naive(lo, zone) - timedelta(days=1), inc=True):
		if local > last_local:
			break
		aware = localize(local, zone)
		if not lo <= aware < hi or local in skip_times or local.date() in skip_days:
			continue
		if len(found) >= max_occurrences:
			raise InvalidInput(
				"The recurrence gives more than {0} occurrences in the window", max_occurrences
			)
		found.append(aware)
	if naive:
		return [to_local_naive(value, zone) for value in found]
	return found


def intervals(
	rule: str,
	dtstart: datetime,
	duration: timedelta,
	window_start: datetime,
	window_end: datetime,
	*,
	exdates: Iterable[date | datetime] = (),
	tz: str | ZoneInfo = SITE_TIME_ZONE,
	naive: bool = False,
	max_occurrences: int = MAX_OCCURRENCES,
) -> list[tuple[datetime, datetime]]:
	"""(start, end) of each occurrence that overlaps [window_start, window_end).

	The end is start + ``duration`` in local wall-clock time, so an on-call shift
	from 18:00 to 08:00 the next morning ends at 08:00 even on a DST night.
	"""
	if duration <= timedelta(0):
		raise InvalidInput("The duration of a recurring event must be positive")
	zone = _zone(tz)
	# an occurrence that started before the window may still run into it
	starts = occurrences(
		rule,
		dtstart,
		localize(window_start, zone) - duration - timedelta(hours=1),
		window_end,
		exdates=exdates,
		tz=zone,
		max_occurrences=max_occurrences,
	)
	lo = localize(window_start, zone)
	result = []
	for start in starts:
		end = localize(to_local_naive(start, zone) + duration, zone)
		if end <= lo:
			continue
		if naive:
			result.append((to_local_naive(start, zone), to_local_naive(end, zone)))
		else:
			result.append((start, end))
	return result
