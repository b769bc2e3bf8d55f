"""Benchmark of the legacy migration at production scale (issue 10).

    python benchmarks/bench_legacy_import.py --site test_site [--scale 1.0] [--skip-generate] [--keep]

1. generates the legacy database (gigafibre_fsm.legacy.generate, seed 1) on the local MariaDB
   (``--database``, default gf_legacy_bench), unless ``--skip-generate``;
2. ``bench --site <site> gigafibre-legacy import --source mysql://root@127.0.0.1/<db>``: the
   first import (time per table from the run's report, total, peak RSS of the process);
3. the same command again (the re-run: nothing to write);
4. ``gigafibre-legacy verify`` (its time and result);
5. ``gigafibre-legacy purge --yes`` unless ``--keep`` (the site is shared with the tests).

The migration server wants a buffer pool that holds what the import writes (README, "Legacy
migration": ~12 GB of tables and indexes at full scale): with ``--tune-server`` the benchmark sets,
on the local MariaDB, ``innodb_buffer_pool_size`` to ``--buffer-pool-gib`` (default 12),
``innodb_log_file_size`` to 2 GiB (online since MariaDB 10.9) and ``innodb_flush_log_at_trx_commit``
to 2 for the run (the latter restored afterwards; the bigger buffer pool and redo log are left,
harmless); without it, it prints the server's values and warns when the buffer pool is under 1 GiB.

Run it from the bench's app directory (it calls ``bench``) while nothing else uses the site:
it writes millions of rows. Goals: import ≤ 4 min, re-run ≤ 1 min.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(os.environ.get("BENCH", Path.home() / "frappe-bench"))


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, int, str]:
	"""(seconds, peak RSS of the children so far in MiB, output) of one command."""
	started = time.monotonic()
	result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
	seconds = time.monotonic() - started
	rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
	output = result.stdout + result.stderr
	if result.returncode not in (0, 1):
		sys.stderr.write(output[-4000:])
		raise SystemExit(f"{' '.join(cmd)} failed ({result.returncode})")
	return seconds, rss, output


def main() -> int:
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("--site", default="test_site")
	parser.add_argument("--scale", type=float, default=1.0)
	parser.add_argument("--database", default="gf_legacy_bench")
	parser.add_argument("--seed", type=int, default=1)
	parser.add_argument("--skip-generate", action="store_true")
	parser.add_argument("--keep", action="store_true", help="Leave the imported data on the site")
	parser.add_argument("--writers", type=int, default=None, help="import --writers N")
	parser.add_argument(
		"--tune-server",
		action="store_true",
		help="Set innodb_buffer_pool_size (--buffer-pool-gib), innodb_log_file_size=2G and "
		"innodb_flush_log_at_trx_commit=2 for the run",
	)
	parser.add_argument("--buffer-pool-gib", type=int, default=12)
	args = parser.parse_args()
	restore = server_settings(args.tune_server, args.buffer_pool_gib << 30)
	try:
		return run(args)
	finally:
		if restore is not None:
			_server_sql(f"SET GLOBAL innodb_flush_log_at_trx_commit = {int(restore)}")


def _server_sql(sql: str):
	import pymysql

	conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
	try:
		with conn.cursor() as cur:
			cur.execute(sql)
			return cur.fetchall()
	finally:
		conn.close()


def server_settings(tune: bool, want_pool: int = 12 << 30):
	"""Print (and with ``tune`` set) the server settings that matter; returns the flush setting to
	restore, if changed."""
	pool, flush, redo = _server_sql(
		"SELECT @@innodb_buffer_pool_size, @@innodb_flush_log_at_trx_commit, @@innodb_log_file_size"
	)[0]
	restore = None
	if tune:
		if redo < 2 << 30:
			try:
				_server_sql(f"SET GLOBAL innodb_log_file_size = {2 << 30}")
			except Exception as e:  # before MariaDB 10.9 it is set in the server's configuration
				print(f"innodb_log_file_size left at {redo >> 20} MiB: {e}")
		if pool < want_pool:
			_server_sql(f"SET GLOBAL innodb_buffer_pool_size = {want_pool}")
		if flush != 2:
			_server_sql("SET GLOBAL innodb_flush_log_at_trx_commit = 2")
			restore = flush
		for _ in range(60):  # the buffer pool grows online, in the background
			pool_now = _server_sql("SELECT @@innodb_buffer_pool_size")[0][0]
			status = _server_sql("SHOW STATUS LIKE 'Innodb_buffer_pool_resize_status'")
			if pool_now >= want_pool and (not status or "ompleted" in status[0][1] or not status[0][1]):
				break
			time.sleep(1)
	pool, flush, redo = _server_sql(
		"SELECT @@innodb_buffer_pool_size, @@innodb_flush_log_at_trx_commit, @@innodb_log_file_size"
	)[0]
	print(
		f"server: innodb_buffer_pool_size {pool / 2**20:,.0f} MiB, innodb_log_file_size {redo / 2**20:,.0f} MiB, "
		f"innodb_flush_log_at_trx_commit {flush}"
	)
	if pool < 1 << 30:
		print(
			"warning: a buffer pool under 1 GiB: the import is bound by InnoDB reading its indexes (--tune-server)"
		)
	return restore


def run(args) -> int:
	source = f"mysql://root@127.0.0.1:3306/{args.database}"
	figures: dict = {"database": args.database, "site": args.site, "tuned_server": args.tune_server}
	if not args.skip_generate:
		figures["scale"] = args.scale
	if not args.skip_generate:
		seconds, _, output = timed(
			[
				sys.executable,
				"-m",
				"gigafibre_fsm.legacy.generate",
				"--database",
				args.database,
				"--seed",
				str(args.seed),
				"--scale",
				str(args.scale),
			]  # fmt: skip
		)
		figures["generate_s"] = round(seconds, 1)
		print(output)
	bench = ["bench", "--site", args.site, "gigafibre-legacy"]
	extra = ["--writers", str(args.writers)] if args.writers else []
	figures["writers"] = args.writers or "default"
	seconds, rss, output = timed([*bench, "import", "--source", source, "--quiet", *extra], cwd=BENCH)
	figures["import_s"] = round(seconds, 1)
	figures["import_peak_rss_mib"] = rss
	figures["import_completed"] = ": Completed," in output
	print(output)
	if not figures["import_completed"]:
		print("warning: the first import did not complete: the next run resumes it (see its output above)")
	seconds, _, output = timed([*bench, "import", "--source", source, "--quiet"], cwd=BENCH)
	figures["rerun_s"] = round(seconds, 1)
	print(output)
	seconds, _, output = timed([*bench, "verify", "--source", source], cwd=BENCH)
	figures["verify_s"] = round(seconds, 1)
	figures["verify_ok"] = "FAIL" not in output
	print(output)
	_, _, output = timed([*bench, "status", "--limit", "2"], cwd=BENCH)
	print(output)
	if not args.keep:
		seconds, _, output = timed([*bench, "purge", "--yes", "--source", source], cwd=BENCH)
		figures["purge_s"] = round(seconds, 1)
	print(json.dumps(figures, indent=1))
	return 0


if __name__ == "__main__":
	sys.exit(main())
