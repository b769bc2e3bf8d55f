"""Scheduler and queue entry points of the flow engine.

``tick`` (every minute) only selects: runs whose next wake time is due, by an
indexed query, enqueued in batch jobs of ``batches.batch_size()`` runs (a run that already
has a live job is not enqueued again); and cron templates whose slot has come. The work
happens in ``advance_runs`` (batches) and ``advance_run`` (one run, right after an event) jobs.
"""

from __future__ import annotations

import frappe
from croniter import croniter
from frappe.utils import get_datetime, now_datetime

from gigafibre_fsm.flows import batches, runtime

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
	default 600 s); one whose job (single or batch) is still queued or held by a live worker is
	not enqueued twice.
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
	"""Scheduler entry: enqueue the due and stalled runs in batch jobs. Returns how many were
	selected.

	A run whose job (single or batch) RQ still lists but whose worker died (see
	runtime.job_is_dead) is enqueued again: a killed worker delays a run by about a lock
	lifetime, not until RQ cleans up.
	"""
	names = list(dict.fromkeys(due_runs(now) + stalled_runs()))
	enqueue_many(names)
	start_cron_templates(now)
	return len(names)


def enqueue_many(runs: list[str]) -> None:
	"""After commit, the runs without a live job in batch jobs (see flows.batches)."""
	batches.enqueue_many(runs)


def advance_run(run: str):
	"""Queue entry: advance one run (see runtime.advance_run)."""
	runtime.advance_run(run)


def advance_runs(runs: list[str], batch: str | None = None) -> dict:
	"""Queue entry: advance a batch of runs, each under its own locks (see flows.batches)."""
	return batches.advance_runs(runs, batch)


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
