"""Batch advance jobs: the tick's and the waker's runs, several per job, each on its own.

The batch job's payload is executed here as the worker would (``jobs.advance_runs`` with
the job's own kwargs); it commits per run (a job entry): records are uniquely named and
the jobs and markers made are removed.
"""

from datetime import datetime, timedelta

import frappe
from frappe.utils.background_jobs import get_queue
from rq.job import JobStatus
from rq.registry import StartedJobRegistry

from gigafibre_fsm.flows import batches, jobs, runtime
from gigafibre_fsm.test_utils import drop_flow_jobs, flow_jobs_in_queue, make_template, step
from gigafibre_fsm.testing import IntegrationTestCase


class TestBatchAdvance(IntegrationTestCase):
	def setUp(self):
		super().setUp()
		keys = ("gigafibre_flow_lock_seconds", "gigafibre_flow_queue", "gigafibre_flow_batch_size")
		self.old_conf = {k: frappe.local.conf.get(k) for k in keys}
		frappe.local.conf["gigafibre_flow_lock_seconds"] = 3
		frappe.local.conf["gigafibre_flow_queue"] = "default"
		frappe.local.flags.pop("gigafibre_runs_enqueued", None)

	def tearDown(self):
		for k, v in self.old_conf.items():
			if v is None:
				frappe.local.conf.pop(k, None)
			else:
				frappe.local.conf[k] = v
		super().tearDown()

	def new_run(self, description: str = "batch") -> tuple[str, str]:
		"""A Pending run of one create_todo step on a fresh ToDo: (run, the ToDo)."""
		tpl = make_template([step("s1", "create_todo", {"description": description})])
		todo = frappe.get_doc({"doctype": "ToDo", "description": "flow batch"}).insert(
			ignore_permissions=True
		)
		run = runtime.start_run(tpl.name, "ToDo", todo.name, enqueue=False)
		frappe.db.commit()
		self.addCleanup(drop_flow_jobs, run)
		return run, todo.name

	def enqueue(self, runs: list[str]):
		jobs.enqueue_many(runs)
		frappe.db.commit()  # pushed after commit

	def test_one_job_advances_its_runs_and_a_failure_or_a_busy_run_stops_nothing(self):
		first, first_todo = self.new_run("first")
		broken, broken_todo = self.new_run("broken")
		busy, _ = self.new_run("busy")
		last, last_todo = self.new_run("last")
		frappe.db.delete("ToDo", {"name": broken_todo})  # its advance raises
		frappe.db.commit()
		runs = [first, broken, busy, last]
		self.enqueue(runs)
		job = batches.batch_of(first)
		self.assertEqual(job.kwargs["kwargs"]["runs"], runs, "one job holds the four runs")
		self.assertEqual([batches.batch_of(r).id for r in runs], [job.id] * 4)

		holder = runtime._lock(busy, 30)  # another executor holds this run
		self.assertTrue(holder.acquire(blocking=False))
		self.addCleanup(holder.release)
		get_queue("default").remove(job)  # a worker takes it
		counts = jobs.advance_runs(**job.kwargs["kwargs"])

		self.assertEqual(counts, {"Completed": 2, "error": 1, "skipped": 1})
		status = {r: frappe.db.get_value("Flow Run", r, "status") for r in runs}
		self.assertEqual(status, {first: "Completed", broken: "Pending", busy: "Pending", last: "Completed"})
		for todo in (first_todo, last_todo):  # each step ran once
			self.assertEqual(frappe.db.count("ToDo", {"reference_type": "ToDo", "reference_name": todo}), 1)
		self.assertTrue(
			frappe.db.exists("Error Log", {"reference_doctype": "Flow Run", "reference_name": broken})
		)
		self.assertEqual([batches.batch_of(r) for r in runs], [None] * 4, "each marker cleared")

		self.enqueue([busy])  # done with its batch: a later pass enqueues it again
		self.assertEqual(len(flow_jobs_in_queue(busy)), 1)
		self.assertNotEqual(batches.batch_of(busy).id, job.id)

	def test_runs_are_batched_by_the_configured_size_and_not_enqueued_twice(self):
		frappe.local.conf["gigafibre_flow_batch_size"] = 2
		runs = [self.new_run()[0] for _ in range(5)]
		self.enqueue(runs[:3])
		self.enqueue(runs)  # the first three have a live (queued) batch
		held = [batches.batch_of(r).kwargs["kwargs"]["runs"] for r in runs]
		self.assertEqual(held, [runs[:2], runs[:2], runs[2:3], runs[3:], runs[3:]])
		for run in runs:
			self.assertEqual(len(flow_jobs_in_queue(run)), 1, run)

	def test_a_killed_batch_jobs_runs_are_enqueued_again(self):
		a, _ = self.new_run()
		b, _ = self.new_run()
		self.enqueue([a, b])
		job = batches.batch_of(a)
		queue = get_queue("default")
		queue.remove(job)  # popped by a worker that then died mid-batch
		job.set_status(JobStatus.STARTED)
		job.started_at = datetime.utcnow() - timedelta(seconds=10)  # RQ keeps naive UTC
		StartedJobRegistry(queue=queue).add(job, 600)
		job.save()

		lock = frappe.cache.lock(batches.batch_lock_key(job.id), timeout=30, thread_local=False)
		self.assertTrue(lock.acquire(blocking=False))  # a live batch: left alone
		self.enqueue([a, b])
		self.assertEqual(batches.batch_of(a).id, job.id)
		self.assertEqual(flow_jobs_in_queue(a), [])
		lock.release()  # its worker died: the lock lapsed

		frappe.local.flags.pop("gigafibre_runs_enqueued", None)
		self.enqueue([a, b])
		fresh = batches.batch_of(a)
		self.assertNotEqual(fresh.id, job.id)
		self.assertEqual(fresh.kwargs["kwargs"]["runs"], [a, b])
		self.assertEqual(fresh.get_status(), JobStatus.QUEUED)
		self.assertEqual(flow_jobs_in_queue(b), [fresh.id])
		self.assertNotIn(job.id, StartedJobRegistry(queue=queue).get_job_ids(), "the dead job is gone")

		self.assertEqual(jobs.advance_runs(**fresh.kwargs["kwargs"]), {"Completed": 2})
		self.assertEqual(frappe.db.get_value("Flow Run", a, "status"), "Completed")
