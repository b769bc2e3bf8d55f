"""Recovery of flow runs whose worker was killed: each piece on its own, deterministic.

A killed holder leaves its run lock behind (it lapses within the lock's short lifetime,
while a live holder keeps renewing it), its RQ job listed as started or queued (the tick
drops such a job and enqueues the run again) and side effects already sent for a step
attempt whose run was never saved (the replay finds them in the cache, sends nothing).

advance_run commits (it is a job entry): these tests create uniquely named records.
"""

import json
import time
from datetime import datetime, timedelta

import frappe
from frappe.utils import add_to_date, now_datetime
from frappe.utils.background_jobs import create_job_id, get_job, get_queue
from rq.job import JobStatus
from rq.registry import StartedJobRegistry

from gigafibre_fsm.fakepeers.twilio import FakeTwilio
from gigafibre_fsm.flows import batches, jobs, runtime
from gigafibre_fsm.flows.chaos import CountingHook
from gigafibre_fsm.test_utils import drop_flow_jobs, flow_jobs_in_queue, make_template, step, use_fake_twilio
from gigafibre_fsm.testing import IntegrationTestCase


def utcnow() -> datetime:
	return datetime.utcnow()  # RQ keeps naive UTC times


class TestRunRecovery(IntegrationTestCase):
	def setUp(self):
		super().setUp()
		keys = ("gigafibre_flow_lock_seconds", "gigafibre_flow_queue")
		self.old_conf = {k: frappe.local.conf.get(k) for k in keys}
		frappe.local.conf["gigafibre_flow_lock_seconds"] = 3
		frappe.local.conf["gigafibre_flow_queue"] = "default"  # whatever the site config says

	def tearDown(self):
		for k, v in self.old_conf.items():
			if v is None:
				frappe.local.conf.pop(k, None)
			else:
				frappe.local.conf[k] = v
		super().tearDown()

	def new_run(self, steps=None) -> str:
		tpl = make_template(steps or [step("s1", "create_todo", {"description": "recovery"})])
		todo = frappe.get_doc({"doctype": "ToDo", "description": "flow recovery"}).insert(
			ignore_permissions=True
		)
		run = runtime.start_run(tpl.name, "ToDo", todo.name, enqueue=False)
		frappe.db.commit()
		return run

	def test_a_live_holder_keeps_the_lock_a_dead_one_lets_it_lapse(self):
		name = f"hb-{frappe.generate_hash(length=8)}"
		lock = runtime._lock(name, 3)
		self.assertTrue(lock.acquire(blocking=False))
		beat = runtime._Heartbeat(lock, 3)
		beat.start()
		time.sleep(4.5)  # longer than the lock's lifetime: the heartbeat renewed it
		self.assertTrue(runtime.run_lock_held(name))
		self.assertFalse(beat.lost)
		beat.stop()  # the holder "dies": no more renewals, no release
		deadline = time.monotonic() + 10
		while runtime.run_lock_held(name) and time.monotonic() < deadline:
			time.sleep(0.2)
		self.assertFalse(runtime.run_lock_held(name))

	def test_a_stale_lock_of_a_dead_holder_does_not_block_the_run(self):
		run = self.new_run()
		dead = runtime._lock(run, 3)
		self.assertTrue(dead.acquire(blocking=False))  # taken, never renewed nor released
		started = time.monotonic()
		self.assertEqual(runtime.advance_run(run), "Completed")
		frappe.db.commit()
		self.assertLess(time.monotonic() - started, 15)  # lapsed after ~3 s, not 300

	def test_a_started_job_whose_worker_died_is_enqueued_again(self):
		run = self.new_run()
		job = self.orphan_job(run, JobStatus.STARTED, started=utcnow() - timedelta(seconds=10))
		self.assertTrue(frappe.utils.background_jobs.is_job_enqueued(runtime.job_id(run)))

		held = runtime._lock(run, 3)
		self.assertTrue(held.acquire(blocking=False))  # a live executor: left alone
		self.assertIsNone(runtime.dead_job(run))
		held.release()
		self.assertEqual(runtime.dead_job(run).id, job.id)

		runtime.enqueue_advance(run, recover=True)
		frappe.db.commit()  # the job is enqueued after commit
		fresh = get_job(runtime.job_id(run))
		self.assertEqual(fresh.get_status(), JobStatus.QUEUED)
		self.assertIsNotNone(fresh.connection.lpos(f"rq:queue:{fresh.origin}", fresh.id))
		self.assertNotIn(fresh.id, StartedJobRegistry(queue=get_queue("default")).get_job_ids())
		self.addCleanup(fresh.delete)

	def test_a_job_that_just_started_is_not_taken_for_dead(self):
		run = self.new_run()
		self.orphan_job(run, JobStatus.STARTED, started=utcnow())
		self.assertIsNone(runtime.dead_job(run))  # it may be about to take the lock

	def test_a_queued_job_popped_by_a_dead_worker_is_enqueued_again(self):
		run = self.new_run()
		job = self.orphan_job(run, JobStatus.QUEUED, enqueued=utcnow() - timedelta(seconds=10))
		self.assertEqual(runtime.dead_job(run).id, job.id)
		self.assertTrue(runtime.drop_dead_job(run))
		self.assertIsNone(get_job(runtime.job_id(run)))

	def test_the_ticks_batch_keeps_live_jobs_and_replaces_dead_and_finished_ones(self):
		live_started, dead_started, live_queued, lost_queued, finished, none = (
			self.new_run() for _ in range(6)
		)
		self.orphan_job(live_started, JobStatus.STARTED, started=utcnow() - timedelta(seconds=10))
		held = runtime._lock(live_started, 30)
		self.assertTrue(held.acquire(blocking=False))
		self.addCleanup(held.release)
		dead = self.orphan_job(dead_started, JobStatus.STARTED, started=utcnow() - timedelta(seconds=10))
		waiting = get_queue("default").enqueue_call(
			"frappe.utils.background_jobs.execute_job",
			kwargs={"site": frappe.local.site, "method": "gigafibre_fsm.flows.jobs.advance_run"},
			job_id=create_job_id(runtime.job_id(live_queued)),
		)
		self.addCleanup(self.drop, live_queued)
		lost = self.orphan_job(lost_queued, JobStatus.QUEUED, enqueued=utcnow() - timedelta(seconds=10))
		done = self.orphan_job(finished, JobStatus.FINISHED)
		self.addCleanup(self.drop, none)
		runs = [live_started, dead_started, live_queued, lost_queued, finished, none]

		jobs.enqueue_many([*runs, none])  # a run named twice is enqueued once
		self.assertIsNone(batches.batch_of(none), "nothing is enqueued before the commit")
		frappe.db.commit()

		self.assertEqual(get_job(runtime.job_id(live_started)).get_status(), JobStatus.STARTED, "left alone")
		self.assertEqual(get_job(runtime.job_id(live_queued)).enqueued_at, waiting.enqueued_at)
		for run in (live_started, live_queued):
			self.assertIsNone(batches.batch_of(run), f"{run}: a live job is not doubled")
		again = [dead_started, lost_queued, finished, none]
		batch = batches.batch_of(none)
		self.assertEqual(batch.get_status(), JobStatus.QUEUED)
		self.assertEqual(batch.kwargs["method"], "gigafibre_fsm.flows.jobs.advance_runs")
		self.assertEqual(batch.kwargs["kwargs"]["runs"], again, "one batch job for the four")
		for run in again:
			self.assertEqual(flow_jobs_in_queue(run), [batch.id], run)
			self.assertIsNone(get_job(runtime.job_id(run)), f"{run}: its old job was dropped")
		for run in again:
			self.addCleanup(drop_flow_jobs, run)
		self.assertNotIn(dead.id, StartedJobRegistry(queue=get_queue("default")).get_job_ids())
		for old in (lost, done):
			self.assertNotIn(old.id, get_queue("default").get_job_ids())

	def test_a_run_enqueued_in_a_rolled_back_transaction_is_enqueued_again_in_the_next(self):
		# A retried request (db_retry) or a test rolls back; the naming series then gives the
		# same run name again, and its job must be pushed this time.
		run = self.new_run()
		self.addCleanup(self.drop, run)
		self.addCleanup(drop_flow_jobs, run)
		runtime.enqueue_advance(run)
		jobs.enqueue_many([run])  # twice in one transaction: one job
		frappe.db.rollback()
		self.assertEqual(flow_jobs_in_queue(run), [], "a rolled-back transaction enqueues nothing")
		jobs.enqueue_many([run])
		runtime.enqueue_advance(run)
		frappe.db.commit()
		self.assertEqual(flow_jobs_in_queue(run), [batches.batch_of(run).id])

	def test_the_tick_picks_up_a_stalled_run_after_the_configured_time(self):
		run = self.new_run()
		frappe.local.conf["gigafibre_flow_stall_seconds"] = 30
		self.addCleanup(frappe.local.conf.pop, "gigafibre_flow_stall_seconds", None)
		self.assertNotIn(run, jobs.stalled_runs(limit=100000))
		old = add_to_date(now_datetime(), seconds=-31)
		frappe.db.set_value("Flow Run", run, "modified", old, update_modified=False)
		self.assertIn(run, jobs.stalled_runs(limit=100000))

	def test_a_replay_after_a_crash_before_the_save_sends_nothing_twice(self):
		hook = CountingHook().start()
		self.addCleanup(hook.stop)
		twilio = FakeTwilio().start()
		self.addCleanup(twilio.stop)
		use_fake_twilio(twilio)
		run = self.new_run(
			[
				step("s1", "webhook", {"url": hook.url + "/hook"}),
				step("s2", "send_sms", {"to": "+15145550199", "body": "replay {{run.name}}"}, deps=["s1"]),
			]
		)
		self.assertEqual(runtime.advance_run(run), "Completed")
		frappe.db.rollback()  # the worker died before its commit: the run was never saved
		self.assertEqual(frappe.db.get_value("Flow Run", run, "status"), "Pending")
		self.assertEqual(runtime.advance_run(run), "Completed")
		frappe.db.commit()
		self.assertEqual([k for k, _, _ in hook.deliveries], [f"{run}:s1:1"])
		self.assertEqual([m["body"] for m in twilio.sent], [f"replay {run}"])
		outputs = {r.step_id: json.loads(r.output) for r in frappe.get_doc("Flow Run", run).steps}
		self.assertTrue(outputs["s1"]["replayed"])
		self.assertTrue(outputs["s2"]["replayed"])
		self.assertEqual(outputs["s2"]["sid"], twilio.sent[0]["sid"])

	def test_an_sms_cut_off_during_the_call_is_not_sent_again_but_fails_visibly(self):
		twilio = FakeTwilio().start()
		self.addCleanup(twilio.stop)
		use_fake_twilio(twilio)
		run = self.new_run([step("s1", "send_sms", {"to": "+15145550199", "body": "cut {{run.name}}"})])
		# what a worker killed between "in flight" and Twilio's answer leaves behind
		frappe.cache.set_value(f"gigafibre_fsm:flow_sms_inflight:{run}:s1:1", 1, expires_in_sec=600)
		self.assertEqual(runtime.advance_run(run), "Failed")
		frappe.db.commit()
		self.assertEqual(twilio.sent, [])
		self.assertIn("Twilio", frappe.db.get_value("Flow Run", run, "error"))
		self.assertEqual(runtime.retry_run(run), "Running")  # the operator decides to send it
		frappe.db.commit()
		self.assertEqual(runtime.advance_run(run), "Completed")
		frappe.db.commit()
		self.assertEqual([m["body"] for m in twilio.sent], [f"cut {run}"])

	def orphan_job(self, run: str, status, *, started=None, enqueued=None):
		"""The run's RQ job as a worker killed with SIGKILL leaves it: listed, never finished."""
		queue = get_queue("default")
		job = queue.enqueue_call(
			"frappe.utils.background_jobs.execute_job",
			kwargs={"site": frappe.local.site, "method": "gigafibre_fsm.flows.jobs.advance_run"},
			job_id=create_job_id(runtime.job_id(run)),
		)
		queue.remove(job)  # popped by the worker that then died
		job.set_status(status)
		if enqueued:
			job.enqueued_at = enqueued
		if started:
			job.started_at = started
			StartedJobRegistry(queue=queue).add(job, 600)
		job.save()
		self.addCleanup(self.drop, run)
		return job

	@staticmethod
	def drop(run: str):
		job = get_job(runtime.job_id(run))
		if job:
			job.delete()
