#!/usr/bin/env python
"""Database and Redis outages during production work: clean failures, then the work resumes.

Run it from the sites directory of a bench whose database and Redis are PRIVATE (you may
stop them: never point it at services other people use), once the app is installed on the
site, while nothing else uses the site:

    cd <sites dir> && <bench>/env/bin/python /path/to/repo/scripts/chaos-services.py <site> \\
        --db-stop "<command>" --db-start "<command>" \\
        --redis-stop "<command>" --redis-start "<command>" [--outage 15] [--json out.json]

(README, "Reliability", shows how to prepare a private MariaDB/PostgreSQL, Redis and sites
directory.) What it runs, as production does:

* gunicorn serving the sites directory (``--request-timeout`` as its ``-t``), and a client
  posting signed Twilio inbound SMS (``twilio_sms``) every ``--webhook-every`` seconds;
* ``--workers`` RQ workers on every queue (a worker that exits is started again, as
  supervisor would, and counted);
* a scheduler: the app's cron scheduler events enqueued through their Scheduled Job Type
  (as Frappe's scheduler does), the flow tick every ``--tick-every`` seconds and the others
  at the same ratio to it as their cron (``*/5`` five times slower);
* a stream of flow runs (webhook -> SMS -> webhook, the template of gigafibre_fsm.flows.chaos)
  started by a client process, with the counting webhook peer and FakeTwilio as peers.

Then: ``--warmup`` seconds of normal work, the database stopped for ``--outage`` seconds
and started again, ``--recover`` seconds, Redis stopped and started the same way,
``--recover`` seconds; the run stream stops, the work drains (every run must end), each
webhook that did not get a 200 is posted again until it does (a sender's retry). It prints
per phase what the webhooks answered (status, slowest answer, any traceback in a body),
what the workers, the scheduler and the run client met, then the end state: runs ended
(Completed or visibly Failed), stuck runs, deliveries per step attempt at the peers, every
inbound SMS stored exactly once (none half written: a stored message has its reference).
Exits 1 on a lost, stuck, duplicate or half-written item, a traceback in an answer, or an
answer slower than the request timeout. Deletes what it made and restores the settings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SMS_PATH = "/api/method/gigafibre_fsm.api.webhooks.twilio_sms"
LEAK_MARKS = ("Traceback (most recent call last)", 'File "/', "frappe/app.py", "pymysql", "psycopg")


def sh(cmd: str) -> float:
	"""Run a stop/start command; return how long it took."""
	t = time.monotonic()
	subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
	return time.monotonic() - t


# -- the child processes: scheduler and run client ----------------------------------------------


def _connect(site: str):
	import frappe

	try:
		frappe.destroy()
	except Exception:
		pass
	frappe.init(site=site, sites_path=".")
	frappe.connect()
	return frappe


def _child_loop(site: str, stopfile: str, step, every: float) -> None:
	"""Call ``step(frappe, i)`` every ``every`` seconds until ``stopfile`` exists, as a
	supervised process would: an error is printed (one JSON line), the connections are
	dropped and made again at the next step."""
	import frappe

	i, ok, connected = 0, 0, False
	while not os.path.exists(stopfile):
		t = time.time()
		try:
			if not connected:
				_connect(site)
				connected = True
			if step(frappe, i):
				i += 1
			frappe.db.commit()
			ok += 1
		except Exception as e:
			connected = False
			print(json.dumps({"t": t, "error": f"{type(e).__name__}: {str(e)[:160]}"}), flush=True)
		finally:
			frappe.local.flags.pop("gigafibre_runs_enqueued", None)
		time.sleep(max(0.0, every - (time.time() - t)))
	print(json.dumps({"done": True, "ok": ok, "items": i}), flush=True)


def scheduler_main(site: str, stopfile: str, every: float) -> None:
	"""The app's cron events enqueued through their Scheduled Job Type (force: at our pace)."""
	_connect(site)
	import frappe

	events = frappe.get_hooks("scheduler_events", app_name="gigafibre_fsm").get("cron", {})
	jobs = []  # (method, every n-th step)
	for cron, methods in events.items():
		minute = cron.split()[0]
		n = int(minute[2:]) if minute.startswith("*/") else 1
		jobs += [(m, n) for m in methods]

	def step(frappe, i):
		for method, n in jobs:
			if i % n == 0:
				frappe.get_doc("Scheduled Job Type", {"method": method}).enqueue(force=True)
		return True

	_child_loop(site, stopfile, step, every)


def runs_main(site: str, stopfile: str, every: float, template: str, ref: str) -> None:
	"""Start one run of ``template`` per step; a start that failed is tried again with the
	same occurrence (a client retrying its request), so each occurrence makes one run."""
	from gigafibre_fsm.flows import runtime

	def step(frappe, i):
		runtime.start_run(template, "ToDo", ref, occurrence=f"svc-{i}")
		return True

	_child_loop(site, stopfile, step, every)


# -- the webhook client ---------------------------------------------------------------------------


class SmsClient:
	"""Posts signed inbound SMS as Twilio would; remembers every answer by the phase it came in."""

	def __init__(self, base: str, site: str, twilio, known: str, timeout: float, phase):
		import requests

		self.requests = requests
		self.url, self.site, self.twilio, self.known = base + SMS_PATH, site, twilio, known
		self.timeout, self.phase = timeout, phase
		self.sent: dict[str, dict] = {}  # sid -> params
		self.ok: set[str] = set()
		self.answers: list[dict] = []
		self.lock = threading.Lock()

	def new(self, i: int) -> dict:
		n = int.from_bytes(os.urandom(4), "big")  # a valid NANP number: exchange 200-999
		number = self.known if i % 2 else f"+1819{200 + n % 800:03d}{(n // 800) % 10000:04d}"
		params = self.twilio.sms_params(number, f"Panne? message {i}")
		params["SmsSid"] = params["MessageSid"] = params["SmsMessageSid"]
		with self.lock:
			self.sent[params["MessageSid"]] = params
		return params

	def post(self, params: dict, retry: bool = False) -> int:
		headers = {"X-Twilio-Signature": self.twilio.sign(self.url, params), "X-Frappe-Site-Name": self.site}
		t = time.monotonic()
		body = ""
		try:
			r = self.requests.post(self.url, data=params, headers=headers, timeout=self.timeout)
			status, body = r.status_code, r.text
		except self.requests.Timeout:
			status = -1  # no answer within the request timeout: a hang
		except self.requests.RequestException:
			status = 0  # connection refused or reset
		elapsed = time.monotonic() - t
		phase = self.phase()  # when the answer came
		leak = any(m in body for m in LEAK_MARKS)
		with self.lock:
			self.answers.append(
				{
					"phase": phase,
					"sid": params["MessageSid"],
					"status": status,
					"s": elapsed,
					"leak": leak,
					"retry": retry,
					"body": body[:300],
				}
			)
			if status == 200:
				self.ok.add(params["MessageSid"])
		return status

	def unanswered(self) -> list[dict]:
		with self.lock:
			return [p for sid, p in self.sent.items() if sid not in self.ok]


# -- the harness --------------------------------------------------------------------------------


class Harness:
	def __init__(self, args):
		self.args = args
		self.t0 = time.monotonic()
		self.phases: list[tuple[float, str]] = []
		self.events: list[dict] = []
		self.stop = threading.Event()

	def phase(self) -> str:
		return self.phases[-1][1] if self.phases else "setup"

	def enter(self, name: str):
		self.phases.append((time.time(), name))
		self.log(f"phase {name}")

	def phase_at(self, t: float) -> str:
		name = "setup"
		for start, p in self.phases:
			if t >= start:
				name = p
		return name

	def log(self, msg: str):
		print(f"{time.monotonic() - self.t0:7.1f}s {msg}", flush=True)

	def child(self, role: str, *extra: str) -> subprocess.Popen:
		from gigafibre_fsm.flows.chaos import _child_env

		stopfile = f"{self.stopfile}-{role}"
		cmd = [sys.executable, os.path.abspath(__file__), "--role", role, self.args.site, stopfile]
		return subprocess.Popen(
			cmd + list(extra),
			stdout=subprocess.PIPE,
			stderr=open(self.logdir / f"{role}.log", "wb"),
			cwd=self.sites_path,
			env=_child_env(),
			start_new_session=True,
		)

	def supervise(self, pool):
		"""Restart a worker that exited, as supervisor would."""
		while not self.stop.wait(1):
			for i, proc in enumerate(pool.procs):
				if proc.poll() is not None:
					self.events.append({"phase": self.phase(), "worker_exit": proc.returncode})
					self.log(f"worker {proc.pid} exited ({proc.returncode}): started again")
					pool.procs[i] = pool.spawn()

	def outage(self, name: str, stop_cmd: str, start_cmd: str, client: SmsClient):
		a = self.args
		self.enter(f"{name}_down")
		took = sh(stop_cmd)
		time.sleep(max(0.0, a.outage - took))
		sh(start_cmd)
		self.enter(f"{name}_recovering")
		back = time.monotonic()
		deadline = back + a.recover
		while time.monotonic() < deadline:
			if any(x["status"] == 200 and x["phase"] == f"{name}_recovering" for x in client.answers):
				break
			time.sleep(0.5)
		first_ok = time.monotonic() - back
		self.log(f"{name}: first 200 {first_ok:.1f}s after the start command")
		self.events.append({"phase": f"{name}_recovering", "first_200_s": round(first_ok, 1)})
		time.sleep(max(0.0, deadline - time.monotonic()))


def main() -> int:
	p = argparse.ArgumentParser(description="Database and Redis outages during production work")
	p.add_argument("site")
	p.add_argument("--db-stop", required=True)
	p.add_argument("--db-start", required=True)
	p.add_argument("--redis-stop")
	p.add_argument("--redis-start")
	p.add_argument("--outage", type=float, default=15, help="seconds each service is down")
	p.add_argument("--warmup", type=float, default=30)
	p.add_argument("--recover", type=float, default=45, help="seconds of work after each outage")
	p.add_argument("--workers", type=int, default=2)
	p.add_argument("--gunicorn-workers", type=int, default=3)
	p.add_argument("--request-timeout", type=int, default=30, help="gunicorn -t; a slower answer is a hang")
	p.add_argument("--webhook-every", type=float, default=1.0)
	p.add_argument("--run-every", type=float, default=1.0)
	p.add_argument("--tick-every", type=float, default=5)
	p.add_argument("--drain", type=float, default=600, help="seconds for every run to end")
	p.add_argument("--lock-seconds", type=int, default=6)
	p.add_argument("--stall-seconds", type=int, default=20)
	p.add_argument("--json", help="write the figures there too")
	p.add_argument("--keep", action="store_true")
	args = p.parse_args()
	import frappe

	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	frappe.set_user("Administrator")
	try:
		figures = run(args)
	finally:
		frappe.destroy()
	print(json.dumps(figures, indent=1, sort_keys=True), flush=True)
	if args.json:
		Path(args.json).write_text(json.dumps(figures, indent=1, sort_keys=True))
	bad = figures["problems"]
	print("OUTAGES " + (f"FAILED: {', '.join(bad)}" if bad else "PASSED"), flush=True)
	return 1 if bad else 0


def run(args) -> dict:
	import tempfile

	import frappe
	from chaos_services_report import delete_sms, report  # beside this script

	from gigafibre_fsm.fakepeers.twilio import FakeTwilio
	from gigafibre_fsm.flows import chaos
	from gigafibre_fsm.test_utils import make_customer, settings_for_update
	from gigafibre_fsm.testing_http import serve_gunicorn

	h = Harness(args)
	h.sites_path = os.path.abspath(frappe.local.sites_path)
	h.logdir = Path(tempfile.mkdtemp(prefix=f"chaos-services-{args.site}-"))
	h.stopfile = str(h.logdir / "stop")
	hook = chaos.CountingHook().start()
	twilio = FakeTwilio(auth_token=f"outage-{frappe.generate_hash(length=8)}").start()
	site_conf = frappe.get_site_config(sites_path=h.sites_path, site_path=frappe.get_site_path())
	old_conf = {k: site_conf.get(k) for k in chaos.CONF}
	fields = ("twilio_account_sid", "twilio_from_number", "twilio_api_base", "public_base_url")
	settings = settings_for_update()
	old_settings = {f: settings.get(f) for f in fields}
	old_token = settings.get_password("twilio_auth_token", raise_exception=False)
	settings.update(
		{
			"twilio_account_sid": twilio.account_sid,
			"twilio_auth_token": twilio.auth_token,
			"twilio_from_number": "+14505550100",
			"twilio_api_base": twilio.url,
			"public_base_url": "",
		}
	)
	settings.save()
	chaos._set_conf(
		{
			"gigafibre_flow_lock_seconds": args.lock_seconds,
			"gigafibre_flow_stall_seconds": args.stall_seconds,
			"gigafibre_flow_queue": "default",
		}
	)
	n = int.from_bytes(os.urandom(4), "big")
	known = f"+1514{200 + n % 800:03d}{(n // 800) % 10000:04d}"
	customer = make_customer(customer_name=f"OUTAGE-{frappe.generate_hash(length=6)}", cell_phone=known)
	template = chaos._template(hook, 0)
	ref = frappe.get_doc({"doctype": "ToDo", "description": f"chaos services {template}"}).insert(
		ignore_permissions=True
	)
	frappe.db.commit()
	frappe.clear_cache()

	pool = chaos.Workers(args.site, args.workers, "default,short,long", h.logdir, h.sites_path)
	children: dict[str, subprocess.Popen] = {}
	client = None
	figures: dict = {}
	try:
		with serve_gunicorn(workers=args.gunicorn_workers, timeout=args.request_timeout) as base:
			client = SmsClient(base, args.site, twilio, known, args.request_timeout + 10, h.phase)
			pool.start()
			threading.Thread(target=h.supervise, args=(pool,), daemon=True).start()
			children["scheduler"] = h.child("scheduler", str(args.tick_every))
			children["runs"] = h.child("runs", str(args.run_every), template, ref.name)
			sender = ThreadPoolExecutor(max_workers=8)
			sending = threading.Event()

			def send_loop():
				i = 0
				while not sending.wait(args.webhook_every):
					sender.submit(client.post, client.new(i))
					i += 1

			threading.Thread(target=send_loop, daemon=True).start()
			h.enter("normal")
			time.sleep(args.warmup)
			h.outage("db", args.db_stop, args.db_start, client)
			if args.redis_stop and args.redis_start:
				h.outage("redis", args.redis_stop, args.redis_start, client)
			h.enter("drain")  # no new runs nor SMS; the scheduler and workers go on
			Path(f"{h.stopfile}-runs").touch()
			sending.set()
			sender.shutdown(wait=True)
			frappe.db.close()
			frappe.connect()  # the main connection did not survive the outage
			deadline = time.monotonic() + args.drain
			while time.monotonic() < deadline:
				frappe.db.commit()
				open_runs = frappe.db.count(
					"Flow Run", {"template": template, "status": ["not in", chaos.TERMINAL]}
				)
				if not open_runs:
					break
				if int(time.monotonic() - deadline) % 15 < 2:
					h.log(f"open runs: {open_runs}")
				time.sleep(2)
			h.enter("retry")
			for _ in range(5):  # the sender's retries of what got no 200
				todo = client.unanswered()
				if not todo:
					break
				for params in todo:
					client.post(params, retry=True)
				time.sleep(2)
			h.stop.set()
	finally:
		h.stop.set()
		for role in children:
			Path(f"{h.stopfile}-{role}").touch()
		child_out = {}
		for role, proc in children.items():
			try:
				out, _ = proc.communicate(timeout=60)
			except subprocess.TimeoutExpired:
				os.killpg(proc.pid, 9)
				out, _ = proc.communicate()
			child_out[role] = [json.loads(x) for x in out.decode().splitlines() if x.startswith("{")]
		pool.stop()
		try:
			frappe.db.close()
			frappe.connect()
			if client is not None:
				figures = report(h, client, hook, twilio, template, child_out, pool)
		finally:
			settings = settings_for_update()
			settings.update(old_settings)
			settings.twilio_auth_token = old_token
			settings.save()
			chaos._set_conf(old_conf)
			if not args.keep:
				chaos.cleanup(template, ref)
				if client is not None:
					delete_sms(client, known, customer)
			frappe.db.commit()
			frappe.clear_cache()
			hook.stop()
			twilio.stop()
	return figures


if __name__ == "__main__":
	if len(sys.argv) > 2 and sys.argv[1] == "--role":
		role, site, stopfile, every, *rest = sys.argv[2:]
		if role == "scheduler":
			scheduler_main(site, stopfile, float(every))
		else:
			runs_main(site, stopfile, float(every), *rest)
	else:
		sys.exit(main())
