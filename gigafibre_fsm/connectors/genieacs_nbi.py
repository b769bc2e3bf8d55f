"""What the GenieACS NBI answers and how its device ids are written (shared/NETWORK.md §1).

The protocol's vocabulary, apart from the client that speaks it (``connectors.genieacs``):
the reason phrases of ``lib/nbi.ts``, the outcome of a task, a page of devices, and device
ids escaped as GenieACS escapes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from gigafibre_fsm.connectors.errors import ConnectorResponseError

SOURCE = "genieacs"

# reason phrases of lib/nbi.ts (202 answers to POST /devices/<id>/tasks)
REASON_QUEUED = "Task queued but not processed"
REASON_FAULTED = "Task faulted"
REASON_ACCEPTED = "Accepted"  # standard phrase: no connection request was asked for

DEFAULT_PAGE_SIZE = 500
DEFAULT_CR_TIMEOUT_MS = 5000  # interactive: 5–10 s, then treat 202 as pending
NBI_SESSION_WAIT_S = 30  # the NBI waits up to 30 s for a running session to end
NBI_SESSION_END_S = 120  # then up to 120 s for the CR-triggered session to end
# fields the fleet iterator always needs (the page key and the id)
FLEET_KEYS = ("_id", "_lastInform")

_ID_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class NoSuchDevice(ConnectorResponseError):
	"""The NBI does not know this device id (404 "No such device")."""


class TaskStatus(StrEnum):
	DONE = "done"  # 200: the task ran and was removed
	QUEUED = "queued"  # 202: stays queued for the next inform (pending)
	FAULTED = "faulted"  # 202 "Task faulted"
	CONNECTION_REQUEST_FAILED = "connection_request_failed"  # 202/504 with the CR error text


@dataclass(frozen=True)
class TaskResult:
	"""What became of a task (or of a bare connection request)."""

	status: TaskStatus
	http_status: int
	reason: str
	task: dict = field(default_factory=dict)
	fault: dict | None = None
	attempts: int = 1

	@property
	def task_id(self) -> str | None:
		return self.task.get("_id") if self.task else None

	@property
	def done(self) -> bool:
		return self.status is TaskStatus.DONE

	@property
	def pending(self) -> bool:
		"""Still queued: it will run at the next inform (or when a later CR succeeds)."""
		return self.status in (TaskStatus.QUEUED, TaskStatus.CONNECTION_REQUEST_FAILED)

	def to_dict(self) -> dict:
		return {
			"status": self.status.value,
			"http_status": self.http_status,
			"reason": self.reason,
			"task_id": self.task_id,
			"fault": self.fault,
			"attempts": self.attempts,
		}


@dataclass(frozen=True)
class Page:
	devices: list[dict]
	total: int | None  # the NBI's ``total`` header: matches of the whole query
	skip: int
	limit: int | None


def task_outcome(http_status: int, reason: str | None) -> TaskStatus:
	"""Map an NBI answer to POST /devices/<id>/tasks to a TaskStatus (status *and* reason phrase)."""
	reason = (reason or "").strip()
	if http_status == 200:
		return TaskStatus.DONE
	if http_status == 504:
		return TaskStatus.CONNECTION_REQUEST_FAILED
	if http_status != 202:
		raise ValueError(f"not a task answer: {http_status} {reason}")
	if reason == REASON_FAULTED:
		return TaskStatus.FAULTED
	if reason in (REASON_QUEUED, REASON_ACCEPTED, ""):
		return TaskStatus.QUEUED
	return TaskStatus.CONNECTION_REQUEST_FAILED


def quote_device_id(device_id: str) -> str:
	"""A device id made safe for a URL path: every byte outside [A-Za-z0-9_-] as %XX.

	GenieACS ids already hold %XX escapes, so "%" itself becomes "%25" (the docs'
	``%252D``); the NBI decodes the path segment once and matches ``[A-Za-z0-9_%-]+``.
	"""
	return "".join(ch if ch in _ID_SAFE else "".join(f"%{b:02X}" for b in ch.encode()) for ch in device_id)


def escape_id_part(value: str) -> str:
	"""One component of a GenieACS device id: characters outside [A-Za-z0-9_] as %XX (UTF-8)."""
	return "".join(
		ch if ch.isascii() and (ch.isalnum() or ch == "_") else "".join(f"%{b:02X}" for b in ch.encode())
		for ch in value
	)


def make_device_id(oui: str, product_class: str | None, serial: str) -> str:
	"""``<OUI>-<ProductClass>-<Serial>`` as GenieACS builds it (ProductClass left out when empty)."""
	return "-".join(escape_id_part(p) for p in (oui, product_class, serial) if p)
