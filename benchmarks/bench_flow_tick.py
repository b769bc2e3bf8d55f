"""One flow tick selecting and enqueueing 10,000 due runs, in a real bench.

Run with the bench's Python from its sites folder:

    cd ~/frappe-bench/sites && ../env/bin/python /path/to/repo/benchmarks/bench_flow_tick.py test_site [N]

It bulk-inserts N Flow Runs in Waiting whose next_wake_at is past, then times
``gigafibre_fsm.flows.jobs.due_runs`` (the indexed selection) and ``tick`` plus
the commit that actually pushes the jobs to Redis (enqueue_after_commit), then
a second tick (every run already in a queued batch job: deduplicated), then the same runs enqueued one
at a time (``runtime.enqueue_advance``, the tick's path before its batch). It prints the plan of the
selection query and removes its runs and their queued jobs afterwards.
"""

from __future__ import annotations

import sys
import time

import frappe
from frappe.utils import add_to_date, now_datetime


def _delete_jobs(rows) -> None:
	from gigafibre_fsm.flows.batches import drop_jobs

	drop_jobs([name for name, *_ in rows])


def main(site: str, n: int) -> None:
	frappe.init(site=site)
	frappe.connect()
	from frappe.utils.background_jobs import get_queue

	from gigafibre_fsm.flows import jobs

	template = frappe.get_all("Flow Template", pluck="name", limit=1)[0]
	prefix = f"BENCH-{frappe.generate_hash(length=6)}"
	now = now_datetime()
	due = add_to_date(now, minutes=-1)
	fields = [
		"name",
		"template",
		"template_version",
		"status",
		"next_wake_at",
		"reference_doctype",
		"reference_name",
		"trigger_key",
		"creation",
		"modified",
		"owner",
		"modified_by",
	]
	rows = [
		(
			f"{prefix}-{i:05d}",
			template,
			1,
			"Waiting",
			due,
			"Customer",
			"bench",
			f"{prefix}-{i}",
			now,
			now,
			"Administrator",
			"Administrator",
		)
		for i in range(n)
	]
	started = time.perf_counter()
	frappe.db.bulk_insert("Flow Run", fields, rows)
	frappe.db.commit()
	print(f"inserted {n} waiting runs in {time.perf_counter() - started:.2f} s")
	try:
		run = frappe.qb.DocType("Flow Run")
		query = (
			frappe.qb.from_(run).select(run.name).where((run.status == "Waiting") & (run.next_wake_at <= now))
		)
		print("plan:", frappe.db.sql(f"EXPLAIN {query.get_sql()}", as_dict=True))

		started = time.perf_counter()
		selected = jobs.due_runs()
		select_s = time.perf_counter() - started

		queue = get_queue("default")
		before = queue.count
		started = time.perf_counter()
		jobs.tick()
		frappe.db.commit()  # enqueue_after_commit: the jobs reach Redis here
		tick_s = time.perf_counter() - started
		enqueued = queue.count - before

		started = time.perf_counter()
		jobs.tick()
		frappe.db.commit()
		again_s = time.perf_counter() - started
		again = queue.count - before - enqueued

		print(f"due_runs selected {len(selected)} runs in {select_s * 1000:.0f} ms")
		print(
			f"tick + commit enqueued {len(selected)} runs in {enqueued} batch jobs in {tick_s:.2f} s "
			f"({len(selected) / tick_s:,.0f} runs/s)"
		)
		print(f"second tick: {again} new jobs (deduplicated) in {again_s:.2f} s")

		# the same runs through the one-run-at-a-time path (what the tick did before its batch)
		_delete_jobs(rows)
		frappe.local.flags.pop("gigafibre_runs_enqueued", None)
		from gigafibre_fsm.flows import runtime

		started = time.perf_counter()
		for name in selected:
			runtime.enqueue_advance(name, recover=True)
		frappe.db.commit()
		single_s = time.perf_counter() - started
		print(
			f"one run at a time (enqueue_advance): {len(selected)} jobs in {single_s:.2f} s; "
			f"the batch takes {tick_s / single_s:.2f}x that"
		)
	finally:
		_delete_jobs(rows)
		frappe.db.delete("Flow Run", {"name": ("like", f"{prefix}-%")})
		frappe.db.commit()
		frappe.destroy()


if __name__ == "__main__":
	main(sys.argv[1] if len(sys.argv) > 1 else "test_site", int(sys.argv[2]) if len(sys.argv) > 2 else 10_000)
