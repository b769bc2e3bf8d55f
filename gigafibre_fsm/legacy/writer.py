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


class _Batch:
	def __init__(self, lane: int, jobs: list[tuple], checkpoints_json: str, restore: tuple, before):
		self.lane, self.jobs, self.checkpoints_json, self.restore = lane, jobs, checkpoints_json, restore
		self.before: _Batch | None = before  # committed before this one may commit
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
	own file (``load``; INSERTs when the server refuses it)."""

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

	def add(self, job: tuple) -> None:
		"""A statement group of the batch being made (``bulk.Rows.flush``)."""
		self.pending.append(job)

	def submit(self, checkpoints_json: str, table: str, previous) -> None:
		"""Write the pending groups and the checkpoint (``table`` moved from ``previous``) in the
		background; returns once a lane is free (waiting for the oldest batch if need be)."""
		self._settle(keep=len(self.lanes) - 1)
		jobs, self.pending = self.pending, []
		batch = _Batch(self.count % len(self.lanes), jobs, checkpoints_json, (table, previous), self.last)
		batch.thread = threading.Thread(target=self._write, args=(batch,), daemon=True)
		self.in_flight.append(batch)
		self.last = batch
		self.count += 1
		batch.thread.start()

	def _write(self, batch: _Batch) -> None:
		import time

		started = time.monotonic()
		conn, cursor = self.lanes[batch.lane]
		space = batch.lane if len(self.lanes) > 1 else None
		try:
			for job in batch.jobs:
				bulk.write_job(cursor, self.pg, self.is_pk_violation, *job, space=space,
					load_file=self.files[batch.lane])  # fmt: skip
			before, batch.before = batch.before, None
			if before is not None:
				before.done.wait()
				if not before.ok:
					raise _Abandoned("an earlier batch failed")
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
			batch.done.set()
			with self._clock:
				self.seconds += time.monotonic() - started

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
