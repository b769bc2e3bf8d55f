"""The billing run over the whole book, split in chunks that background workers bill in parallel.

The run (:func:`execute`, one job on the long queue) plans the book (billing_book.plan_book: the
customers with something due), writes one Billing Run Chunk row per CHUNK_SIZE customers and
enqueues one :func:`bill_chunk` job per chunk on the long queue: as many workers as listen on
it bill at once, on as many machines as there are. Each chunk bills its customers one
transaction each (customers/billing.py), taking the invoice names ahead in short transactions
of their own (customers/invoice_names.py) so that workers never wait on each other for the
naming series.

Exactly once, resumable
	A chunk plans its customers again when it starts, so a chunk that is run again (its worker
	died, or it was enqueued twice) bills only what is still due; the Billing Line Keys (primary
	key per subscription and period) make two chunks billing one customer at once end with one
	line per charge. On PostgreSQL (repeatable read) the second of two workers on a customer
	fails with a serialization error once the first commits: that customer is tried again in a
	fresh snapshot (db_retry), where nothing is due any more. :func:`resume` enqueues again the
	chunks of a run that did not finish.

The record
	A chunk writes only its own row (progress, then its counts, totals and failures; the invoices
	and totals are counted from the Sales Invoices of the run, so a chunk run twice still counts
	each invoice once). When a chunk ends, the run's row is locked and its counts are summed from
	the chunks; the last chunk marks the run Completed and copies the chunks' failures into it.
	Realtime ``gigafibre_fsm:billing_run`` progress events sum the chunks, at most every
	PROGRESS_SECONDS per worker. A customer that fails is rolled back alone and recorded; the
	others are billed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

import frappe
from frappe import _
from frappe.query_builder.functions import Count, Sum
from frappe.utils import flt, getdate, now_datetime

from gigafibre_fsm.core.errors import CoreError
from gigafibre_fsm.customers.billing import AlreadyBilled, bill_customer
from gigafibre_fsm.customers.billing_book import SETTINGS, Context, failure_reason, plan_book
from gigafibre_fsm.customers.invoice_names import InvoiceNames
from gigafibre_fsm.db_retry import retrying

RUN = "Billing Run"
CHUNK = "Billing Run Chunk"
FAILURE = "Billing Run Failure"
EVENT = "gigafibre_fsm:billing_run"
LOCK_KEY = "gigafibre_fsm:billing_run_lock"
LOCK_SECONDS = 3600  # the planning's lock (it is released as soon as the chunks are enqueued)
CHUNK_SIZE = 100  # customers per chunk job (~25 s of one worker; benchmarks/bench_billing_run.py)
CHUNK_TIMEOUT = 3600
PROGRESS_SECONDS = 2.0
DONE = ("Completed", "Failed")


def create_run(as_of, triggered_by: str) -> str:
	doc = frappe.get_doc({"doctype": RUN, "as_of": as_of, "status": "Queued", "triggered_by": triggered_by})
	doc.insert(ignore_permissions=True)
	return doc.name


def enqueue_run(as_of, triggered_by: str) -> str:
	"""A queued Billing Run and its planning job (which enqueues the chunks)."""
	name = create_run(as_of, triggered_by)
	_enqueue_planning(name)
	return name


def _enqueue_planning(run: str) -> None:
	frappe.enqueue(
		"gigafibre_fsm.customers.billing_run.execute",
		queue="long",
		timeout=CHUNK_TIMEOUT,
		job_id=f"gigafibre_fsm:billing_run:{run}",
		deduplicate=True,
		enqueue_after_commit=True,
		run=run,
	)


def daily() -> None:
	"""Scheduler (daily): bill everything due today, when Gigafibre Settings turn it on."""
	if not frappe.db.get_single_value(SETTINGS, "billing_enabled"):
		return
	enqueue_run(getdate(), "Scheduler")


def execute(
	run: str, customers: Iterable[str] | None = None, *, inline: bool = False, chunk_size: int = CHUNK_SIZE
) -> dict:
	"""Background job: plan one Billing Run and enqueue its chunks (``inline``: bill them here,
	one after another). Refused while another run plans (a Redis lock). Two runs' chunks may
	still bill at once (a staff run while the daily one bills): each chunk plans its customers
	again when it starts and the keys make each charge exactly-once. ``customers`` limits the
	run (tests, a re-run of some)."""
	lock = frappe.cache.lock(frappe.cache.make_key(LOCK_KEY), timeout=LOCK_SECONDS)
	if not lock.acquire(blocking_timeout=5):
		return _refuse(run)
	try:
		return bill(run, customers=customers, inline=inline, chunk_size=chunk_size)
	finally:
		try:
			lock.release()
		except Exception:
			pass  # expired: the chunks are committed or rolled back on their own


def _refuse(run: str) -> dict:
	_finish(run, "Failed", error=_("Another billing run is in progress"))
	frappe.db.commit()
	return summary(frappe.get_doc(RUN, run))


def _finish(run: str, status: str, **values) -> None:
	frappe.db.set_value(RUN, run, {"status": status, "finished_at": now_datetime(), **values})


def bill(
	run: str, customers: Iterable[str] | None = None, *, inline: bool = True, chunk_size: int = CHUNK_SIZE
) -> dict:
	"""Plan the run and bill its chunks: here, one after another (``inline``), or each in a job
	on the long queue. Returns the run's summary (still Running when the chunks were enqueued)."""
	chunks = plan_run(run, customers, chunk_size=chunk_size)
	if chunks is None:
		return summary(frappe.get_doc(RUN, run))
	if not inline:
		for chunk in chunks:
			_enqueue_chunk(run, chunk)
		frappe.db.commit()
	else:
		for chunk in chunks:
			bill_chunk(run, chunk)
	if not chunks:
		return _settle(run)
	return summary(frappe.get_doc(RUN, run))


def plan_run(
	run: str, customers: Iterable[str] | None = None, *, chunk_size: int = CHUNK_SIZE
) -> list[str] | None:
	"""Mark the run Running, plan it and write its chunks (committed): the chunks' names, or
	None when the planning failed (the run is then Failed, with the reason)."""
	as_of = getdate(frappe.db.get_value(RUN, run, "as_of"))
	frappe.db.set_value(RUN, run, {"status": "Running", "started_at": now_datetime()})
	frappe.db.commit()
	try:
		plans, refused = plan_book(as_of, customers, Context())
		frappe.db.commit()  # the tax template, if it was just made
	except Exception as e:
		frappe.db.rollback()
		_finish(run, "Failed", error=failure_reason(e))
		frappe.db.commit()
		frappe.log_error(
			title=_("Billing run {0} failed").format(run), reference_doctype=RUN, reference_name=run
		)
		return None
	todo = sorted(plans)
	size = max(1, int(chunk_size))
	for idx, (customer, reason) in enumerate(refused, 1):
		_add_row(run, "failures", idx, {"customer": customer, "reason": reason})
	chunks = []
	for number, start in enumerate(range(0, len(todo), size), 1):
		part = todo[start : start + size]
		values = {
			"chunk": number,
			"status": "Queued",
			"customers_count": len(part),
			"customers": json.dumps(part),
		}
		chunks.append(_add_row(run, "chunks", number, values))
	frappe.db.set_value(RUN, run, "customers_due", len(todo) + len(refused))
	frappe.db.commit()
	return chunks


def _add_row(run: str, field: str, idx: int, values: dict) -> str:
	"""A child row of the run inserted alone (a save of the run would delete and rewrite its
	child rows: a range lock that two runs' transactions can deadlock on)."""
	doctype = CHUNK if field == "chunks" else FAILURE
	row = frappe.get_doc(
		{"doctype": doctype, "parent": run, "parenttype": RUN, "parentfield": field, "idx": idx, **values}
	)
	row.owner = row.modified_by = frappe.session.user
	row.db_insert()
	return row.name


def _enqueue_chunk(run: str, chunk: str) -> None:
	frappe.enqueue(
		"gigafibre_fsm.customers.billing_run.bill_chunk",
		queue="long",
		timeout=CHUNK_TIMEOUT,
		job_id=f"gigafibre_fsm:billing_chunk:{chunk}",
		deduplicate=True,
		enqueue_after_commit=True,
		run=run,
		chunk=chunk,
	)


def resume(run: str) -> int:
	"""Enqueue again the chunks of ``run`` that did not complete (a worker died, a job was
	lost); each bills only what is still due. Returns how many were enqueued."""
	pending = frappe.get_all(
		CHUNK, filters={"parent": run, "parenttype": RUN, "status": ["!=", "Completed"]}, pluck="name"
	)
	for chunk in pending:
		_enqueue_chunk(run, chunk)
	return len(pending)


def resume_run(run: str) -> dict:
	"""What the desk's Resume button does: a run still Queued or Running whose planning job was
	lost (no chunks yet) gets its planning job again; otherwise its unfinished chunks get theirs
	(a job still queued or running is not doubled: the job ids deduplicate). A Completed or
	Failed run is refused: start a new one. Returns ``{"run", "planning", "chunks"}``."""
	status = frappe.db.get_value(RUN, run, "status")
	if status is None:
		frappe.throw(_("Billing Run {0} not found").format(run), frappe.DoesNotExistError)
	if status in DONE:
		frappe.throw(
			_("Billing Run {0} is {1}: start a new run instead").format(run, _(status)),
			frappe.ValidationError,
		)
	has_chunks = frappe.db.count(CHUNK, {"parent": run, "parenttype": RUN})
	if not has_chunks:
		_enqueue_planning(run)
		return {"run": run, "planning": True, "chunks": 0}
	return {"run": run, "planning": False, "chunks": resume(run)}


def bill_chunk(run: str, chunk: str) -> dict:
	"""Job: bill one chunk's customers, each in its own transaction; then settle the run.
	Idempotent: a chunk run again bills only what is still due."""
	row = frappe.db.get_value(CHUNK, chunk, ["parent", "status", "customers", "attempts"], as_dict=True)
	if not row or row.parent != run or row.status == "Completed":
		return {}
	as_of = getdate(frappe.db.get_value(RUN, run, "as_of"))
	customers = json.loads(row.customers or "[]")
	table = frappe.qb.DocType(CHUNK)
	_write_chunk(
		frappe.qb.update(table)
		.set(table.status, "Running")
		.set(table.started_at, now_datetime())
		.set(table.attempts, table.attempts + 1)
		.where(table.name == chunk)
		.run
	)
	ctx = Context()
	plans, _refused = plan_book(as_of, customers, ctx)  # refusals were recorded by the run's plan
	frappe.db.commit()
	user = _notify_user(run)
	names = InvoiceNames()
	failures, skipped, last = [], 0, time.monotonic()
	done = len(customers) - len(plans)  # nothing due (any more)

	def attempt(customer):
		names.rolled_back()  # a name taken by an attempt that was rolled back is free again
		return bill_customer(customer, as_of, ctx, run, names)

	for customer in sorted(plans):
		names.take(len(plans[customer]))
		try:
			retrying(attempt, customer)
			frappe.db.commit()
			names.committed()
		except AlreadyBilled:
			frappe.db.rollback()
			names.rolled_back()
			skipped += 1
		except Exception as e:
			frappe.db.rollback()
			names.rolled_back()
			failures.append({"customer": customer, "reason": failure_reason(e)})
			if not isinstance(e, frappe.ValidationError | CoreError):
				frappe.log_error(title=_("Billing failed for customer {0}").format(customer))
		done += 1
		if time.monotonic() - last > PROGRESS_SECONDS:
			last = time.monotonic()
			_write_chunk(frappe.db.set_value, CHUNK, chunk, "customers_done", done, update_modified=False)
			_progress(run, user)
	names.give_back()
	invoices, net, total = _invoiced(run, customers)
	values = {
		"status": "Completed",
		"finished_at": now_datetime(),
		"customers_done": len(customers),
		"invoices": invoices,
		"net_total": net,
		"total": total,
		"skipped": skipped,
		"failure_count": len(failures),
		"failures": json.dumps(failures),
	}
	_write_chunk(frappe.db.set_value, CHUNK, chunk, values, update_modified=False)
	return _settle(run)


def _write_chunk(fn, *args, **kwargs) -> None:
	"""A write to the chunk's row in a transaction of its own: the same chunk's job run twice at
	once writes it too (on PostgreSQL the later writer is tried again in a fresh snapshot)."""
	retrying(fn, *args, **kwargs)
	frappe.db.commit()


def _invoiced(run: str, customers: list[str]) -> tuple[int, float, float]:
	"""The run's invoices to these customers: count, net and grand totals (from the invoices
	themselves, so a chunk run twice counts each once)."""
	if not customers:
		return 0, 0.0, 0.0
	si = frappe.qb.DocType("Sales Invoice")
	row = (
		frappe.qb.from_(si)
		.select(Count(si.name), Sum(si.net_total), Sum(si.grand_total))
		.where((si.gigafibre_billing_run == run) & si.customer.isin(customers) & (si.docstatus < 2))
		.run()
	)[0]
	return int(row[0] or 0), flt(row[1], 2), flt(row[2], 2)


def _chunk_rows(run: str) -> list:
	table = frappe.qb.DocType(CHUNK)
	return (
		frappe.qb.from_(table)
		.select(
			table.status,
			table.customers_count,
			table.customers_done,
			table.invoices,
			table.skipped,
			table.net_total,
			table.total,
			table.failure_count,
			table.failures,
		)
		.where((table.parent == run) & (table.parenttype == RUN))
		.orderby(table.chunk)
		.run(as_dict=True)
	)


def _settle(run: str) -> dict:
	"""Sum the chunks into the run under its row lock; the last chunk completes it."""

	def settle():
		status = frappe.db.get_value(RUN, run, "status", for_update=True)
		if status in DONE:
			return
		rows = _chunk_rows(run)
		completed = [r for r in rows if r.status == "Completed"]
		values = {
			"customers_done": sum(r.customers_done or 0 for r in rows),
			"invoices": sum(r.invoices or 0 for r in completed),
			"skipped": sum(r.skipped or 0 for r in completed),
			"net_total": flt(sum(flt(r.net_total) for r in completed), 2),
			"total": flt(sum(flt(r.total) for r in completed), 2),
		}
		if len(completed) < len(rows):
			frappe.db.set_value(RUN, run, values, update_modified=False)
			return
		idx = frappe.db.count(FAILURE, {"parent": run, "parenttype": RUN})  # the planning's refusals
		for r in rows:
			for failure in json.loads(r.failures or "[]"):
				idx += 1
				_add_row(run, "failures", idx, failure)
		values.update(status="Completed", finished_at=now_datetime(), failure_count=idx)
		frappe.db.set_value(RUN, run, values)

	retrying(settle)
	frappe.db.commit()
	doc = frappe.get_doc(RUN, run)
	_progress(run, _notify_user(run), doc=doc)
	return summary(doc)


def _notify_user(run: str) -> str | None:
	owner, triggered_by = frappe.db.get_value(RUN, run, ["owner", "triggered_by"])
	return owner if triggered_by != "Scheduler" else None


def _progress(run: str, user: str | None, doc=None) -> None:
	"""A realtime progress event: the chunks' sums (or the finished run's own)."""
	if doc is not None and doc.status in DONE:
		done, invoices, failures, status = doc.customers_done, doc.invoices, doc.failure_count, doc.status
		total = sum(c.customers_count or 0 for c in doc.chunks)
	else:
		rows = _chunk_rows(run)
		done = sum(r.customers_done or 0 for r in rows)
		invoices = sum(r.invoices or 0 for r in rows)
		failures = sum(r.failure_count or 0 for r in rows)
		total, status = sum(r.customers_count or 0 for r in rows), "Running"
	payload = {
		"run": run,
		"status": status,
		"done": done,
		"total": total,
		"invoices": invoices,
		"failures": failures,
	}
	frappe.publish_realtime(EVENT, payload, doctype=RUN, docname=run)
	if user:
		frappe.publish_realtime(EVENT, payload, user=user)


def summary(doc) -> dict:
	return {
		"run": doc.name,
		"as_of": str(doc.as_of),
		"status": doc.status,
		"customers_due": doc.customers_due,
		"invoices": doc.invoices,
		"skipped": doc.skipped,
		"net_total": flt(doc.net_total),
		"total": flt(doc.total),
		"failures": [{"customer": f.customer, "reason": f.reason} for f in doc.failures],
		"error": doc.error,
	}
