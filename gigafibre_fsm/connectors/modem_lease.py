"""Device leases: one admin session per modem across worker processes and machines.

A modem allows one admin session at a time (shared/NETWORK.md §0.5). Inside one process
the bridge's :class:`~gigafibre_fsm.connectors.modem_pool.SessionPool` serialises a
device's reads behind a thread lock; across gunicorn workers (and machines) it holds a
**lease** on the device for as long as it has a session open on it, in use or warm:

- a lease is a Redis key (``SET NX PX``) holding its owner's token, with a lifetime
  (``ttl``) that the owner renews while it holds the session (the bridge's reaper
  thread calls :meth:`SessionPool.service_leases`), so a dead worker's lease lapses;
- a process that needs a device leased by another sets the device's *release flag*
  (a short-lived key) while it waits, at most ``wait`` seconds; the owner logs its
  session out after the read in progress, or at once when it is idle (its reaper
  checks the flags of its leases several times a second), and frees the lease.

So a diagnosis of a modem held warm by another worker waits a moment for the hand-over
instead of being refused by the modem (``modem_unavailable``), and two workers never
log in to one modem at the same time.

Better still, the read goes to the holder: the lease names its holder (one id per
:class:`RedisDeviceLeases`, so per worker), and :meth:`RedisDeviceLeases.call` puts the
request on the holder's inbox (a Redis list that :meth:`RedisDeviceLeases.serve` pops in
the holder, answering on a reply list), so the warm session is reused instead of logging
out of the modem and in again from another worker (a web UI login costs ~1 s of CPU in
Chromium). No answer in time (the holder died or is stuck): the caller falls back to the
hand-over.

The Redis client is injected (any ``redis.Redis``: Frappe's ``frappe.cache`` in the
bench, a plain client in tests); only ``set``, ``get``, ``eval``, ``mget``, ``delete``, ``blpop``
and pipelines are used, with the full key names (the Frappe layer passes its site prefix as ``prefix``).
"""

from __future__ import annotations

import json
import math
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

# compare-and-set on the owner's token (a lease that lapsed and was taken is not touched)
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class HeldElsewhere(Exception):
	"""The device is leased by another process that serves reads for others: send the read there."""

	def __init__(self, holder: str):
		super().__init__(holder)
		self.holder = holder


class DeviceLease(Protocol):
	key: str

	def acquire(self, wait: float, *, give_way: bool = False) -> bool:
		"""Take the lease, asking its holder to let go, waiting at most ``wait`` s. False when still held.
		With ``give_way``, raise :class:`HeldElsewhere` instead when the holder serves reads."""

	def renew(self) -> bool:
		"""Extend the lease's lifetime; False when it was lost (lapsed and taken, or released)."""

	def release(self) -> None:
		"""Free the lease (only if still ours). Never raises."""


class DeviceLeases(Protocol):
	ttl: float

	def lease(self, key: str) -> DeviceLease:
		"""A (not yet acquired) lease on the device ``key``."""

	def requested(self, leases: Sequence[DeviceLease]) -> list[bool]:
		"""For each lease: whether another process asks its holder to let the device go."""


class RedisLease:
	"""One device's lease in Redis (see the module docstring)."""

	def __init__(self, owner: RedisDeviceLeases, key: str):
		self.owner = owner
		self.key = key
		self.name = owner.prefix + key
		self.flag = self.name + ":release"
		self.token = f"{owner.holder_id}:{secrets.token_hex(12)}"
		self._asked = False  # this lease set the release flag while waiting

	def acquire(self, wait: float, *, give_way: bool = False) -> bool:
		redis, ttl_ms = self.owner.client, int(self.owner.ttl * 1000)
		deadline = self.owner.clock() + max(0.0, wait)
		while True:
			if redis.set(self.name, self.token, nx=True, px=ttl_ms):
				if self._asked:  # our own request is answered (another waiter sets its flag again)
					self._asked = False
					redis.delete(self.flag)
				return True
			if give_way:
				holder = self.owner.holder(self.key)
				if holder and holder != self.owner.holder_id and self.owner.serving(holder):
					raise HeldElsewhere(holder)
			left = deadline - self.owner.clock()
			if left <= 0:
				return False
			# ask the holder to log out (again while we wait: the flag lapses, a new holder clears it)
			redis.set(self.flag, self.token, px=max(1000, int(self.owner.poll * 20_000)))
			self._asked = True
			self.owner.sleep(min(self.owner.poll, left))

	def renew(self) -> bool:
		try:
			return bool(self.owner.client.eval(_RENEW, 1, self.name, self.token, int(self.owner.ttl * 1000)))
		except Exception:
			return False

	def release(self) -> None:
		try:
			self.owner.client.eval(_RELEASE, 1, self.name, self.token)
		except Exception:
			pass  # it lapses after its ttl


class RedisDeviceLeases:
	"""Leases of devices in one Redis, under ``prefix``; ``ttl`` s lifetime, waiters poll every ``poll`` s."""

	def __init__(
		self,
		client,
		*,
		prefix: str = "gigafibre_fsm:modem_lease:",
		ttl: float = 30.0,
		poll: float = 0.05,
		clock: Callable[[], float] = time.monotonic,
		sleep: Callable[[float], None] = time.sleep,
	):
		self.client = client
		self.prefix = prefix.decode() if isinstance(prefix, bytes) else prefix
		self.ttl = float(ttl)
		self.poll = float(poll)
		self.clock = clock
		self.sleep = sleep
		self.holder_id = secrets.token_hex(8)  # names this process's leases and its inbox

	def lease(self, key: str) -> RedisLease:
		return RedisLease(self, key)

	# -- reads sent to the holder
	def holder(self, key: str) -> str | None:
		"""The id of whoever holds the device's lease (None when free)."""
		value = self.client.get(self.prefix + key)
		if value is None:
			return None
		text = value.decode() if isinstance(value, bytes) else str(value)
		return text.split(":", 1)[0]

	def _inbox(self, holder: str) -> str:
		return f"{self.prefix}inbox:{holder}"

	def _alive(self, holder: str) -> str:
		return f"{self.prefix}serving:{holder}"

	def serving(self, holder: str) -> bool:
		"""The holder answers reads sent to it (its :meth:`serve` loop runs)."""
		return self.client.get(self._alive(holder)) is not None

	def call(self, holder: str, request: dict, timeout: float) -> dict | None:
		"""Send ``request`` to the holder ``holder`` and wait at most ``timeout`` s for its answer
		(None at once when the holder does not serve requests, or when no answer came)."""
		if not self.serving(holder):
			return None
		reply = f"{self.prefix}reply:{secrets.token_hex(12)}"
		message = json.dumps({**request, "reply": reply, "deadline": time.time() + timeout})
		inbox = self._inbox(holder)
		pipe = self.client.pipeline()
		pipe.rpush(inbox, message)
		pipe.expire(inbox, math.ceil(timeout) + 5)
		pipe.execute()
		deadline = self.clock() + timeout
		while (left := deadline - self.clock()) > 0:
			# short blocking pops: a client's socket timeout may be shorter than the whole wait
			got = self.client.blpop([reply], timeout=1 if left < 1 else min(2, math.ceil(left)))
			if got is not None:
				return json.loads(got[1])
			if not self.serving(holder):
				return None  # the holder stopped serving (closed, died): its inbox is not read
		return None

	def serve(self, handler: Callable[[dict], dict], stop: threading.Event) -> None:
		"""Answer the requests sent to this holder until ``stop`` is set, each in its own thread
		(a request past its deadline is dropped: its caller has gone)."""
		inbox, alive, beat = self._inbox(self.holder_id), self._alive(self.holder_id), 0.0
		while not stop.is_set():
			try:
				if time.monotonic() - beat >= 1:  # callers send requests only to a live holder
					self.client.set(alive, "1", px=5000)
					beat = time.monotonic()
				got = self.client.blpop([inbox], timeout=1)
			except Exception:  # Redis restarting: try again
				stop.wait(1)
				continue
			if got is None:
				continue
			request = json.loads(got[1])
			if request.get("deadline", 0) < time.time():
				continue
			threading.Thread(target=self._answer, args=(handler, request), daemon=True).start()
		try:
			self.client.delete(alive)
		except Exception:
			pass  # it lapses

	def _answer(self, handler: Callable[[dict], dict], request: dict) -> None:
		answer = handler(request)
		pipe = self.client.pipeline()
		pipe.rpush(request["reply"], json.dumps(answer))
		pipe.expire(request["reply"], 60)
		pipe.execute()

	def requested(self, leases: Sequence[RedisLease]) -> list[bool]:
		if not leases:
			return []
		values = self.client.mget([lease.flag for lease in leases])
		return [value is not None for value in values]
