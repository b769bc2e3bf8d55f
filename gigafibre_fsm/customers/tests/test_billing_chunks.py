"""The billing run in chunks on a real site: chunk jobs billed in parallel, a chunk that died
half-way and is run again, the run's record summed from its chunks, invoice names taken ahead.

As in test_billing, every test makes its own customers and bills only them.
"""

from __future__ import annotations

import threading

import frappe
from frappe.model.naming import NamingSeries, get_default_naming_series
from frappe.utils import cint, flt

from gigafibre_fsm.customers import billing, billing_book, billing_run
from gigafibre_fsm.customers.invoice_names import InvoiceNames
from gigafibre_fsm.customers.tests.test_billing import (
	BillingTestCase,
	invoices_of,
	keys_on_invoices,
	make_sub,
)
from gigafibre_fsm.test_utils import make_customer


def book(count: int, first) -> tuple[list[str], list[str]]:
	customers = [make_customer().name for _ in range(count)]
	subs = [make_sub(c, 50, first).name for c in customers]
	frappe.db.commit()
	return customers, subs


def chunk_rows(run: str) -> list:
	return frappe.get_all(
		billing_run.CHUNK,
		filters={"parent": run, "parenttype": billing_run.RUN},
		fields=["name", "chunk", "status", "customers_count", "invoices", "attempts"],
		order_by="chunk asc",
	)


def series_current(prefix: str) -> int:
	table = frappe.qb.DocType("Series")
	return cint(frappe.qb.from_(table).select(table.current).where(table.name == prefix).run()[0][0])


def in_threads(*calls) -> list[str]:
	"""Each ``(fn, args)`` in its own thread and database connection, started together; the
	errors raised."""
	site, errors = frappe.local.site, []
	barrier = threading.Barrier(len(calls))

	def worker(fn, args):
		try:
			frappe.init(site=site)
			frappe.connect()
			frappe.set_user("Administrator")
			barrier.wait(30)
			fn(*args)
		except Exception as e:
			errors.append(repr(e))
		finally:
			frappe.destroy()

	threads = [threading.Thread(target=worker, args=call) for call in calls]
	for t in threads:
		t.start()
	for t in threads:
		t.join(300)
	return errors


class TestBillingChunks(BillingTestCase):
	def test_a_run_in_chunks_bills_each_customer_once_and_sums_its_chunks(self):
		customers, subs = book(5, self.first)
		run = billing_run.create_run(self.last, "Administrator")
		frappe.db.commit()
		result = billing_run.bill(run, customers=customers, chunk_size=2)
		self.assertEqual((result["status"], result["invoices"], result["failures"]), ("Completed", 5, []))
		rows = chunk_rows(run)
		self.assertEqual(
			[(r.chunk, r.status, r.customers_count) for r in rows],
			[
				(1, "Completed", 2),
				(2, "Completed", 2),
				(3, "Completed", 1),
			],
		)
		self.assertEqual(sum(r.invoices for r in rows), 5)
		self.assertEqual(len(keys_on_invoices(subs)), 5)
		grand = sum(
			flt(frappe.db.get_value("Sales Invoice", i, "grand_total"))
			for c in customers
			for i in invoices_of(c)
		)
		self.assertEqual(flt(result["total"], 2), flt(grand, 2))
		self.assertEqual(frappe.db.get_value(billing_run.RUN, run, "customers_done"), 5)

	def test_a_chunk_that_died_half_way_bills_the_rest_when_run_again(self):
		customers, subs = book(4, self.first)
		run = billing_run.create_run(self.last, "Administrator")
		frappe.db.commit()
		(chunk,) = billing_run.plan_run(run, customers, chunk_size=10)
		# What a worker killed after its second customer leaves: the chunk Running, two customers
		# committed, the third one's transaction rolled back.
		frappe.db.set_value(billing_run.CHUNK, chunk, {"status": "Running", "attempts": 1})
		ctx = billing_book.Context()
		for customer in customers[:2]:
			billing.bill_customer(customer, self.last, ctx, run)
			frappe.db.commit()
		billing.bill_customer(customers[2], self.last, ctx, run)
		frappe.db.rollback()
		self.assertEqual(frappe.db.get_value(billing_run.RUN, run, "status"), "Running")

		self.assertEqual(billing_run.resume(run), 1)  # its job again (a worker picks it up)
		billing_run.bill_chunk(run, chunk)  # as that job would
		doc = frappe.get_doc(billing_run.RUN, run)
		self.assertEqual((doc.status, doc.invoices, doc.failure_count), ("Completed", 4, 0))
		self.assertEqual((doc.chunks[0].status, doc.chunks[0].attempts), ("Completed", 2))
		self.assertEqual([len(invoices_of(c)) for c in customers], [1, 1, 1, 1])
		self.assertEqual(len(keys_on_invoices(subs)), 4)
		self.assertEqual(billing_run.bill_chunk(run, chunk), {})  # a completed chunk does nothing
		self.assertEqual(billing_run.resume(run), 0)

	def test_chunks_at_once_and_one_chunk_twice_bill_each_charge_once(self):
		customers, subs = book(6, self.first)
		run = billing_run.create_run(self.last, "Administrator")
		frappe.db.commit()
		first, second = billing_run.plan_run(run, customers, chunk_size=3)
		errors = in_threads(
			(billing_run.bill_chunk, (run, first)),
			(billing_run.bill_chunk, (run, second)),
			(billing_run.bill_chunk, (run, first)),  # the same chunk's job twice (a resume too early)
		)
		self.assertEqual(errors, [])
		doc = frappe.get_doc(billing_run.RUN, run)
		self.assertEqual((doc.status, doc.invoices, doc.customers_done), ("Completed", 6, 6))
		self.assertEqual([f.reason for f in doc.failures], [])
		self.assertEqual(len(keys_on_invoices(subs)), 6)
		self.assertEqual([len(invoices_of(c)) for c in customers], [1] * 6)
		grand = sum(
			flt(frappe.db.get_value("Sales Invoice", invoices_of(c)[0], "grand_total")) for c in customers
		)
		self.assertEqual(flt(doc.total, 2), flt(grand, 2))

	def test_a_run_with_nothing_due_completes_without_chunks(self):
		customers, _subs = book(2, self.first)
		self.assertEqual(
			billing_run.bill(billing_run.create_run(self.last, "Administrator"), customers)["invoices"], 2
		)
		again = billing_run.bill(billing_run.create_run(self.last, "Administrator"), customers)
		self.assertEqual((again["status"], again["invoices"], again["customers_due"]), ("Completed", 0, 0))
		self.assertEqual(chunk_rows(again["run"]), [])

	def test_invoice_names_are_taken_ahead_in_the_series_and_the_unused_given_back(self):
		series = NamingSeries(get_default_naming_series("Sales Invoice"))
		prefix = series.get_prefix()
		customers, _subs = book(1, self.first)
		run = billing_run.create_run(self.last, "Administrator")
		billing_run.bill(run, customers)  # the series' counter row exists
		names = InvoiceNames()
		names.take(3)
		current = series_current(prefix)
		digits = len(names.free[0][1]) - len(prefix)
		self.assertEqual(
			[n for _number, n in names.free],
			[f"{prefix}{k:0{digits}d}" for k in range(current - 2, current + 1)],
		)
		taken = names.pop()
		self.assertTrue(taken.startswith(prefix))
		names.committed()
		names.give_back()  # the two unused were the series' last: given back
		self.assertEqual(series_current(prefix), current - 2)
		self.assertEqual(int(taken[len(prefix) :]), current - 2)

	def test_the_desk_resume_enqueues_what_was_left_and_refuses_finished_runs(self):
		from frappe.utils.background_jobs import get_job

		from gigafibre_fsm.api import billing as api
		from gigafibre_fsm.exceptions import ForbiddenError
		from gigafibre_fsm.test_utils import make_user

		customers, _subs = book(3, self.first)
		lost = billing_run.create_run(self.last, "Administrator")  # its planning job was lost
		frappe.db.commit()
		planned = billing_run.create_run(self.last, "Administrator")
		frappe.db.commit()
		first, second = billing_run.plan_run(planned, customers, chunk_size=2)
		billing_run.bill_chunk(planned, first)  # the second chunk's worker died before it started
		frappe.db.commit()
		jobs = []
		try:
			frappe.set_user(make_user(["Customer Service"]).name)
			with self.assertRaises(ForbiddenError):
				api.resume_billing_run(run=planned)
			frappe.set_user(make_user(["Accounts Manager"]).name)
			self.assertEqual(api.resume_billing_run(run=lost), {"run": lost, "planning": True, "chunks": 0})
			self.assertEqual(
				api.resume_billing_run(run=planned), {"run": planned, "planning": False, "chunks": 1}
			)
			frappe.db.commit()  # the jobs go to the queue after the commit
			jobs = [
				get_job(f"gigafibre_fsm:billing_run:{lost}"),
				get_job(f"gigafibre_fsm:billing_chunk:{second}"),
			]
			self.assertTrue(all(jobs), jobs)
			self.assertEqual([j.kwargs["kwargs"]["run"] for j in jobs], [lost, planned])
			self.assertEqual(jobs[1].kwargs["kwargs"]["chunk"], second)
			self.assertIsNone(get_job(f"gigafibre_fsm:billing_chunk:{first}"))  # Completed: not again

			billing_run.bill_chunk(planned, second)  # as the job would
			self.assertEqual(frappe.db.get_value(billing_run.RUN, planned, "status"), "Completed")
			with self.assertRaises(frappe.ValidationError):
				api.resume_billing_run(run=planned)
			with self.assertRaises(frappe.DoesNotExistError):
				api.resume_billing_run(run="BR-does-not-exist")
		finally:
			frappe.set_user("Administrator")
			for job in jobs:
				if job:
					job.delete()
		self.assertEqual([len(invoices_of(c)) for c in customers], [1, 1, 1])
