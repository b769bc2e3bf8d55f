"""Parallel diagnosis: sources of different speeds, a dead one, a failing one."""

import threading
import time
from datetime import UTC, datetime

from gigafibre_fsm.connectors.diagnose import Source, run
from gigafibre_fsm.connectors.errors import ConnectorUnavailable
from gigafibre_fsm.core.diagnostics import Diagnosis

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def source(name, delay, rx=None, fail=None):
	def call():
		time.sleep(delay)
		if fail:
			raise fail
		d = Diagnosis()
		d.optical = (
			{"source": name, "asof": NOW.isoformat(), "rx_dbm": rx, "status": "ok"}
			if rx is not None
			else None
		)
		d.device = {"source": name, "asof": NOW.isoformat(), "serial": "ZTEG00000001", "online": True}
		d.sources[name] = {"asof": NOW.isoformat()}
		return d

	return call


def test_all_sources_in_parallel():
	started = time.monotonic()
	result = run(
		[
			Source("genieacs", source("genieacs", 0.2), 2),
			Source("modem", source("modem", 0.3), 2),
			Source("olt", source("olt", 0.4, rx=-19.5), 2),
		],
		now=NOW,
	)
	elapsed = time.monotonic() - started
	assert elapsed < 0.4 + 0.3  # not 0.9: they ran side by side
	assert result.errors == []
	assert {k for k, v in result.sources.items() if v.get("ok")} == {"genieacs", "modem", "olt"}
	assert result.optical["rx_dbm"] == -19.5


def test_a_dead_source_only_costs_its_own_timeout():
	started = time.monotonic()
	result = run(
		[
			Source("genieacs", source("genieacs", 0.1, rx=-20.0), 1.0),
			Source("modem", source("modem", 5.0), 0.5),
		],
		now=NOW,
	)
	elapsed = time.monotonic() - started
	assert 0.5 <= elapsed < 0.5 + 0.3
	assert [e["code"] for e in result.errors] == ["modem_timeout"]
	assert result.optical["rx_dbm"] == -20.0
	assert result.sources["modem"]["ok"] is False


def test_a_failing_source_is_reported_not_raised():
	result = run(
		[
			Source("olt", source("olt", 0, fail=ConnectorUnavailable("refused", source="olt")), 1),
			Source("genieacs", source("genieacs", 0), 1),
		],
		now=NOW,
	)
	assert [e["code"] for e in result.errors] == ["olt_error"]
	assert "refused" in result.errors[0]["message"]
	assert result.device["serial"] == "ZTEG00000001"


def test_no_sources():
	assert run([], now=NOW).errors == []


def test_each_source_is_timed_when_it_finished_not_when_it_was_merged():
	# the fast source has the longer timeout, so the merge gets to it after the slow one
	result = run([Source("fast", source("fast", 0.0), 5), Source("slow", source("slow", 0.8), 2)], now=NOW)
	timings = result.sources
	assert timings["fast"]["elapsed_ms"] < timings["slow"]["elapsed_ms"]


def test_later_diagnoses_reuse_the_source_threads():
	seen = []

	def where():
		seen.append(threading.get_ident())
		return Diagnosis()

	for _ in range(5):
		run([Source("genieacs", where, 2), Source("modem", where, 2)], now=NOW)
	assert len(seen) == 10
	assert len(set(seen)) < 10  # not a new thread per source and diagnosis
