"""Batch advance jobs: the tick and the waker enqueue one job per batch of due runs.

A forked RQ job costs far more than advancing one run (the work-horse's fork, its
``frappe.init``/``connect`` and the app's imports: ~0.8 s of CPU on a 2-core machine against
tens of ms for the step), so the runs the tick and the waker select are advanced
``batch_size()`` at a time (site config ``gigafibre_flow_batch_size``, default 50) by one
``jobs.advance_runs`` job. The job advances each run in turn under that run's own locks
(``runtime.advance_run``) and commits per run: a run that fails or is held by another
executor is skipped (logged, or left to its holder) and never stops the others.

Deduplication: each run in a batch gets a marker in the queue's Redis naming its batch job
(a day's TTL; the job clears it once the run is done). A run is not enqueued again while
its batch job, or its own single-run job (``runtime.enqueue_advance``), is alive. A batch
job renews a lock of its own while it works, so a batch job RQ lists as started whose lock
lapsed is dead (its worker was killed) and its runs are enqueued again at the next pass;
the same rules as for single-run jobs (``runtime.job_is_dead``).
"""

from __future__ import annotations

import frappe

from gigafibre_fsm.flows import runtime

BATCH_SIZE = 50
MARKER_TTL = 86400  # a marker outlives any queue wait; a stale one only costs a duplicate job
METHOD = "gigafibre_fsm.flows.jobs.advance_runs"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def batch_size() -> int:
	"""Runs per batch job (site config ``gigafibre_flow_batch_size``, default 50)."""
	return max(1, int(frappe.conf.get("gigafibre_flow_batch_size") or BATCH_SIZE))


def marker_key(run: str) -> str:
	"""The queue-Redis key naming the batch job a run was put in."""
	return f"gigafibre_fsm:flow_run_batch:{frappe.local.site}:{run}"


def batch_lock_key(batch: str) -> str:
	"""The Redis key of the lock a batch job holds (and renews) while it works."""
	return frappe.cache.make_key(f"gigafibre_fsm:flow_batch_lock:{batch}")


def batch_of(run: str):
	"""The batch job a run was last put in, if RQ still has it (else None)."""
	from frappe.utils.background_jobs import get_redis_conn
	from rq.job import Job

	conn = get_redis_conn()
	batch = conn.get(marker_key(run))
	if not batch:
		return None
	jobs = Job.fetch_many([batch.decode()], connection=conn)
	return jobs[0]


def enqueue_many(runs: list[str]) -> None:
	"""After commit, the runs without a live job, in batch jobs of ``batch_size()`` runs:
	a few Redis round trips per thousand runs."""
	runs = runtime.claim_enqueue(runs)
	if runs:
		frappe.db.after_commit.add(lambda: _push(runs))


def _push(runs: list[str], chunk: int = 1000) -> None:
	from frappe.utils import create_batch
	from frappe.utils.background_jobs import get_queue

	q = get_queue(runtime.queue())
	for names in create_batch(runs, chunk):
		push_batch(q, list(names))


def _alive(conn, listed: dict) -> set[str]:
	"""Of ``listed`` (job id → (job, status, lock key)), the ids of the queued or started
	jobs that have a live worker or are waiting in their queue (see runtime.job_is_dead)."""
	started = [i for i, (_, status, _) in listed.items() if status == "started"]
	queued = [i for i, (_, status, _) in listed.items() if status == "queued"]
	with frappe.cache.pipeline() as pipe:
		for i in started:
			pipe.exists(listed[i][2])
		locks = dict(zip(started, pipe.execute(), strict=True))
	positions = {}
	if queued:
		with conn.pipeline() as pipe:
			for i in queued:
				pipe.lpos(f"rq:queue:{listed[i][0].origin}", i)
			positions = dict(zip(queued, pipe.execute(), strict=True))
	alive = set()
	for i, (job, status, _) in listed.items():
		if status not in ("queued", "started"):
			continue
		if runtime.job_is_dead(
			job, status, lock_held=bool(locks.get(i)), in_queue=positions.get(i) is not None
		):
			frappe.logger("gigafibre_fsm").warning(
				f"flow job {i} ({status}) has no live worker; runs enqueued again"
			)
		else:
			alive.add(i)
	return alive


def push_batch(q, names: list[str]) -> list[str]:
	"""Enqueue the runs of ``names`` that have no live job in new batch jobs; return them.

	One pipeline reads the runs' single-run jobs and batch markers, one the batch jobs, one
	each the signs of life of those RQ lists as started (locks) or queued (queue positions),
	one deletes the dead or finished single-run jobs and enqueues the batches with their
	markers. Jobs as ``frappe.enqueue`` makes them (``execute_job``, site, user).
	"""
	from frappe.utils import create_batch
	from frappe.utils.background_jobs import create_job_id
	from rq.job import Job

	conn = q.connection
	singles = Job.fetch_many([create_job_id(runtime.job_id(n)) for n in names], connection=conn)
	markers = [m.decode() if m else None for m in conn.mget([marker_key(n) for n in names])]
	batch_ids = list(dict.fromkeys(m for m in markers if m))
	batches = Job.fetch_many(batch_ids, connection=conn) if batch_ids else []
	listed = {}
	for n, job in zip(names, singles, strict=True):
		if job is not None:
			listed[job.id] = (job, job.get_status(refresh=False), runtime.lock_key(n))
	for job in batches:
		if job is not None:
			listed[job.id] = (job, job.get_status(refresh=False), batch_lock_key(job.id))
	alive = _alive(conn, listed)
	todo = [
		n
		for n, single, marker in zip(names, singles, markers, strict=True)
		if not ((single is not None and single.id in alive) or marker in alive)
	]
	if not todo:
		return []
	datas = []
	with conn.pipeline() as pipe:
		for single in singles:
			if single is not None and single.id not in alive:  # finished, failed or dead
				single.delete(pipeline=pipe)
		for job in batches:
			if job is not None and job.id not in alive and listed[job.id][1] in ("queued", "started"):
				job.delete(pipeline=pipe)  # dead: its runs are all enqueued again when selected
		for chunk in create_batch(todo, batch_size()):
			chunk = list(chunk)
			batch = create_job_id(f"gigafibre_fsm:flow_batch:{frappe.generate_hash(length=12)}")
			for n in chunk:
				pipe.set(marker_key(n), batch, ex=MARKER_TTL)
			datas.append(_job_data(q, batch, chunk))
		q.enqueue_many(datas, pipeline=pipe)
		pipe.execute()
	return todo


def _job_data(q, batch: str, runs: list[str]):
	from frappe.utils.background_jobs import (
		RQ_JOB_FAILURE_TTL,
		RQ_RESULTS_TTL,
		execute_job,
		truncate_failed_registry,
	)
	from rq import Callback

	return q.prepare_data(
		execute_job,
		kwargs={
			"site": frappe.local.site,
			"user": frappe.session.user,
			"method": METHOD,
			"event": None,
			"job_name": METHOD,
			"is_async": True,
			"kwargs": {"runs": runs, "batch": batch},
		},
		timeout=max(600, 20 * len(runs)),
		result_ttl=frappe.conf.get("rq_results_ttl") or RQ_RESULTS_TTL,
		failure_ttl=frappe.conf.get("rq_job_failure_ttl") or RQ_JOB_FAILURE_TTL,
		job_id=batch,
		on_failure=Callback(func=truncate_failed_registry),
	)


def advance_runs(runs: list[str], batch: str | None = None) -> dict:
	"""Advance each run in turn, each under its own locks, committing per run.

	A run another executor holds is skipped (its holder advances it); a run that raises is
	rolled back, logged (Error Log) and skipped; neither stops the others. Holds the batch
	lock (renewed) while it works, and clears each run's marker once the run is done.
	Returns how many runs ended in each status ("skipped", "error" included).
	"""
	from frappe.utils.background_jobs import get_redis_conn

	conn = get_redis_conn()
	ttl = runtime.lock_seconds()
	lock = heartbeat = None
	if batch:
		lock = frappe.cache.lock(batch_lock_key(batch), timeout=ttl, thread_local=False)
		if lock.acquire(blocking=False):
			heartbeat = runtime._Heartbeat(lock, ttl)
			heartbeat.start()
	counts: dict[str, int] = {}
	try:
		for run in runs:
			try:
				status = runtime.advance_run(run, blocking_timeout=0) or "skipped"
				frappe.db.commit()
			except Exception:
				status = "error"
				_log_failure(run)
			if batch:
				conn.eval(_RELEASE, 1, marker_key(run), batch)
			counts[status] = counts.get(status, 0) + 1
	finally:
		if heartbeat:
			heartbeat.stop()
			try:
				lock.release()
			except Exception:
				pass  # lapsed: nothing to release
	return counts


def _log_failure(run: str) -> None:
	"""Roll the run's transaction back and keep its traceback in the Error Log."""
	frappe.db.rollback()
	try:
		frappe.log_error(
			title=f"Flow run {run}: advance failed", reference_doctype=runtime.RUN, reference_name=run
		)
		frappe.db.commit()
	except Exception:
		frappe.db.rollback()
		frappe.logger("gigafibre_fsm").error(f"flow run {run}: advance failed", exc_info=True)


def drop_jobs(runs: list[str]) -> None:
	"""Delete the runs' single-run jobs, the batch jobs their markers name and the markers
	(clean-up of tests and benchmarks; a batch job also holding other runs goes too)."""
	from frappe.utils.background_jobs import create_job_id, get_redis_conn
	from rq.job import Job

	conn = get_redis_conn()
	for i in range(0, len(runs), 500):
		chunk = runs[i : i + 500]
		keys = [marker_key(r) for r in chunk]
		ids = [create_job_id(runtime.job_id(r)) for r in chunk]
		ids += list(dict.fromkeys(m.decode() for m in conn.mget(keys) if m))
		with conn.pipeline() as pipe:
			for job in Job.fetch_many(ids, connection=conn):
				if job is not None:
					job.delete(pipeline=pipe)
			pipe.delete(*keys)
			pipe.execute()
