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

The Redis client is injected (any ``redis.Redis``: Frappe's ``frappe.cache`` in the
bench, a plain client in tests); only ``set``, ``eval``, ``mget`` and ``delete`` are
used, with the full key names (the Frappe layer passes its site prefix as ``prefix``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from typing import Protocol

# compare-and-set on the owner's token (a lease that lapsed and was taken is not touched)
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class DeviceLease(Protocol):
	key: str

	def acquire(self, wait: float) -> bool:
		"""Take the lease, asking its holder to let go, waiting at most ``wait`` s. False when still held."""

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
		self.token = secrets.token_hex(16)
		self._asked = False  # this lease set the release flag while waiting

	def acquire(self, wait: float) -> bool:
		redis, ttl_ms = self.owner.client, int(self.owner.ttl * 1000)
		deadline = self.owner.clock() + max(0.0, wait)
		while True:
			if redis.set(self.name, self.token, nx=True, px=ttl_ms):
				if self._asked:  # our own request is answered (another waiter sets its flag again)
					self._asked = False
					redis.delete(self.flag)
				return True
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

	def lease(self, key: str) -> RedisLease:
		return RedisLease(self, key)

	def requested(self, leases: Sequence[RedisLease]) -> list[bool]:
		if not leases:
			return []
		values = self.client.mget([lease.flag for lease in leases])
		return [value is not None for value in values]
