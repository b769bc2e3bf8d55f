"""Hostile input against every endpoint, over HTTP (gunicorn, 4 workers), as a role the
endpoint lets in and as Guest.

For each role-checked method, a valid call is arranged (``test_api_roles.arrange``), then
each argument in turn is replaced by hostile values (wrong types, empty, huge, unicode,
SQL and HTML fragments, impossible dates, negative and enormous numbers, names of records
that do not exist), left out, or joined by an unknown argument. Guest methods get the
same values in every argument. A call passes when the answer is not a 5xx, and a refusal
is one of the app's 4xx with an exception type and a message, and wrote nothing (the row
counts and last change of the app's doctypes are the same before and after).

``GIGAFIBRE_FUZZ_ROUNDS`` (default 0) adds that many rounds of random combinations (several
arguments spoiled at once, seeded by ``GIGAFIBRE_FUZZ_SEED``) for a larger run.
"""

import inspect
import json
import os
import random

import frappe

from gigafibre_fsm import permissions
from gigafibre_fsm.gigafibre_integrations.tests.test_api_roles import _rows, arrange
from gigafibre_fsm.gigafibre_integrations.tests.test_permissions import endpoints
from gigafibre_fsm.test_utils import make_technician, make_user
from gigafibre_fsm.testing_http import GunicornTestCase

HOSTILE = (
	"",
	" ",
	"garbage",
	"2026-13-45 25:61",
	"[]",
	"{}",
	"null",
	"9" * 400,
	"-1",
	"1e308",
	"' OR 1=1 --",
	"'; DROP TABLE `tabDispatch Job`; --",
	'<script>alert("x")</script>',
	"é\u0301\u202e\uffff🙂",
	"x" * 20000,
	"DJ-99999999",
	"../../etc/passwd",
	-1,
	10**30,
	1e308,
	True,
	[],
	["a", {"b": 1}],
	{"$gt": ""},
)
REFUSALS = {400, 401, 403, 404, 409, 413, 417, 429}


class TestHostileInput(GunicornTestCase):
	@classmethod
	def tearDownClass(cls):
		# The run spends every guest method's per-IP allowance from 127.0.0.1: give it back,
		# so later tests of the public pages (same address) are not refused with 429.
		frappe.cache.delete_keys("rl:")
		super().tearDownClass()

	def caller(self, roles) -> tuple:
		user = make_user(list(roles)).name
		linked = make_technician(user=user).name if permissions.TECHNICIAN in roles else None
		return self.client(user), linked

	def check(self, path: str, client, args: dict, report: dict) -> int:
		"""One call; what is wrong with its answer is collected in ``report["failures"]``."""
		try:
			return self._check(path, client, args, report)
		except AssertionError as e:
			report["failures"].append(str(e)[:2000])
			return 0

	def _check(self, path: str, client, args: dict, report: dict) -> int:
		before = _rows()
		status, body = client.call(path, **args)
		report["calls"] += 1
		case = (path, {k: (str(v)[:60]) for k, v in args.items()})
		self.assertLess(status, 500, (case, str(body)[:1500]))
		if status == 200:
			report["accepted"] += 1
			return status
		report["refused"] += 1
		report["statuses"][status] = report["statuses"].get(status, 0) + 1
		self.assertIn(status, REFUSALS, (case, body))
		self.assertTrue(body.get("exc_type"), (case, body))
		if status not in (404, 429):  # Frappe answers these without a message of its own
			self.assertTrue(body.get("_server_messages") or body.get("message"), (case, body))
		self.assertEqual(_rows(), before, f"{case} was refused but wrote something")
		return status

	def test_no_input_crashes_an_endpoint_or_half_writes(self):
		report = {"calls": 0, "accepted": 0, "refused": 0, "statuses": {}, "endpoints": 0, "failures": []}
		rng = random.Random(int(os.environ.get("GIGAFIBRE_FUZZ_SEED", "7")))
		rounds = int(os.environ.get("GIGAFIBRE_FUZZ_ROUNDS", "0"))
		callers: dict = {}
		guest = self.client(None)
		for path, fn in sorted(endpoints()):
			if "openapi" in path:
				continue
			report["endpoints"] += 1
			roles = getattr(fn, "fsm_roles", None)
			if not roles:
				params = list(inspect.signature(fn).parameters)
				for name in params:
					for value in HOSTILE:
						self.check(path, guest, {p: ("x" if p != name else value) for p in params}, report)
				continue
			role = roles[0]
			if role not in callers:
				callers[role] = self.caller([role])
			client, linked = callers[role]
			method = path.rsplit(".", 1)[1]
			valid = arrange(method, linked or make_technician().name)
			frappe.db.commit()
			for name in valid:
				for value in HOSTILE:
					self.check(path, client, {**valid, name: value}, report)
				self.check(path, client, {k: v for k, v in valid.items() if k != name}, report)
			self.check(path, client, {**valid, "unexpected_argument": "1"}, report)
			# As Guest: the valid call and a few spoiled ones are all refused before anything runs.
			for spoil in (None, *HOSTILE[:4]):
				args = valid if spoil is None else {k: spoil for k in valid}
				status = self.check(path, guest, args, report)
				if status not in (0, 401, 403):
					report["failures"].append(f"{path} as Guest answered {status}")
			for _ in range(rounds):
				spoiled = {k: (rng.choice(HOSTILE) if rng.random() < 0.5 else v) for k, v in valid.items()}
				self.check(path, client, spoiled, report)
		failures = report.pop("failures")
		print(f"\nfuzz over HTTP ({frappe.db.db_type}): {json.dumps(report, sort_keys=True)}")
		self.assertEqual(failures, [], f"{len(failures)} bad answers:\n" + "\n\n".join(failures[:20]))
		self.assertGreater(report["refused"], 500)
