"""Plain values the dispatch rules work on.

Times used for planning (shifts, job starts, windows, "now") are naive datetimes
in the site's time zone (America/Toronto), the way Frappe stores Datetime fields.
Recurrence (recurrence.py) does the time-zone work and can hand back naive local
values for these. Durations are timedeltas; a datetime range is half-open
[start, end).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from gigafibre_fsm.core.errors import InvalidInput

REGULAR = "Regular"
EXTRA = "Extra"
ON_CALL = "On-Call"
SHIFT_KINDS = (REGULAR, EXTRA, ON_CALL)
# Regular and extra shifts are worked time; on-call is availability for urgent
# jobs only and is never counted as worked time.
WORKED_KINDS = frozenset({REGULAR, EXTRA})


@dataclass(frozen=True, slots=True)
class Point:
	"""A WGS 84 position in decimal degrees."""

	lat: float
	lon: float

	def __post_init__(self):
		if not -90 <= self.lat <= 90:
			raise InvalidInput("Latitude must be between -90 and 90")
		if not -180 <= self.lon <= 180:
			raise InvalidInput("Longitude must be between -180 and 180")


@dataclass(frozen=True, slots=True)
class Shift:
	"""A period a technician is available: Regular, Extra (paid overtime) or On-Call."""

	start: datetime
	end: datetime
	kind: str = REGULAR

	def __post_init__(self):
		if self.kind not in SHIFT_KINDS:
			raise InvalidInput("Unknown shift kind {0}", self.kind)
		if self.end <= self.start:
			raise InvalidInput("A shift must end after it starts")

	@property
	def worked(self) -> bool:
		return self.kind in WORKED_KINDS


@dataclass(frozen=True, slots=True)
class SkillRequirement:
	"""A skill tag a job needs, at ``min_level`` or above."""

	skill: str
	min_level: int = 1


@dataclass(frozen=True, slots=True)
class Technician:
	id: str
	skills: Mapping[str, int] = field(default_factory=dict)
	shifts: tuple[Shift, ...] = ()
	home: Point | None = None
	active: bool = True

	def __post_init__(self):
		object.__setattr__(self, "skills", MappingProxyType(dict(self.skills)))
		object.__setattr__(self, "shifts", tuple(sorted(self.shifts, key=lambda s: (s.start, s.end))))


@dataclass(frozen=True, slots=True)
class Job:
	"""A Dispatch Job as the rules see it.

	``window_start``/``window_end`` are the customer's hard availability: the whole
	job must fit inside. ``preferred_start`` is the soft target lateness is measured
	from (default: the window start, else "now"). ``allow_on_call`` lets an urgent
	job use on-call shifts. ``technician`` and ``start`` are set once planned.
	"""

	id: str
	duration: timedelta
	location: Point | None = None
	required_skills: tuple[SkillRequirement, ...] = ()
	window_start: datetime | None = None
	window_end: datetime | None = None
	preferred_start: datetime | None = None
	allow_on_call: bool = False
	technician: str | None = None
	start: datetime | None = None
	status: str = "Draft"

	def __post_init__(self):
		if self.duration <= timedelta(0):
			raise InvalidInput("The duration of a job must be positive")
		if self.window_start and self.window_end and self.window_end < self.window_start + self.duration:
			raise InvalidInput("The time window of job {0} is shorter than the job", self.id)

	@property
	def end(self) -> datetime | None:
		return self.start + self.duration if self.start else None
