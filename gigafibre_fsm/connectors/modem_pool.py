"""The modem bridge's admin sessions: one per device at a time, and a cap per backend.

Two rules, each with its own lock, so one never waits on the other's owner:

- **per device** (shared/NETWORK.md §0.5: one admin session per device): every use of
  a device holds that device's lock; a second read of the *same* device waits for it
  (up to ``lock_timeout``) and then reuses the warm session. A read of another device
  never touches that lock.
- **per backend** (``limits``, e.g. ``{"browser": 4}``): at most that many sessions of
  the backend live in this process at once (for the browser bridge, a session is a
  browser context with its page: the worker's memory). A read of another device that
  needs a new session when the cap is reached first logs out the *idle* warm session
  used least recently (never one in use); when every session is in use it waits for
  one to end, in arrival order, at most ``slot_wait`` seconds, then gives up with
  :class:`BridgeBusy` (the diagnosis still has GenieACS and the OLT: the sources run
  in parallel and one failing never hides the others). So a read of device B waits
  on device A's session only while the cap is full, and never longer than ``slot_wait``.

Warm sessions are logged out once idle ``idle_seconds`` (on their next use, or by
:meth:`SessionPool.reap_idle`, which a bridge's reaper thread calls; the clock is
injectable); ``idle_seconds <= 0`` logs out after every read.

Across processes (gunicorn workers, machines), ``leases`` (connectors/modem_lease.py)
keeps the same rule: a session is opened only under the device's lease, held until the
session is logged out. A read of a device leased by another process asks that process
to let it go and waits at most ``lease_wait`` s (then :class:`DeviceHeld`); the holder
logs out after its read in progress, or, idle, when :meth:`SessionPool.service_leases`
(called by the bridge's reaper thread several times a second) sees the request.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from gigafibre_fsm.connectors.errors import ConnectorTimeout, ConnectorUnavailable
from gigafibre_fsm.connectors.modem_base import SOURCE, BridgeSession
from gigafibre_fsm.connectors.modem_lease import DeviceLease, DeviceLeases


class BridgeBusy(ConnectorUnavailable):
	"""Every session the backend may hold in this process was in use for the whole wait."""

	def __init__(self, message: str, *, limit: int, waited: float):
		super().__init__(message, source=SOURCE)
		self.limit = limit
		self.waited = waited


class DeviceHeld(ConnectorUnavailable):
	"""Another process kept the device's admin session (its lease) for the whole wait."""

	def __init__(self, message: str, *, waited: float):
		super().__init__(message, source=SOURCE)
		self.waited = waited


@dataclass
class _Slot:
	key: str
	lock: threading.Lock = field(default_factory=threading.Lock)
	session: BridgeSession | None = None
	backend: str | None = None
	last_used: float = 0.0
	preferred: str | None = None  # the backend that last read the device: tried first next time
	opened: int = 0
	closed: int = 0
	lease: DeviceLease | None = None  # held (across processes) while a session is open


class SessionPool:
	"""Admin sessions keyed by device: one in use per device, at most ``limits[backend]`` per backend."""

	def __init__(
		self,
		*,
		idle_seconds: float,
		clock: Callable[[], float] = time.monotonic,
		lock_timeout: float = 60.0,
		limits: Mapping[str, int] | None = None,
		slot_wait: float = 5.0,
		leases: DeviceLeases | None = None,
		lease_wait: float = 10.0,
	):
		self.idle_seconds = float(idle_seconds)
		self.clock = clock
		self.lock_timeout = lock_timeout
		self.limits = {name: int(n) for name, n in (limits or {}).items() if n and int(n) > 0}
		self.slot_wait = float(slot_wait)
		self.leases = leases
		self.lease_wait = float(lease_wait)
		self.handed_over = 0  # sessions logged out because another process asked for the device
		self._renewed = time.monotonic()
		self.evicted = 0  # idle sessions logged out to make room under a cap
		self.busy = 0  # reads that gave up waiting for room
		self._slots: dict[str, _Slot] = {}
		self._guard = threading.Lock()
		self._room = threading.Condition()  # guards _live and _queue
		self._live: dict[str, int] = {}  # backend → sessions open or being opened
		self._queue: deque[object] = deque()  # tickets of reads waiting for room, in arrival order

	def slot(self, key: str) -> _Slot:
		with self._guard:
			return self._slots.setdefault(key, _Slot(key))

	def preferred(self, key: str) -> str | None:
		with self._guard:
			slot = self._slots.get(key)
			return slot.preferred if slot else None

	def prefer(self, key: str, backend: str) -> None:
		self.slot(key).preferred = backend

	def live(self) -> dict[str, int]:
		"""Sessions open (or being opened) in this process, per backend."""
		with self._room:
			return {name: n for name, n in self._live.items() if n}

	def waiting(self) -> int:
		with self._room:
			return len(self._queue)

	# -- room under a backend's cap
	def _release(self, backend: str) -> None:
		with self._room:
			self._live[backend] = max(0, self._live.get(backend, 0) - 1)
			self._room.notify_all()

	def _idle_victim(self, backend: str, exclude: _Slot) -> _Slot | None:
		"""The warm, unused session of ``backend`` used least recently, its device lock taken."""
		with self._guard:
			candidates = [
				s for s in self._slots.values() if s is not exclude and s.backend == backend and s.session
			]
		for slot in sorted(candidates, key=lambda s: s.last_used):
			if slot.lock.acquire(blocking=False):
				if slot.session is not None and slot.backend == backend:
					return slot
				slot.lock.release()
		return None

	def _reserve(self, backend: str, slot: _Slot) -> None:
		"""Count a new session of ``backend``; under a full cap, evict an idle one or wait (FIFO)."""
		limit = self.limits.get(backend)
		if limit is None:
			with self._room:
				self._live[backend] = self._live.get(backend, 0) + 1
			return
		ticket = object()
		started = time.monotonic()
		deadline = started + self.slot_wait
		queued = False
		while True:
			with self._room:
				if not queued:
					self._queue.append(ticket)
					queued = True
				if self._queue[0] is ticket and self._live.get(backend, 0) < limit:
					self._queue.popleft()
					self._live[backend] = self._live.get(backend, 0) + 1
					self._room.notify_all()  # the next in line may have room too
					return
				victim = self._idle_victim(backend, slot) if self._queue[0] is ticket else None
				if victim is None:
					left = deadline - time.monotonic()
					if left <= 0:
						self._queue.remove(ticket)
						self._room.notify_all()
						self.busy += 1
						waited = round(time.monotonic() - started, 1)
						raise BridgeBusy(
							f"{slot.key}: all {limit} {backend} sessions of this worker stayed in use "
							f"for {waited} s",
							limit=limit,
							waited=waited,
						)
					self._room.wait(left)
					continue
			try:  # log the idle one out without holding the room lock (a network call)
				self._close(victim)
				self.evicted += 1
			finally:
				victim.lock.release()

	# -- sessions
	def _close(self, slot: _Slot) -> None:
		session, backend = slot.session, slot.backend
		slot.session, slot.backend = None, None
		if session is None:
			self._drop_lease(slot)
			return
		slot.closed += 1
		try:
			session.logout()
		except Exception:
			pass
		finally:
			self._release(backend)
			self._drop_lease(slot)  # after the logout: the next holder logs in on a free modem

	# -- leases (one admin session per device across processes)
	def _take_lease(self, slot: _Slot, give_way: bool) -> None:
		if self.leases is None or slot.lease is not None:
			return
		lease = self.leases.lease(slot.key)
		started = time.monotonic()
		if not lease.acquire(self.lease_wait, give_way=give_way):
			waited = round(time.monotonic() - started, 1)
			raise DeviceHeld(
				f"{slot.key}: another worker kept this device's admin session for {waited} s", waited=waited
			)
		slot.lease = lease

	def _drop_lease(self, slot: _Slot) -> None:
		lease, slot.lease = slot.lease, None
		if lease is not None:
			lease.release()

	def _asked_for(self, slot: _Slot) -> bool:
		"""Another process waits for this device (its lease's release flag is set)."""
		if self.leases is None or slot.lease is None:
			return False
		try:
			return self.leases.requested([slot.lease])[0]
		except Exception:
			return False

	def service_leases(self) -> int:
		"""Renew the leases of this process's sessions (every third of their lifetime) and log out
		the idle sessions another process asked for (in parallel: each logout is a network call).
		Sessions in use are handed over when their read ends. Returns the sessions handed over."""
		if self.leases is None:
			return 0
		with self._guard:
			held = [(s, s.lease) for s in self._slots.values() if s.lease is not None]
		if not held:
			return 0
		if time.monotonic() - self._renewed >= self.leases.ttl / 3:
			self._renewed = time.monotonic()
			for slot, lease in held:
				if not lease.renew() and slot.lease is lease:
					slot.lease = None  # lapsed: the next use logs out and takes it again
		asked = self.leases.requested([lease for _, lease in held])
		wanted = [slot for (slot, _), flag in zip(held, asked, strict=True) if flag]
		handovers = []
		for slot in wanted:
			if slot.lock.acquire(blocking=False):
				thread = threading.Thread(target=self._hand_over, args=(slot,), daemon=True)
				thread.start()
				handovers.append(thread)
		for thread in handovers:
			thread.join()
		return len(handovers)

	def _hand_over(self, slot: _Slot) -> None:
		try:
			if slot.session is not None or slot.lease is not None:
				self._close(slot)
				self.handed_over += 1
		finally:
			slot.lock.release()
			self._wake()

	def _expired(self, slot: _Slot) -> bool:
		return slot.session is not None and self.clock() - slot.last_used >= self.idle_seconds

	def _locked_slot(self, key: str) -> _Slot:
		"""The device's slot, its lock held (a slot the reaper dropped meanwhile is not used)."""
		deadline = time.monotonic() + self.lock_timeout
		while True:
			slot = self.slot(key)
			if not slot.lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
				raise ConnectorTimeout(
					f"{key}: another read of this device held its admin session for over "
					f"{self.lock_timeout} s",
					source=SOURCE,
				)
			with self._guard:
				if self._slots.get(key) is slot:
					return slot
			slot.lock.release()

	@contextmanager
	def use(
		self, key: str, backend: str, opener: Callable[[], BridgeSession], *, give_way: bool = False
	) -> Iterator[tuple]:
		"""``(session, reused)`` for ``key``, holding the device's lock for the whole block.
		With ``give_way``, a device leased by a process that serves reads raises
		:class:`~gigafibre_fsm.connectors.modem_lease.HeldElsewhere` (send the read there).

		Any exception in the block logs the session out; on success it stays warm
		(or is logged out at once when ``idle_seconds <= 0``). Raises
		:class:`ConnectorTimeout` when the same device stayed busy ``lock_timeout`` s and
		:class:`BridgeBusy` when the backend's cap stayed full ``slot_wait`` s.
		"""
		slot = self._locked_slot(key)
		try:
			lost = self.leases is not None and slot.lease is None
			if self._expired(slot) or (slot.session is not None and (slot.backend != backend or lost)):
				self._close(slot)
			reused = slot.session is not None
			if slot.session is None:
				self._take_lease(slot, give_way)
				try:
					self._reserve(backend, slot)
				except BaseException:
					self._drop_lease(slot)
					raise
				try:
					session = opener()
				except BaseException:
					self._release(backend)
					self._drop_lease(slot)
					raise
				slot.session, slot.backend = session, backend
				slot.opened += 1
			try:
				yield slot.session, reused
			except BaseException:
				self._close(slot)
				raise
			slot.last_used = self.clock()
			if self.idle_seconds <= 0 or self._asked_for(slot):
				if self.idle_seconds > 0:
					self.handed_over += 1
				self._close(slot)
		finally:
			slot.lock.release()
			self._wake()  # a warm session left idle can now be evicted by a waiting read

	def _wake(self) -> None:
		with self._room:
			if self._queue:
				self._room.notify_all()

	def reap_idle(self) -> int:
		"""Log out every warm session idle for ``idle_seconds``; busy devices are skipped. Count closed."""
		with self._guard:
			slots = list(self._slots.values())
		count = 0
		for slot in slots:
			if slot.lock.acquire(blocking=False):
				try:
					if self._expired(slot):
						self._close(slot)
						count += 1
					if slot.session is None:  # forget the device (the map would grow with the fleet)
						# (and which backend read it: a firmware update may let the direct client in)
						with self._guard:
							if self._slots.get(slot.key) is slot:
								del self._slots[slot.key]
				finally:
					slot.lock.release()
		return count

	def close_all(self, timeout: float | None = None) -> None:
		with self._guard:
			slots = list(self._slots.values())
		for slot in slots:
			if slot.lock.acquire(timeout=timeout if timeout is not None else self.lock_timeout):
				try:
					self._close(slot)
				finally:
					slot.lock.release()

	def warm(self, key: str) -> bool:
		slot = self._slots.get(key)
		return bool(slot and slot.session is not None)
