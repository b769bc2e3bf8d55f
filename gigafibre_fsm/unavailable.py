"""The database or Redis unreachable: a clean answer the sender retries, never a traceback.

Inbound webhooks (DocuSeal, Twilio, 3CX, Uptime-Kuma, Stripe) are called by machines that
retry a failed delivery. While the database or Redis is down (a restart, a failover) a
webhook must fail cleanly: ``webhook`` answers HTTP 503 "Service temporarily unavailable"
(exception type ``ServiceUnavailable``) and never puts a traceback in the body, whatever
System Settings' "Show Full Error" says (the body goes to an outside system).
``is_unavailable`` tells such an error from a bug; scripts/chaos-services.py proves it by
stopping the services while the site works.
"""

from __future__ import annotations

from functools import wraps

import frappe
from frappe import _

LOG = "gigafibre_fsm.webhooks"
# MySQL/MariaDB client and server errors that mean "no usable connection": can't connect
# (2002, 2003), server gone or lost during a query (2006, 2013), lost while reading (2055),
# server shutting down (1053), connection killed (1927), too many connections (1040).
MYSQL_CONNECTION_ERRORS = frozenset({1040, 1053, 1927, 2002, 2003, 2006, 2013, 2055})


class ServiceUnavailable(frappe.ValidationError):
	"""The database or Redis cannot be reached right now: HTTP 503, try again later."""

	http_status_code = 503


def _is_unavailable_one(e: BaseException) -> bool:
	import redis

	if isinstance(e, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
		return True
	try:
		import pymysql

		if isinstance(e, pymysql.err.InterfaceError):
			return True
		if isinstance(e, pymysql.err.OperationalError):
			return bool(e.args) and e.args[0] in MYSQL_CONNECTION_ERRORS
	except ImportError:  # pragma: no cover - a PostgreSQL-only bench
		pass
	try:
		import psycopg2
		from psycopg2 import extensions as pg

		if isinstance(e, psycopg2.InterfaceError):
			return True
		# serialization failures, deadlocks and statement timeouts are OperationalErrors too,
		# and not outages; a lost or refused connection has no SQLSTATE or a class 08 / 57P one
		if isinstance(e, psycopg2.OperationalError) and not isinstance(
			e, pg.TransactionRollbackError | pg.QueryCanceledError
		):
			code = getattr(e, "pgcode", None) or ""
			return not code or code.startswith(("08", "57P"))
	except ImportError:  # pragma: no cover - a MariaDB-only bench
		pass
	return False


def is_unavailable(e: BaseException) -> bool:
	"""Whether ``e`` (or what caused it) says the database or Redis is unreachable."""
	seen = 0
	while e is not None and seen < 8:
		if _is_unavailable_one(e):
			return True
		e = e.__cause__ or e.__context__
		seen += 1
	return False


def webhook(fn):
	"""Decorator of an inbound webhook, placed under ``@frappe.whitelist`` and above
	``@rate_limit`` (whose counter lives in Redis): no traceback in any error answer, and
	a 503 ``ServiceUnavailable`` when the database or Redis is unreachable."""

	@wraps(fn)
	def wrapper(*args, **kwargs):
		frappe.local.flags.disable_traceback = True
		try:
			return fn(*args, **kwargs)
		except Exception as e:
			if not is_unavailable(e):
				raise
			try:
				frappe.logger(LOG).warning(
					{"event": "service_unavailable", "error": f"{type(e).__name__}: {str(e)[:200]}"}
				)
			except Exception:
				pass  # the log must not turn a clean answer into another error
			frappe.clear_messages()
			frappe.throw(_("Service temporarily unavailable, please try again later"), ServiceUnavailable)

	return wrapper
