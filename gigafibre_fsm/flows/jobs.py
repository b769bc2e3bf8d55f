"""Scheduler and queue entry points of the flow engine.

``tick`` (every minute) only selects: runs whose next wake time is due, by an
indexed query, each enqueued once (deduplicated job id per run); and cron
templates whose slot has come. The work happens in ``advance_run`` jobs.
"""

from __future__ import annotations

import frappe
from croniter import croniter
from frappe.utils import get_datetime, now_datetime

from gigafibre_fsm.flows import runtime

TICK_BATCH = 20000


def due_runs(now=None, limit: int = TICK_BATCH, since=None) -> list[str]:
	"""Runs with a step due: status Waiting and next_wake_at <= now (indexed); with ``since``,
	only those that fell due after it (the waker's window)."""
	run = frappe.qb.DocType("Flow Run")
	now = get_datetime(now or now_datetime())
	due = (run.status == "Waiting") & (run.next_wake_at <= now)
	if since is not None:
		due &= run.next_wake_at > get_datetime(since)
	rows = (frappe.qb.from_(run).select(run.name).where(due).orderby(run.next_wake_at).limit(limit)).run()
	return [r[0] for r in rows]


def stalled_runs(limit: int = 1000) -> list[str]:
	"""Runs left Pending or Running without a job (a worker died): picked up again.

	Untouched for ``runtime.stall_seconds()`` (site config ``gigafibre_flow_stall_seconds``,
	default 600 s); one whose job is still queued or held by a live worker is not enqueued
	twice (the job id is deduplicated).
	"""
	run = frappe.qb.DocType("Flow Run")
	cutoff = frappe.utils.add_to_date(now_datetime(), seconds=-runtime.stall_seconds())
	rows = (
		frappe.qb.from_(run)
		.select(run.name)
		.where(run.status.isin(["Pending", "Running"]) & (run.modified < cutoff))
		.limit(limit)
	).run()
	return [r[0] for r in rows]


def tick(now=None) -> int:
	"""Scheduler entry: enqueue one advance job per due run. Returns how many were selected.

	A run whose job RQ still lists but whose worker died (see runtime.dead_job) is enqueued
	again: a killed worker delays a run by about a lock lifetime, not until RQ cleans up.
	"""
	names = list(dict.fromkeys(due_runs(now) + stalled_runs()))
	enqueue_many(names)
	start_cron_templates(now)
	return len(names)


def enqueue_many(runs: list[str]) -> None:
	"""After commit, one advance job per run as ``runtime.enqueue_advance(run, recover=True)``
	would make it, in a few Redis round trips per thousand runs instead of several per run."""
	runs = runtime.claim_enqueue(runs)
	if runs:
		frappe.db.after_commit.add(lambda: _push(runs))


def _push(runs: list[str], batch: int = 1000) -> None:
	from frappe.utils import create_batch
	from frappe.utils.background_jobs import get_queue

	q = get_queue(runtime.queue())
	for names in create_batch(runs, batch):
		_push_batch(q, list(names))


def _push_batch(q, names: list[str]) -> None:
	"""Per batch: one pipeline reads the runs' jobs, one the signs of life of those RQ lists as
	queued or started (run locks, queue positions), one deletes the dead or finished jobs and
	enqueues the runs without a live job. Deduplicated like ``frappe.enqueue(deduplicate=True)``."""
	from frappe.utils.background_jobs import (
		RQ_JOB_FAILURE_TTL,
		RQ_RESULTS_TTL,
		create_job_id,
		execute_job,
		truncate_failed_registry,
	)
	from rq import Callback
	from rq.job import Job

	conn = q.connection
	ids = [create_job_id(runtime.job_id(n)) for n in names]
	jobs = Job.fetch_many(ids, connection=conn)
	live = {
		n: (job, job.get_status(refresh=False))
		for n, job in zip(names, jobs, strict=True)
		if job is not None and job.get_status(refresh=False) in ("queued", "started")
	}
	started = [n for n, (_, status) in live.items() if status == "started"]
	queued = [n for n, (_, status) in live.items() if status == "queued"]
	with frappe.cache.pipeline() as pipe:
		for n in started:
			pipe.exists(runtime.lock_key(n))
		locks = dict(zip(started, pipe.execute(), strict=True))
	with conn.pipeline() as pipe:
		for n in queued:
			job = live[n][0]
			pipe.lpos(f"rq:queue:{job.origin}", job.id)
		positions = dict(zip(queued, pipe.execute(), strict=True))
	keep = set()
	for n, (job, status) in live.items():
		if runtime.job_is_dead(
			job, status, lock_held=bool(locks.get(n)), in_queue=positions.get(n) is not None
		):
			frappe.logger("gigafibre_fsm").warning(
				f"flow run {n}: job {job.id} ({status}) has no live worker; enqueued again"
			)
		else:
			keep.add(n)
	method = "gigafibre_fsm.flows.jobs.advance_run"
	result_ttl = frappe.conf.get("rq_results_ttl") or RQ_RESULTS_TTL
	failure_ttl = frappe.conf.get("rq_job_failure_ttl") or RQ_JOB_FAILURE_TTL
	datas = []
	with conn.pipeline() as pipe:
		for n, job_id, job in zip(names, ids, jobs, strict=True):
			if n in keep:
				continue
			if job is not None:  # finished, failed or dead: deleted first, as frappe.enqueue does
				job.delete(pipeline=pipe)
			datas.append(
				q.prepare_data(
					execute_job,
					kwargs={
						"site": frappe.local.site,
						"user": frappe.session.user,
						"method": method,
						"event": None,
						"job_name": method,
						"is_async": True,
						"kwargs": {"run": n},
					},
					timeout=600,
					result_ttl=result_ttl,
					failure_ttl=failure_ttl,
					job_id=job_id,
					on_failure=Callback(func=truncate_failed_registry),
				)
			)
		q.enqueue_many(datas, pipeline=pipe)
		pipe.execute()


def advance_run(run: str):
	"""Queue entry: advance one run (see runtime.advance_run)."""
	runtime.advance_run(run)


# -- cron templates ---------------------------------------------------------------


def start_cron_templates(now=None):
	now = get_datetime(now or now_datetime())
	templates = frappe.get_all(
		"Flow Template",
		filters={"enabled": 1, "trigger_event": "cron"},
		fields=["name", "cron", "last_cron_run", "creation"],
	)
	for tpl in templates:
		if not tpl.cron or not croniter.is_valid(tpl.cron):
			continue
		since = get_datetime(tpl.last_cron_run or tpl.creation)
		slot = croniter(tpl.cron, since).get_next(type(now))
		if slot > now:
			continue
		frappe.db.set_value("Flow Template", tpl.name, "last_cron_run", now, update_modified=False)
		frappe.enqueue(
			"gigafibre_fsm.flows.jobs.run_cron_template",
			queue="long",
			timeout=3600,
			job_id=f"gigafibre_fsm:flow_cron:{tpl.name}:{slot.isoformat()}",
			deduplicate=True,
			enqueue_after_commit=True,
			template=tpl.name,
			slot=slot.isoformat(),
		)


def run_cron_template(template: str, slot: str, page_size: int = 500):
	"""Start the template for every document of its applies_to that meets its condition.

	One run per (template, document, slot): a repeated slot starts nothing new.
	"""
	from gigafibre_fsm.flows import start_matching

	tpl = frappe.get_doc("Flow Template", template)
	start = 0
	while True:
		names = frappe.get_all(
			tpl.applies_to, pluck="name", order_by="name", start=start, page_length=page_size
		)
		if not names:
			break
		for name in names:
			start_matching(tpl, frappe.get_doc(tpl.applies_to, name), "cron", occurrence=slot)
		frappe.db.commit()  # a long job: keep what is done if a later page fails
		start += page_size
