"""Where the legacy import spends its time (issue 10): Python vs waiting on the database, per step.

    cd ~/frappe-bench/sites && ../env/bin/python /path/to/profile_legacy_import.py --site test_site \
        --database gf_legacy_bench [--cprofile invoices] [--keep]

Runs the import in this process (the legacy database must exist: bench_legacy_import.py or
``python -m gigafibre_fsm.legacy.generate`` makes it) with counters around the driver: the time
spent escaping parameters (pymysql ``mogrify``), the time in ``frappe.db.sql`` outside the driver, and the time
the driver waits for the server (``Connection.query``, which the bulk writes' direct cursor
calls too); the rest of each step is Python building rows. ``cpu``: the process's own CPU time
(the machine is shared: wall times move with its load, CPU times much less). ``--cprofile STEP`` profiles that step instead (top functions printed).
Purges what it imported afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import resource
import time
from collections import defaultdict

CLOCK = defaultdict(float)


def _wrap(owner, attr: str, key: str) -> None:
	original = getattr(owner, attr)

	def timed(*args, **kwargs):
		started = time.perf_counter()
		try:
			return original(*args, **kwargs)
		finally:
			CLOCK[key] += time.perf_counter() - started

	setattr(owner, attr, timed)


def instrument(db_type: str) -> None:
	import frappe.database.database as fdb

	_wrap(fdb.Database, "sql", "frappe.db.sql")
	if db_type != "postgres":  # on PostgreSQL only frappe.db.sql as a whole is timed
		import pymysql.connections
		import pymysql.cursors

		_wrap(pymysql.connections.Connection, "query", "db wait")
		_wrap(pymysql.cursors.Cursor, "mogrify", "escape")


def _purge(frappe) -> None:
	from gigafibre_fsm.legacy.purge import purge

	started = time.perf_counter()
	frappe.db.rollback()
	purge(None)
	frappe.db.commit()
	print(f"purged in {time.perf_counter() - started:.1f}s")


def main() -> int:
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("--site", default="test_site")
	parser.add_argument("--database", default="gf_legacy_bench")
	parser.add_argument("--only", default=None)
	parser.add_argument("--cprofile", default=None, help="A step to profile with cProfile")
	parser.add_argument("--keep", action="store_true")
	parser.add_argument("--no-overlap", action="store_true", help="No background writer (legacy.writer)")
	parser.add_argument("--writers", type=int, default=None, help="Connections of the background writer")
	args = parser.parse_args()
	import frappe

	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	frappe.set_user("Administrator")
	instrument(frappe.db.db_type)
	if frappe.db.db_type != "postgres":
		print(
			"server:",
			frappe.db.sql(
				"SELECT @@innodb_buffer_pool_size, @@innodb_flush_log_at_trx_commit, @@version, @@log_bin,"
				" @@innodb_log_file_size, @@innodb_doublewrite, @@max_allowed_packet",
				as_dict=True,
			)[0],
		)
	for doctype in (
		"GL Entry",
		"Payment Ledger Entry",
		"Sales Invoice",
		"Sales Invoice Item",
		"Communication",
	):
		print(f"  tab{doctype}: {frappe.db.count(doctype):,} rows before")
	from gigafibre_fsm.legacy import importer as importer_mod

	per_step: dict[str, dict] = {}
	profiler = cProfile.Profile() if args.cprofile else None
	for step, fn in list(importer_mod.STEP_FUNCTIONS.items()):

		def run_step(imp, fn=fn, step=step):
			before = dict(CLOCK)
			cpu = time.process_time()
			started = time.perf_counter()
			if profiler and step == args.cprofile:
				profiler.enable()
			try:
				fn(imp)
			finally:
				if profiler and step == args.cprofile:
					profiler.disable()
				wall = time.perf_counter() - started
				delta = {k: CLOCK[k] - before.get(k, 0.0) for k in CLOCK}
				per_step[step] = {"wall": wall, "cpu": time.process_time() - cpu, **delta}

		importer_mod.STEP_FUNCTIONS[step] = run_step
	source = f"mysql://root@127.0.0.1:3306/{args.database}"
	started = time.perf_counter()
	imp = importer_mod.Importer(source, only=args.only, progress=False, overlap=not args.no_overlap)
	if args.writers:
		imp.writers = args.writers
	try:
		imp.run()
	except BaseException:
		if not args.keep:
			_purge(frappe)
		raise
	total = time.perf_counter() - started
	print(f"import {total:.1f}s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")
	print(
		f"{'step':14} {'wall':>7} {'db.sql':>7} {'wait':>7} {'escape':>7} {'sql-ovh':>7} {'python':>7} {'cpu':>7}"
	)
	for step, f in per_step.items():
		sql = f.get("frappe.db.sql", 0.0)
		wait = f.get("db wait", 0.0)
		esc = f.get("escape", 0.0)
		print(
			f"{step:14} {f['wall']:7.2f} {sql:7.2f} {wait:7.2f} {esc:7.2f} {sql - wait - esc:7.2f}"
			f" {f['wall'] - wait - esc - max(sql - wait - esc, 0):7.2f} {f['cpu']:7.2f}"
		)
	print("timings", imp.timings)
	if profiler:
		out = io.StringIO()
		stats = pstats.Stats(profiler, stream=out)
		stats.sort_stats("tottime").print_stats(35)
		stats.sort_stats("cumulative").print_stats(45)
		print(out.getvalue())
	if not args.keep:
		_purge(frappe)
	frappe.destroy()
	return 0


if __name__ == "__main__":
	raise SystemExit(main())
