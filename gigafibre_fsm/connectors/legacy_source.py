"""Read the legacy MariaDB database (``gestionclient``, gigafibre_fsm/legacy/schema.sql).

``connect("mysql://user:pass@host:3306/gestionclient")`` opens it read-only in spirit (nothing
here writes); :func:`stream` yields rows in batches through an unbuffered cursor, so a table of
millions of rows never sits in memory; :func:`money_facts` loads what the money rules of
``core.legacy.reconcile`` need. PyMySQL is Frappe's own MariaDB driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from urllib.parse import unquote, urlparse

from gigafibre_fsm.core.legacy.mapping import cents, legacy_date
from gigafibre_fsm.core.legacy.reconcile import CreditNote, Invoice, Payment

BATCH = 5000


class LegacySourceError(Exception):
	pass


def parse_source(url: str) -> dict:
	"""``mysql://user:password@host:port/database`` → PyMySQL connection arguments."""
	parsed = urlparse(url)
	if parsed.scheme not in ("mysql", "mariadb") or not parsed.path.strip("/"):
		raise LegacySourceError(f"not a mysql://user:pass@host/database URL: {url!r}")
	return {
		"host": parsed.hostname or "127.0.0.1",
		"port": parsed.port or 3306,
		"user": unquote(parsed.username or "root"),
		"password": unquote(parsed.password or ""),
		"database": parsed.path.strip("/"),
	}


def redact(url: str) -> str:
	"""The URL without its password (what the import records as its source)."""
	parsed = urlparse(url)
	if parsed.password:
		netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
		return parsed._replace(netloc=netloc).geturl()
	return url


def connect(url: str):
	import pymysql

	try:
		conn = pymysql.connect(**parse_source(url), charset="utf8mb4", connect_timeout=10, autocommit=True)
	except pymysql.MySQLError as e:
		raise LegacySourceError(f"cannot open the legacy database {redact(url)}: {e}") from e
	with conn.cursor() as cur:
		cur.execute("SET SESSION sql_mode = ''")  # zero dates read back as they are
	return conn


def count(conn, table: str, where: str = "", params: tuple = ()) -> int:
	with conn.cursor() as cur:
		cur.execute(f"SELECT COUNT(*) FROM {table} {where}", params)
		return int(cur.fetchone()[0])


def stream(conn, sql: str, params: tuple = (), batch: int = BATCH) -> Iterator[list[dict]]:
	"""Rows of ``sql`` as lists of dicts, ``batch`` at a time, through an unbuffered cursor
	(the connection is busy until the iteration ends)."""
	import pymysql.cursors

	with conn.cursor(pymysql.cursors.SSDictCursor) as cur:
		cur.execute(sql, params)
		while rows := cur.fetchmany(batch):
			yield rows


def money_facts(conn, today: date) -> dict:
	"""Invoices (type F, not void), credit notes and payments with their allocations, in cents,
	with dates repaired (zero or future → the row's creation date)."""
	invoices: list[Invoice] = []
	credits: list[CreditNote] = []
	void: list[int] = []
	credit_accounts: set[int] = set()
	lines: dict[int, tuple[int, ...]] = {}
	sql = (
		"SELECT i.invoice_id, GROUP_CONCAT(i.amount) AS amounts FROM invoice_item i "
		"JOIN invoice v ON v.id = i.invoice_id WHERE v.type = 'F' AND v.account_id IN "
		"(SELECT DISTINCT account_id FROM invoice WHERE type = 'C') GROUP BY i.invoice_id"
	)
	for rows in stream(conn, sql):
		for r in rows:
			lines[r["invoice_id"]] = tuple(cents(x) for x in (r["amounts"] or "").split(",") if x)
	fields = "id, account_id, type, credit_of, date, date_created, subtotal, total, status"
	for rows in stream(conn, f"SELECT {fields} FROM invoice ORDER BY id"):
		for r in rows:
			when = invoice_date(r, today)
			if r["type"] == "C":
				credit_accounts.add(r["account_id"])
				credits.append(
					CreditNote(
						r["id"],
						r["account_id"],
						when,
						cents(r["total"]),
						cents(r["subtotal"]),
						r["credit_of"],
					)
				)
			elif r["status"] == 9:
				void.append(r["id"])
			else:
				invoices.append(
					Invoice(r["id"], r["account_id"], when, cents(r["total"]), lines.get(r["id"], ()))
				)
	allocations: dict[int, list[tuple[int, int]]] = {}
	for rows in stream(conn, "SELECT payment_id, invoice_id, amount FROM payment_item ORDER BY id"):
		for r in rows:
			allocations.setdefault(r["payment_id"], []).append((r["invoice_id"], cents(r["amount"])))
	payments: list[Payment] = []
	for rows in stream(
		conn, "SELECT id, account_id, amount, method, note, stripe_ref FROM payment ORDER BY id"
	):
		for r in rows:
			payments.append(
				Payment(
					r["id"],
					r["account_id"],
					cents(r["amount"]),
					r["method"],
					r["note"],
					r["stripe_ref"],
					tuple(allocations.pop(r["id"], ())),
				)
			)
	return {"invoices": invoices, "credit_notes": credits, "payments": payments, "void": void}


def invoice_date(row: dict, today: date) -> date:
	"""An invoice's (or payment's) date: its own, else its creation date, else 2012-01-01."""
	created = legacy_date(row.get("date_created"), today=today)
	return legacy_date(row.get("date"), today=today, fallback=created) or created or date(2012, 1, 1)
