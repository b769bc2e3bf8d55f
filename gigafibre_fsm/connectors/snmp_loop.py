"""One event loop thread per process for the SNMP reads of diagnoses, and its UDP socket.

A diagnosis reads one ONT with one GET. Run with ``asyncio.run`` on the source's own
thread, each read made a new event loop, a new UDP socket and a new default executor
for ``getaddrinfo`` — a thread started, then joined when the loop closed: under load
(20 diagnoses at once in a gunicorn worker, bench_diagnose_load.py --profile) ~0.3 s of
waiting for the GIL per read for a GET that takes a millisecond. Here the loop, its
executor and one :class:`~gigafibre_fsm.connectors.snmp_v2c.SnmpTransport` stay up for
the process's later reads (made again in a child after a fork). Pure: no frappe.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from gigafibre_fsm.connectors import snmp_v2c as wire

T = TypeVar("T")

_LOCK = threading.Lock()
_LOOP: asyncio.AbstractEventLoop | None = None
_TRANSPORT: wire.SnmpTransport | None = None


def _start() -> tuple[asyncio.AbstractEventLoop, wire.SnmpTransport]:
	global _LOOP, _TRANSPORT

	with _LOCK:
		if _LOOP is None or _LOOP.is_closed():
			loop = asyncio.new_event_loop()
			threading.Thread(target=loop.run_forever, name="gf-snmp-loop", daemon=True).start()
			_LOOP, _TRANSPORT = loop, wire.SnmpTransport()
		return _LOOP, _TRANSPORT


def run(read: Callable[[wire.SnmpTransport], Awaitable[T]], timeout: float) -> T:
	"""``read(transport)`` on the process's SNMP loop; its result, or TimeoutError after ``timeout`` s."""
	loop, transport = _start()
	future = asyncio.run_coroutine_threadsafe(read(transport), loop)
	try:
		return future.result(timeout=timeout)
	except FutureTimeout:
		future.cancel()
		raise


def _after_fork() -> None:
	global _LOCK, _LOOP, _TRANSPORT

	_LOCK, _LOOP, _TRANSPORT = threading.Lock(), None, None


os.register_at_fork(after_in_child=_after_fork)
