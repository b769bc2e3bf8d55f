"""Run the diagnosis sources in parallel, each under its own timeout, and merge what answered.

A source is a callable returning a core Diagnosis (GenieACS, the modem bridge, the
OLT). All start at once on their own threads; the caller waits for each one only
until its own deadline, counted from the common start, so a dead source never
delays the result past the slowest *timeout* and a fast one is never held back by
a slow one. A source that fails or is late becomes an entry in ``errors``; the
merge keeps everything the others said.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Source:
	name: str
	call: Callable[[], Diagnosis]
	timeout: float


def run(sources: list[Source], *, now: datetime, clock: Callable[[], float] = time.monotonic) -> Diagnosis:
	"""Every source in parallel; the merged Diagnosis with per-source errors and timings."""
	if not sources:
		return Diagnosis()
	pool = ThreadPoolExecutor(max_workers=len(sources), thread_name_prefix="gf-diagnose")
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
		pool.shutdown(wait=False, cancel_futures=True)  # late threads finish on their own
	result = merge(*parts, now=now) if parts else Diagnosis()
	result.errors.extend(extra_errors)
	for name, timing in timings.items():
		result.sources[name] = {**result.sources.get(name, {}), **timing}
	return result
