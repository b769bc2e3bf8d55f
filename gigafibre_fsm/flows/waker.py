"""The flow waker: wakes due runs every few seconds instead of every minute.

Frappe's scheduler runs cron events at most once a minute (``* * * * *`` is its finest
slot, and its own loop sleeps ``scheduler_tick_interval``, 60 s), so with the tick alone a
wait falls due up to a minute before a job is enqueued for it: p95 wake latency ≥ 57 s.
The waker is a small long-running process beside ``bench schedule``:

    bench --site all gigafibre-flow-waker [--every 5]

(one supervisor/Procfile line: ``flow_waker: bench --site all gigafibre-flow-waker``).
Every ``every`` seconds, per site, one indexed query selects the runs that fell due since its
last pass (minus ``LOOKBACK`` seconds, for a run saved just after its own due time) and
enqueues them as the tick does (``jobs.enqueue_many``: batch jobs of up to 50 runs, none for
a run that already has a live job, a few Redis round trips per thousand runs). The tick stays the safety net: it sweeps every due,
stalled or dead-job run each minute, so a site without the waker, or a pass that failed,
loses nothing but latency. Two wakers, or a waker and a tick at once, are harmless (the
jobs are deduplicated and ``advance_run`` holds the run's locks).

Why not RQ's own scheduled jobs (``enqueue_at``): Frappe's ``bench worker`` does not start
RQ's scheduler, so they would not leave the scheduled registry; RQ's scheduler is this same
kind of poll (a sorted set read every second).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta

import frappe
from frappe.utils import get_datetime, now_datetime

EVERY = 5.0  # seconds between passes (site config ``gigafibre_flow_wake_seconds`` for the command)
LOOKBACK = 30  # seconds a pass looks back before the previous one


def wake(since=None, now=None) -> tuple[list[str], object]:
	"""One pass on the connected site: enqueue the runs that fell due in (since, now].

	Returns (the runs selected, the ``now`` used): pass ``now`` back as the next ``since``.
	"""
	from gigafibre_fsm.flows import jobs

	now = get_datetime(now or now_datetime())
	window = None if since is None else get_datetime(since) - timedelta(seconds=LOOKBACK)
	names = jobs.due_runs(now, since=window)
	jobs.enqueue_many(names)
	frappe.db.commit()  # enqueue_many pushes after commit
	return names, now


def serve(sites: list[str], *, every: float = EVERY, force: bool = False, stopfile: str | None = None):
	"""Wake due runs on ``sites`` every ``every`` seconds until killed (or ``stopfile`` exists).

	A site whose scheduler is inactive (disabled, paused, maintenance) is skipped unless
	``force``; an error in one pass is logged and the next pass tries again.
	"""
	from frappe.utils.scheduler import is_scheduler_inactive

	since: dict[str, object] = {}
	passes = errors = selected = 0
	while not (stopfile and os.path.exists(stopfile)):
		started = time.monotonic()
		for site in sites:
			try:
				frappe.init(site=site)
				frappe.connect()
				if force or not is_scheduler_inactive(verbose=False):
					names, since[site] = wake(since.get(site))
					selected += len(names)
			except Exception:
				errors += 1
				frappe.logger("gigafibre_fsm").error(f"flow waker: pass failed on {site}", exc_info=True)
			finally:
				frappe.destroy()
		passes += 1
		time.sleep(max(0.0, every - (time.monotonic() - started)))
	return {"passes": passes, "errors": errors, "selected": selected}


if __name__ == "__main__":  # python -m gigafibre_fsm.flows.waker <site> <every> <stopfile> (benchmarks)
	if len(sys.argv) != 4:
		sys.exit("usage: python -m gigafibre_fsm.flows.waker <site> <every> <stopfile>")
	import json

	print(json.dumps(serve([sys.argv[1]], every=float(sys.argv[2]), force=True, stopfile=sys.argv[3])))
