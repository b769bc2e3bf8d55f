"""A month's billing run over a generated book (default 6,500 customers, about 21,900
subscriptions: 3.37 per customer), then a re-run that must bill nothing, in a real bench.

Run with the bench's Python from its sites folder, while no test run uses the site:

    cd ~/frappe-bench/sites && ../env/bin/python \\
        /path/to/repo/benchmarks/bench_billing_run.py test_site [N] [WORKERS]

With WORKERS > 1 a second book of N customers is billed by WORKERS processes at once (each its
own part of the customers and its own Billing Run), as background workers would.

The book is the worst case of a month: every subscription has one whole period due on the
first of the month (monthly ones, and the annual and semestrial ones whose period starts
then), so the run issues N submitted Sales Invoices with every line. It prints the planning
time, the run (per invoice: ERPNext's insert, submit and the rest), the re-run and the
dry run, then deletes everything it made (customers, subscriptions, invoices and their
ledger rows, keys, the runs); names carry a BENCHBILL-<hash> prefix.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from datetime import date

import frappe
from frappe.utils import add_days, add_months, getdate, now_datetime

PLAN = "BENCHBILL-PLAN"
CYCLES = ["Monthly"] * 17 + ["Annual"] * 2 + ["Semestrial"]  # 85 %, 10 %, 5 %


def make_plan_item() -> None:
	if frappe.db.exists("Item", PLAN):
		return
	frappe.get_doc(
		{
			"doctype": "Item",
			"item_code": PLAN,
			"item_name": "Fibre bench",
			"item_group": frappe.db.get_value("Item Group", {"is_group": 0}, "name"),
			"stock_uom": "Nos",
			"is_stock_item": 0,
		}
	).insert(ignore_permissions=True)


def generate(prefix: str, n: int, as_of: date) -> tuple[list[str], int]:
	now = now_datetime()
	group = frappe.db.get_value("Customer Group", {"is_group": 0}, "name")
	territory = frappe.db.get_value("Territory", {"is_group": 0}, "name")
	customers = [f"{prefix}-C{i:05d}" for i in range(n)]
	frappe.db.bulk_insert(
		"Customer",
		[
			"name",
			"customer_name",
			"customer_type",
			"customer_group",
			"territory",
			"creation",
			"modified",
			"owner",
			"modified_by",
		],
		[
			(c, c, "Individual", group, territory, now, now, "Administrator", "Administrator")
			for c in customers
		],
	)
	rows = []
	for i, customer in enumerate(customers):
		for j in range(3 + (i % 100 < 37)):
			cycle = CYCLES[(i * 7 + j) % len(CYCLES)]
			# started 1 to 3½ years ago; annual and semestrial ones in a month whose period starts now
			start = add_months(as_of, -((i + j) % 30) - 12)
			if cycle == "Annual":
				start = add_months(as_of, -12 * (1 + (i + j) % 3))
			elif cycle == "Semestrial":
				start = add_months(as_of, -6 * (1 + (i + j) % 4))
			billed_until = add_days(as_of, -1)
			rows.append(
				(
					f"{prefix}-S{i:05d}-{j}",
					customer,
					"Actif",
					PLAN,
					"Fibre bench",
					[39.95, 59.95, 79.95, 15.0][(i + j) % 4],
					cycle,
					start,
					billed_until,
					now,
					now,
					"Administrator",
					"Administrator",
				)
			)
	frappe.db.bulk_insert(
		"Service Subscription",
		[
			"name",
			"customer",
			"status",
			"plan",
			"plan_name",
			"monthly_price",
			"billing_cycle",
			"start_date",
			"billed_until",
			"creation",
			"modified",
			"owner",
			"modified_by",
		],
		rows,
		chunk_size=5000,
	)
	frappe.db.commit()
	return customers, len(rows)


def cleanup(prefix: str, runs: list[str]) -> None:
	like = ("like", f"{prefix}-%")
	invoices = frappe.get_all("Sales Invoice", {"customer": like}, pluck="name", limit_page_length=0)
	for i in range(0, len(invoices), 1000):
		chunk = invoices[i : i + 1000]
		for dt, field in (
			("GL Entry", "voucher_no"),
			("Payment Ledger Entry", "voucher_no"),
			("Sales Invoice Item", "parent"),
			("Sales Taxes and Charges", "parent"),
			("Payment Schedule", "parent"),
			("Sales Invoice", "name"),
		):
			frappe.db.delete(dt, {field: ("in", chunk)})
		frappe.db.delete("Version", {"ref_doctype": "Sales Invoice", "docname": ("in", chunk)})
	frappe.db.delete("Billing Line Key", {"customer": like})
	frappe.db.delete("Service Subscription", {"name": like})
	frappe.db.delete("Customer", {"name": like})
	for run in runs:
		frappe.db.delete("Billing Run Failure", {"parent": run})
		frappe.db.delete("Billing Run", {"name": run})
	frappe.db.commit()


class Timer:
	"""Time spent in Sales Invoice insert and submit during the run (instrumentation only)."""

	def __init__(self):
		self.spent = defaultdict(float)
		self.calls = defaultdict(int)

	def wrap(self, cls, method):
		original = getattr(cls, method)
		timer = self

		def timed(doc, *args, **kwargs):
			if doc.doctype != "Sales Invoice":
				return original(doc, *args, **kwargs)
			started = time.perf_counter()
			try:
				return original(doc, *args, **kwargs)
			finally:
				timer.spent[method] += time.perf_counter() - started
				timer.calls[method] += 1

		setattr(cls, method, timed)
		return original


def _worker(site: str, run: str, customers: list[str], out) -> None:
	frappe.init(site=site)
	frappe.connect()
	frappe.set_user("Administrator")
	from gigafibre_fsm.customers import billing

	try:
		out.put(billing.bill(run, customers=customers))
	finally:
		frappe.destroy()


def parallel_run(site: str, as_of: date, customers: list[str], workers: int) -> tuple[int, float, list[str]]:
	"""The book split in ``workers`` parts, each billed by its own process (its own Billing Run):
	what a run spread over several background workers would take."""
	import multiprocessing

	from gigafibre_fsm.customers import billing

	parts = [customers[k::workers] for k in range(workers)]
	runs = [billing.create_run(as_of, "Administrator") for _ in parts]
	frappe.db.commit()
	ctx = multiprocessing.get_context("fork")
	out = ctx.Queue()
	started = time.perf_counter()
	procs = [ctx.Process(target=_worker, args=(site, r, p, out)) for r, p in zip(runs, parts, strict=True)]
	for proc in procs:
		proc.start()
	results = [out.get(timeout=3600) for _ in procs]
	for proc in procs:
		proc.join(60)
	return sum(r["invoices"] for r in results), time.perf_counter() - started, runs


def main(site: str, n: int, workers: int = 1) -> None:
	frappe.init(site=site)
	frappe.connect()
	frappe.set_user("Administrator")
	from frappe.model.document import Document

	from gigafibre_fsm.customers import billing, billing_book

	as_of = getdate().replace(day=1)
	prefix = f"BENCHBILL-{frappe.generate_hash(length=6)}"
	make_plan_item()
	started = time.perf_counter()
	customers, subs = generate(prefix, n, as_of)
	print(f"generated {n} customers and {subs} subscriptions in {time.perf_counter() - started:.1f} s")
	runs = []
	try:
		started = time.perf_counter()
		ctx = billing_book.Context()
		plans, refused = billing_book.plan_book(as_of, customers, ctx)
		plan_s = time.perf_counter() - started
		lines = sum(len(p.lines) for ps in plans.values() for p in ps)
		print(f"plan: {len(plans)} customers due, {lines} lines, {len(refused)} refused, in {plan_s:.2f} s")
		frappe.db.commit()

		timer = Timer()
		originals = {m: timer.wrap(Document, m) for m in ("insert", "submit")}
		runs.append(billing.create_run(as_of, "Administrator"))
		frappe.db.commit()
		started = time.perf_counter()
		result = billing.bill(runs[-1], customers=customers)
		run_s = time.perf_counter() - started
		for m, original in originals.items():
			setattr(Document, m, original)
		count = result["invoices"] or 1
		print(
			f"run: {result['invoices']} invoices, {len(result['failures'])} failures, "
			f"total {result['total']:.2f}, in {run_s:.1f} s ({run_s / count * 1000:.0f} ms per invoice)"
		)
		if result["failures"]:
			print("  first failures:", result["failures"][:3])
		insert_ms = timer.spent["insert"] / count * 1000
		submit_ms = timer.spent["submit"] / count * 1000
		rest_ms = run_s / count * 1000 - insert_ms - submit_ms
		print(
			f"  per invoice: Sales Invoice insert {insert_ms:.0f} ms, submit {submit_ms:.0f} ms, "
			f"the rest (lock, read, plan, keys, set_missing_values, commit) {rest_ms:.0f} ms"
		)
		print(f"  extrapolated to 6,500 customers: {run_s / max(n, 1) * 6500 / 60:.1f} min")

		if workers > 1:  # a second book, billed by several processes at once
			frappe.destroy()  # no connection shared with the forked workers
			frappe.init(site=site)
			frappe.connect()
			frappe.set_user("Administrator")
			more, _ = generate(f"{prefix}-P", n, as_of)
			frappe.db.commit()
			frappe.db.close()
			invoices, wall, part_runs = parallel_run(site, as_of, more, workers)
			frappe.connect()
			runs.extend(part_runs)
			print(
				f"{workers} processes: {invoices} invoices in {wall:.1f} s ({wall / max(invoices, 1) * 1000:.0f} ms "
				f"per invoice overall); extrapolated to 6,500 customers: {wall / max(n, 1) * 6500 / 60:.1f} min"
			)

		runs.append(billing.create_run(as_of, "Administrator"))
		frappe.db.commit()
		started = time.perf_counter()
		again = billing.bill(runs[-1], customers=customers)
		again_s = time.perf_counter() - started
		print(f"re-run: {again['invoices']} invoices in {again_s:.2f} s")
		# what a re-run costs before it finds nothing: reading and planning the whole site's book
		started = time.perf_counter()
		whole = billing_book.dry_run(as_of)
		print(
			f"planning the whole site's book ({whole['customers']} customers still due there, "
			f"not bench ones): {time.perf_counter() - started:.2f} s"
		)

		started = time.perf_counter()
		dry = billing_book.dry_run(as_of, customers)
		print(f"dry run after: {dry['invoices']} invoices in {time.perf_counter() - started:.2f} s")
	finally:
		started = time.perf_counter()
		cleanup(prefix, runs)
		print(f"cleaned up in {time.perf_counter() - started:.1f} s")
		frappe.destroy()


if __name__ == "__main__":
	main(
		sys.argv[1] if len(sys.argv) > 1 else "test_site",
		int(sys.argv[2]) if len(sys.argv) > 2 else 6500,
		int(sys.argv[3]) if len(sys.argv) > 3 else 1,
	)
