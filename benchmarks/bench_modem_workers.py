"""The modem bridge in W worker processes sharing N modems: latency, hand-overs and CPU per read.

    .venv/bin/python benchmarks/bench_modem_workers.py [--modems 20] [--workers 2] [--rounds 4]
        [--modem browser|direct] [--no-leases] [--affinity] [--sessions 10]

What the gunicorn benchmark (bench_diagnose_load.py) cannot isolate: the bridge alone, without
Frappe, GenieACS or the OLT. W processes stand for W gunicorn workers, each with its own
ModemBridge (its own Chromium in browser mode) and, unless ``--no-leases``, the device leases in
the Redis on loopback (redis://127.0.0.1:6379/15, keys under a throw-away prefix). Each round
reads the N fake modems at once (fakepeers/tplink_webui.py or fakepeers/tplink.py, one per
device), each read sent to a random worker as gunicorn hands a new connection to whichever
worker accepts it (``--affinity``: device i always to worker i mod W, as one bridge process per
device would). Prints per round: p50/p95/max of a read, the errors by code, the hand-overs
between workers, and the CPU seconds the workers and their browsers spent (per read).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import random
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REDIS_URL = "redis://127.0.0.1:6379/15"


def worker(args, prefix: str, inbox, outbox) -> None:
	"""One 'gunicorn worker': reads the devices it is sent, a thread per read, answers each."""
	import redis

	from gigafibre_fsm.connectors import modem_chromium
	from gigafibre_fsm.connectors.modem_bridge import ModemBridge
	from gigafibre_fsm.connectors.modem_browser import BrowserBackend
	from gigafibre_fsm.connectors.modem_direct import DirectEXBackend
	from gigafibre_fsm.connectors.modem_lease import RedisDeviceLeases
	from gigafibre_fsm.core.settings import ModemBridgeSettings

	modem_chromium.CHROMIUM_ARGS = (*modem_chromium.CHROMIUM_ARGS, *args.chromium_arg)
	s = ModemBridgeSettings(
		enabled=True,
		username="user",
		password="secret",
		timeout=10,
		idle_seconds=args.idle,
		browser_sessions=args.sessions,
	)
	backend = BrowserBackend(s) if args.modem == "browser" else DirectEXBackend(s)
	leases = None if args.no_leases else RedisDeviceLeases(redis.Redis.from_url(REDIS_URL), prefix=prefix)
	bridge = ModemBridge(s, kinds={"tplink_ex": [backend]}, now=lambda: datetime.now(UTC), leases=leases)
	bridge.warm_up(wait=args.modem == "browser")
	bridge.start_reaper()

	def one(job, url):
		started = time.perf_counter()
		result = bridge.diagnose(url)
		outbox.put((job, time.perf_counter() - started, [e["code"] for e in result.errors]))

	outbox.put(("ready", 0, []))
	while True:
		item = inbox.get()
		if item is None:
			break
		if item == "stats":
			outbox.put(("stats", bridge.pool.handed_over, []))
			continue
		threading.Thread(target=one, args=item, daemon=True).start()
	bridge.close()


def _tree(pid: int) -> list[int]:
	"""The pid and its descendants (Linux /proc)."""
	out, todo = [], [pid]
	while todo:
		current = todo.pop()
		out.append(current)
		for task in Path(f"/proc/{current}/task").glob("*/children"):
			try:
				todo.extend(int(c) for c in task.read_text().split())
			except OSError:
				pass
	return out


def cpu_seconds(pids: list[int]) -> float:
	"""User + system CPU of the processes and their descendants (live ones), from /proc."""
	tick = os.sysconf("SC_CLK_TCK")
	total = 0
	for pid in pids:
		for p in _tree(pid):
			try:
				fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
			except OSError:
				continue
			total += int(fields[11]) + int(fields[12])  # utime, stime
	return total / tick


def p95(values):
	values = sorted(values)
	return values[min(len(values) - 1, max(0, math.ceil(0.95 * len(values)) - 1))]


def main() -> int:
	parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	parser.add_argument("--modems", type=int, default=20)
	parser.add_argument("--workers", type=int, default=2)
	parser.add_argument("--rounds", type=int, default=4)
	parser.add_argument("--modem", choices=("browser", "direct"), default="browser")
	parser.add_argument("--modem-delay", type=float, default=0.03)
	parser.add_argument("--sessions", type=int, default=10, help="browser contexts per worker")
	parser.add_argument("--idle", type=int, default=120)
	parser.add_argument("--no-leases", action="store_true")
	parser.add_argument("--affinity", action="store_true")
	parser.add_argument("--seed", type=int, default=14)
	parser.add_argument(
		"--chromium-arg", action="append", default=[], help="an extra Chromium flag (to compare)"
	)
	args = parser.parse_args()

	from gigafibre_fsm.fakepeers.tplink import FakeTPLinkEX
	from gigafibre_fsm.fakepeers.tplink_webui import FakeTPLinkWebUI

	if args.modem == "browser":
		modems = [FakeTPLinkWebUI(data_delay=args.modem_delay).start() for _ in range(args.modems)]
	else:
		modems = [FakeTPLinkEX(act_delay=args.modem_delay).start() for _ in range(args.modems)]
	prefix = f"gf-bench:{uuid.uuid4().hex[:8]}:modem_lease:"
	ctx = multiprocessing.get_context("spawn")
	outbox = ctx.Queue()
	inboxes = [ctx.Queue() for _ in range(args.workers)]
	procs = [ctx.Process(target=worker, args=(args, prefix, q, outbox)) for q in inboxes]
	rng = random.Random(args.seed)
	try:
		for proc in procs:
			proc.start()
		for _ in procs:
			outbox.get(timeout=180)
		pids = [proc.pid for proc in procs]
		print(
			f"{args.modems} modems via {args.modem}, {args.workers} worker processes, "
			f"{'no leases' if args.no_leases else 'Redis leases'}, "
			f"{'device affinity' if args.affinity else 'random worker per read'}, "
			f"{args.sessions} browser contexts per worker"
			+ (f", Chromium {' '.join(args.chromium_arg)}" if args.chromium_arg else "")
		)
		for n in range(1, args.rounds + 1):
			cpu0, handed0 = cpu_seconds(pids), 0
			for q in inboxes:
				q.put("stats")
			handed0 = sum(outbox.get(timeout=60)[1] for _ in inboxes)
			started = time.perf_counter()
			for i, modem in enumerate(modems):
				w = i % args.workers if args.affinity else rng.randrange(args.workers)
				inboxes[w].put((i, modem.url))
			rows = [outbox.get(timeout=300) for _ in modems]
			wall = time.perf_counter() - started
			cpu = cpu_seconds(pids) - cpu0
			for q in inboxes:
				q.put("stats")
			handed = sum(outbox.get(timeout=60)[1] for _ in inboxes) - handed0
			times = [r[1] for r in rows]
			codes: dict[str, int] = {}
			for r in rows:
				for c in r[2]:
					codes[c] = codes.get(c, 0) + 1
			print(
				f"round {n}{' (cold)' if n == 1 else ''}: p50 {statistics.median(times) * 1000:.0f} ms, "
				f"p95 {p95(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms, wall {wall:.1f} s; "
				f"errors {codes or 'none'}; hand-overs {handed}; logins so far "
				f"{sum(m.logins for m in modems)}; max admins on one modem "
				f"{max(m.max_active for m in modems)}; CPU {cpu:.1f} s ({cpu / len(modems) * 1000:.0f} ms a read)"
			)
	finally:
		for q in inboxes:
			q.put(None)
		for proc in procs:
			proc.join(60)
			if proc.is_alive():
				proc.kill()
		for m in modems:
			m.stop()
	return 0


if __name__ == "__main__":
	sys.exit(main())
