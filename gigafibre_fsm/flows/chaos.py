"""Chaos harness of the flow engine: real RQ workers killed with SIGKILL, two tickers at once.

Used by scripts/chaos-flows.py (1,000 runs) and by flows/tests/test_chaos.py (CI size).
``run_chaos`` expects a connected site and returns figures:

* two fake peers on loopback: ``CountingHook`` (a fake webhook receiver counting every
  POST by its Idempotency-Key) and FakeTwilio (gigafibre_fsm.fakepeers.twilio);
* the site's Twilio settings point at FakeTwilio, and the site config gets short engine
  timings (``gigafibre_flow_lock_seconds``, ``gigafibre_flow_stall_seconds``) and a queue
  of its own (``gigafibre_flow_queue``, "long" by default, so stale jobs left in the shared
  default queue are not run); all restored at the end;
* a Flow Template webhook → sms → (wait) → webhook and ``runs`` runs of it;
* ``workers`` RQ workers of the site, each in its own process group, and two ticker
  processes calling gigafibre_fsm.flows.jobs.tick in a loop;
* every ``kill_every`` seconds (jittered) a SIGKILL to a random worker's work-horse (the
  process executing a job) or to a whole worker with its horse (a new worker is started);
* when every run is Completed or Failed (or ``timeout`` passed) everything is stopped and
  the runs are compared with what the peers received: ``lost`` (a completed step whose
  side effect never arrived), ``duplicates`` (a side effect applied twice: a second SMS for
  one step, or one webhook step delivered under two Idempotency-Keys, which a receiver
  honouring the header applies twice) and ``stuck`` (a run not finished). A delivery repeated
  under the same key (the worker was killed between the receiver's answer and the cached
  result) is a retransmission the receiver drops: counted apart, not a duplicate. The runs, the template and their cache keys are deleted afterwards.

Run it only while nothing else uses the site: it starts workers on the site's queues.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import frappe

from gigafibre_fsm.fakepeers.http import FakePeer, Response

TERMINAL = ("Completed", "Failed", "Cancelled")
SIDE_EFFECTS = ("webhook", "send_sms")


class CountingHook(FakePeer):
	"""Fake peer: a webhook receiver that counts deliveries per Idempotency-Key.

	It does not dedupe (a receiver honouring Idempotency-Key would): the counts show what
	reached the wire, and the figures tell retransmissions (same key) from duplicates.
	"""

	def __init__(self):
		self.deliveries: list[tuple[str, str, str]] = []  # (idempotency key, run, step)
		super().__init__()

	def setup_routes(self):
		@self.route("POST", r"/hook")
		def hook(request):
			body = request.json() or {}
			key = request.headers.get("idempotency-key", "")
			with self._lock:
				self.deliveries.append((key, body.get("run"), body.get("step")))
			return Response.json({"ok": True})


def _child_env() -> dict:
	env = dict(os.environ)
	env.pop("CI", None)  # workers run as in production, not in test mode
	return env


class Workers:
	"""RQ workers of a site, each in its own process group (so a kill takes its horse too)."""

	def __init__(self, site: str, count: int, queue: str, logdir: Path, sites_path: str):
		self.site, self.count, self.queue = site, count, queue
		self.logdir, self.sites_path = logdir, sites_path
		self.procs: list[subprocess.Popen] = []
		self.started = 0

	def spawn(self) -> subprocess.Popen:
		self.started += 1
		log = open(self.logdir / f"worker-{self.started}.log", "wb")
		cmd = [sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "--site", self.site]
		cmd += ["worker", "--queue", self.queue]
		return subprocess.Popen(
			cmd,
			stdout=log,
			stderr=subprocess.STDOUT,
			cwd=self.sites_path,
			env=_child_env(),
			start_new_session=True,
		)

	def start(self):
		self.procs = [self.spawn() for _ in range(self.count)]

	@staticmethod
	def horses(proc) -> list[int]:
		try:
			return [int(x) for x in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
		except OSError:
			return []

	def kill_horse(self) -> bool:
		"""SIGKILL the work-horse of a worker that is executing a job; False if none is."""
		busy = [(p, h) for p in self.procs if p.poll() is None for h in self.horses(p)]
		if not busy:
			return False
		_, horse = random.choice(busy)
		try:
			os.kill(horse, signal.SIGKILL)
		except ProcessLookupError:
			return False
		return True

	def kill_worker(self):
		"""SIGKILL a whole worker (its process group: the worker and its horse); start another."""
		i = random.randrange(len(self.procs))
		proc = self.procs[i]
		try:
			os.killpg(proc.pid, signal.SIGKILL)
		except ProcessLookupError:
			pass
		proc.wait()
		self.procs[i] = self.spawn()

	def stop(self):
		for proc in self.procs:
			try:
				os.killpg(proc.pid, signal.SIGTERM)
			except ProcessLookupError:
				pass
		deadline = time.monotonic() + 20
		for proc in self.procs:
			try:
				proc.wait(timeout=max(0.1, deadline - time.monotonic()))
			except subprocess.TimeoutExpired:
				try:
					os.killpg(proc.pid, signal.SIGKILL)
				except ProcessLookupError:
					pass
				proc.wait()


def ticker_main(site: str, stopfile: str, every: float):
	"""A ticker process: the flow tick in a loop until ``stopfile`` exists."""
	frappe.init(site=site, sites_path=".")
	frappe.connect()
	from gigafibre_fsm.flows import jobs

	ticks = errors = 0
	while not os.path.exists(stopfile):
		try:
			jobs.tick()
			frappe.db.commit()
			ticks += 1
		except Exception as e:
			frappe.db.rollback()
			errors += 1
			print(f"tick error: {e!r}", file=sys.stderr, flush=True)
		time.sleep(every * random.uniform(0.5, 1.5))
	print(json.dumps({"ticks": ticks, "errors": errors}), flush=True)
	frappe.destroy()


def _template(hook: CountingHook, wait_minutes: int) -> str:
	from gigafibre_fsm.test_utils import step

	steps = [
		step("s1", "webhook", {"url": hook.url + "/hook", "payload": {"n": 1}}, label="Hook 1"),
		step("s2", "send_sms", {"to": "+15145550199", "body": "chaos {{run.name}} s2"}, deps=["s1"]),
	]
	last = "s2"
	if wait_minutes:
		steps.append(step("w", "wait", {"delay_minutes": wait_minutes}, deps=["s2"], label="Wait"))
		last = "w"
	steps.append(
		step("s3", "webhook", {"url": hook.url + "/hook", "payload": {"n": 3}}, deps=[last], label="Hook 3")
	)
	return (
		frappe.get_doc(
			{
				"doctype": "Flow Template",
				"title": f"Chaos flows {frappe.generate_hash(length=8)}",
				"category": "Project",
				"kind": "other_project",
				"applies_to": "Customer",
				"trigger_event": "manual",
				"enabled": 1,
				"steps": steps,
			}
		)
		.insert(ignore_permissions=True)
		.name
	)


CONF = ("gigafibre_flow_lock_seconds", "gigafibre_flow_stall_seconds", "gigafibre_flow_queue")


def _set_conf(values: dict):
	from frappe.installer import update_site_config

	for key, value in values.items():
		update_site_config(key, "None" if value is None else value)
		if value is None:
			frappe.local.conf.pop(key, None)


def run_chaos(
	*,
	runs: int = 1000,
	workers: int = 3,
	kill_every: float = 2.0,
	timeout: float = 1800,
	lock_seconds: int = 6,
	stall_seconds: int = 10,
	wait_minutes: int = 1,
	tick_every: float = 1.0,
	queue: str = "long",
	max_kills: int | None = None,
	keep: bool = False,
	log=print,
) -> dict:
	"""Run the chaos on the connected site; return the figures (see the module docstring)."""
	from gigafibre_fsm.fakepeers.twilio import FakeTwilio
	from gigafibre_fsm.flows import runtime
	from gigafibre_fsm.test_utils import settings_for_update

	site = frappe.local.site
	sites_path = os.path.abspath(frappe.local.sites_path)
	logdir = Path(tempfile.mkdtemp(prefix=f"chaos-flows-{site}-"))
	hook = CountingHook().start()
	twilio = FakeTwilio().start()
	site_conf = frappe.get_site_config(sites_path=sites_path, site_path=frappe.get_site_path())
	old_conf = {k: site_conf.get(k) for k in CONF}
	settings = settings_for_update()
	twilio_fields = ("twilio_account_sid", "twilio_from_number", "twilio_api_base")
	old_settings = {f: settings.get(f) for f in twilio_fields}
	old_token = settings.get_password("twilio_auth_token", raise_exception=False)
	settings.update(
		{
			"twilio_account_sid": twilio.account_sid,
			"twilio_auth_token": twilio.auth_token,
			"twilio_from_number": "+14505550100",
			"twilio_api_base": twilio.url,
		}
	)
	settings.save()
	_set_conf(
		{
			"gigafibre_flow_lock_seconds": lock_seconds,
			"gigafibre_flow_stall_seconds": stall_seconds,
			"gigafibre_flow_queue": queue,
		}
	)
	frappe.db.commit()
	frappe.clear_cache()

	pool = Workers(site, workers, queue, logdir, sites_path)
	stopfile = str(logdir / "stop")
	tickers: list[subprocess.Popen] = []
	kills: Counter = Counter()
	names: list[str] = []
	template = ref = None
	tick_stats: list = []
	figures: dict = {}
	t0 = time.monotonic()
	duration = 0.0
	try:
		template = _template(hook, wait_minutes)
		ref = frappe.get_doc({"doctype": "ToDo", "description": f"chaos flows {template}"}).insert(
			ignore_permissions=True
		)
		frappe.db.commit()
		pool.start()
		for i in range(2):
			tickers.append(
				subprocess.Popen(
					[
						sys.executable,
						"-m",
						"gigafibre_fsm.flows.chaos",
						"ticker",
						site,
						stopfile,
						str(tick_every),
					],
					stdout=subprocess.PIPE,
					stderr=open(logdir / f"ticker-{i + 1}.log", "wb"),
					cwd=sites_path,
					env=_child_env(),
					start_new_session=True,
				)
			)

		stop_killing = threading.Event()

		def killer():
			while not stop_killing.wait(kill_every * random.uniform(0.5, 1.5)):
				if max_kills is not None and kills["horse"] + kills["worker"] >= max_kills:
					return
				if random.random() < 0.5:
					kills["horse" if pool.kill_horse() else "horse_idle"] += 1
				else:
					pool.kill_worker()
					kills["worker"] += 1

		kill_thread = threading.Thread(target=killer, daemon=True)
		kill_thread.start()

		for i in range(runs):
			names.append(runtime.start_run(template, "ToDo", ref.name, occurrence=f"chaos-{i}"))
			if i % 25 == 24:
				frappe.db.commit()
		frappe.db.commit()
		log(f"created {len(names)} runs in {time.monotonic() - t0:.1f}s")

		deadline = time.monotonic() + timeout
		last_print = time.monotonic()
		while True:
			frappe.db.commit()  # a fresh snapshot
			open_runs = frappe.db.count("Flow Run", {"template": template, "status": ["not in", TERMINAL]})
			if not open_runs or time.monotonic() > deadline:
				break
			if time.monotonic() - last_print > 15:
				last_print = time.monotonic()
				log(f"{time.monotonic() - t0:6.0f}s open runs {open_runs}, kills {dict(kills)}")
			time.sleep(1)
		duration = time.monotonic() - t0
		stop_killing.set()
		kill_thread.join()
	finally:
		Path(stopfile).touch()
		for t in tickers:
			try:
				out, _ = t.communicate(timeout=30)
				tick_stats.append(json.loads(out.decode().strip().splitlines()[-1]))
			except Exception:
				os.killpg(t.pid, signal.SIGKILL)
		pool.stop()
		try:
			if template:
				figures = check(template, hook, twilio)
				figures.update(
					{
						"site": site,
						"db": frappe.conf.db_type or "mariadb",
						"runs": len(names),
						"workers": workers,
						"workers_started": pool.started,
						"kills": dict(kills),
						"kills_total": kills["horse"] + kills["worker"],
						"tickers": tick_stats,
						"seconds": round(duration, 1),
						"lock_seconds": lock_seconds,
						"stall_seconds": stall_seconds,
						"logs": str(logdir),
					}
				)
		finally:
			settings = settings_for_update()
			settings.update(old_settings)
			settings.twilio_auth_token = old_token
			settings.save()
			_set_conf(old_conf)
			if not keep and template:
				cleanup(template, ref)
			frappe.db.commit()
			frappe.clear_cache()
			hook.stop()
			twilio.stop()
	return figures


def check(template: str, hook: CountingHook, twilio) -> dict:
	"""Compare what the runs say they did with what the peers received."""
	frappe.db.commit()
	by_run = {
		r.name: r.status for r in frappe.get_all("Flow Run", {"template": template}, ["name", "status"])
	}
	rows = []
	names = list(by_run)
	for i in range(0, len(names), 200):
		rows += frappe.get_all(
			"Flow Run Step",
			{"parent": ["in", names[i : i + 200]], "parenttype": "Flow Run"},
			["parent", "step_id", "kind", "status", "attempts"],
			limit_page_length=0,
		)
	per_key = Counter(k for k, _, _ in hook.deliveries)
	per_step_hooks = Counter((r, s) for _, r, s in hook.deliveries)
	keys_per_step: dict[tuple, set] = {}
	for k, r, s in hook.deliveries:
		keys_per_step.setdefault((r, s), set()).add(k)
	sms = Counter()
	for m in twilio.sent:
		parts = (m.get("body") or "").split()
		if len(parts) == 3 and parts[0] == "chaos":
			sms[(parts[1], parts[2])] += 1
	status = Counter(by_run.values())
	lost, completed_steps, retried = [], Counter(), 0
	for row in rows:
		if row.kind not in SIDE_EFFECTS:
			continue
		if (row.attempts or 0) > 1:
			retried += 1
		if row.status == "Completed":
			completed_steps[row.kind] += 1
			seen = per_step_hooks if row.kind == "webhook" else sms
			if seen[(row.parent, row.step_id)] < 1:
				lost.append(f"{row.parent}:{row.step_id}")
	same_key = {k: n for k, n in per_key.items() if n > 1}
	sms_repeats = {f"{r}:{s}": n for (r, s), n in sms.items() if n > 1}  # Twilio gets no key
	stuck = [n for n, s in by_run.items() if s not in TERMINAL]
	failed = [n for n, s in by_run.items() if s == "Failed"]
	errors = Counter(
		(e or "")[:100] for e in frappe.get_all("Flow Run", {"name": ["in", failed or [""]]}, pluck="error")
	)
	return {
		"status": dict(status),
		"completed": status["Completed"],
		"failed": status["Failed"],
		"failed_errors": dict(errors),
		"stuck": len(stuck),
		"stuck_runs": stuck[:20],
		"completed_side_effect_steps": dict(completed_steps),
		"webhook_deliveries": len(hook.deliveries),
		"sms_sent": sum(sms.values()),
		"lost": len(lost),
		"lost_steps": lost[:20],
		"steps_retried": retried,
		"webhook_repeats_same_key": sum(n - 1 for n in same_key.values()),
		"webhook_repeats_same_key_examples": dict(list(same_key.items())[:10]),
		"webhook_steps_delivered_under_several_keys": sum(1 for ks in keys_per_step.values() if len(ks) > 1),
		"sms_repeats_per_step": sum(n - 1 for n in sms_repeats.values()),
		"sms_repeat_examples": dict(list(sms_repeats.items())[:10]),
		"duplicates": sum(n - 1 for n in sms_repeats.values())
		+ sum(1 for ks in keys_per_step.values() if len(ks) > 1),
	}


def cleanup(template: str, ref):
	"""Delete the chaos runs, their template and reference, their jobs and replay cache keys."""
	from gigafibre_fsm.flows.batches import drop_jobs

	names = frappe.get_all("Flow Run", {"template": template}, pluck="name")
	drop_jobs(names)
	keys = [
		f"gigafibre_fsm:flow_{kind}:{name}:{sid}:{attempt}"
		for name in names
		for sid in ("s1", "s2", "s3")
		for attempt in range(1, 4)
		for kind in ("sms", "webhook")
	]
	for i in range(0, len(keys), 500):
		frappe.cache.delete_value(keys[i : i + 500])
	for i in range(0, len(names), 200):
		chunk = names[i : i + 200]
		frappe.db.delete("Flow Run Step", {"parenttype": "Flow Run", "parent": ["in", chunk]})
		frappe.db.delete("Notification Log", {"document_type": "Flow Run", "document_name": ["in", chunk]})
		frappe.db.delete("Flow Run", {"name": ["in", chunk]})
	frappe.db.delete("Flow Step", {"parenttype": "Flow Template", "parent": template})
	frappe.db.delete("Flow Template", {"name": template})
	if ref:
		frappe.db.delete("ToDo", {"name": ref.name})


if __name__ == "__main__":  # python -m gigafibre_fsm.flows.chaos ticker <site> <stopfile> <every>
	if len(sys.argv) == 5 and sys.argv[1] == "ticker":
		ticker_main(sys.argv[2], sys.argv[3], float(sys.argv[4]))
	else:
		sys.exit("usage: python -m gigafibre_fsm.flows.chaos ticker <site> <stopfile> <every>")
