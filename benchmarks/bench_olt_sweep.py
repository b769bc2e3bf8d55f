"""OLT sweep benchmark: 30 OLTs × 252 ONTs over SNMP v2c against real net-snmp agents.

Run from the repo root:  .venv/bin/python benchmarks/bench_olt_sweep.py [--agents 6] [--olts 30]

Needs Debian's ``snmpd`` and ``snmp`` packages (snmpd runs as root here). Two parts:

1. **Sweep.** ``olt_snmp.sweep`` of ``--olts`` logical OLTs, each 4 PON ports × 63
   ONTs = 252 ONTs, reading the default columns (ONT RX, OLT-side RX, TX, status,
   serial) with at most ``max_inflight_per_olt`` requests in flight per OLT, all OLTs
   in parallel. Thirty snmpd processes (plus thirty pass_persist handlers) would
   mostly measure a 2-core machine's scheduler, so ``--agents`` snmpd instances
   (ZTE and Huawei alternately, each with its own seeded table) each serve
   ``olts/agents`` logical OLTs under distinct communities: different OLTs to the
   client (own target, own community, own in-flight cap), the same table behind
   each community of one agent. Every OLT's result is checked against the
   generator's truth (count and serials).
2. **Walk vs snmpbulkwalk.** One OLT's ONT RX column (252 rows) and its whole
   vendor subtree, walked with GETBULK (max-repetitions 50) by the connector
   (``OltSnmpClient.walk``, warm socket as in a sweep, and cold: a new socket per
   walk), by pysnmp's own ``bulk_walk_cmd``, and by the ``snmpbulkwalk`` command
   (a new process per walk, MIB loading off). Goal: the connector's walk ≤ 1.5× the
   command's time (it was 4× with pysnmp's engine, 40× with a new engine per walk).

The agents serve their tables through a Python pass_persist handler, one GETNEXT
per row over a pipe, so agent time is part of every figure (for the command too).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pysnmp.hlapi.v3arch.asyncio import (
	CommunityData,
	ContextData,
	ObjectIdentity,
	ObjectType,
	SnmpEngine,
	UdpTransportTarget,
	bulk_walk_cmd,
)

from gigafibre_fsm.connectors.olt_snmp import OltSnmpClient, OltTarget, oid_text, sweep
from gigafibre_fsm.core.settings import SNMPSettings
from gigafibre_fsm.fakepeers.olt_agent import OltAgent, snmpd_path
from gigafibre_fsm.fakepeers.olt_table import generate_table

WALK_GOAL_RATIO = 1.5
MAX_REPETITIONS = 50


def start_agents(
	count: int, olts: int, ports: int, onts: int, *, interleave: bool = False
) -> tuple[list[OltAgent], list[OltTarget], dict]:
	"""``count`` agents serving ``olts`` logical OLTs (one community each): in blocks of
	consecutive names, or ``interleave``d (OLT n on agent n mod count, so a chunk of
	consecutive names is spread over the agents as real OLTs are over their own hardware)."""
	per_agent = -(-olts // count)
	width = max(2, len(str(olts - 1)))
	agents, targets, truth = [], [], {}
	for a in range(count):
		vendor = "zte" if a % 2 == 0 else "huawei"
		table = generate_table(vendor, ports=ports, onts_per_port=onts, seed=100 + a)
		numbers = (
			range(a, olts, count) if interleave else range(a * per_agent, min(olts, (a + 1) * per_agent))
		)
		communities = [f"olt{n:0{width}d}" for n in numbers]
		if not communities:
			break
		agent = OltAgent(table, communities=communities).start()
		agents.append(agent)
		for community in communities:
			targets.append(
				OltTarget(community, agent.host, community=community, profile=table.profile, port=agent.port)
			)
			truth[community] = table
	return agents, targets, truth


async def run_sweep(targets, settings):
	started = time.perf_counter()
	results = await sweep(targets, settings, max_repetitions=MAX_REPETITIONS)
	return results, time.perf_counter() - started


async def connector_walks(agent: OltAgent, oid, repeat: int, *, cold: bool) -> list[float]:
	times = []
	olt = OltTarget(
		"bench", agent.host, community=agent.community, profile=agent.table.profile, port=agent.port
	)
	settings = SNMPSettings(timeout=3.0, retries=1)
	warm = None if cold else OltSnmpClient(olt, settings, max_repetitions=MAX_REPETITIONS)
	if warm:
		await warm.walk(oid)  # resolve the target and open the socket once, as a sweep does
	rows = 0
	for _ in range(repeat):
		started = time.perf_counter()
		client = OltSnmpClient(olt, settings, max_repetitions=MAX_REPETITIONS) if cold else warm
		rows = len(await client.walk(oid))
		if cold:
			client.close()
		times.append(time.perf_counter() - started)
	if warm:
		warm.close()
	return times, rows


async def pysnmp_walks(agent: OltAgent, oid, repeat: int) -> list[float]:
	engine = SnmpEngine()
	transport = await UdpTransportTarget.create(agent.address, timeout=3.0, retries=1)
	times = []
	for _ in range(repeat + 1):
		started = time.perf_counter()
		rows = 0
		async for indication, status, _index, varbinds in bulk_walk_cmd(
			engine,
			CommunityData(agent.community, mpModel=1),
			transport,
			ContextData(),
			0,
			MAX_REPETITIONS,
			ObjectType(ObjectIdentity(oid)),
			lookupMib=False,
			lexicographicMode=False,
		):
			assert not indication and not status, (indication, status)
			rows += len(varbinds)
		times.append(time.perf_counter() - started)
	engine.close_dispatcher()
	return times[1:], rows  # the first walk warms the engine


def command_walks(agent: OltAgent, oid: str, repeat: int) -> tuple[list[float], int]:
	command = [
		shutil.which("snmpbulkwalk"),
		"-v2c",
		"-c",
		agent.community,
		f"-Cr{MAX_REPETITIONS}",
		"-On",
		"-Oq",
		f"{agent.host}:{agent.port}",
		oid,
	]
	env = {**os.environ, "MIBS": "", "MIBDIRS": "/nonexistent"}
	times, rows = [], 0
	for _ in range(repeat):
		started = time.perf_counter()
		out = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
		times.append(time.perf_counter() - started)
		rows = len(out.stdout.splitlines())
	return times, rows


def ms(values: list[float]) -> str:
	return f"median {statistics.median(values) * 1000:7.1f} ms (min {min(values) * 1000:6.1f})"


def main() -> int:
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("--olts", type=int, default=30)
	parser.add_argument("--agents", type=int, default=6)
	parser.add_argument("--ports", type=int, default=4)
	parser.add_argument("--onts-per-port", type=int, default=63)
	parser.add_argument("--inflight", type=int, default=4)
	parser.add_argument("--repeat", type=int, default=15)
	args = parser.parse_args()
	if not snmpd_path() or not shutil.which("snmpbulkwalk"):
		print("needs net-snmp: apt-get install snmpd snmp")
		return 2

	started = time.perf_counter()
	agents, targets, truth = start_agents(args.agents, args.olts, args.ports, args.onts_per_port)
	print(
		f"{len(agents)} snmpd agents serving {len(targets)} logical OLTs × "
		f"{args.ports * args.onts_per_port} ONTs, started in {time.perf_counter() - started:.1f} s"
	)
	try:
		settings = SNMPSettings(timeout=3.0, retries=1, max_inflight_per_olt=args.inflight)
		results, elapsed = asyncio.run(run_sweep(targets, settings))
		onts = sum(len(r.onts) for r in results.values())
		requests = sum(r.requests for r in results.values())
		failed = [name for name, r in results.items() if not r.ok]
		for name, result in results.items():
			if result.ok:
				wrong = [o.serial for o in result.onts] != [o.serial for o in truth[name].onts]
				assert not wrong, f"{name}: the ONTs read differ from the generated table"
			else:
				print(f"   {name}: {result.error['message']} ({result.exception})")
		per_olt = sorted(r.elapsed_s for r in results.values())
		print("\n1. sweep (columns: rx, olt_rx, tx, status, serial)")
		print(f"   OLTs {len(results)}, failed {len(failed)}, ONTs {onts}, GETBULK requests {requests}")
		print(
			f"   total {elapsed:.2f} s; per OLT median {statistics.median(per_olt):.2f} s, "
			f"max {per_olt[-1]:.2f} s; {onts * 5 / elapsed:,.0f} varbinds/s"
		)

		agent = agents[0]
		print(
			f"\n2. one OLT ({agent.table.vendor}), GETBULK max-repetitions {MAX_REPETITIONS}, {args.repeat} runs"
		)
		for label, oid in (
			("ONT RX column", agent.table.oids["rx"]),
			("whole subtree", agent.table.oids["rx"][:7]),
		):
			text = oid_text(oid)
			command, rows_cmd = command_walks(agent, text, args.repeat)
			warm, rows = asyncio.run(connector_walks(agent, oid, args.repeat, cold=False))
			cold, _ = asyncio.run(connector_walks(agent, oid, max(3, args.repeat // 3), cold=True))
			raw, rows_raw = asyncio.run(pysnmp_walks(agent, text, args.repeat))
			assert rows == rows_cmd == rows_raw, (rows, rows_cmd, rows_raw)
			base = statistics.median(command)
			ratio = statistics.median(warm) / base
			print(f"   {label} ({rows} rows)")
			print(f"     snmpbulkwalk (new process)      {ms(command)}")
			print(f"     connector walk, warm socket     {ms(warm)}  = {ratio:.2f}× the command")
			print(
				f"     connector walk, new socket      {ms(cold)}  = "
				f"{statistics.median(cold) / base:.2f}× the command"
			)
			print(
				f"     pysnmp bulk_walk_cmd, warm      {ms(raw)}  = {statistics.median(raw) / base:.2f}× the command"
			)
			verdict = "ok" if ratio <= WALK_GOAL_RATIO else "OVER GOAL"
			print(f"     goal ≤ {WALK_GOAL_RATIO:g}× (warm connector walk): {verdict}")
	finally:
		for agent in agents:
			agent.stop()
	print(f"\ntotal benchmark time {time.perf_counter() - started:.1f} s")
	return 0


if __name__ == "__main__":
	raise SystemExit(main())
