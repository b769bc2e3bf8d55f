"""``bench --site <site> gigafibre-legacy import``: the legacy database into ERPNext, in order.

Each step reads one legacy table by increasing id, after its checkpoint, in batches; a batch is
written with multi-row INSERTs (gigafibre_fsm.legacy.bulk) and committed together with the new
checkpoint, so an interrupted run resumes where it stopped and a second run finds nothing to do.
Every imported row keeps its legacy id (a unique field), and names derived from it are stable.

Steps: items, customers, locations, subscriptions and equipment (gigafibre_fsm.legacy.masters),
staff (legacy.workforce), invoices and credit notes (legacy.invoices), payments (legacy.payments),
manual journal pieces (legacy.journal), tickets (legacy.tickets), work orders (legacy.workforce);
the money steps share their setup and decisions (legacy.money) and their recipes
(legacy.prototypes).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date

import frappe
from frappe.utils import now_datetime, today

from gigafibre_fsm.connectors import legacy_source
from gigafibre_fsm.legacy import invoices, journal, masters, money, payments, tickets, workforce
from gigafibre_fsm.legacy.writer import Writer

STEP_FUNCTIONS = {  # in the order they run
	"items": masters.items,
	"customers": masters.customers,
	"locations": masters.locations,
	"subscriptions": masters.subscriptions,
	"equipment": masters.equipment,
	"staff": workforce.staff,
	"invoices": invoices.invoices,
	"payments": payments.payments,
	"journal": journal.journal,
	"tickets": tickets.tickets,
	"work_orders": workforce.work_orders,
}
STEPS = tuple(STEP_FUNCTIONS)
ALIASES = {
	"products": "items",
	"accounts": "customers",
	"deliveries": "locations",
	"services": "subscriptions",
	"devices": "equipment",
	"issues": "tickets",
	"employees": "staff",
	"technicians": "staff",
	"bon_travail": "work_orders",
	"jobs": "work_orders",
	"ecritures": "journal",
}
BATCH = 2000
WRITERS = 2  # connections of the background writer (legacy.writer): 2 measured faster than 1
RUN = "Legacy Import Run"


class ImportInterrupted(Exception):
	"""Raised by the test hook ``fail_after_batches`` to stop a run as a kill would."""


class Progress:
	"""One line per table on stderr: rows done / total, rows/s and ETA, redrawn in place."""

	def __init__(self, label: str, total: int, enabled: bool = True):
		self.label, self.total, self.done, self.enabled = label, total, 0, enabled
		self.started = time.monotonic()
		self.draw()

	def update(self, rows: int) -> None:
		self.done += rows
		self.draw()

	def draw(self, end: bool = False) -> None:
		if not self.enabled:
			return
		elapsed = max(time.monotonic() - self.started, 1e-6)
		rate = self.done / elapsed
		eta = (self.total - self.done) / rate if rate else 0
		width = 30
		filled = int(width * self.done / self.total) if self.total else width
		sys.stderr.write(
			f"\r{self.label:14} [{'#' * filled}{'.' * (width - filled)}] {self.done:>9,}/{self.total:,}"
			f" {rate:>8,.0f} rows/s ETA {eta:5.0f}s"
		)
		if end:
			sys.stderr.write(f" {elapsed:.1f}s\n")
		sys.stderr.flush()

	def finish(self) -> float:
		self.draw(end=True)
		return time.monotonic() - self.started


class Importer:
	def __init__(
		self,
		source: str,
		only: str | None = None,
		since: str | date | None = None,
		progress: bool = True,
		fail_after_batches: int | None = None,
		batch_size: int = BATCH,
		overlap: bool = True,
		writers: int = WRITERS,
	):
		self.source = source
		self.steps = self._steps(only)
		self.since = date.fromisoformat(str(since)[:10]) if since else None
		self.show_progress = progress
		self.fail_after_batches = fail_after_batches
		self.batch_size = batch_size
		self.overlap = overlap
		self.writers = writers
		self.writer: Writer | None = None
		self.batches = 0
		self.today = date.fromisoformat(today())
		self.counts: dict[str, dict] = {}
		self.report: dict = {}
		self.timings: dict[str, float] = {}

	@staticmethod
	def _steps(only: str | None) -> list[str]:
		if not only:
			return list(STEPS)
		wanted = [ALIASES.get(s.strip(), s.strip()) for s in only.split(",") if s.strip()]
		unknown = [s for s in wanted if s not in STEPS]
		if unknown:
			raise ValueError(f"unknown step(s) {', '.join(unknown)}; steps: {', '.join(STEPS)}")
		return [s for s in STEPS if s in wanted]

	# -- the run and its checkpoints -----------------------------------------------------------
	def run(self) -> str:
		self.conn = legacy_source.connect(self.source)
		last = frappe.get_all(
			RUN,
			filters={"source": legacy_source.redact(self.source)},
			fields=["checkpoints"],
			order_by="creation desc",
			limit=1,
		)
		self.checkpoints = json.loads(last[0].checkpoints or "{}") if last else {}
		doc = frappe.get_doc(
			{
				"doctype": RUN,
				"source": legacy_source.redact(self.source),
				"only": ",".join(self.steps),
				"since": self.since,
				"status": "Running",
				"started_at": now_datetime(),
				"checkpoints": json.dumps(self.checkpoints),
			}
		).insert(ignore_permissions=True)
		self.run_name = doc.name
		frappe.db.commit()
		try:
			money.ensure_setup(self)
			for step in self.steps:
				started = time.monotonic()
				STEP_FUNCTIONS[step](self)
				self.timings[step] = round(time.monotonic() - started, 2)
			self._close_writer()
			self._finish("Completed")
		except BaseException as e:
			try:
				self._close_writer()  # the batch in flight committed, or its checkpoint put back
			except BaseException:
				pass
			frappe.db.rollback()
			self._finish(
				"Interrupted" if isinstance(e, ImportInterrupted | KeyboardInterrupt) else "Failed", e
			)
			raise
		finally:
			self.conn.close()
		return self.run_name

	def background_writer(self) -> Writer | None:
		"""The background writer (legacy.writer) of the steps that write the most rows (invoices,
		payments, journal pieces, ticket messages), made on first use; None without ``overlap`` (everything
		written on the site's connection, in line)."""
		if self.overlap and self.writer is None:
			self.writer = Writer(self.run_name, self.checkpoints, lanes=self.writers)
		return self.writer

	def add_seconds(self, key: str, seconds: float) -> None:
		"""Add to a timing of the run's report (``seconds``)."""
		self.timings[key] = round(self.timings.get(key, 0) + seconds, 2)

	def flush(self, rows, key: str) -> dict[str, int]:
		"""A batch's rows (``bulk.Rows``) handed to the background writer, or written in line without
		it; the time it took added to the timing ``key``; the counts per doctype."""
		started = time.monotonic()
		try:
			return rows.flush(self.background_writer())
		finally:
			self.add_seconds(key, time.monotonic() - started)

	def _close_writer(self) -> None:
		writer, self.writer = self.writer, None
		if writer is not None:
			try:
				writer.close()
			finally:
				self.add_seconds("background writes", writer.seconds)

	def _finish(self, status: str, error: BaseException | None = None) -> None:
		written = sum(c.get("written", 0) for c in self.counts.values())
		frappe.db.set_value(
			RUN,
			self.run_name,
			{
				"status": status,
				"finished_at": now_datetime(),
				"rows_written": written,
				"counts": json.dumps(self.counts, indent=1, sort_keys=True),
				"report": json.dumps(
					{**self.report, "seconds": self.timings}, indent=1, sort_keys=True, default=str
				),
				"checkpoints": json.dumps(self.checkpoints, sort_keys=True),
				"error": repr(error)[:1000] if error else None,
			},
			update_modified=False,
		)
		frappe.db.commit()

	def count(self, table: str, key: str, read: int = 0, written: int = 0, skipped: int = 0) -> None:
		entry = self.counts.setdefault(key, {"read": 0, "written": 0, "skipped": 0})
		entry["read"] += read
		entry["written"] += written
		entry["skipped"] += skipped

	def batches_of(
		self,
		table: str,
		columns: str,
		label: str | None = None,
		*,
		source: str | None = None,
		key: str = "id",
		where: str = "",
		params: tuple = (),
	):
		"""Rows after the checkpoint named ``table``, ``batch_size`` at a time, in id order; after the
		caller has written a batch, the checkpoint moves and both are committed together.

		``source`` is what is read (a table, or a join whose first table holds the ids; ``key`` names
		that id in it), ``table`` itself by default; ``where`` and ``params`` filter it further (the
		legacy invoice table holds both invoices and credit notes, each with its own checkpoint)."""
		source = source or table
		last = int(self.checkpoints.get(table, 0))
		extra = f" AND {where}" if where else ""
		# a derived table "(SELECT ...) p" is counted as it is; of a join, its first table
		counted = source if source.startswith("(") else source.split()[0]
		total = legacy_source.count(self.conn, counted, f"WHERE id > %s{extra}", (last, *params))
		progress = Progress(label or table, total, self.show_progress)
		if total:
			sql = f"SELECT {columns} FROM {source} WHERE {key} > %s{extra} ORDER BY {key}"
			for rows in legacy_source.stream(self.conn, sql, (last, *params), self.batch_size):
				yield rows
				previous = self.checkpoints.get(table)
				self.checkpoints[table] = rows[-1]["id"]
				if self.writer is not None and self.writer.pending:
					# the batch and its checkpoint written in the background, the next one made meanwhile
					self.writer.submit(json.dumps(self.checkpoints), table, previous)
				else:
					if self.writer is not None:
						self.writer.wait()
						frappe.db.commit()  # a snapshot that sees the writer's last checkpoint (PostgreSQL)
					frappe.db.set_value(
						RUN, self.run_name, "checkpoints", json.dumps(self.checkpoints), update_modified=False
					)
				frappe.db.commit()
				progress.update(len(rows))
				self.batches += 1
				if self.fail_after_batches is not None and self.batches >= self.fail_after_batches:
					if self.writer is not None:
						self.writer.wait()
					raise ImportInterrupted(f"stopped after {self.batches} batches (test hook)")
			if self.writer is not None:
				self.writer.wait()  # the step's rows all committed before the next one reads them
				frappe.db.commit()
		self.timings[f"{table} (read+write)"] = round(progress.finish(), 2)

	def changed(self, table: str, columns: str, *, source: str | None = None, key: str = "id",
		where: str = "", params: tuple = (), modified: str = "date_modified"):  # fmt: skip
		"""With ``--since``: the rows at or before the checkpoint named ``table`` whose ``modified``
		column is on or after that date (those after the checkpoint are read by :meth:`batches_of`),
		``batch_size`` at a time, in id order; the checkpoint does not move. Nothing without it."""
		if not self.since:
			return
		source = source or table
		last = int(self.checkpoints.get(table, 0))
		extra = f" AND {where}" if where else ""
		sql = f"SELECT {columns} FROM {source} WHERE {key} <= %s AND {modified} >= %s{extra} ORDER BY {key}"
		rows_read = 0
		for rows in legacy_source.stream(self.conn, sql, (last, self.since, *params), self.batch_size):
			rows_read += len(rows)
			yield rows
			if self.writer is not None and self.writer.pending:
				self.writer.submit(json.dumps(self.checkpoints), table, self.checkpoints.get(table))
				self.writer.wait()
			frappe.db.commit()
		self.report.setdefault("since", {"date": str(self.since)})[table] = rows_read

	def lookup(self, doctype: str, field: str) -> dict[int, str]:
		"""{legacy id: name} of the documents already imported."""
		rows = frappe.get_all(doctype, filters={field: ["is", "set"]}, fields=["name", field], limit=0)
		return {int(r[field]): r["name"] for r in rows}

	def imported(
		self, doctype: str, field: str, legacy_field: str = "legacy_account_id"
	) -> dict[str, object]:
		"""{name: field} of the documents already imported (those with ``legacy_field`` set)."""
		return dict(
			frappe.get_all(
				doctype,
				filters={legacy_field: ["is", "set"]},
				fields=["name", field],
				as_list=True,
				limit=0,
			)
		)
