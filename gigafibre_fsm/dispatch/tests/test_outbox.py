"""The technician SMS outbox when workers die: nothing lost, nothing sent twice.

Deterministic cases leave the Redis marks a killed worker would leave; the last test
runs real RQ workers of the site (gigafibre_fsm.flows.chaos.Workers) and SIGKILLs their
work-horses while they talk to the fake Twilio (gigafibre_fsm.fakepeers.twilio, a local
HTTP server speaking Twilio's Messages API), which records each message before it answers.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from pathlib import Path

import frappe
from frappe.utils import add_to_date, now_datetime

from gigafibre_fsm.dispatch import notify
from gigafibre_fsm.fakepeers.twilio import FakeTwilio
from gigafibre_fsm.flows.chaos import Workers
from gigafibre_fsm.test_utils import make_technician, settings_for_update, unique, use_fake_twilio
from gigafibre_fsm.testing import IntegrationTestCase

TWILIO_FIELDS = ("twilio_account_sid", "twilio_from_number", "twilio_api_base")


def _age(name: str, seconds: int) -> None:
	frappe.db.set_value(
		notify.DOCTYPE,
		name,
		"modified",
		add_to_date(now_datetime(), seconds=-seconds),
		update_modified=False,
	)


class TestOutbox(IntegrationTestCase):
	def setUp(self):
		self.peer = FakeTwilio().start()
		self.addCleanup(self.peer.stop)
		use_fake_twilio(self.peer)
		self.tech = make_technician(phone="+15145550123")
		self.enqueued: list[str] = []
		self._enqueue = notify._enqueue
		notify._enqueue = lambda name, after_commit=False: self.enqueued.append(name)
		self.addCleanup(setattr, notify, "_enqueue", self._enqueue)

	def queued(self, body="Travail demain 9 h") -> str:
		name = notify.queue(self.tech.name, "Assignment", f"{body} {unique('n')}")
		self.addCleanup(frappe.cache.delete_value, list(notify._marks(name)))
		return name

	def status(self, name):
		return frappe.db.get_value(notify.DOCTYPE, name, ["status", "sid", "error"], as_dict=True)

	def test_a_row_whose_job_was_lost_is_sent_once_by_the_sweeper(self):
		name = self.queued()
		self.enqueued.clear()  # the job never reached Redis (killed after the commit)
		notify.requeue_stalled()
		self.assertNotIn(name, self.enqueued, "a fresh row still has its job coming")
		_age(name, notify.STALLED_SECONDS + 30)
		notify.requeue_stalled()
		self.assertEqual(self.enqueued.count(name), 1)
		self.assertEqual(notify.send(name), "Sent")
		self.enqueued.clear()
		_age(name, notify.STALLED_SECONDS + 30)
		notify.requeue_stalled()
		self.assertNotIn(name, self.enqueued, "a sent row is never enqueued again")
		self.assertEqual(self.status(name).status, "Sent")
		self.assertEqual(len(self.peer.sent), 1)

	def test_a_try_that_finds_the_sid_records_it_without_sending(self):
		name = self.queued()
		sid_key, _inflight = notify._marks(name)
		frappe.cache.set_value(sid_key, "SM" + "a" * 32, expires_in_sec=60)  # Twilio took it, row not saved
		self.assertEqual(notify.send(name), "Sent")
		self.assertEqual(self.status(name).sid, "SM" + "a" * 32)
		self.assertEqual(self.peer.sent, [])

	def test_a_send_cut_during_the_call_fails_visibly_and_a_retry_sends_it(self):
		name = self.queued()
		_sid, inflight_key = notify._marks(name)
		frappe.cache.set_value(inflight_key, 1, expires_in_sec=60)  # killed during the call
		self.assertEqual(notify.send(name), "Failed")
		self.assertIn("may already have been sent", self.status(name).error)
		self.assertEqual(self.peer.sent, [])
		self.assertEqual(notify.send(name), "Failed", "a replay of the job sends nothing either")

		from gigafibre_fsm.api.dispatch import retry_notification

		self.assertEqual(retry_notification(name)["status"], "Queued")
		self.assertEqual(notify.send(name), "Sent")
		self.assertEqual(len(self.peer.sent), 1)
		with self.assertRaises(frappe.ValidationError):
			retry_notification(name)  # only a Failed one is sent again

	def test_a_refused_send_is_failed_and_leaves_no_mark(self):
		from gigafibre_fsm.fakepeers.http import Response

		name = self.queued()
		self.peer.fail_next.append(Response.json({"code": 20003, "message": "down"}, status=503))
		self.assertEqual(notify.send(name), "Failed")
		self.assertEqual(self.peer.sent, [])
		_sid, inflight_key = notify._marks(name)
		self.assertFalse(frappe.cache.get_value(inflight_key, expires=True))


class TestOutboxUnderKills(IntegrationTestCase):
	def test_killed_workers_lose_no_sms_and_send_none_twice(self):
		frappe.db.commit()
		peer = FakeTwilio().start()
		peer.answer_delay = 0.3  # the message is recorded, then the worker waits: kills land there
		settings = settings_for_update()
		old = {f: settings.get(f) for f in TWILIO_FIELDS}
		old_token = settings.get_password("twilio_auth_token", raise_exception=False)
		use_fake_twilio(peer)
		tech = make_technician(phone="+15145550177")
		tag = unique("outbox-chaos")
		names = [notify.queue(tech.name, "Assignment", f"{tag} #{i}") for i in range(16)]
		frappe.db.commit()  # the rows commit, and their jobs go to the short queue
		sites_path = os.path.abspath(frappe.local.sites_path)
		pool = Workers(frappe.local.site, 2, "short", Path(tempfile.mkdtemp(prefix="outbox-")), sites_path)
		kills = 0
		try:
			pool.start()
			deadline = time.monotonic() + 180
			while time.monotonic() < deadline:
				time.sleep(0.5)
				if kills < 6 and pool.kill_horse():
					kills += 1
				notify.requeue_stalled(older_than=3)
				frappe.db.commit()
				rows = frappe.get_all(notify.DOCTYPE, filters={"name": ["in", names]}, pluck="status")
				if all(s in ("Sent", "Failed") for s in rows):
					break
		finally:
			pool.stop()
			peer.stop()
			settings = settings_for_update()
			settings.update(old)
			settings.twilio_auth_token = old_token
			settings.save()
			frappe.db.commit()
		rows = frappe.get_all(
			notify.DOCTYPE, filters={"name": ["in", names]}, fields=["name", "status", "body", "error"]
		)
		per_body = Counter(m["body"] for m in peer.sent if m["body"].startswith(tag))
		try:
			print(
				f"outbox under kills: {kills} kills, {Counter(r.status for r in rows)}, {len(per_body)} bodies"
			)
			self.assertGreater(kills, 0)
			self.assertEqual(sorted(r.status for r in rows if r.status not in ("Sent", "Failed")), [])
			self.assertEqual([b for b, n in per_body.items() if n > 1], [], "an SMS went out twice")
			for row in rows:
				if row.status == "Sent":
					self.assertEqual(per_body[row.body], 1, row)
				else:  # only a send cut during the call may fail here, and it says so
					self.assertIn("may already have been sent", row.error, row)
		finally:
			for row in rows:
				frappe.cache.delete_value(list(notify._marks(row.name)))
				frappe.delete_doc(notify.DOCTYPE, row.name, force=True, ignore_permissions=True)
			frappe.delete_doc("Technician", tech.name, force=True, ignore_permissions=True)
			frappe.db.commit()
