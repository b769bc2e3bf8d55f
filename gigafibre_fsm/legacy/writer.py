"""The money steps' writes, overlapped with the making of the next batch.

A :class:`Writer` owns a second connection to the site's database and a thread. The import hands
it a batch's statements (``bulk.Rows.flush(writer)``) and the checkpoint after that batch
(``Importer.batches_of``); the thread writes the rows, moves the checkpoint of the run and commits
the three in one transaction of its own, while the main thread reads and builds the next batch
(its reads never need the rows being written: a batch's documents only refer to those of earlier
steps, committed before). One batch at a time: handing over the next waits for the previous.

With ``lanes`` > 1, as many batches are written at once on as many connections, committed in
order. So a batch and its checkpoint stay atomic, as without the writer: a run killed at any point
resumes after the last batch the writer committed (a failed batch puts the checkpoint back
before the error is raised). What can differ: the naming series advanced for a batch that was
never committed (a gap in the invoice or payment numbers, as a rolled-back transaction of
ERPNext's own could not leave).
"""

from __future__ import annotations

import os
import tempfile
import threading

import frappe

from gigafibre_fsm.legacy import bulk

LOCK_WAIT_SECONDS = 2  # a lane's statement waits this long for a lock, then asks later batches to yield
LOCK_WAIT_ATTEMPTS = 60  # and is sent again up to this many times (two minutes) before failing
DEADLOCK_ATTEMPTS = 3
DEADLOCK = 1213  # MariaDB: Deadlock found when trying to get lock (the transaction is undone)


def _is_deadlock(error: BaseException) -> bool:
	args = getattr(error, "args", ())
	return bool(args) and args[0] == DEADLOCK


class _Batch:
	def __init__(self, seq: int, lane: int, jobs: list[tuple], checkpoints_json: str, restore: tuple, before):
		self.seq = seq  # its order among the batches handed over
		self.lane, self.jobs, self.checkpoints_json, self.restore = lane, jobs, checkpoints_json, restore
		self.before: _Batch | None = before  # committed before this one may commit
		self.written = threading.Event()  # its rows sent (once), not yet committed
		self.done = threading.Event()
		self.ok = False
		self.error: BaseException | None = None
		self.thread: threading.Thread | None = None


class _Abandoned(Exception):
	"""An earlier batch failed: this one is rolled back, never committed ahead of it."""


class Writer:
	"""``lanes`` connections: up to that many batches written at once (each on its own
	connection), committed strictly in order — a batch waits for the previous one's commit before
	its own, and is rolled back if that one failed. Hash names (``name_at``) of concurrent batches
	start with their lane's own character (``bulk.LANE_LEADS``), so that two batches in flight
	never draw the same name. On MariaDB the lanes send LOAD DATA LOCAL INFILE, each from its
	own file (``load``; INSERTs when the server refuses it).

	A later batch may hold a lock that an earlier one needs while it waits for that one's commit:
	InnoDB cannot see the cycle (one side waits in Python). Re-importing after a purge does it: the
	same legacy ids meet the deleted rows' index records (not yet purged by InnoDB), and checking a
	unique key takes a lock on the gap before the next one, where the earlier batch inserts. So a
	lane's statement waits :data:`LOCK_WAIT_SECONDS` for a lock, then marks its batch blocked and is
	sent again; a later batch that is waiting for its turn and sees an earlier one blocked rolls
	back (its locks go), waits for the earlier one's commit, and writes its rows again."""

	def __init__(self, run_name: str, checkpoints: dict, lanes: int = 1, load: bool = True):
		self.lanes = []
		self.files: list[str | None] = []
		self.pg = frappe.db.db_type == "postgres"
		# MariaDB: rows sent as LOAD DATA LOCAL INFILE when the server allows it (bulk.style_for)
		self.load = load and not self.pg
		for _ in range(max(1, lanes)):
			conn = self._connect()
			if self.pg:
				# The lanes only write; each updates the run's checkpoint after the previous lane's
				# commit, which REPEATABLE READ (Frappe's level) refuses as a concurrent update.
				from psycopg2.extensions import ISOLATION_LEVEL_READ_COMMITTED

				conn.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
			self.lanes.append((conn, conn.cursor()))
			self.files.append(_lane_file() if self.load else None)
		# MariaDB: a statement that times out on a lock is undone alone (unless the server undoes the
		# whole transaction: then the statement is not sent again, and waits the server's time)
		self.patient = not self.pg and all(self._short_lock_wait(cursor) for _, cursor in self.lanes)
		self._blocked: set[int] = set()  # batches whose statement waits on a lock
		self._guard = threading.Lock()
		self.yields = 0  # batches written again after yielding to an earlier one
		self.is_pk_violation = frappe.db.is_primary_key_violation
		self.run_name = run_name
		self.checkpoints = checkpoints  # the importer's own dict, put back on a failure
		self.pending: list[tuple] = []
		self.in_flight: list[_Batch] = []
		self.last: _Batch | None = None
		self.count = 0
		self.seconds = 0.0
		self._clock = threading.Lock()
		run = bulk.quote("tabLegacy Import Run")
		self.update_sql = f"UPDATE {run} SET {bulk.quote('checkpoints')} = %s WHERE {bulk.quote('name')} = %s"

	def _connect(self):
		"""A connection of the site's; on MariaDB one that may send LOAD DATA LOCAL INFILE (Frappe's own
		never does: ``local_infile`` False), if the server accepts it — else ``self.load`` is off and
		the rows go as INSERTs."""
		if not self.load or not hasattr(frappe.db, "get_connection_settings"):
			self.load = False
			return frappe.db.get_connection()
		import pymysql

		try:
			conn = pymysql.connect(**{**frappe.db.get_connection_settings(), "local_infile": True})
		except TypeError:  # settings this PyMySQL does not take: the site's own way, INSERTs
			self.load = False
			return frappe.db.get_connection()
		with conn.cursor() as cursor:
			cursor.execute("SELECT @@local_infile")
			if not int(cursor.fetchone()[0]):
				self.load = False
			else:
				# every skipped row's warning is read back (bulk._load_rows)
				cursor.execute("SET SESSION max_error_count = 65535")
		return conn

	@staticmethod
	def _short_lock_wait(cursor) -> bool:
		cursor.execute("SELECT @@innodb_rollback_on_timeout")
		if int(cursor.fetchone()[0]):
			return False
		cursor.execute(f"SET SESSION innodb_lock_wait_timeout = {LOCK_WAIT_SECONDS}")
		return True

	def add(self, job: tuple) -> None:
		"""A statement group of the batch being made (``bulk.Rows.flush``)."""
		self.pending.append(job)

	def submit(self, checkpoints_json: str, table: str, previous) -> None:
		"""Write the pending groups and the checkpoint (``table`` moved from ``previous``) in the
		background; returns once a lane is free (waiting for the oldest batch if need be)."""
		self._settle(keep=len(self.lanes) - 1)
		jobs, self.pending = self.pending, []
		batch = _Batch(self.count, self.count % len(self.lanes), jobs, checkpoints_json, (table, previous),
			self.last)  # fmt: skip
		batch.thread = threading.Thread(target=self._write, args=(batch,), daemon=True)
		self.in_flight.append(batch)
		self.last = batch
		self.count += 1
		batch.thread.start()

	def _write(self, batch: _Batch) -> None:
		import time

		started = time.monotonic()
		conn, cursor = self.lanes[batch.lane]
		try:
			for attempt in range(DEADLOCK_ATTEMPTS + 1):
				try:
					self._write_jobs(batch, cursor)
				except Exception as e:
					# a cycle InnoDB saw between two lanes: it undid this transaction; once the
					# earlier batches are committed, this one is written again
					if attempt == DEADLOCK_ATTEMPTS or not _is_deadlock(e):
						raise
					conn.rollback()
					if batch.before is not None:
						batch.before.done.wait()
						if not batch.before.ok:
							raise _Abandoned("an earlier batch failed") from e
					continue
				batch.written.set()
				before, yielded = batch.before, False
				if before is not None:
					yielded = self._yield_to(before, batch.seq, conn)
					if not before.ok:
						raise _Abandoned("an earlier batch failed")
				if not yielded:
					break
				with self._guard:
					self.yields += 1  # rolled back for the earlier batch, now committed: again
			else:  # never committed a batch whose rows were rolled back
				raise _Abandoned("the batch could not be written without a lock conflict")
			batch.before = None
			cursor.execute(self.update_sql, (batch.checkpoints_json, self.run_name))
			conn.commit()
			batch.ok = True
		except BaseException as e:
			batch.error = e
			try:
				conn.rollback()
			except Exception:
				pass
		finally:
			batch.jobs = []
			batch.before = None
			batch.done.set()
			with self._clock:
				self.seconds += time.monotonic() - started

	def _write_jobs(self, batch: _Batch, cursor) -> None:
		space = batch.lane if len(self.lanes) > 1 else None

		def on_lock_wait(attempt: int) -> bool:
			with self._guard:
				self._blocked.add(batch.seq)
			return attempt < LOCK_WAIT_ATTEMPTS

		try:
			for job in batch.jobs:
				bulk.write_job(cursor, self.pg, self.is_pk_violation, *job, space=space,
					load_file=self.files[batch.lane], on_lock_wait=on_lock_wait if self.patient else None)  # fmt: skip
		finally:
			with self._guard:
				self._blocked.discard(batch.seq)

	def _yield_to(self, before: _Batch, seq: int, conn) -> bool:
		"""Wait for ``before``'s commit; if meanwhile an earlier batch waits on a lock (perhaps one of
		ours), roll back first and wait then: True when this batch's rows must be written again."""
		while not before.done.wait(0.2):
			with self._guard:
				blocked = any(other < seq for other in self._blocked)
			if blocked:
				conn.rollback()
				before.done.wait()
				return before.ok
		return False

	def _settle(self, keep: int) -> None:
		"""Until at most ``keep`` batches are in flight (the oldest first). The first failed one's
		error is raised once every batch is finished, the checkpoint put back where it was before it."""
		while len(self.in_flight) > keep:
			batch = self.in_flight.pop(0)
			batch.thread.join()
			if batch.error is not None:
				for later in self.in_flight:
					later.thread.join()
				self.in_flight, self.last = [], None
				table, previous = batch.restore
				if previous is None:
					self.checkpoints.pop(table, None)
				else:
					self.checkpoints[table] = previous
				raise batch.error
		if not self.in_flight:
			self.last = None

	def wait(self) -> None:
		"""Until every batch handed over is committed; the first error, if any, raised here (the
		importer's checkpoint put back first)."""
		self._settle(keep=0)

	def close(self) -> None:
		try:
			self.wait()
		finally:
			self.pending = []
			for conn, _ in self.lanes:
				try:
					conn.close()
				except Exception:
					pass
			for path in self.files:
				if path:
					try:
						os.unlink(path)
					except OSError:
						pass


def _lane_file() -> str:
	"""A private file a lane writes each LOAD DATA's rows to (in memory: /dev/shm when there is one)."""
	where = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
	fd, path = tempfile.mkstemp(prefix="gf_legacy_", suffix=".tsv", dir=where)
	os.close(fd)
	return path
