"""Diagnoses under load: N staff click "Diagnose" at once (an outage), through gunicorn.

    cd ~/frappe-bench/sites && ../env/bin/python /path/to/repo/benchmarks/bench_diagnose_load.py test_site \\
        [--concurrency 20] [--rounds 5] [--workers 2] [--threads 0] [--browser-sessions 4] [--modem browser]

Goal (issue #14): p95 ≤ slowest source + 300 ms; no diagnosis waits on another device's
browser session beyond the cap; the workers' memory bounded (browser contexts capped per
worker and reclaimed once idle).

What it does, on the site given (the app installed):
- starts the fake peers in this process, each with a known latency: the GenieACS NBI
  (fakepeers/genieacs.py; every query answers after ``--acs-delay`` s: the slowest source),
  one fake TP-Link web UI per device (fakepeers/tplink_webui.py; each of its 10 data calls
  answers after ``--modem-delay`` s; ``--modem direct``: the encrypted local API of
  fakepeers/tplink.py instead, no browser) and one OLT (net-snmp snmpd serving a generated
  table, fakepeers/olt_agent.py and olt_table.py; skipped without snmpd);
- points Gigafibre Settings at them (restored afterwards), makes a Network Element, N Service
  Equipment (one per fake modem, each with its ACS device and its ONT) and a staff user with
  the Dispatcher and Network Operator roles and a password, all committed;
- serves the site with gunicorn (``--workers``; ``--threads`` > 0 for gthread workers, 0 =
  enough threads for N diagnoses to overlap: ceil(N / workers)), logs the user in N times
  (one desk session per member of staff: session cookies, as the desk sends them);
- times one diagnosis alone (each source's own time), then ``--rounds`` rounds of N
  diagnoses fired at once (one per device, refresh=1) and prints p50/p95/max against the
  slowest source (the goal is checked from round 2: round 1 is every modem's first login),
  per-source times, the errors by code, the RSS of every gunicorn worker and
  the PSS of the browser processes under each worker, and the admin sessions live on the
  fake modems (one per browser context of the bridge) after each round; then waits for
  the idle sessions to be reclaimed (``--idle`` s, by the bridge's reaper) and measures again;
- deletes what it made, restores the settings, stops gunicorn and the peers. Exits 1 when
  the goal is missed or a request failed.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_public_pages import gunicorn_master, worker_rss_mb

PASSWORD = "Bench-diagnose-load-1"
METHOD = "/api/method/gigafibre_fsm.api.network.diagnose"
SETTINGS = (
	"genieacs_nbi_url",
	"genieacs_timeout",
	"modem_bridge_enabled",
	"modem_admin_username",
	"modem_timeout",
	"modem_session_idle_seconds",
	"modem_browser_sessions",
	"chromium_path",
	"snmp_timeout",
	"snmp_retries",
)


class Peers:
	"""The fake peers of one run (all in this process, on loopback)."""

	def __init__(self, args):
		from gigafibre_fsm.fakepeers import cpe_documents
		from gigafibre_fsm.fakepeers.genieacs import FakeGenieACS
		from gigafibre_fsm.fakepeers.olt_agent import OltAgent, snmpd_path
		from gigafibre_fsm.fakepeers.olt_table import generate_table
		from gigafibre_fsm.fakepeers.tplink import FakeTPLinkEX
		from gigafibre_fsm.fakepeers.tplink_webui import FakeTPLinkWebUI

		n = args.concurrency
		self.acs = FakeGenieACS(query_delay=args.acs_delay).start()
		now = datetime.now(UTC)
		self.documents = [
			cpe_documents.xx230v_document(f"2235BENCH{i:04d}", seed=i + 1, last_inform=now) for i in range(n)
		]
		self.acs.add_devices(self.documents)
		if args.modem == "browser":
			self.modems = [FakeTPLinkWebUI(data_delay=args.modem_delay).start() for _ in range(n)]
		else:
			self.modems = [FakeTPLinkEX(act_delay=args.modem_delay).start() for _ in range(n)]
		self.agent = None
		self.onts = []
		if snmpd_path():
			table = generate_table("zte", ports=1, onts_per_port=max(16, 3 * n), seed=14)
			self.onts = [o for o in table.onts if o.online and o.rx_dbm is not None][:n]
			self.agent = OltAgent(table, communities=("gf-bench-load",)).start()

	def logins(self) -> int:
		"""Admin logins the fake modems accepted so far (a warm session reused costs none)."""
		return sum(m.logins for m in self.modems)

	def live_sessions(self) -> int:
		"""Admin sessions logged in on the fake modems: one per browser context the bridges hold."""
		return sum(len(m.active) for m in self.modems)

	def stop(self) -> None:
		for peer in (self.acs, *self.modems):
			peer.stop()
		if self.agent is not None:
			self.agent.stop()


def arrange(args, peers: Peers) -> tuple[list[str], str, callable]:
	"""Settings, Network Element, equipment and the staff user, committed; returns (equipment, user, cleanup)."""
	import frappe
	from frappe.utils.password import update_password

	from gigafibre_fsm.permissions import DISPATCHER, NETWORK_OPERATOR
	from gigafibre_fsm.test_utils import make_user, settings_for_update, unique

	settings = settings_for_update()
	saved = {f: settings.get(f) for f in SETTINGS}
	saved_password = settings.get_password("modem_admin_password", raise_exception=False) or ""
	settings.update(
		{
			"genieacs_nbi_url": peers.acs.url,
			"genieacs_timeout": 10,
			"modem_bridge_enabled": 1,
			"modem_admin_username": "user",
			"modem_admin_password": "secret",
			"modem_timeout": 10,
			"modem_session_idle_seconds": args.idle,
			"modem_browser_sessions": args.browser_sessions,
			"chromium_path": "/usr/bin/chromium",
			"snmp_timeout": 2,
			"snmp_retries": 0,
		}
	)
	settings.save()
	ne = None
	if peers.agent is not None and peers.onts:
		ne = frappe.get_doc(
			{
				"doctype": "Network Element",
				"element_name": unique("OLT bench"),
				"vendor_profile": "zte_c300",
				"host": peers.agent.host,
				"snmp_port": peers.agent.port,
				"snmp_community": "gf-bench-load",
			}
		).insert(ignore_permissions=True)
	equipment = []
	for i, (doc, modem) in enumerate(zip(peers.documents, peers.modems, strict=True)):
		values = {
			"doctype": "Service Equipment",
			"equipment_type": "ONT",
			"serial_no": unique("GFLOAD"),
			"model": "XX230v",
			"vendor": "TP-Link",
			"acs_device_id": doc["_id"],
			"ip_address": modem.url,
		}
		if ne is not None:
			ont = peers.onts[i % len(peers.onts)]
			values.update(olt=ne.name, pon_port=f"{ont.frame}/{ont.slot}/{ont.port}", ont_id=ont.ont)
		equipment.append(frappe.get_doc(values).insert(ignore_permissions=True).name)
	user = make_user([DISPATCHER, NETWORK_OPERATOR])
	# one desk session per member of staff (Frappe keeps 1 per user by default)
	frappe.db.set_value("User", user.name, "simultaneous_sessions", args.concurrency + 1)
	update_password(user.name, PASSWORD)
	frappe.db.commit()

	def cleanup():
		for name in equipment:
			for diag in frappe.get_all("Device Diagnostic", filters={"equipment": name}, pluck="name"):
				frappe.delete_doc("Device Diagnostic", diag, force=True, ignore_permissions=True)
			frappe.db.set_value("Service Equipment", name, "last_diagnostic", None, update_modified=False)
			frappe.delete_doc("Service Equipment", name, force=True, ignore_permissions=True)
		if ne is not None:
			frappe.delete_doc("Network Element", ne.name, force=True, ignore_permissions=True)
		frappe.delete_doc("User", user.name, force=True, ignore_permissions=True)
		restore = settings_for_update()
		restore.update({**saved, "modem_admin_password": saved_password or None})
		restore.save()
		frappe.db.commit()

	return equipment, user.name, cleanup


def login(base: str, site: str, user: str):
	import requests

	session = requests.Session()
	# a connection per request: a kept-alive one may be closed by gunicorn (keepalive 2 s) between
	# rounds just as it is reused (a reset), and would pin its member of staff to one worker
	session.headers.update({"X-Frappe-Site-Name": site, "Accept": "application/json", "Connection": "close"})
	r = session.post(f"{base}/api/method/login", json={"usr": user, "pwd": PASSWORD}, timeout=120)
	r.raise_for_status()
	return session


def diagnose(session, base: str, equipment: str) -> dict:
	started = time.perf_counter()
	r = session.post(f"{base}{METHOD}", json={"equipment": equipment, "refresh": 1}, timeout=300)
	elapsed = time.perf_counter() - started
	try:
		body = r.json()
	except ValueError:
		body = {}
	result = ((body.get("message") or {}).get("result")) or {}
	return {
		"status": r.status_code,
		"seconds": elapsed,
		"sources": {k: v.get("elapsed_ms") for k, v in (result.get("sources") or {}).items()},
		"errors": [e.get("code") for e in result.get("errors") or []],
		"text": "" if r.status_code == 200 else r.text[:300],
	}


def burst(sessions, base: str, equipment: list[str]) -> list[dict]:
	"""Every session diagnoses its own device, all released at the same instant."""
	gate = threading.Barrier(len(sessions))
	out: list[dict | None] = [None] * len(sessions)

	def one(i):
		gate.wait()
		try:
			out[i] = diagnose(sessions[i], base, equipment[i])
		except Exception as e:  # a socket error is a failure of the run, reported below
			out[i] = {"status": 0, "seconds": math.nan, "sources": {}, "errors": [], "text": repr(e)}

	threads = [threading.Thread(target=one, args=(i,)) for i in range(len(sessions))]
	for t in threads:
		t.start()
	for t in threads:
		t.join()
	return out


def p(values: list[float], q: float) -> float:
	values = sorted(values)
	return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def browsers_mb(master: int) -> list[tuple[int, float]]:
	"""Per gunicorn worker: (processes under it, their PSS in MB) — Playwright's driver and Chromium."""
	import psutil

	out = []
	for worker in sorted(psutil.Process(master).children(), key=lambda c: c.pid):
		kids = worker.children(recursive=True)
		pss = 0
		for kid in kids:
			try:
				pss += kid.memory_full_info().pss
			except psutil.Error:
				pass
		out.append((len(kids), round(pss / 2**20)))
	return out


def cpu_seconds(master: int) -> dict[str, float]:
	"""CPU seconds (user + system) so far: the gunicorn workers' own Python, the browsers under
	them (Playwright's driver and Chromium), and this process (the fake peers)."""
	import psutil

	workers = browsers = 0.0
	for worker in psutil.Process(master).children():
		try:
			t = worker.cpu_times()
			workers += t.user + t.system
			for kid in worker.children(recursive=True):
				k = kid.cpu_times()
				browsers += k.user + k.system
		except psutil.Error:
			pass
	me = psutil.Process().cpu_times()
	return {"workers": workers, "browsers": browsers, "peers": me.user + me.system}


def cpu_line(before: dict[str, float], after: dict[str, float], n: int) -> str:
	return (
		", ".join(f"{k} {(after[k] - before[k]) * 1000 / n:.0f} ms" for k in before) + " of CPU per diagnosis"
	)


def print_profile(directory: str, top: int) -> None:
	import pstats

	for name in ("request", "sources"):
		files = sorted(str(f) for f in Path(directory).glob(f"*-{name}.pstats"))
		if not files:
			continue
		stats = pstats.Stats(*files)
		print(f"--- profile: {name} ({len(files)} workers), by own time")
		stats.sort_stats("tottime").print_stats(top)
		print(f"--- profile: {name}, by cumulative time")
		stats.sort_stats("cumulative").print_stats(top)


def report(label: str, rows: list[dict], slowest: float) -> bool:
	ok_rows = [r for r in rows if r["status"] == 200]
	times = [r["seconds"] for r in ok_rows]
	codes: dict[str, int] = {}
	for r in ok_rows:
		for code in r["errors"]:
			codes[code] = codes.get(code, 0) + 1
	per_source = {}
	for name in sorted({k for r in ok_rows for k in r["sources"]}):
		values = [r["sources"][name] for r in ok_rows if r["sources"].get(name) is not None]
		per_source[name] = f"p50 {statistics.median(values):.0f} / max {max(values):.0f} ms"
	# the server's own share: the request's time beyond its slowest source (queueing, threads, DB)
	overhead = [r["seconds"] - max(r["sources"].values(), default=0) / 1000 for r in ok_rows]
	failed = [r for r in rows if r["status"] != 200]
	if not times:
		print(f"{label}: every request failed: {failed[0]['text'] if failed else ''}")
		return False
	p95 = p(times, 0.95)
	met = p95 <= slowest + 0.3 and not failed
	print(
		f"{label}: p50 {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max "
		f"{max(times) * 1000:.0f} ms (slowest source {slowest * 1000:.0f} ms: p95 − slowest "
		f"{(p95 - slowest) * 1000:+.0f} ms, {'met' if met else 'MISSED'}); beyond each request's own "
		f"slowest source: p50 {statistics.median(overhead) * 1000:.0f} / p95 {p(overhead, 0.95) * 1000:.0f} ms; "
		f"sources {per_source}; "
		f"errors {codes or 'none'}" + (f"; {len(failed)} FAILED: {failed[0]['text']}" if failed else "")
	)
	return met


def main() -> int:
	parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	parser.add_argument("site")
	parser.add_argument("--concurrency", type=int, default=20)
	parser.add_argument("--rounds", type=int, default=5)
	parser.add_argument("--workers", type=int, default=2)
	parser.add_argument(
		"--threads", type=int, default=0, help="gthread threads per worker (0: ceil(N / workers))"
	)
	parser.add_argument(
		"--browser-sessions", type=int, default=0, help="browser contexts per worker (0: as many as threads)"
	)
	parser.add_argument("--modem", choices=("browser", "direct"), default="browser")
	parser.add_argument(
		"--acs-delay", type=float, default=1.5, help="GenieACS answer time (the slowest source)"
	)
	parser.add_argument("--modem-delay", type=float, default=0.03, help="per data call of the modem")
	parser.add_argument("--idle", type=int, default=10, help="modem sessions reclaimed after this idle time")
	parser.add_argument(
		"--profile",
		type=int,
		default=0,
		metavar="TOP",
		help="cProfile the workers (requests and sources) and print the TOP functions (slows them)",
	)
	args = parser.parse_args()
	profile_dir = None
	if args.profile:
		import tempfile

		profile_dir = tempfile.mkdtemp(prefix="gf-diagnose-profile-")
		os.environ["GF_PROFILE_DIR"] = profile_dir
		os.environ["GUNICORN_CMD_ARGS"] = f"-c {Path(__file__).resolve().parent / 'diagnose_profile_conf.py'}"
	threads = args.threads or math.ceil(args.concurrency / args.workers)
	# a worker runs at most `threads` diagnoses at once: a cap that high never makes one wait
	args.browser_sessions = args.browser_sessions or threads

	import frappe

	frappe.init(site=args.site, sites_path=os.getcwd())
	frappe.connect()
	from gigafibre_fsm.testing_http import serve_gunicorn

	peers = None
	cleanup = None
	goal = True
	try:
		peers = Peers(args)
		equipment, user, cleanup = arrange(args, peers)
		with serve_gunicorn(workers=args.workers, threads=threads) as base:
			master = gunicorn_master(base)
			print(
				f"site {args.site} ({frappe.conf.db_type or 'mariadb'}), gunicorn -w {args.workers} -k gthread "
				f"--threads {threads}; {args.concurrency} devices, modem via {args.modem} "
				f"({'10 data calls × ' if args.modem == 'browser' else 'acts × '}{args.modem_delay} s), "
				f"GenieACS {args.acs_delay} s, OLT {'snmpd' if peers.agent else 'none'}; "
				f"{args.browser_sessions} browser contexts per worker, idle reclaim {args.idle} s"
			)
			print(
				f"before: worker RSS MB {worker_rss_mb(master)}, browsers (procs, PSS MB) {browsers_mb(master)}"
			)
			sessions = [login(base, args.site, user) for _ in range(args.concurrency)]
			cpu = cpu_seconds(master)
			alone = [diagnose(sessions[0], base, equipment[0]) for _ in range(3)]
			report("one diagnosis alone (3 in a row)", alone, args.acs_delay)
			cpu, was = cpu_seconds(master), cpu
			print(f"  {cpu_line(was, cpu, 3)}")
			for n in range(1, args.rounds + 1):
				rows = burst(sessions, base, equipment)
				cpu, was = cpu_seconds(master), cpu
				# round 1 is cold: every modem's first web UI login, a worker's Chromium start
				label = f"round {n}{' (cold)' if n == 1 else ''}: {args.concurrency} at once"
				met = report(label, rows, args.acs_delay)
				goal &= met or n == 1
				print(f"  {cpu_line(was, cpu, args.concurrency)}")
				print(
					f"  after round {n}: worker RSS MB {worker_rss_mb(master)}, browsers (procs, PSS MB) "
					f"{browsers_mb(master)}, modem sessions live {peers.live_sessions()} "
					f"(cap {args.browser_sessions} × {args.workers} workers), modem logins so far {peers.logins()}"
				)
				goal &= peers.live_sessions() <= args.browser_sessions * args.workers
			deadline = time.monotonic() + args.idle * 3 + 30
			while peers.live_sessions() and time.monotonic() < deadline:
				time.sleep(1)
			live = peers.live_sessions()
			goal &= live == 0 or args.modem != "browser"
			print(
				f"after {args.idle} s idle: modem sessions live {live}, worker RSS MB {worker_rss_mb(master)}, "
				f"browsers (procs, PSS MB) {browsers_mb(master)}"
			)
	finally:
		if cleanup is not None:
			cleanup()
		if peers is not None:
			peers.stop()
		frappe.destroy()
	if profile_dir:
		print_profile(profile_dir, args.profile)
	print("OK: goal met" if goal else "GOAL MISSED")
	return 0 if goal else 1


if __name__ == "__main__":
	sys.exit(main())
