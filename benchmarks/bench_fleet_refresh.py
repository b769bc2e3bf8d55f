"""Fleet refresh benchmark: 7,560 CPEs through the GenieACS client's paged iterator.

Run from the repo root:  .venv/bin/python benchmarks/bench_fleet_refresh.py [--devices N]

Loads generated device documents (tests/peers/cpe_documents.py: TP-Link XX230v TR-181
with 0–2 Deco nodes, one in ten a TR-098 ONT) into FakeGenieACS on loopback, then times

1. a full fleet refresh: ``GenieACSClient.iter_devices`` with a realistic projection,
   keyset-paged on ``_lastInform`` (goal: ≤ 15 s for 7,560 devices);
2. the normaliser (``normalise_genieacs``) on the projected and on the full documents;
3. the fleet refresh's own path: the page jobs' projection (``FLEET_PROJECTION``) through the
   full normaliser, then through its lean path ``fleet_reading`` (the stored fields only).

The fake NBI is single-process Python (JSON encoding, matching and sorting each page
itself), so the refresh figure is an upper bound of the client's own cost plus a slow
server; a real GenieACS answers from MongoDB.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gigafibre_fsm.connectors.genieacs import GenieACSClient
from gigafibre_fsm.core.diagnostics import FLEET_PROJECTION, fleet_reading, normalise_genieacs
from gigafibre_fsm.core.settings import GenieACSSettings
from gigafibre_fsm.fakepeers.cpe_documents import DEFAULT_NOW
from gigafibre_fsm.fakepeers.cpe_fleet import fleet
from gigafibre_fsm.fakepeers.genieacs import FakeGenieACS, _project

GOAL_SECONDS = 15.0
# what a periodic refresh needs: identity, uptime, optics, WAN chain, radios, client counts
PROJECTION = [
	"_deviceId",
	"_lastInform",
	"_tags",
	"Device.DeviceInfo.SoftwareVersion",
	"Device.DeviceInfo.UpTime",
	"Device.ManagementServer.PeriodicInformInterval",
	"Device.Optical.Interface",
	"Device.IP.Interface",
	"Device.PPP.Interface",
	"Device.Ethernet.VLANTermination",
	"Device.WiFi.Radio",
	"Device.Hosts.HostNumberOfEntries",
	"InternetGatewayDevice.DeviceInfo.SoftwareVersion",
	"InternetGatewayDevice.DeviceInfo.UpTime",
	"InternetGatewayDevice.ManagementServer.PeriodicInformInterval",
	"InternetGatewayDevice.WANDevice",
]


def main() -> int:
	parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	parser.add_argument("--devices", type=int, default=7560)
	parser.add_argument("--page-size", type=int, default=500)
	args = parser.parse_args()

	started = time.perf_counter()
	docs = fleet(args.devices)
	print(f"generated {len(docs)} documents in {time.perf_counter() - started:.1f} s")

	peer = FakeGenieACS(docs).start()
	try:
		client = GenieACSClient(GenieACSSettings(nbi_url=peer.url, timeout=60))
		gc.collect()
		started = time.perf_counter()
		refreshed = []
		pages = 0
		for page in client.iter_pages(projection=PROJECTION, page_size=args.page_size):
			pages += 1
			refreshed.extend(page.devices)
		elapsed = time.perf_counter() - started
		client.close()
		tasks = sum(1 for r in peer.requests if "/tasks" in r.path)
	finally:
		peer.stop()
	ids = {d["_id"] for d in refreshed}
	assert len(ids) == len(docs) == len(refreshed), (len(ids), len(docs), len(refreshed))
	assert tasks == 0, "the fleet refresh must never post tasks or connection requests"
	verdict = "OK" if elapsed <= GOAL_SECONDS else "OVER GOAL"
	print(
		f"fleet refresh: {len(refreshed)} devices, {pages} pages of {args.page_size}, "
		f"{len(peer.requests)} NBI requests, {elapsed:.2f} s "
		f"({len(refreshed) / elapsed:.0f} devices/s) — goal ≤ {GOAL_SECONDS:.0f} s: {verdict}"
	)

	now = DEFAULT_NOW + timedelta(minutes=5)
	for label, batch in (("projected", refreshed), ("full", docs)):
		started = time.perf_counter()
		statuses: dict[str, int] = {}
		for doc in batch:
			result = normalise_genieacs(doc, now=now)
			status = result.optical["status"] if result.optical else "none"
			statuses[status] = statuses.get(status, 0) + 1
		elapsed_norm = time.perf_counter() - started
		print(
			f"normaliser ({label} documents): {len(batch)} in {elapsed_norm:.2f} s "
			f"({len(batch) / elapsed_norm:.0f} devices/s, {1000 * elapsed_norm / len(batch):.2f} ms each); "
			f"optical status {dict(sorted(statuses.items()))}"
		)
	page_docs = [_project(d, FLEET_PROJECTION) for d in docs]
	for label, read in (
		("full normaliser", lambda d: normalise_genieacs(d, now=now).to_dict()),
		("lean fleet_reading", lambda d: fleet_reading(d, now=now)),
	):
		best = min(_timed(read, page_docs) for _ in range(3))
		print(f"page job reading, {label}: {1000 * best / len(page_docs):.3f} ms per device (best of 3)")
	return 0 if elapsed <= GOAL_SECONDS else 1


def _timed(read, docs) -> float:
	started = time.perf_counter()
	for doc in docs:
		read(doc)
	return time.perf_counter() - started


if __name__ == "__main__":
	raise SystemExit(main())
