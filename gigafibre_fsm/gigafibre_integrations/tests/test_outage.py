"""Redis or the database unreachable: a webhook answers a clean 503 and stores nothing, the
SMS step of a flow sends nothing it could not protect, and an inbound SMS is never answered
"duplicate" while it is not stored.

Nobody's Redis or database is stopped here: for a test, ``frappe.cache`` is swapped for a real
Redis client of Frappe's own class pointed at a loopback port where nothing listens (as after
Redis went away), and the database errors come from real client connections to such a port.
scripts/chaos-services.py stops real (private) services while the site works.
"""

from __future__ import annotations

from contextlib import contextmanager

import frappe
import pymysql
import redis
from frappe.utils.redis_wrapper import RedisWrapper

from gigafibre_fsm import unavailable
from gigafibre_fsm.api import webhooks
from gigafibre_fsm.exceptions import ConflictError
from gigafibre_fsm.flows import kinds
from gigafibre_fsm.gigafibre_integrations import sms
from gigafibre_fsm.gigafibre_integrations.tests.comms_case import HOST, SMS_PATH, CommsCase, fake_request
from gigafibre_fsm.test_utils import random_phone, unique
from gigafibre_fsm.testing_http import free_port


@contextmanager
def redis_gone():
	"""``frappe.cache`` is a client of a Redis that is not there, until the block ends."""
	before = frappe.cache
	frappe.cache = RedisWrapper.from_url(f"redis://127.0.0.1:{free_port()}")
	try:
		yield
	finally:
		frappe.cache = before


class TestUnavailable(CommsCase):
	def setUp(self):
		super().setUp()
		self.addCleanup(frappe.local.flags.pop, "disable_traceback", None)

	def post_sms(self, params: dict):
		fake_request(
			SMS_PATH, params, headers={"X-Twilio-Signature": self.twilio.sign(HOST + SMS_PATH, params)}
		)
		return webhooks.twilio_sms()

	def sms_params(self, body: str = "Internet coupé") -> dict:
		params = self.twilio.sms_params(random_phone(), body)
		params["SmsSid"] = params["MessageSid"] = params["SmsMessageSid"]
		return params

	def test_outage_errors_are_told_from_bugs(self):
		with self.assertRaises(redis.exceptions.ConnectionError) as gone:
			RedisWrapper.from_url(f"redis://127.0.0.1:{free_port()}").ping()
		self.assertTrue(unavailable.is_unavailable(gone.exception))
		with self.assertRaises(pymysql.err.OperationalError) as refused:
			pymysql.connect(host="127.0.0.1", port=free_port(), user="x", password="x", connect_timeout=10)
		self.assertTrue(unavailable.is_unavailable(refused.exception))
		try:
			raise frappe.ValidationError("wrapped") from gone.exception
		except frappe.ValidationError as wrapped:
			self.assertTrue(unavailable.is_unavailable(wrapped))
		self.assertFalse(unavailable.is_unavailable(frappe.ValidationError("a bug")))
		self.assertFalse(unavailable.is_unavailable(pymysql.err.OperationalError(1213, "Deadlock found")))
		try:
			import psycopg2
		except ImportError:
			return
		with self.assertRaises(psycopg2.OperationalError) as pg_refused:
			psycopg2.connect(host="127.0.0.1", port=free_port(), user="x", connect_timeout=10)
		self.assertTrue(unavailable.is_unavailable(pg_refused.exception))
		self.assertFalse(unavailable.is_unavailable(psycopg2.errors.SerializationFailure("retry me")))

	def test_an_sms_while_redis_is_gone_is_a_503_without_traceback_then_its_retry_is_stored_once(self):
		params = self.sms_params()
		with redis_gone(), self.assertRaises(unavailable.ServiceUnavailable) as refused:
			self.post_sms(params)
		self.assertEqual(refused.exception.http_status_code, 503)
		self.assertTrue(frappe.local.flags.disable_traceback)
		self.assertFalse(sms.received(params["MessageSid"]))

		self.post_sms(params)  # Twilio's retry, Redis back
		self.post_sms(params)
		self.assertEqual(
			frappe.db.count(
				"Communication", {"message_id": params["MessageSid"], "communication_medium": "SMS"}
			),
			1,
		)

	def test_a_held_claim_is_not_answered_as_a_duplicate(self):
		"""A claim left by a request that died storing the message (its rollback failed with the
		database): the retry is told to try again, never "duplicate" for a message not stored."""
		params = self.sms_params()
		claim = frappe.cache.make_key(f"gigafibre_fsm:twilio_sms:{params['MessageSid']}")
		frappe.cache.set(claim, 1, ex=60)
		self.addCleanup(frappe.cache.delete, claim)
		with self.assertRaises(ConflictError):
			self.post_sms(params)
		self.assertFalse(sms.received(params["MessageSid"]))
		frappe.cache.delete(claim)  # it expires (CLAIM_SECONDS at most)
		self.post_sms(params)
		self.assertTrue(sms.received(params["MessageSid"]))
		self.assertLessEqual(frappe.cache.ttl(claim), sms.CLAIM_SECONDS)
		self.post_sms(params)  # the stored message answers the next delivery
		self.assertEqual(
			frappe.db.count(
				"Communication", {"message_id": params["MessageSid"], "communication_medium": "SMS"}
			),
			1,
		)

	def test_the_sms_step_mark_says_when_redis_is_gone(self):
		key = f"gigafibre_fsm:test_mark:{unique('m')}"
		self.addCleanup(frappe.cache.delete_value, key)
		with redis_gone():
			self.assertFalse(kinds._mark(key))
		self.assertIsNone(frappe.cache.get_value(key, expires=True))
		self.assertTrue(kinds._mark(key))
		self.assertEqual(frappe.cache.get_value(key, expires=True), 1)
