"""The flow waker: a pass enqueues the runs that fell due in its window, once each.

wake() commits (it stands for a process of its own): these tests create uniquely named
records and remove the jobs they caused.
"""

from datetime import timedelta

import frappe
from frappe.utils import now_datetime

from gigafibre_fsm.flows import jobs, runtime, waker
from gigafibre_fsm.test_utils import drop_flow_jobs, flow_jobs_in_queue, make_template, step
from gigafibre_fsm.testing import IntegrationTestCase


class TestFlowWaker(IntegrationTestCase):
	def setUp(self):
		super().setUp()
		frappe.local.flags.pop("gigafibre_runs_enqueued", None)
		self.runs = []

	def tearDown(self):
		for run in self.runs:
			drop_flow_jobs(run)
		frappe.local.flags.pop("gigafibre_runs_enqueued", None)
		super().tearDown()

	def waiting_run(self, due_ago: timedelta) -> str:
		"""A run whose one-minute wait fell due ``due_ago`` ago."""
		tpl = make_template([step("w", "wait", {"delay_minutes": 1}), step("d", "wait", {}, deps=["w"])])
		todo = frappe.get_doc({"doctype": "ToDo", "description": "flow waker"}).insert(
			ignore_permissions=True
		)
		run = runtime.start_run(tpl.name, "ToDo", todo.name, enqueue=False)
		self.assertEqual(
			runtime.advance_run(run, now=now_datetime() - timedelta(minutes=1) - due_ago), "Waiting"
		)
		frappe.db.commit()
		self.runs.append(run)
		return run

	def jobs_of(self, run: str) -> int:
		return len(flow_jobs_in_queue(run))

	def test_a_pass_wakes_what_fell_due_since_the_last_one(self):
		old = self.waiting_run(timedelta(minutes=10))
		new = self.waiting_run(timedelta(seconds=5))
		since = now_datetime() - timedelta(seconds=20)
		self.assertIn(new, jobs.due_runs(since=since))
		self.assertNotIn(old, jobs.due_runs(since=since))

		names, now = waker.wake(since)
		self.assertIn(new, names)
		self.assertNotIn(old, names)  # the tick's sweep wakes it
		self.assertEqual(self.jobs_of(new), 1)
		self.assertEqual(self.jobs_of(old), 0)

		names, _ = waker.wake(now)  # the next pass looks back a little: the job is not doubled
		self.assertIn(new, names)
		self.assertEqual(self.jobs_of(new), 1)

		names, _ = waker.wake(None)  # the first pass of a waker: everything due
		self.assertIn(old, names)
		self.assertEqual(self.jobs_of(old), 1)

	def test_the_woken_run_completes_and_leaves_the_window(self):
		run = self.waiting_run(timedelta(seconds=5))
		names, _ = waker.wake(now_datetime() - timedelta(seconds=20))
		self.assertIn(run, names)
		drop_flow_jobs(run)
		self.assertEqual(runtime.advance_run(run), "Completed")
		frappe.db.commit()
		self.assertNotIn(run, jobs.due_runs(since=now_datetime() - timedelta(minutes=5)))
