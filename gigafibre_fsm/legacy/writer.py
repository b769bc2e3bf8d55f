"""The money steps' writes, overlapped with the making of the next batch.

A :class:`Writer` owns a second connection to the site's database and a thread. The import hands
it a batch's statements (``bulk.Rows.flush(writer)``) and the checkpoint after that batch
(``Importer.batches_of``); the thread writes the rows, moves the checkpoint of the run and commits
the three in one transaction of its own, while the main thread reads and builds the next batch
(its reads never need the rows being written: a batch's documents only refer to those of earlier
steps, committed before). One batch at a time: handing over the next waits for the previous.

So a batch and its checkpoint stay atomic, as without the writer: a run killed at any point
resumes after the last batch the writer committed (a failed batch puts the checkpoint back
before the error is raised). What can differ: the naming series advanced for a batch that was
never committed (a gap in the invoice or payment numbers, as a rolled-back transaction of
ERPNext's own could not leave).
"""

from __future__ import annotations

import threading

import frappe

from gigafibre_fsm.legacy import bulk


class Writer:
	def __init__(self, run_name: str, checkpoints: dict):
		self.conn = frappe.db.get_connection()
		self.cursor = self.conn.cursor()
		self.pg = frappe.db.db_type == "postgres"
		self.is_pk_violation = frappe.db.is_primary_key_violation
		self.run_name = run_name
		self.checkpoints = checkpoints  # the importer's own dict, put back on a failure
		self.pending: list[tuple] = []
		self.thread: threading.Thread | None = None
		self.error: BaseException | None = None
		self.restore: tuple[str, object] | None = None
		self.seconds = 0.0
		run = bulk.quote("tabLegacy Import Run")
		self.update_sql = f"UPDATE {run} SET {bulk.quote('checkpoints')} = %s WHERE {bulk.quote('name')} = %s"

	def add(self, job: tuple) -> None:
		"""A statement group of the batch being made (``bulk.Rows.flush``)."""
		self.pending.append(job)

	def submit(self, checkpoints_json: str, table: str, previous) -> None:
		"""Write the pending groups and the checkpoint (``table`` moved from ``previous``) in the
		background, after the previous batch is written."""
		self.wait()
		jobs, self.pending = self.pending, []
		self.restore = (table, previous)
		self.thread = threading.Thread(target=self._write, args=(jobs, checkpoints_json), daemon=True)
		self.thread.start()

	def _write(self, jobs: list[tuple], checkpoints_json: str) -> None:
		import time

		started = time.monotonic()
		try:
			for job in jobs:
				bulk.write_job(self.cursor, self.pg, self.is_pk_violation, *job)
			self.cursor.execute(self.update_sql, (checkpoints_json, self.run_name))
			self.conn.commit()
		except BaseException as e:
			self.error = e
			try:
				self.conn.rollback()
			except Exception:
				pass
		self.seconds += time.monotonic() - started

	def wait(self) -> None:
		"""Until the batch handed over is committed; its error, if any, raised here (the importer's
		checkpoint put back first)."""
		if self.thread is not None:
			self.thread.join()
			self.thread = None
		if self.error is not None:
			error, self.error = self.error, None
			table, previous = self.restore
			if previous is None:
				self.checkpoints.pop(table, None)
			else:
				self.checkpoints[table] = previous
			raise error

	def close(self) -> None:
		try:
			self.wait()
		finally:
			self.pending = []
			try:
				self.conn.close()
			except Exception:
				pass
