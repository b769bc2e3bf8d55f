"""3CX call journal entries, read into one plain value.

3CX's CRM integration (a server-side template, "Call Journaling") posts one entry per call with
the template's variables: ``Number``, ``CallType`` (Inbound, Outbound, Missed, Notanswered),
``CallDirection``, ``Agent`` (the extension), ``AgentFirstName``/``AgentLastName``/``AgentEmail``,
``Duration`` (``hh:mm:ss``), ``CallStartTimeUTC``, ``CallEndTimeUTC`` and, when the template sends
it, ``CallId``. Names are read case-insensitively (our template sends them as 3CX names them).
3CX may deliver an entry more than once: ``CallEntry.key`` is the call id when there is one, else
a digest of number, start, agent and type, so the same call is stored once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gigafibre_fsm.core.comms.phones import to_e164

CALL_TYPES = {
	"inbound": ("Incoming", True),
	"outbound": ("Outgoing", True),
	"missed": ("Incoming", False),
	"notanswered": ("Outgoing", False),
}
MAX_TEXT = 140


class JournalError(ValueError):
	"""The entry cannot be read (a clear message, no partial record)."""


@dataclass(frozen=True)
class CallEntry:
	key: str
	number: str  # E.164 when it reads as a phone number, else as given (an extension, "anonymous")
	e164: str | None
	direction: str  # Incoming | Outgoing (Call Log's type)
	answered: bool
	agent: str  # the extension
	agent_email: str
	agent_name: str
	start: datetime | None  # UTC
	end: datetime | None  # UTC
	duration: int  # seconds

	@property
	def missed(self) -> bool:
		return self.direction == "Incoming" and not self.answered

	@property
	def status(self) -> str:
		"""Call Log's status."""
		if self.answered:
			return "Completed"
		return "No Answer"


def _get(entry: dict, name: str) -> str:
	for key, value in entry.items():
		if isinstance(key, str) and key.replace("_", "").lower() == name.lower():
			return "" if value is None else str(value).strip()[:MAX_TEXT]
	return ""


def parse_duration(text: str) -> int:
	"""``hh:mm:ss``, ``mm:ss`` or a number of seconds."""
	if not text:
		return 0
	try:
		if ":" in text:
			seconds = 0
			for part in text.split(":"):
				seconds = seconds * 60 + int(float(part))
			return max(0, seconds)
		return max(0, int(float(text)))
	except ValueError:
		raise JournalError(f"Unreadable duration {text!r}") from None


def parse_time(text: str) -> datetime | None:
	"""A UTC time as 3CX writes it (ISO 8601, or ``yyyy-MM-dd HH:mm:ss``, or ``MM/dd/yyyy ...``)."""
	if not text:
		return None
	value = text.strip().replace("Z", "+00:00")
	for parse in (
		datetime.fromisoformat,
		lambda v: datetime.strptime(v, "%m/%d/%Y %H:%M:%S"),
		lambda v: datetime.strptime(v, "%m/%d/%Y %I:%M:%S %p"),
	):
		try:
			moment = parse(value)
		except ValueError:
			continue
		return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
	raise JournalError(f"Unreadable time {text!r}")


def parse_entry(entry: dict) -> CallEntry:
	if not isinstance(entry, dict):
		raise JournalError("A journal entry is a JSON object")
	number = _get(entry, "Number")
	if not number:
		raise JournalError("The entry has no Number")
	call_type = _get(entry, "CallType").replace(" ", "").lower()
	if call_type not in CALL_TYPES:
		direction = _get(entry, "CallDirection").lower()
		call_type = {"inbound": "inbound", "outbound": "outbound"}.get(direction, "")
	if not call_type:
		raise JournalError(f"Unknown CallType {_get(entry, 'CallType')!r}")
	direction, answered = CALL_TYPES[call_type]
	start = parse_time(_get(entry, "CallStartTimeUTC") or _get(entry, "CallStartTime"))
	end = parse_time(_get(entry, "CallEndTimeUTC") or _get(entry, "CallEndTime"))
	duration = parse_duration(_get(entry, "Duration"))
	if end is None and start is not None:
		end = start + timedelta(seconds=duration)
	if start is None and end is not None:
		start = end - timedelta(seconds=duration)
	agent = _get(entry, "Agent")
	call_id = _get(entry, "CallId")
	if call_id:
		key = call_id
	else:
		if start is None:
			raise JournalError("The entry has neither CallId nor a start time")
		raw = "|".join((number, start.isoformat(), agent, call_type))
		key = hashlib.sha256(raw.encode()).hexdigest()[:24]
	name = " ".join(p for p in (_get(entry, "AgentFirstName"), _get(entry, "AgentLastName")) if p)
	return CallEntry(
		key=f"3CX-{key}"[:MAX_TEXT],
		number=number,
		e164=to_e164(number),
		direction=direction,
		answered=answered,
		agent=agent,
		agent_email=_get(entry, "AgentEmail"),
		agent_name=name,
		start=start,
		end=end,
		duration=duration,
	)
