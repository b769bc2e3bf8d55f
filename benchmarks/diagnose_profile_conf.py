"""gunicorn config for ``bench_diagnose_load.py --profile``: cProfile every request in the
worker thread serving it, and every diagnosis source on its own thread, then write each
worker's merged stats to ``$GF_PROFILE_DIR/<pid>-request.pstats`` / ``-sources.pstats`` when it
exits. Times are each thread's CPU (time.thread_time), not wall time: waits for the GIL,
locks and I/O do not count. Profiling slows the Python it measures: use it for where the CPU
goes, not for latencies."""

from __future__ import annotations

import cProfile
import os
import pstats
import threading
import time

_lock = threading.Lock()
_request: list[cProfile.Profile] = []
_sources: list[cProfile.Profile] = []
_local = threading.local()


def post_fork(server, worker):
	from gigafibre_fsm.connectors import diagnose as parallel

	original = parallel.run

	def profiled(call):
		def wrapper():
			prof = cProfile.Profile(time.thread_time)
			prof.enable()
			try:
				return call()
			finally:
				prof.disable()
				with _lock:
					_sources.append(prof)

		return wrapper

	def run(sources, **kwargs):
		return original([parallel.Source(s.name, profiled(s.call), s.timeout) for s in sources], **kwargs)

	parallel.run = run


def pre_request(worker, req):
	prof = cProfile.Profile(time.thread_time)
	_local.prof = prof
	prof.enable()


def post_request(worker, req, environ, resp):
	prof = getattr(_local, "prof", None)
	if prof is None:
		return
	prof.disable()
	_local.prof = None
	with _lock:
		_request.append(prof)


def worker_exit(server, worker):
	out = os.environ.get("GF_PROFILE_DIR")
	if not out:
		return
	for name, profiles in (("request", _request), ("sources", _sources)):
		if profiles:
			stats = pstats.Stats(profiles[0])
			for prof in profiles[1:]:
				stats.add(prof)
			stats.dump_stats(os.path.join(out, f"{os.getpid()}-{name}.pstats"))
