"""A month's billing run over a generated book (default 6,500 customers, about 21,900
subscriptions: 3.37 per customer), then a re-run that must bill nothing, in a real bench.

Run with the bench's Python from its sites folder, while no test run uses the site:

    cd ~/frappe-bench/sites && ../env/bin/python \\
        /path/to/repo/benchmarks/bench_billing_run.py test_site [N] [WORKERS]

The book is the worst case of a month: every subscription has one whole period due on the
first of the month (monthly ones, and the annual and semestrial ones whose period starts
then), so the run issues N submitted Sales Invoices with every line.

First PROFILE customers (environment, default 100; 0: none) are billed in this process under
cProfile, with ERPNext's insert+submit timed: where an invoice's time goes. The rest is the run
as production does it: planned here, its chunk jobs (billing_run.CHUNK_SIZE customers) put on
the long queue and billed by WORKERS (default 2) real ``bench worker --queue long --burst``
processes started here; timed until the Billing Run is Completed. Then a re-run of the same
customers (must bill nothing) and the planning of the whole site's book (what the daily re-run
reads before it finds nothing). It deletes everything it made (customers, subscriptions,
invoices and their ledger rows, keys, the runs); names carry a BENCHBILL-<hash> prefix. Run it
while no other worker listens on the long queue (it prints how many run).
"""

from __future__ import annotations

import os
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
		frappe.db.delete("Billing Run Chunk", {"parent": run})
		frappe.db.delete("Billing Run", {"name": run})
	frappe.db.commit()


class Timer:
	"""Time spent in Sales Invoice insert and submit (instrumentation of the in-process pass only)."""

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


def profiled_pass(as_of: date, customers: list[str], runs: list[str]) -> None:
	"""The first customers billed in this process under cProfile and the insert/submit timer:
	where an invoice's time goes."""
	import cProfile
	import io
	import pstats

	from frappe.model.document import Document

	from gigafibre_fsm.customers import billing_run

	timer = Timer()
	originals = {m: timer.wrap(Document, m) for m in ("insert", "submit")}
	runs.append(billing_run.create_run(as_of, "Administrator"))
	frappe.db.commit()
	profile = cProfile.Profile()
	started = time.perf_counter()
	profile.enable()
	result = billing_run.bill(runs[-1], customers=customers)
	profile.disable()
	spent = time.perf_counter() - started
	for m, original in originals.items():
		setattr(Document, m, original)
	count = max(result["invoices"], 1)
	insert_ms = timer.spent["insert"] / count * 1000
	print(
		f"profiled pass (1 process, cProfile on): {result['invoices']} invoices in {spent:.1f} s, "
		f"{spent / count * 1000:.0f} ms per invoice, of which Sales Invoice insert+submit {insert_ms:.0f} ms"
	)
	out = io.StringIO()
	stats = pstats.Stats(profile, stream=out)
	stats.sort_stats("cumulative").print_stats(45)
	stats.sort_stats("tottime").print_stats(25)
	print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:14000])


def start_workers(count: int) -> list:
	"""``bench worker --queue long --burst`` processes (they leave when the queue is empty)."""
	import subprocess

	return [
		subprocess.Popen(
			[
				sys.executable,
				"-m",
				"frappe.utils.bench_helper",
				"frappe",
				"worker",
				"--queue",
				"long",
				"--burst",
			],
			stdout=subprocess.DEVNULL,
			stderr=subprocess.DEVNULL,
		)
		for _ in range(count)
	]


def chunked_run(as_of: date, customers: list[str], workers: int, runs: list[str]) -> tuple[dict, float]:
	"""The run as production does it: planned here, its chunk jobs on the long queue billed by
	``workers`` real RQ workers; the time until the Billing Run is Completed."""
	from gigafibre_fsm.customers import billing_run

	runs.append(billing_run.create_run(as_of, "Administrator"))
	frappe.db.commit()
	started = time.perf_counter()
	billing_run.bill(runs[-1], customers=customers, inline=False)
	planned = time.perf_counter() - started
	procs = start_workers(workers)
	status = None
	while status not in billing_run.DONE:
		time.sleep(2)
		frappe.db.commit()  # a fresh snapshot
		status = frappe.db.get_value(billing_run.RUN, runs[-1], "status")
		if all(p.poll() is not None for p in procs) and status not in billing_run.DONE:
			frappe.db.commit()
			status = frappe.db.get_value(billing_run.RUN, runs[-1], "status")
			if status not in billing_run.DONE:
				print("  the workers left before the run completed")
				break
	wall = time.perf_counter() - started
	for p in procs:
		p.wait(120)
	print(f"  planning and enqueueing the chunks: {planned:.1f} s")
	return billing_run.summary(frappe.get_doc(billing_run.RUN, runs[-1])), wall


def main(site: str, n: int, workers: int = 2) -> None:
	frappe.init(site=site)
	frappe.connect()
	frappe.set_user("Administrator")
	from frappe.utils.background_jobs import get_workers

	from gigafibre_fsm.customers import billing_book, billing_run

	as_of = getdate().replace(day=1)
	prefix = f"BENCHBILL-{frappe.generate_hash(length=6)}"
	make_plan_item()
	started = time.perf_counter()
	customers, subs = generate(prefix, n, as_of)
	print(f"generated {n} customers and {subs} subscriptions in {time.perf_counter() - started:.1f} s")
	print(f"RQ workers already running: {len(get_workers())}")
	runs = []
	try:
		started = time.perf_counter()
		plans, refused = billing_book.plan_book(as_of, customers, billing_book.Context())
		plan_s = time.perf_counter() - started
		lines = sum(len(p.lines) for ps in plans.values() for p in ps)
		print(f"plan: {len(plans)} customers due, {lines} lines, {len(refused)} refused, in {plan_s:.2f} s")
		frappe.db.commit()

		profiled = int(os.environ.get("PROFILE", "100"))
		if profiled:
			profiled_pass(as_of, customers[:profiled], runs)
		rest = customers[profiled:]
		frappe.db.commit()
		result, wall = chunked_run(as_of, rest, workers, runs)
		count = max(result["invoices"], 1)
		print(
			f"run ({workers} workers, chunks of {billing_run.CHUNK_SIZE}): {result['status']}, "
			f"{result['invoices']} invoices, {len(result['failures'])} failures, total {result['total']:.2f}, "
			f"in {wall:.1f} s: {count / wall:.2f} invoices/s, {wall / count * 1000:.0f} ms per invoice overall"
		)
		if result["failures"]:
			print("  first failures:", result["failures"][:3])
		print(f"  extrapolated to 6,500 customers: {wall / max(len(rest), 1) * 6500 / 60:.1f} min")

		runs.append(billing_run.create_run(as_of, "Administrator"))
		frappe.db.commit()
		started = time.perf_counter()
		again = billing_run.bill(runs[-1], customers=customers)
		print(
			f"re-run of the bench's customers: {again['invoices']} invoices in {time.perf_counter() - started:.2f} s"
		)
		# what the daily re-run costs before it finds nothing: reading and planning the whole book
		started = time.perf_counter()
		whole = billing_book.dry_run(as_of)
		print(
			f"planning the whole site's book ({whole['customers']} customers still due there, "
			f"not bench ones): {time.perf_counter() - started:.2f} s"
		)
	finally:
		started = time.perf_counter()
		cleanup(prefix, runs)
		print(f"cleaned up in {time.perf_counter() - started:.1f} s")
		frappe.destroy()


if __name__ == "__main__":
	main(
		sys.argv[1] if len(sys.argv) > 1 else "test_site",
		int(sys.argv[2]) if len(sys.argv) > 2 else 6500,
		int(sys.argv[3]) if len(sys.argv) > 3 else 2,
	)
