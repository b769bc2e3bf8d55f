"""Flows in steady state: 100,000 runs a day with a wait, end to end, with real RQ workers.

Run with the bench's Python from its sites folder, while nothing else uses the site:

    cd ~/frappe-bench/sites && ../env/bin/python /path/to/repo/benchmarks/bench_flow_steady.py test_site \\
        [--per-day 100000] [--minutes 10] [--workers 2] [--waker 5] [--wait-minutes 1] [--backlog 20000]

What runs, all real: a template "wait ``--wait-minutes``" → "done" (a wait of 0 minutes: no
side effect); a feeder that starts runs at ``--per-day`` (1.16/s for 100,000) for
``--minutes`` through ``runtime.start_run`` (their first advance takes them to the wait, so
the waits fall due at the same rate, spread over the window); ``--workers`` RQ workers of the
site (``bench worker --queue <queue>`` processes, the flow queue set to ``--queue`` in the
site config for the run); the flow tick (``gigafibre_fsm.flows.jobs.tick``) in its own
process at the cron slots hooks.py gives it (every minute, on the minute, as Frappe's
scheduler enqueues it at most); and with ``--waker N`` (0: none) the flow waker
(``gigafibre_fsm.flows.waker``, a pass every N seconds). ``--backlog`` Waiting runs due in
2–26 h are bulk-inserted first, so the due query works on a table of realistic size.

Wake latency of a run = when the step after the wait was saved done (the run's last save,
which completes it) − when the wait fell due (the wait's ``until``): tick or waker → queue →
worker → step done. It prints p50/p95/p99/max, throughput, the backlog every 30 s (RQ queue,
runs due and not yet woken, open runs), the machine's CPU, DB statements and Redis commands
per second over the window, as JSON at the end. It deletes every run, job and record it made,
restores the site config and stops every process it started (also on Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import frappe
from frappe.utils import add_to_date, get_datetime, now_datetime

TICK = "gigafibre_fsm.flows.jobs.tick"


def tick_cron() -> str:
	"""The cron slot hooks.py gives the flow tick."""
	for cron, methods in (
		frappe.get_hooks("scheduler_events", app_name="gigafibre_fsm").get("cron", {}).items()
	):
		if TICK in methods:
			return cron
	raise SystemExit(f"{TICK} is not in hooks.py's cron events")


def ticker_main(site: str, cron: str, stopfile: str):
	"""A ticker process: the flow tick at each cron slot (Frappe's scheduler: at most that often)."""
	from croniter import croniter

	frappe.init(site=site, sites_path=".")
	frappe.connect()
	from gigafibre_fsm.flows import jobs

	stats = {"ticks": 0, "errors": 0, "selected": 0, "seconds": []}
	slots = croniter(cron, datetime.now(UTC))  # aware: get_next(float) is a real timestamp
	slot = slots.get_next(float)
	while not os.path.exists(stopfile):
		if time.time() < slot:
			time.sleep(min(0.5, slot - time.time()))
			continue
		slot = slots.get_next(float)
		started = time.perf_counter()
		try:
			stats["selected"] += jobs.tick()
			frappe.db.commit()
			stats["ticks"] += 1
		except Exception as e:
			frappe.db.rollback()
			stats["errors"] += 1
			print(f"tick error: {e!r}", file=sys.stderr, flush=True)
		stats["seconds"].append(round(time.perf_counter() - started, 3))
		frappe.local.flags.pop("gigafibre_runs_enqueued", None)  # a fresh tick, as the scheduler's
	print(json.dumps(stats), flush=True)
	frappe.destroy()


class Load:
	"""Machine CPU, DB statements and Redis commands, read as counters (deltas per second)."""

	def __init__(self):
		from frappe.utils.background_jobs import get_redis_conn

		self.queue_redis = get_redis_conn()
		self.t, self.values = time.monotonic(), self.read()

	@staticmethod
	def cpu() -> tuple[int, int]:
		fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
		idle = fields[3] + fields[4]
		return sum(fields) - idle, sum(fields)

	def db_statements(self) -> int | None:
		try:
			if frappe.conf.db_type == "postgres":
				sql = "select xact_commit + xact_rollback from pg_stat_database where datname = current_database()"
				return int(frappe.db.sql(sql)[0][0])
			return int(frappe.db.sql("show global status like 'Questions'")[0][1])
		except Exception:
			frappe.db.rollback()  # PostgreSQL: a failed statement spoils the transaction
			return None

	def read(self) -> dict:
		busy, total = self.cpu()
		return {
			"busy": busy,
			"total": total,
			"db": self.db_statements(),
			"redis_cache": frappe.cache.info("stats")["total_commands_processed"],
			"redis_queue": self.queue_redis.info("stats")["total_commands_processed"],
		}

	def rates(self) -> dict:
		now, values = time.monotonic(), self.read()
		old, dt = self.values, max(1e-6, now - self.t)
		out = {
			"cpu_busy_pct": round(
				100 * (values["busy"] - old["busy"]) / max(1, values["total"] - old["total"])
			)
		}
		for key, label in (
			("db", "db_per_s"),
			("redis_cache", "redis_cache_cmd_per_s"),
			("redis_queue", "redis_queue_cmd_per_s"),
		):
			if values[key] is not None and old[key] is not None:
				out[label] = round((values[key] - old[key]) / dt)
		out["db_counter"] = "transactions" if frappe.conf.db_type == "postgres" else "statements (Questions)"
		return out


def workers_cpu(pool) -> float:
	"""CPU seconds of the RQ workers and their finished work-horses (utime, stime, cutime, cstime)."""
	ticks = os.sysconf("SC_CLK_TCK")
	total = 0
	for proc in pool.procs:
		try:
			fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
		except OSError:
			continue
		total += sum(int(x) for x in fields[11:15])
	return total / ticks


def pct(values: list[float], p: float) -> float | None:
	if not values:
		return None
	values = sorted(values)
	return round(values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))], 2)


def insert_backlog(prefix: str, template: str, n: int) -> None:
	"""``n`` Waiting runs due in 2–26 h (no steps: the tick's query only reads the run row)."""
	now = now_datetime()
	fields = ["name", "template", "template_version", "status", "next_wake_at", "reference_doctype"]
	fields += ["reference_name", "trigger_key", "creation", "modified", "owner", "modified_by"]
	rows = []
	for i in range(n):
		due = add_to_date(now, hours=2, seconds=i * 86400 // max(1, n))
		rows.append((f"{prefix}-{i:06d}", template, 1, "Waiting", due, "ToDo", "bench", f"{prefix}-{i}"))
	rows = [(*row, now, now, "Administrator", "Administrator") for row in rows]
	for i in range(0, n, 5000):
		frappe.db.bulk_insert("Flow Run", fields, rows[i : i + 5000])
		frappe.db.commit()


def sample(template: str, queue, started: float, prefix: str) -> dict:
	frappe.db.commit()  # a fresh snapshot
	run = frappe.qb.DocType("Flow Run")
	now = now_datetime()
	due = (
		frappe.qb.from_(run)
		.select(frappe.query_builder.functions.Count("*"))
		.where((run.status == "Waiting") & (run.next_wake_at <= now))
	).run()[0][0]
	open_runs = frappe.db.count(  # the runs the feeder started (not the backlog, due hours later)
		"Flow Run",
		{
			"template": template,
			"status": ["in", ["Pending", "Running", "Waiting"]],
			"name": ["not like", f"{prefix}-%"],
		},
	)
	done = frappe.db.count("Flow Run", {"template": template, "status": "Completed"})
	return {
		"t": round(time.monotonic() - started),
		"queued": queue.count,
		"due_not_woken": due,
		"open": open_runs,
		"completed": done,
	}


def measure(template: str) -> dict:
	"""Per run: the wait's due time, when the run completed; the wake latencies."""
	frappe.db.commit()
	runs = {
		r.name: r
		for r in frappe.get_all(
			"Flow Run",
			{"template": template},
			["name", "status", "creation", "modified"],
			limit_page_length=0,
		)
	}
	waits = frappe.get_all(
		"Flow Run Step",
		{"parenttype": "Flow Run", "parent": ["in", list(runs) or [""]], "step_id": "w"},
		["parent", "output", "started_at"],
		limit_page_length=0,
	)
	wake, first = [], []
	for row in waits:
		r = runs[row.parent]
		if row.started_at:
			first.append((get_datetime(row.started_at) - get_datetime(r.creation)).total_seconds())
		until = (json.loads(row.output) if row.output else {}).get("until")
		if r.status == "Completed" and until:
			wake.append((get_datetime(r.modified) - get_datetime(until)).total_seconds())
	status: dict[str, int] = {}
	for r in runs.values():
		status[r.status] = status.get(r.status, 0) + 1
	return {
		"runs": len(runs),
		"status": status,
		"wake_latency_s": {p: pct(wake, n) for p, n in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))},
		"wake_latency_over_60s": sum(1 for x in wake if x > 60),
		"start_to_wait_s": {p: pct(first, n) for p, n in (("p50", 50), ("p95", 95), ("max", 100))},
	}


def cleanup(template: str | None, ref, prefix: str) -> None:
	from gigafibre_fsm.flows.batches import drop_jobs

	names = (
		frappe.get_all("Flow Run", {"template": template}, pluck="name", limit_page_length=0)
		if template
		else []
	)
	drop_jobs(names)
	for i in range(0, len(names), 500):
		chunk = names[i : i + 500]
		frappe.db.delete("Flow Run Step", {"parenttype": "Flow Run", "parent": ["in", chunk]})
		frappe.db.delete("Notification Log", {"document_type": "Flow Run", "document_name": ["in", chunk]})
		frappe.db.delete("Flow Run", {"name": ["in", chunk]})
	frappe.db.delete("Flow Run", {"name": ["like", f"{prefix}-%"]})
	if template:
		frappe.db.delete("Flow Step", {"parenttype": "Flow Template", "parent": template})
		frappe.db.delete("Flow Template", {"name": template})
	if ref:
		frappe.db.delete("ToDo", {"name": ref})
	frappe.db.commit()


def _spawn(args: list[str], logdir: Path, name: str, sites_path: str) -> subprocess.Popen:
	from gigafibre_fsm.flows.chaos import _child_env

	return subprocess.Popen(
		[sys.executable, *args],
		stdout=subprocess.PIPE,
		stderr=open(logdir / f"{name}.log", "wb"),
		cwd=sites_path,
		env=_child_env(),
		start_new_session=True,
	)


def _finish(proc: subprocess.Popen) -> dict:
	try:
		out, _ = proc.communicate(timeout=90)
		return json.loads(out.decode().strip().splitlines()[-1])
	except Exception as e:
		try:
			os.killpg(proc.pid, signal.SIGKILL)
		except ProcessLookupError:
			pass
		proc.wait()
		return {"error": repr(e)}


def run(args) -> dict:
	from frappe.utils.background_jobs import get_queue

	from gigafibre_fsm.flows import runtime
	from gigafibre_fsm.flows.chaos import Workers, _set_conf
	from gigafibre_fsm.test_utils import make_template, step

	site, sites_path = frappe.local.site, os.path.abspath(frappe.local.sites_path)
	logdir = Path(tempfile.mkdtemp(prefix=f"flow-steady-{site}-"))
	stopfile = str(logdir / "stop")
	old_queue = frappe.get_site_config(sites_path=sites_path, site_path=frappe.get_site_path()).get(
		"gigafibre_flow_queue"
	)
	_set_conf({"gigafibre_flow_queue": args.queue})
	frappe.db.commit()
	rate = args.per_day / 86400
	prefix = f"STEADY-{frappe.generate_hash(length=6)}"
	cron = tick_cron()
	pool = Workers(site, args.workers, args.queue, logdir, sites_path)
	procs: dict[str, subprocess.Popen] = {}
	template = ref = None
	figures: dict = {
		"site": site,
		"db": frappe.conf.db_type or "mariadb",
		"per_day": args.per_day,
		"rate_per_s": round(rate, 3),
	}
	figures.update({"minutes": args.minutes, "workers": args.workers, "queue": args.queue, "tick_cron": cron})
	figures.update(
		{"waker_every_s": args.waker or None, "wait_minutes": args.wait_minutes, "backlog": args.backlog}
	)
	figures["loadavg_before"] = os.getloadavg()
	try:
		template = make_template(
			[
				step("w", "wait", {"delay_minutes": args.wait_minutes}, label="Wait"),
				step("done", "wait", {"delay_minutes": 0}, deps=["w"], label="Done"),
			],
			title=f"Steady flows {prefix}",
			applies_to="Customer",
		).name
		ref = (
			frappe.get_doc({"doctype": "ToDo", "description": f"steady flows {prefix}"})
			.insert(ignore_permissions=True)
			.name
		)
		frappe.db.commit()
		t = time.perf_counter()
		insert_backlog(prefix, template, args.backlog)
		figures["backlog_insert_s"] = round(time.perf_counter() - t, 1)
		queue = get_queue(args.queue)
		figures["queue_jobs_before"] = queue.count

		pool.start()
		procs["ticker"] = _spawn(
			[os.path.abspath(__file__), "--ticker", site, cron, stopfile], logdir, "ticker", sites_path
		)
		if args.waker:
			procs["waker"] = _spawn(
				["-m", "gigafibre_fsm.flows.waker", site, str(args.waker), stopfile],
				logdir,
				"waker",
				sites_path,
			)
		time.sleep(5)  # the workers connect
		cpu0 = workers_cpu(pool)

		started = time.monotonic()
		end = started + args.minutes * 60
		load = Load()
		samples, next_sample, created, late = [], started, 0, 0.0
		while time.monotonic() < end:
			if time.monotonic() >= next_sample:
				samples.append(sample(template, queue, started, prefix))
				next_sample += args.sample_every
			due = started + created / rate
			if time.monotonic() < due:
				time.sleep(max(0.0, min(0.2, due - time.monotonic())))
				continue
			late = max(late, time.monotonic() - due)
			runtime.start_run(template, "ToDo", ref, occurrence=f"{prefix}-{created}")
			frappe.db.commit()  # the first advance is enqueued after commit
			frappe.local.flags.pop("gigafibre_runs_enqueued", None)
			created += 1
		figures["window_load"] = load.rates()
		figures.update(
			{
				"created": created,
				"created_per_s": round(created / (args.minutes * 60), 3),
				"feeder_max_late_s": round(late, 1),
			}
		)

		deadline = time.monotonic() + args.wait_minutes * 60 + args.drain_minutes * 60
		while time.monotonic() < deadline:
			samples.append(sample(template, queue, started, prefix))
			if not samples[-1]["open"]:
				break
			time.sleep(args.sample_every)
		figures["drain_s"] = round(time.monotonic() - end)
		figures["workers_cpu_s"] = round(workers_cpu(pool) - cpu0, 1)
		busy = figures["window_load"]["cpu_busy_pct"] / 100 * (os.cpu_count() or 1) * args.minutes * 60
		figures["machine_busy_core_s_per_created_run"] = round(busy / max(1, created), 3)
		figures["backlog_samples"] = [
			s for i, s in enumerate(samples) if i % max(1, round(30 / args.sample_every)) == 0
		]
		figures["max_queued"] = max((s["queued"] for s in samples), default=0)
		figures["max_due_not_woken"] = max((s["due_not_woken"] for s in samples), default=0)
	finally:
		Path(stopfile).touch()
		for name, proc in procs.items():
			figures[name] = _finish(proc)
		pool.stop()
		try:
			if template:
				figures.update(measure(template))
				completed = figures.get("status", {}).get("Completed", 0)
				figures["completed_per_s"] = round(completed / (args.minutes * 60), 3)
				if "workers_cpu_s" in figures:
					figures["workers_cpu_s_per_run"] = round(figures["workers_cpu_s"] / max(1, completed), 3)
		finally:
			cleanup(template, ref, prefix)
			_set_conf({"gigafibre_flow_queue": old_queue})
			frappe.db.commit()
			figures["logs"] = str(logdir)
	return figures


def main() -> int:
	if len(sys.argv) == 5 and sys.argv[1] == "--ticker":
		ticker_main(sys.argv[2], sys.argv[3], sys.argv[4])
		return 0
	p = argparse.ArgumentParser(description="Flows in steady state, end to end")
	p.add_argument("site")
	p.add_argument("--per-day", type=int, default=100_000)
	p.add_argument("--minutes", type=float, default=10)
	p.add_argument("--workers", type=int, default=2)
	p.add_argument("--waker", type=float, default=5, help="seconds between the waker's passes (0: tick only)")
	p.add_argument("--wait-minutes", type=int, default=1)
	p.add_argument("--backlog", type=int, default=20_000, help="Waiting runs due later, bulk-inserted")
	p.add_argument("--queue", default="long", help="the flow queue during the run (site config, restored)")
	p.add_argument("--sample-every", type=float, default=5)
	p.add_argument("--drain-minutes", type=float, default=5, help="after the window, at most this to finish")
	args = p.parse_args()

	def stop(signum, frame):
		raise KeyboardInterrupt

	signal.signal(signal.SIGTERM, stop)
	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	frappe.set_user("Administrator")
	try:
		figures = run(args)
	finally:
		frappe.destroy()
	print(json.dumps(figures, indent=1, default=str), flush=True)
	p95 = (figures.get("wake_latency_s") or {}).get("p95")
	print(
		f"STEADY p95 wake latency {p95} s (goal <= 60 s): "
		+ ("MET" if p95 is not None and p95 <= 60 else "NOT MET")
	)
	return 0


if __name__ == "__main__":
	sys.exit(main())
