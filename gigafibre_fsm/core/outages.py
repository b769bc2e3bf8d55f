"""Outage rules: Uptime-Kuma notifications, open/close transitions, PON-port grouping.

Pure: the Frappe layer (gigafibre_fsm.network.outages) reads the current state, asks
these rules what to do, and writes the answer.

Uptime-Kuma's webhook notification (server/notification-providers/webhook.js) posts
``{"heartbeat": heartbeatJSON, "monitor": monitorJSON, "msg": text}`` as JSON (or as one
form field ``data`` holding that JSON, when its content type is "form-data"). The
heartbeat (server/model/heartbeat.js ``toJSON``) has ``monitorID``, ``status`` (0 DOWN,
1 UP, 2 PENDING, 3 MAINTENANCE), ``time`` (UTC, ``YYYY-MM-DD HH:mm:ss.SSS``), ``msg``,
``ping``, ``important``, ``duration``; newer versions add ``timezone``,
``timezoneOffset`` and ``localDateTime``. The monitor has ``id``, ``name``, ``url``,
``hostname``, ``type``… The "Test" button sends ``heartbeat`` and ``monitor`` as null.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from gigafibre_fsm.core.errors import InvalidInput

DOWN, UP, PENDING, MAINTENANCE = 0, 1, 2, 3
STATUS_NAMES = {DOWN: "down", UP: "up", PENDING: "pending", MAINTENANCE: "maintenance"}

# An OLT sweep raises one outage for a PON port when at least MIN_ONTS of its ONTs alarm
# at once and they are at least MIN_SHARE of the ONTs known on that port (a port serves up
# to 128 ONTs): a cut feeder or a dead splitter, not 128 separate faults.
PON_MIN_ONTS = 4
PON_MIN_SHARE = 0.5

MAX_TEXT = 500


@dataclass(frozen=True)
class KumaEvent:
	"""One Uptime-Kuma notification, read and checked."""

	monitor_id: str  # "" when the monitor carries no id
	monitor_name: str
	monitor_url: str
	status: int | None  # None: a test notification (no heartbeat)
	time: datetime | None  # UTC, naive
	message: str

	@property
	def is_test(self) -> bool:
		return self.status is None

	@property
	def key(self) -> str:
		"""What identifies the monitor: its id, else its name."""
		return f"kuma:{self.monitor_id or self.monitor_name}"

	@property
	def event_key(self) -> str:
		"""One beat: monitor, status and time (a retried delivery has the same key)."""
		when = self.time.isoformat() if self.time else ""
		return f"{self.key}:{self.status}:{when}"


def _text(value, limit: int = MAX_TEXT) -> str:
	if value is None:
		return ""
	if not isinstance(value, str | int | float):
		raise InvalidInput("Expected text, got {0}", type(value).__name__)
	return str(value).strip()[:limit]


def parse_time(value) -> datetime | None:
	"""Uptime-Kuma's heartbeat time (UTC ``2024-09-24 23:51:35.527``, or ISO 8601 with an
	offset) as a naive UTC datetime."""
	if value in (None, ""):
		return None
	if not isinstance(value, str):
		raise InvalidInput("The heartbeat time {0} is not a date and time", value)
	text = value.strip().replace("T", " ").removesuffix("Z")
	try:
		parsed = datetime.fromisoformat(text)
	except ValueError:
		raise InvalidInput("The heartbeat time {0} is not a date and time", value[:40])
	if parsed.tzinfo is not None:
		parsed = parsed.astimezone(UTC).replace(tzinfo=None)
	return parsed


def load_body(body: bytes | str | dict, form: dict | None = None) -> dict:
	"""The notification as a dict, from a JSON body or the form-data field ``data``."""
	if isinstance(body, dict):
		return body
	if form and form.get("data"):
		body = form["data"]
	if isinstance(body, bytes):
		try:
			body = body.decode("utf-8")
		except UnicodeDecodeError:
			raise InvalidInput("The notification is not UTF-8 text")
	try:
		data = json.loads(body or "null")
	except ValueError:
		raise InvalidInput("The notification is not JSON")
	if not isinstance(data, dict):
		raise InvalidInput("The notification is not a JSON object")
	return data


def parse_kuma(data: dict) -> KumaEvent:
	"""Read one Uptime-Kuma notification; InvalidInput when it is not one."""
	heartbeat = data.get("heartbeat")
	monitor = data.get("monitor")
	for label, part in (("heartbeat", heartbeat), ("monitor", monitor)):
		if isinstance(part, str):  # a GET notification carries them as JSON text
			try:
				part = json.loads(part)
			except ValueError:
				raise InvalidInput("The {0} is not JSON", label)
			if label == "heartbeat":
				heartbeat = part
			else:
				monitor = part
		if part is not None and not isinstance(part, dict):
			raise InvalidInput("The {0} is not a JSON object", label)
	if "msg" not in data and heartbeat is None and monitor is None:
		raise InvalidInput("This is not an Uptime-Kuma notification")
	if heartbeat is None:  # the "Test" button: a message only
		return KumaEvent("", _text((monitor or {}).get("name"), 140), "", None, None, _text(data.get("msg")))
	monitor = monitor or {}
	status = heartbeat.get("status")
	if isinstance(status, bool) or not isinstance(status, int) or status not in STATUS_NAMES:
		raise InvalidInput("Unknown heartbeat status {0}", str(status)[:20])
	monitor_id = monitor.get("id", heartbeat.get("monitorID"))
	if isinstance(monitor_id, bool) or (monitor_id is not None and not isinstance(monitor_id, int | str)):
		raise InvalidInput("The monitor id is not a number")
	name = _text(monitor.get("name"), 140)
	monitor_id = _text(monitor_id, 40)
	if not (monitor_id or name):
		raise InvalidInput("The notification names no monitor")
	return KumaEvent(
		monitor_id=monitor_id,
		monitor_name=name,
		monitor_url=_text(monitor.get("url") or monitor.get("hostname"), 500),
		status=status,
		time=parse_time(heartbeat.get("time")),
		message=_text(heartbeat.get("msg") or data.get("msg")),
	)


def match_monitor(rows: Iterable[dict], event: KumaEvent) -> dict | None:
	"""The settings row for the event's monitor: its id first, then its name (any case)."""
	rows = list(rows)
	wanted_id = event.monitor_id.strip()
	if wanted_id:
		for row in rows:
			if str(row.get("monitor") or "").strip() == wanted_id:
				return row
	name = event.monitor_name.strip().casefold()
	if name:
		for row in rows:
			if str(row.get("monitor") or "").strip().casefold() == name:
				return row
	return None


# -- transitions --------------------------------------------------------------------


@dataclass(frozen=True)
class OutageState:
	"""What the database holds for one outage key."""

	open_name: str | None = None  # the open outage, if any
	open_started: datetime | None = None
	last_resolved: datetime | None = None  # when the last outage of this key ended


OPEN, CLOSE, NOTHING = "open", "close", "nothing"


@dataclass(frozen=True)
class Decision:
	action: str  # open / close / nothing
	reason: str
	duration_seconds: int | None = None


def decide(state: OutageState, status: int, at: datetime) -> Decision:
	"""What a DOWN or UP beat at ``at`` does to the outage of its key.

	DOWN opens one outage; more DOWN beats while it is open do nothing. UP closes the open
	outage with its duration; UP with nothing open does nothing. A DOWN dated before the
	end of the last outage (a late retry of an old beat) opens nothing. PENDING and
	MAINTENANCE change nothing.
	"""
	if status == DOWN:
		if state.open_name:
			return Decision(NOTHING, "already_open")
		if state.last_resolved and at <= state.last_resolved:
			return Decision(NOTHING, "stale")
		return Decision(OPEN, "down")
	if status == UP:
		if not state.open_name:
			return Decision(NOTHING, "not_open")
		return Decision(CLOSE, "up", duration(state.open_started, at))
	return Decision(NOTHING, STATUS_NAMES.get(status, "unknown"))


def duration(started: datetime | None, ended: datetime) -> int:
	"""Whole seconds between start and end, never negative."""
	if not started:
		return 0
	return max(0, int((ended - started).total_seconds()))


def to_site_time(utc_naive: datetime, time_zone: str) -> datetime:
	"""A naive UTC datetime as naive local time of the site's zone (what Frappe stores)."""
	return utc_naive.replace(tzinfo=UTC).astimezone(ZoneInfo(time_zone)).replace(tzinfo=None)


def describe_duration(seconds: int) -> str:
	"""``1 h 05 min``, ``12 min``, ``40 s``."""
	seconds = max(0, int(seconds))
	hours, rest = divmod(seconds, 3600)
	minutes = rest // 60
	if hours:
		return f"{hours} h {minutes:02d} min"
	if minutes:
		return f"{minutes} min"
	return f"{seconds} s"


# -- OLT sweeps: many ONT alarms on one PON port are one outage ------------------------


@dataclass(frozen=True)
class PonVerdict:
	pon_port: str
	alarming: int
	known: int

	@property
	def share(self) -> float:
		return self.alarming / self.known if self.known else 0.0


def pon_outages(
	alarms: Iterable[str],
	known: dict[str, int],
	*,
	min_onts: int = PON_MIN_ONTS,
	min_share: float = PON_MIN_SHARE,
) -> dict[str, PonVerdict]:
	"""PON ports whose alarms form one outage.

	``alarms``: the PON port of each ONT in alarm in one sweep of one OLT; ``known``: how
	many ONTs the app knows on each port. A port is out when at least ``min_onts`` of its
	ONTs alarm and they are at least ``min_share`` of its known ONTs.
	"""
	if min_onts < 1 or not 0 < min_share <= 1:
		raise InvalidInput("The PON outage threshold must be at least one ONT and a share in (0, 1]")
	counts: dict[str, int] = {}
	for port in alarms:
		if port:
			counts[port] = counts.get(port, 0) + 1
	out = {}
	for port, count in counts.items():
		total = max(known.get(port, 0), count)
		if count >= min_onts and count / total >= min_share:
			out[port] = PonVerdict(port, count, total)
	return out


def expected_end_after(started: datetime, typical_minutes: int | None) -> datetime | None:
	"""An expected end to tell customers: the start plus a typical repair time, if known."""
	if not typical_minutes or typical_minutes <= 0:
		return None
	return started + timedelta(minutes=int(typical_minutes))
