"""Run the diagnosis sources in parallel, each under its own timeout, and merge what answered.

A source is a callable returning a core Diagnosis (GenieACS, the modem bridge, the
OLT). All start at once on their own threads; the caller waits for each one only
until its own deadline, counted from the common start, so a dead source never
delays the result past the slowest *timeout* and a fast one is never held back by
a slow one. A source that fails or is late becomes an entry in ``errors``; the
merge keeps everything the others said.

The threads come from one pool per process, kept between diagnoses: starting a thread
waits until it runs, and under load (20 diagnoses at once in a gunicorn worker) each
start queued behind every other thread wanting the GIL — ~0.3 s a request of the bench
(bench_diagnose_load.py --profile) before the sources had even started. The pool grows
up to ``MAX_THREADS`` (a gthread worker's threads × 3 sources stays well under it) and a
late source keeps its thread until it ends on its own timeout; a source still queued
when its deadline passes is cancelled and reported late like any other.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime

from gigafibre_fsm.connectors.errors import ConnectorError, ConnectorTimeout
from gigafibre_fsm.core.diagnostics import Diagnosis, error, merge

T_LATE = "{0} did not answer within {1} s"
T_FAILED = "{0} failed: {1}"
MAX_THREADS = 128

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
	"""The process's source threads (made again in a child after a fork: threads do not survive it)."""
	global _POOL

	with _POOL_LOCK:
		if _POOL is None:
			_POOL = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="gf-diagnose")
		return _POOL


def _after_fork() -> None:
	global _POOL, _POOL_LOCK

	_POOL, _POOL_LOCK = None, threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


@dataclass(frozen=True)
class Source:
	name: str
	call: Callable[[], Diagnosis]
	timeout: float


def run(sources: list[Source], *, now: datetime, clock: Callable[[], float] = time.monotonic) -> Diagnosis:
	"""Every source in parallel; the merged Diagnosis with per-source errors and timings."""
	if not sources:
		return Diagnosis()
	pool = _pool()
	started = clock()
	futures = {s.name: pool.submit(s.call) for s in sources}
	# each source's own time: when it finished, not when the merge got to it (after slower ones)
	finished: dict[str, float] = {}
	for name, future in futures.items():
		future.add_done_callback(lambda _f, name=name: finished.setdefault(name, clock()))
	parts: list[Diagnosis] = []
	extra_errors: list[dict] = []
	timings: dict[str, dict] = {}

	def elapsed_ms(name: str) -> int:
		return round((finished.get(name, clock()) - started) * 1000)

	try:
		for source in sorted(sources, key=lambda s: s.timeout):
			remaining = max(0.0, source.timeout - (clock() - started))
			try:
				part = futures[source.name].result(timeout=remaining)
			except (FutureTimeout, ConnectorTimeout):
				extra_errors.append(
					error(source.name, f"{source.name}_timeout", T_LATE, source.name, source.timeout)
				)
				timings[source.name] = {"ok": False, "elapsed_ms": elapsed_ms(source.name)}
				continue
			except ConnectorError as e:
				extra_errors.append(error(source.name, f"{source.name}_error", T_FAILED, source.name, str(e)))
				timings[source.name] = {"ok": False, "elapsed_ms": elapsed_ms(source.name)}
				continue
			except Exception as e:  # a bug in one source must not hide the others
				extra_errors.append(
					error(
						source.name, f"{source.name}_error", T_FAILED, source.name, f"{type(e).__name__}: {e}"
					)
				)
				timings[source.name] = {"ok": False, "elapsed_ms": elapsed_ms(source.name)}
				continue
			parts.append(part)
			own_errors = [e for e in part.errors if e.get("source") == source.name]
			timings[source.name] = {"ok": not own_errors, "elapsed_ms": elapsed_ms(source.name)}
	finally:
		for future in futures.values():
			future.cancel()  # a source still queued never starts; late ones finish on their own
	result = merge(*parts, now=now) if parts else Diagnosis()
	result.errors.extend(extra_errors)
	for name, timing in timings.items():
		result.sources[name] = {**result.sources.get(name, {}), **timing}
	return result
