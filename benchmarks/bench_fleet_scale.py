"""Fleet refresh at scale in a real bench: N CPEs (default 75,600, ten times today's fleet)
refreshed by W RQ workers on the long queue (goal: a full pass ≤ 30 s with 2 workers).

Run with the bench's Python from its sites folder, while nothing else uses the site:

    cd ~/frappe-bench/sites && ../env/bin/python \\
        /path/to/repo/benchmarks/bench_fleet_scale.py test_site 75600 [--workers 2] [--page-size 500]

What it does, and undoes:

1. bulk-inserts N Service Equipment rows named ``BENCHFLEET-<hash>-<n>`` (nine in ten already
   linked by ``acs_device_id``, one in ten only by ``cwmp_serial``, as new CPEs are);
2. serves a fake GenieACS NBI (gigafibre_fsm.fakepeers.genieacs, ``indexed``) with the N
   devices in its own process: the fleet's mix (TP-Link XX230v TR-181 with 0–2 Deco nodes,
   one in ten a Huawei TR-098 ONT), healthy optical levels (−12…−24.9 dBm: a pass that raises
   no alarm), informs spread over the last 15 minutes. The fake holds the documents as the
   refresh projects them; past 780 devices (every combination of level, mesh, WAN and
   kind) the documents repeat with their own serials, ids and inform times;
3. points Gigafibre Settings at it, parks any job already waiting on the long queue, starts W
   ``bench worker --queue long`` processes and waits until they are idle;
4. times ``refresh_fleet()`` (the walk and the enqueue of the page jobs) and the pass until
   every page job has ended; samples the workers' memory, and the CPU used by the workers,
   the fake NBI, the database server and every other process during the pass;
5. checks the stored values: every row refreshed and linked; on a sample, the values equal
   the full normaliser's (``normalise_genieacs`` → ``equipment_values``) and a one-pass
   inline run of the same page (``refresh_fleet_page`` in this process);
6. stops the workers and the fake, restores the settings, the refresh's cursor and the parked
   jobs, deletes the rows.

Projection to 4 and 8 workers: workers on their own cores share the database and the NBI, so
a pass takes about N × max(worker CPU per device / W, database CPU per device); the NBI (a
real GenieACS answers from MongoDB on its own machine) is left out.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import frappe
import psutil
from frappe.utils import now_datetime

KINDS = 780  # every combination of level (130 steps), mesh nodes (3), WAN (4) and kind (10)
SETTINGS = "Gigafibre Settings"


def identity(n: int) -> tuple[str, str, str, str]:
	"""(kind, serial, OUI, product class) of device n, as cpe_fleet.fleet() numbers them."""
	if n % 10 == 9:
		return "tr098", f"48575443{n:08X}", "00259E", "HG8245H-5"
	return "tr181", f"2235{n:09d}", "50C7BF", "XX230v"


def device_id(n: int) -> str:
	from gigafibre_fsm.fakepeers.cpe_documents import device_id as make_id

	_kind, serial, oui, product_class = identity(n)
	return make_id(oui, product_class, serial)


def documents(count: int, now: datetime) -> list[dict]:
	"""The fleet as the fake serves it (see the module docstring)."""
	from gigafibre_fsm.core.diagnostics import FLEET_PROJECTION
	from gigafibre_fsm.fakepeers.cpe_documents import iso, xx230v_document
	from gigafibre_fsm.fakepeers.cpe_fleet import tr098_document
	from gigafibre_fsm.fakepeers.genieacs import _project

	templates = []
	for k in range(min(count, KINDS)):
		kind, serial, _oui, _pc = identity(k)
		rx = -12 - (k * 37 % 130) / 10
		if kind == "tr098":
			doc = tr098_document(serial, seed=k + 1, last_inform=now, rx_dbm=rx)
		else:
			doc = xx230v_document(
				serial,
				seed=k + 1,
				last_inform=now,
				rx_dbm=rx,
				mesh_nodes=k % 3,
				proto="ppp" if k % 4 else "dhcp",
			)
		templates.append(_project(doc, [*FLEET_PROJECTION, "_lastBoot"]))
	docs = []
	for n in range(count):
		template = templates[n % len(templates)]
		when = now - timedelta(seconds=(n * 7919) % 900, milliseconds=n % 1000)
		docs.append(
			{
				**template,
				"_id": device_id(n),
				"_deviceId": {**template["_deviceId"], "_SerialNumber": identity(n)[1]},
				"_lastInform": iso(when),
			}
		)
	return docs


def serve(count: int, now: datetime, pipe) -> None:
	"""The fake NBI's own process: build the fleet, serve it, report its CPU, stop when told."""
	from gigafibre_fsm.fakepeers.genieacs import FakeGenieACS

	peer = FakeGenieACS(documents(count, now), indexed=True).start()
	pipe.send(peer.url)
	pipe.recv()  # "stop"
	peer.stop()
	pipe.send(len(peer.requests))


# -- the bench's rows


def insert_equipment(prefix: str, count: int) -> list[str]:
	now = now_datetime()
	names, rows = [], []
	for n in range(count):
		_kind, serial, _oui, _pc = identity(n)
		name = f"{prefix}-{n:06d}"
		linked = n % 10 != 3
		names.append(name)
		acs_id, cwmp = (device_id(n), None) if linked else (None, serial)
		rows.append((name, "ONT", "Active", serial, acs_id, cwmp, now, now, "Administrator", "Administrator"))
	fields = ["name", "equipment_type", "status", "serial_no", "acs_device_id", "cwmp_serial"]
	frappe.db.bulk_insert(
		"Service Equipment",
		[*fields, "creation", "modified", "owner", "modified_by"],
		rows,
		chunk_size=5000,
	)
	frappe.db.commit()
	return names


STORED = ["last_rx_dbm", "last_optical_status", "last_online", "last_inform", "acs_device_id"]
RESET = {"last_rx_dbm": 0, "last_optical_status": None, "last_online": 0, "last_inform": None}


def stored(names: list[str]) -> dict[str, tuple]:
	frappe.db.commit()  # a fresh snapshot: the workers committed
	out = {}
	for i in range(0, len(names), 1000):
		for r in frappe.get_all(
			"Service Equipment",
			filters={"name": ["in", names[i : i + 1000]]},
			fields=["name", *STORED],
			limit_page_length=0,
		):
			rx = None if r.last_rx_dbm is None else round(float(r.last_rx_dbm), 2)
			out[r.name] = (rx, r.last_optical_status, r.last_online, r.last_inform, r.acs_device_id)
	return out


def check(prefix: str, names: list[str], started: datetime, sample_every: int) -> None:
	"""Every row refreshed; a sample equals the full normaliser and a one-pass inline run."""
	from gigafibre_fsm.connectors.genieacs import GenieACSClient
	from gigafibre_fsm.core.diagnostics import FLEET_PROJECTION, normalise_genieacs
	from gigafibre_fsm.network import jobs
	from gigafibre_fsm.network.diagnose import equipment_values
	from gigafibre_fsm.settings import get_settings

	frappe.db.commit()
	like = {"name": ["like", f"{prefix}-%"]}
	refreshed = frappe.db.count("Service Equipment", {**like, "last_refresh_at": [">=", started]})
	unlinked = frappe.db.count("Service Equipment", {**like, "acs_device_id": ["is", "not set"]})
	assert refreshed == len(names) and unlinked == 0, (refreshed, unlinked, len(names))
	sample = list(range(0, len(names), sample_every))
	by_workers = stored([names[n] for n in sample])
	ids = [device_id(n) for n in sample]
	with GenieACSClient(get_settings().genieacs) as client:
		docs = client.query_devices({"_id": {"$in": ids}}, FLEET_PROJECTION, limit=len(ids)).devices
	assert len(docs) == len(sample)
	now = datetime.now(UTC)
	for n, doc in zip(sample, sorted(docs, key=lambda d: ids.index(d["_id"])), strict=True):
		expected = equipment_values(normalise_genieacs(doc, now=now).to_dict())
		got = by_workers[names[n]]
		want = (expected.get("last_rx_dbm"), expected.get("last_optical_status"), expected.get("last_online"))
		assert got[:3] == want and got[3] == expected["last_inform"] and got[4] == doc["_id"], (got, expected)
	for n in sample:  # forget, then refresh the sample in one inline page
		frappe.db.set_value(
			"Service Equipment",
			names[n],
			{**RESET, **({"acs_device_id": None} if n % 10 == 3 else {})},
			update_modified=False,
		)
	frappe.db.commit()
	jobs.refresh_fleet_page(ids)
	frappe.db.commit()
	inline = stored([names[n] for n in sample])
	assert inline == by_workers, "a one-pass inline run stores other values than the workers"
	print(
		f"checked: {refreshed} rows refreshed and linked; a sample of {len(sample)} equals the full "
		"normaliser and a one-pass inline run"
	)


# -- processes and their CPU


def cpu(proc: psutil.Process) -> float:
	"""CPU seconds of a process, its reaped children and its live children."""
	try:
		t = proc.cpu_times()
		total = t.user + t.system + t.children_user + t.children_system
		for child in proc.children(recursive=True):
			with_children = child.cpu_times()
			total += with_children.user + with_children.system
		return total
	except psutil.NoSuchProcess:
		return 0.0


def db_server() -> psutil.Process | None:
	port = int(frappe.conf.db_port or (5432 if frappe.conf.db_type == "postgres" else 3306))
	for conn in psutil.net_connections(kind="tcp"):
		if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
			return psutil.Process(conn.pid)
	return None


def all_cpu() -> dict[int, tuple[str, float]]:
	out = {}
	for p in psutil.process_iter(["name", "cmdline"]):
		try:
			t = p.cpu_times()
			out[p.pid] = (" ".join(p.info["cmdline"] or [p.info["name"] or "?"])[:70], t.user + t.system)
		except psutil.Error:
			continue
	return out


class MemoryWatch(threading.Thread):
	"""Peak RSS of the workers and of their forked job processes, sampled every 0.2 s."""

	def __init__(self, workers: list[subprocess.Popen]):
		super().__init__(daemon=True)
		self.procs = [psutil.Process(w.pid) for w in workers]
		self.worker_peak = self.job_peak = 0
		self.running = True

	def run(self):
		while self.running:
			for proc in self.procs:
				try:
					self.worker_peak = max(self.worker_peak, proc.memory_info().rss)
					for child in proc.children(recursive=True):
						self.job_peak = max(self.job_peak, child.memory_info().rss)
				except psutil.Error:
					continue
			time.sleep(0.2)


def start_workers(count: int, log_path: str) -> list[subprocess.Popen]:
	from frappe.utils.background_jobs import get_queue
	from rq import Worker

	log = open(log_path, "ab")  # kept open for the workers' lifetime
	cmd = [sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "worker", "--queue", "long"]
	workers = [subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True) for _ in range(count)]
	queue = get_queue("long")
	deadline = time.monotonic() + 120
	pids = {w.pid for w in workers}
	while len([w for w in Worker.all(queue=queue) if w.pid in pids]) < count:
		if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
			stop_workers(workers)
			raise RuntimeError(f"the workers did not start: see {log_path}")
		time.sleep(0.2)
	return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
	for w in workers:
		if w.poll() is None:
			w.send_signal(signal.SIGTERM)  # RQ's warm shutdown: finish the job, then exit
	for w in workers:
		try:
			w.wait(60)
		except subprocess.TimeoutExpired:
			os.killpg(w.pid, signal.SIGKILL)
			w.wait(10)


def refresh_recording_jobs(jobs, page_size: int) -> tuple[dict, list[str]]:
	"""``refresh_fleet()`` as the scheduler runs it, noting the RQ id of each job it enqueues."""
	enqueue, ids = frappe.enqueue, []

	def noting(*args, **kwargs):
		job = enqueue(*args, **kwargs)
		if job is not None:
			ids.append(job.id)
		return job

	frappe.enqueue = noting
	try:
		result = jobs.refresh_fleet(page_size=page_size)
	finally:
		frappe.enqueue = enqueue
	frappe.db.commit()
	return result, ids


def wait_for_jobs(connection, job_ids: list[str], timeout: float) -> list:
	"""The RQ jobs once every one has ended (finished, or failed: then raise)."""
	from rq.job import Job

	deadline = time.monotonic() + timeout
	while True:
		jobs = Job.fetch_many(job_ids, connection=connection)  # one round trip, statuses included
		ended = [j for j in jobs if j is None or j.get_status(refresh=False) in ("finished", "failed")]
		if len(ended) == len(jobs):
			break
		if time.monotonic() > deadline:
			raise TimeoutError(f"{len(jobs) - len(ended)} of {len(jobs)} page jobs still queued or running")
		time.sleep(0.25)
	failed = [j for j in jobs if j is None or j.get_status(refresh=False) != "finished"]
	if failed:
		raise RuntimeError(f"{len(failed)} page jobs did not finish: {failed[0] and failed[0].exc_info}")
	return jobs


def main() -> int:
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("site")
	parser.add_argument("devices", type=int, nargs="?", default=75600)
	parser.add_argument("--workers", type=int, default=2)
	parser.add_argument("--page-size", type=int, default=500)
	args = parser.parse_args()
	n, w = args.devices, args.workers
	signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped (timeout): still clean up

	now = datetime.now(UTC)
	ctx = multiprocessing.get_context("spawn")
	here, there = ctx.Pipe()
	fake = ctx.Process(target=serve, args=(n, now, there), daemon=True)
	fake.start()  # builds its fleet while the rows are inserted

	frappe.init(site=args.site)
	frappe.connect()
	frappe.set_user("Administrator")
	from frappe.utils.background_jobs import get_queue

	from gigafibre_fsm.network import jobs

	prefix = f"BENCHFLEET-{frappe.generate_hash(length=6)}"
	old = {f: frappe.db.get_single_value(SETTINGS, f) for f in ("genieacs_nbi_url", "genieacs_timeout")}
	old_since = frappe.cache.get_value(jobs.SINCE_KEY)
	queue = get_queue("long")
	parked = f"{queue.key}:parked-by-{prefix}"
	workers: list[subprocess.Popen] = []
	names: list[str] = []
	try:
		t = time.perf_counter()
		names = insert_equipment(prefix, n)
		print(
			f"{args.site} ({frappe.conf.db_type or 'mariadb'}): inserted {n} Service Equipment in {time.perf_counter() - t:.1f} s"
		)
		url = here.recv()
		print(f"fake NBI ready ({n} devices) after {time.perf_counter() - t:.1f} s")
		frappe.db.set_single_value(SETTINGS, {"genieacs_nbi_url": url, "genieacs_timeout": 60})
		frappe.cache.delete_value(jobs.SINCE_KEY)
		frappe.db.commit()
		frappe.clear_document_cache(SETTINGS, SETTINGS)
		if queue.connection.exists(queue.key):
			print(f"parking {queue.count} jobs already on the long queue until the end")
			queue.connection.rename(queue.key, parked)

		workers = start_workers(w, f"/tmp/{prefix}-workers.log")
		watch = MemoryWatch(workers)
		watch.start()
		db = db_server()
		fake_proc = psutil.Process(fake.pid)
		children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
		idle = sum(cpu(psutil.Process(p.pid)) for p in workers)
		me = psutil.Process()
		cpu_before = (
			cpu(fake_proc),
			cpu(db) if db else 0.0,
			all_cpu(),
			os.getloadavg(),
			sum(me.cpu_times()[:2]),
		)

		started_at = now_datetime()
		t0 = time.time()
		result, job_ids = refresh_recording_jobs(jobs, args.page_size)
		enqueued = time.time() - t0
		done = wait_for_jobs(queue.connection, job_ids, timeout=1800)
		t_end = max(j.ended_at.replace(tzinfo=UTC).timestamp() for j in done)
		t_first = min(j.started_at.replace(tzinfo=UTC).timestamp() for j in done)
		fake_cpu = cpu(fake_proc) - cpu_before[0]
		enqueuer_cpu = sum(me.cpu_times()[:2]) - cpu_before[4]
		db_cpu = (cpu(db) if db else 0.0) - cpu_before[1]
		others = _others(
			cpu_before[2], _ours([psutil.Process(os.getpid()), fake_proc, db, *map(_process, workers)])
		)
		load = os.getloadavg()
		watch.running = False
		stop_workers(workers)
		children = resource.getrusage(resource.RUSAGE_CHILDREN)
		worker_cpu = (
			children.ru_utime + children.ru_stime - children_before.ru_utime - children_before.ru_stime - idle
		)
		total = t_end - t0
		busy = sum((j.ended_at - j.started_at).total_seconds() for j in done)
		print(
			f"pass: {n} devices, {result['pages']} page jobs of {args.page_size}, {w} workers: "
			f"{total:.1f} s (goal ≤ 30 s: {'OK' if total <= 30 else 'OVER'}); enqueue (walk + "
			f"{result['pages']} jobs) {enqueued:.1f} s; first job start → last end {t_end - t_first:.1f} s"
		)
		print(
			f"  {n / total:.0f} devices/s, {n / total / w:.0f} per worker; a page job "
			f"{busy / len(done):.2f} s on average ({n / busy:.0f} devices/s per busy worker)"
		)
		print(
			f"  CPU during the pass: workers {worker_cpu:.1f} s ({1000 * worker_cpu / n:.3f} ms/device), "
			f"database {db_cpu:.1f} s ({1000 * db_cpu / n:.3f} ms/device), fake NBI {fake_cpu:.1f} s "
			f"({100 * fake_cpu / max(total * os.cpu_count(), 1e-9):.0f} % of the machine's "
			f"{os.cpu_count()} cores × pass), the enqueuer (walk, enqueue, waiting) {enqueuer_cpu:.1f} s"
		)
		print(f"  other processes: {others}; load average {cpu_before[3][0]:.1f} → {load[0]:.1f}")
		print(
			f"  peak RSS: worker {watch.worker_peak / 2**20:.0f} MiB, page job (forked) "
			f"{watch.job_peak / 2**20:.0f} MiB; largest child over the run {children.ru_maxrss / 1024:.0f} MiB"
		)
		for more in (w, 4, 8):
			worker_bound = worker_cpu / more
			print(
				f"  projection, {more} workers on their own cores: {max(worker_bound, db_cpu, enqueued):.1f} s "
				f"= max(worker CPU / {more} = {worker_bound:.1f} s, database CPU {db_cpu:.1f} s on one "
				f"core, the enqueue {enqueued:.1f} s)"
			)
		check(prefix, names, started_at, max(1, n // 300) | 1)  # odd: every kind of row
		return 0 if total <= 30 else 1
	finally:
		if workers:
			stop_workers(workers)
		if fake.is_alive():
			here.send("stop")
			if here.poll(30):
				print(f"fake NBI: {here.recv()} requests served")
			fake.join(30)
			if fake.is_alive():
				fake.kill()
		_restore(queue, parked)
		frappe.db.rollback()
		frappe.db.set_single_value(SETTINGS, old)
		frappe.cache.delete_value(jobs.SINCE_KEY)
		if old_since:
			frappe.cache.set_value(jobs.SINCE_KEY, old_since)
		frappe.db.delete("Service Equipment", {"name": ("like", f"{prefix}-%")})
		frappe.db.commit()
		frappe.clear_document_cache(SETTINGS, SETTINGS)
		print(f"cleaned up: {len(names)} rows deleted, settings and the refresh's cursor restored")
		frappe.destroy()


def _process(popen: subprocess.Popen) -> psutil.Process | None:
	try:
		return psutil.Process(popen.pid)
	except psutil.Error:
		return None


def _ours(procs: list) -> set[int]:
	"""The pids of these processes and of their children (database backends, forked jobs)."""
	pids = set()
	for proc in filter(None, procs):
		try:
			pids |= {proc.pid, *(c.pid for c in proc.children(recursive=True))}
		except psutil.Error:
			continue
	return pids


def _others(before: dict, ours: set) -> str:
	after = all_cpu()
	spent = sorted(
		((after[p][1] - before[p][1], after[p][0]) for p in after if p in before and p not in ours),
		reverse=True,
	)
	return ", ".join(f"{name} {s:.1f} s" for s, name in spent[:4] if s >= 0.5) or "none above 0.5 s CPU"


def _restore(queue, parked: str) -> None:
	conn = queue.connection
	if not conn.exists(parked):
		return
	if conn.exists(queue.key):
		for job_id in conn.lrange(parked, 0, -1)[::-1]:
			conn.lpush(queue.key, job_id)
		conn.delete(parked)
	else:
		conn.rename(parked, queue.key)
	print("the parked jobs are back on the long queue")


if __name__ == "__main__":
	raise SystemExit(main())
