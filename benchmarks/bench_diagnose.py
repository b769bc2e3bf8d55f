"""Diagnose latency with three sources of different speeds vs the slowest source (goal ≤ slowest + 100 ms).

Run: ``.venv/bin/python benchmarks/bench_diagnose.py``. The GenieACS source is the real
client reading a device from the fake NBI (gigafibre_fsm.fakepeers.genieacs) and
normalising it; the modem and OLT sources are stand-ins that take 0.8 s and 1.5 s
(a warm TP-Link session and an OLT GET are in that range). A fourth run adds a dead
source with a 2 s timeout.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gigafibre_fsm.connectors.diagnose import Source, run
from gigafibre_fsm.connectors.genieacs import GenieACSClient
from gigafibre_fsm.core.diagnostics import Diagnosis, normalise_genieacs
from gigafibre_fsm.core.settings import GenieACSSettings
from gigafibre_fsm.fakepeers import cpe_documents
from gigafibre_fsm.fakepeers.genieacs import FakeGenieACS


def sleeper(seconds: float):
	def call():
		time.sleep(seconds)
		return Diagnosis()

	return call


def main(rounds: int = 10) -> None:
	peer = FakeGenieACS().start()
	try:
		doc = cpe_documents.xx230v_document(last_inform=datetime.now(UTC))
		peer.add_devices([doc])
		device_id = doc["_id"]
		client = GenieACSClient(GenieACSSettings(nbi_url=peer.url, timeout=5))

		def genieacs():
			return normalise_genieacs(client.get_device(device_id), now=datetime.now(UTC))

		for label, sources in (
			(
				"3 sources (genieacs ~fast, modem 0.8 s, olt 1.5 s)",
				[
					Source("genieacs", genieacs, 5),
					Source("modem", sleeper(0.8), 5),
					Source("olt", sleeper(1.5), 5),
				],
			),
			(
				"+ a dead source (timeout 2 s)",
				[
					Source("genieacs", genieacs, 5),
					Source("modem", sleeper(0.8), 5),
					Source("olt", sleeper(1.5), 5),
					Source("dead", sleeper(30), 2),
				],
			),
		):
			slowest = max(1.5, 2.0 if len(sources) == 4 else 0)
			times = []
			for _ in range(rounds):
				started = time.perf_counter()
				run(sources, now=datetime.now(UTC))
				times.append(time.perf_counter() - started)
			print(
				f"{label}: median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms, "
				f"slowest source {slowest * 1000:.0f} ms, overhead {(statistics.median(times) - slowest) * 1000:.0f} ms"
			)
	finally:
		peer.stop()


if __name__ == "__main__":
	main()
