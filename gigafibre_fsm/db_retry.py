"""A write that lost a race with another transaction, tried again in a fresh snapshot.

Frappe runs PostgreSQL in REPEATABLE READ: a transaction that locks or updates a row another
transaction changed and committed since its snapshot fails with SQLSTATE 40001 (serialization
failure); two transactions locking rows in opposite orders, 40P01 (deadlock; MariaDB raises
Frappe's QueryDeadlockError). Such a call is safe to make again from the start once its
transaction is rolled back: the new snapshot shows what the other one committed.
"""

from __future__ import annotations

import random
import time

import frappe

SERIALIZATION_FAILURE = "40001"
DEADLOCK = "40P01"


def sqlstate(error: BaseException | None) -> str | None:
	"""The SQLSTATE of a PostgreSQL error (psycopg2 ``pgcode``, psycopg 3 ``sqlstate``), looked
	for through the error's causes, or None."""
	seen = 0
	while error is not None and seen < 10:
		code = getattr(error, "pgcode", None) or getattr(error, "sqlstate", None)
		if code:
			return code
		error, seen = error.__cause__ or error.__context__, seen + 1
	return None


def lost_race(error: BaseException) -> bool:
	return isinstance(error, frappe.QueryDeadlockError) or sqlstate(error) in (
		SERIALIZATION_FAILURE,
		DEADLOCK,
	)


def retrying(fn, *args, attempts: int = 4, **kwargs):
	"""``fn(*args, **kwargs)``, made again (rolled back, after a short random pause) while it
	loses a race, ``attempts`` times at most; the last failure is raised. ``fn`` must be the
	whole of the request's writes: the rollback discards everything since the transaction began."""
	for attempt in range(1, attempts + 1):
		try:
			return fn(*args, **kwargs)
		except Exception as e:
			if attempt == attempts or not lost_race(e):
				raise
			frappe.db.rollback()
			frappe.clear_messages()
			time.sleep(random.uniform(0.02, 0.1) * attempt)
	raise AssertionError("unreachable")
