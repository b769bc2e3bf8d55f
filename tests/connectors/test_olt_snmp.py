"""The OLT SNMP connector against real net-snmp agents serving generated ZTE and Huawei tables.

The generator (gigafibre_fsm.fakepeers.olt_table) encodes the tables from
shared/NETWORK.md on its own, so every decode below is checked against its truth
rather than against the connector's own arithmetic.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gigafibre_fsm.connectors import olt_snmp
from gigafibre_fsm.connectors.errors import ConnectorResponseError, ConnectorTimeout
from gigafibre_fsm.connectors.olt_snmp import OltSnmpClient, OltTarget, sweep, sweep_sync
from gigafibre_fsm.connectors.snmp_v2c import SnmpTransport
from gigafibre_fsm.core.diagnostics import Diagnosis, merge, optical_reading
from gigafibre_fsm.core.errors import InvalidInput, NotFound
from gigafibre_fsm.core.olt.profiles import (
	ALL_FIELDS,
	HUAWEI_MA5800,
	ZTE_C300,
	Column,
	OltProfile,
	OntLocation,
	get_profile,
	profile_names,
	register_profile,
)
from gigafibre_fsm.core.settings import SNMPSettings
from gigafibre_fsm.fakepeers import olt_table as gen
from gigafibre_fsm.fakepeers.olt_agent import free_udp_port
from gigafibre_fsm.fakepeers.olt_pass_persist import serve_pass_persist
from gigafibre_fsm.fakepeers.olt_table import generate_table

FAST = SNMPSettings(timeout=1.0, retries=0, max_inflight_per_olt=4)
FR_CSV = Path(olt_snmp.__file__).resolve().parent.parent / "translations" / "fr.csv"
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def run(coro):
	return asyncio.run(coro)


def target(agent, name="olt-1", community=None, **kwargs) -> OltTarget:
	return OltTarget(
		name=name,
		host=agent.host,
		port=agent.port,
		community=community or agent.community,
		profile=kwargs.pop("profile", agent.table.profile),
	)


async def read_all(agent, settings=FAST, **kwargs):
	async with OltSnmpClient(target(agent), settings, **kwargs) as client:
		return await client.read_olt(ALL_FIELDS), client


def french_sources() -> set[str]:
	with FR_CSV.open(encoding="utf-8") as handle:
		return {row[0] for row in csv.reader(handle) if row}


def assert_matches_truth(reading, truth) -> None:
	assert reading.location == truth.location
	assert reading.if_index == truth.if_index
	assert reading.serial == truth.serial
	assert reading.name == truth.name
	assert reading.rx_dbm == truth.rx_dbm, (truth.kind, reading.raw)
	assert reading.tx_dbm == truth.tx_dbm, (truth.kind, reading.raw)
	assert reading.olt_rx_dbm == truth.olt_rx_dbm, (truth.kind, reading.raw)
	assert reading.online is truth.online
	assert reading.distance_m == truth.distance_m


# ---------------------------------------------------------------------------
# index arithmetic (pure)


@pytest.mark.parametrize(
	"profile, location, if_index",
	[
		(ZTE_C300, (1, 1, 1), 285278465),  # NETWORK.md: 1/1/1 = 285278465
		(ZTE_C300, (1, 2, 16), 0x11000000 + (1 << 16) + (2 << 8) + 16),
		(ZTE_C300, (0, 17, 3), 0x11000000 + (17 << 8) + 3),
		(HUAWEI_MA5800, (0, 1, 0), 4194312192),
		(HUAWEI_MA5800, (0, 2, 3), 4194304000 + 2 * 8192 + 3 * 256),
		(HUAWEI_MA5800, (0, 0, 0), 4194304000),
	],
)
def test_port_index_both_directions(profile, location, if_index):
	assert profile.if_index(*location) == if_index
	assert profile.port_of(if_index) == location


@pytest.mark.parametrize("profile", [ZTE_C300, HUAWEI_MA5800], ids=lambda p: p.name)
def test_ont_index_round_trips_over_the_whole_range(profile):
	scheme = profile.port_index
	low, high = profile.onts
	for frame in range(scheme.frames[0], min(scheme.frames[1], 2) + 1):
		for slot in range(scheme.slots[0], min(scheme.slots[1], 20) + 1):
			for port in range(scheme.ports[0], min(scheme.ports[1], 16) + 1):
				for ont in (low, high):
					index = profile.ont_index(frame, slot, port, ont)
					assert profile.ont_of(index) == OntLocation(frame, slot, port, ont)


def test_port_index_agrees_with_the_generator():
	for slot in range(0, 20):
		for port in range(1, 17):
			assert ZTE_C300.if_index(1, slot, port) == gen.zte_if_index(1, slot, port)
		for port in range(0, 16):
			assert HUAWEI_MA5800.if_index(0, slot, port) == gen.huawei_if_index(0, slot, port)


@pytest.mark.parametrize(
	"profile, call",
	[
		(HUAWEI_MA5800, lambda p: p.if_index(1, 1, 0)),  # only frame 0 is documented
		(HUAWEI_MA5800, lambda p: p.if_index(0, 64, 0)),
		(HUAWEI_MA5800, lambda p: p.if_index(0, 1, 32)),
		(ZTE_C300, lambda p: p.if_index(1, 1, 256)),
		(ZTE_C300, lambda p: p.ont_index(1, 1, 1, 0)),  # ZTE ONU ids start at 1
		(ZTE_C300, lambda p: p.ont_index(1, 1, 1, 129)),
		(ZTE_C300, lambda p: p.port_of(285278465 - 0x01000000)),  # not a GPON ifIndex
		(HUAWEI_MA5800, lambda p: p.port_of(4194312192 + 5)),  # between two ports
		(HUAWEI_MA5800, lambda p: p.port_of(12)),
		(HUAWEI_MA5800, lambda p: p.ont_of((4194312192,))),
	],
)
def test_bad_indices_are_refused_with_a_translated_message(profile, call):
	with pytest.raises(InvalidInput) as caught:
		call(profile)
	assert caught.value.template in french_sources()


def test_profiles_by_name_and_alias():
	assert {"zte_c300", "huawei_ma5800"} <= set(profile_names())
	assert get_profile("ZTE_C320") is ZTE_C300
	assert get_profile("huawei_ma5600t") is HUAWEI_MA5800
	assert get_profile(ZTE_C300) is ZTE_C300
	with pytest.raises(NotFound) as caught:
		get_profile("nokia_isam")
	assert caught.value.template in french_sources()


def test_register_profile_checks_the_plugin():
	bad = OltProfile(
		name="acme_bad",
		vendor="Acme",
		models=("X1",),
		port_index=HUAWEI_MA5800.port_index,
		onts=(0, 127),
		columns={"rx": Column("1.3.6.1.4.1.99999.1", "optical", "no_such_transform")},
		status_map={},
	)
	with pytest.raises(ValueError):
		register_profile(bad)
	with pytest.raises(ValueError):
		register_profile(ZTE_C300.__class__(**{**ZTE_C300.__dict__, "aliases": ()}))  # name taken


@pytest.mark.parametrize(
	"profile, column, raw, expected",
	[
		(ZTE_C300, "serial", b"1,ZTEGc0ffee12", "ZTEGC0FFEE12"),
		(ZTE_C300, "serial", b"ZTEG12345678", "ZTEG12345678"),
		(HUAWEI_MA5800, "serial", bytes.fromhex("48575443") + bytes.fromhex("0a1b2c3d"), "HWTC0A1B2C3D"),
		(HUAWEI_MA5800, "serial", b"485754430A1B2C3D", "HWTC0A1B2C3D"),
		(HUAWEI_MA5800, "distance", -1, None),
		(ZTE_C300, "status", 5, "dying_gasp"),
		(ZTE_C300, "status", 42, "unknown(42)"),
		(HUAWEI_MA5800, "status", 2, "offline"),
	],
)
def test_value_decoders(profile, column, raw, expected):
	assert profile.decode(column, raw) == expected


# ---------------------------------------------------------------------------
# the generator and its pass_persist handler (no snmpd needed)


def test_generator_is_seeded_and_covers_every_kind():
	a = generate_table("zte", ports=2, onts_per_port=10, seed=3)
	b = generate_table("zte", ports=2, onts_per_port=10, seed=3)
	assert a.onts == b.onts and a.varbinds == b.varbinds
	assert {o.kind for o in a.onts} == set(gen.KIND_WEIGHTS)
	assert generate_table("zte", ports=2, onts_per_port=10, seed=4).onts != a.onts


def test_pass_persist_protocol(tmp_path):
	table = generate_table("huawei", ports=1, onts_per_port=3, seed=1)
	path = table.write_tsv(tmp_path / "t.tsv")
	keys = sorted(table.varbinds)
	first = ".".join(map(str, keys[0]))
	script = f"PING\nget\n.{first}\ngetnext\n.{first}\ngetnext\n.1.3.6.1.4.1.2011\nget\n.1.2.3\nset\n.{first}\ninteger 5\n"
	out = io.StringIO()
	serve_pass_persist(str(path), io.StringIO(script), out)
	lines = out.getvalue().splitlines()
	second = "." + ".".join(map(str, keys[1]))
	kind, value = table.varbinds[keys[0]]
	assert lines == [
		"PONG",
		f".{first}",
		kind,
		value,
		second,
		*table.varbinds[keys[1]],
		f".{first}",
		kind,
		value,
		"NONE",
		"not-writable",
	]


# ---------------------------------------------------------------------------
# through the real agent


def test_walk_returns_the_generated_column(olt_agent):
	table = olt_agent.table

	async def go():
		async with OltSnmpClient(target(olt_agent), FAST, max_repetitions=7) as client:
			return await client.walk(table.oids["rx"]), client.requests

	rows, requests = run(go())
	expected = table.column("rx")
	assert [oid for oid, _ in rows] == sorted(expected)
	assert all(value == int(expected[oid][1]) for oid, value in rows)
	assert requests >= len(expected) // 7  # really paged with GETBULK


def test_whole_olt_matches_the_truth_with_units_and_sentinels(olt_agent):
	readings, client = run(read_all(olt_agent))
	table = olt_agent.table
	assert len(readings) == len(table.onts)
	for reading, truth in zip(readings, table.onts, strict=True):
		assert_matches_truth(reading, truth)
		assert reading.olt == "olt-1" and reading.profile == table.profile
	by_kind = {}
	for reading, truth in zip(readings, table.onts, strict=True):
		by_kind.setdefault(truth.kind, []).append(reading)
	assert {r.optical_status for r in by_kind["ok"]} == {"ok"}
	assert {r.optical_status for r in by_kind["low"] + by_kind["very_low"]} == {"low"}
	assert {r.optical_status for r in by_kind["high"]} == {"high"}
	# online without a reading: the sentinel is None, and not a loss of signal
	assert {(r.rx_dbm, r.optical_status) for r in by_kind["no_reading"]} == {(None, "unknown")}
	assert {r.optical_status for r in by_kind["los"]} == {"los"}
	assert all(r.rx_dbm is None and r.olt_rx_dbm is None for r in by_kind["offline"] + by_kind["los"])
	sentinel = {"zte": gen.ZTE_NO_READING, "huawei": gen.HUAWEI_INVALID}[table.vendor]
	assert {r.raw["rx"] for r in by_kind["no_reading"]} == {sentinel}
	if table.vendor == "zte":
		# below −30 dBm the 16-bit raw wraps: > 32767 must become negative first
		assert all(r.raw["rx"] > 32767 and r.rx_dbm < -30 for r in by_kind["very_low"])
		assert {r.ont_status for r in by_kind["dying_gasp"]} == {"dying_gasp"}
		assert {r.raw["olt_rx"] for r in by_kind["offline"]} == {gen.ZTE_OLT_RX_NONE}
	assert client.peak_inflight <= FAST.max_inflight_per_olt


def test_one_port(olt_agent):
	table = olt_agent.table
	frame, slot, port = table.ports()[-1]

	async def go():
		async with OltSnmpClient(target(olt_agent), FAST) as client:
			return await client.read_port(frame, slot, port, ALL_FIELDS)

	readings = run(go())
	truths = table.on_port(frame, slot, port)
	assert len(readings) == len(truths) > 0
	for reading, truth in zip(readings, truths, strict=True):
		assert_matches_truth(reading, truth)


def test_one_ont_and_a_missing_one(olt_agent):
	table = olt_agent.table
	truth = table.by_kind("very_low")[0]
	frame, slot, port = table.ports()[0]
	missing = table.on_port(frame, slot, port)[-1].ont + 1

	async def go():
		async with OltSnmpClient(target(olt_agent), FAST) as client:
			one = await client.read_ont(*truth.location)
			none = await client.read_ont(frame, slot, port, missing)
			return one, none, client.requests

	reading, absent, requests = run(go())
	assert_matches_truth(reading, truth)
	assert reading.ont_status == "online" and reading.optical_status == "low"
	assert absent is None
	assert requests == 2  # one GET each


def test_reading_merges_with_other_sources(olt_agent):
	readings, _ = run(read_all(olt_agent))
	reading = next(r for r in readings if r.optical_status == "ok")
	diagnosis = reading.to_diagnosis(now=reading.asof)
	assert isinstance(diagnosis, Diagnosis) and diagnosis.sources["olt"]["ok"] is True
	assert diagnosis.optical["source"] == "olt"
	assert diagnosis.optical["gpon_serial"] == reading.serial
	assert diagnosis.optical["pon"] == reading.location.pon
	older = reading.asof - timedelta(minutes=30)
	acs, _ = optical_reading("genieacs", now=reading.asof, asof=older, rx=-30000, rx_transform="dbm1000")
	merged = merge(Diagnosis(optical=acs), diagnosis, now=reading.asof)
	assert merged.optical["rx_dbm"] == reading.rx_dbm  # the fresher OLT reading wins
	assert merged.optical["olt_rx_dbm"] == reading.olt_rx_dbm
	assert merged.optical["sources"]["olt_rx_dbm"] == "olt"
	assert reading.to_dict()["raw"]  # JSON-friendly


def test_in_flight_requests_stay_under_the_cap(olt_agent, monkeypatch):
	inflight: dict[str, int] = {}
	peak: dict[str, int] = {}
	real = SnmpTransport.request

	async def counting(self, family, address, build, **kwargs):
		key = "public" if b"public" in build(1) else "second"  # the community in the message
		inflight[key] = inflight.get(key, 0) + 1
		peak[key] = max(peak.get(key, 0), inflight[key])
		try:
			await asyncio.sleep(0.01)  # hold the slot a little so overlaps are visible
			return await real(self, family, address, build, **kwargs)
		finally:
			inflight[key] -= 1

	monkeypatch.setattr(SnmpTransport, "request", counting)
	settings = SNMPSettings(timeout=2.0, retries=0, max_inflight_per_olt=2)
	olts = [target(olt_agent, "a", "public"), target(olt_agent, "b", "second")]
	results = run(sweep(olts, settings, fields=ALL_FIELDS, max_repetitions=10))
	assert all(r.ok and len(r.onts) == len(olt_agent.table.onts) for r in results.values())
	assert peak == {"public": 2, "second": 2}  # the cap is reached, never passed, per OLT
	assert all(r.peak_inflight == 2 for r in results.values())


def test_a_dead_olt_times_out_while_the_other_answers(olt_agent):
	settings = SNMPSettings(timeout=0.5, retries=1, max_inflight_per_olt=4)
	olts = [
		target(olt_agent, "alive"),
		OltTarget("dead", "127.0.0.1", port=free_udp_port(), profile=olt_agent.table.profile),
	]
	started = time.perf_counter()
	results = sweep_sync(olts, settings)
	elapsed = time.perf_counter() - started
	assert len(results["alive"].onts) == len(olt_agent.table.onts) and results["alive"].ok
	dead = results["dead"]
	assert not dead.ok and dead.onts == []
	assert isinstance(dead.exception, ConnectorTimeout)
	assert dead.error["code"] == "timeout" and dead.error["params"] == ["dead"]
	assert dead.error["template"] in french_sources()
	# 0.5 s × 2 tries, plus the timer's granularity: never much more
	assert 0.9 <= dead.elapsed_s < 2.0
	assert elapsed < 2.5


def test_bad_community_is_a_timeout_error(olt_agent):
	async def go():
		client = OltSnmpClient(target(olt_agent, community="wrong"), SNMPSettings(timeout=0.4, retries=0))
		try:
			await client.read_ont(*olt_agent.table.onts[0].location)
		finally:
			client.close()

	with pytest.raises(ConnectorTimeout, match="wrong community"):
		run(go())
	results = sweep_sync([target(olt_agent, community="wrong")], SNMPSettings(timeout=0.4, retries=0))
	assert results["olt-1"].error["code"] == "timeout"


def test_unknown_profile_in_a_sweep_is_reported_not_raised(olt_agent):
	results = sweep_sync([target(olt_agent, "x", profile="nokia_isam"), target(olt_agent, "y")], FAST)
	assert results["x"].error["code"] == "invalid"
	assert results["x"].error["template"] in french_sources()
	assert results["y"].ok


def test_a_plugin_profile_reads_through_the_registry(olt_agent):
	base = get_profile(olt_agent.table.profile)
	name = f"plugin_{base.name}"
	if name not in profile_names():
		register_profile(OltProfile(**{**base.__dict__, "name": name, "aliases": (), "vendor": "Plugin"}))
	readings, _ = run(_read_with_profile(olt_agent, name))
	assert len(readings) == len(olt_agent.table.onts)
	assert {r.profile for r in readings} == {name}


async def _read_with_profile(agent, profile):
	async with OltSnmpClient(target(agent, profile=profile), FAST) as client:
		return await client.read_olt(), client


def test_non_increasing_oids_are_a_response_error(start_olt_agent):
	table = generate_table("zte", ports=1, onts_per_port=8, seed=2)
	table.inject_non_increasing("olt_rx", row=3)
	agent = start_olt_agent(table)
	with pytest.raises(ConnectorResponseError, match="not increasing"):
		run(read_all(agent))
	results = sweep_sync([target(agent)], FAST)
	assert results["olt-1"].error["code"] == "snmp_error"
	assert results["olt-1"].error["template"] in french_sources()
