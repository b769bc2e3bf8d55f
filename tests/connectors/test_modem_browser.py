"""The modem bridge's browser bridge against FakeTPLinkWebUI in headless Chromium: reads, errors,
timeouts, one Chromium shared by parallel sessions, started ahead with its own budget."""

from __future__ import annotations

import threading
import time

import pytest

from gigafibre_fsm.connectors.errors import ConnectorAuthError, ConnectorTimeout, ConnectorUnavailable
from gigafibre_fsm.connectors.modem_chromium import CHROMIUM_ARGS
from gigafibre_fsm.core.settings import ModemBridgeSettings
from gigafibre_fsm.fakepeers.tplink_webui import FakeTPLinkWebUI
from tests.connectors.modem_helpers import browser_bridge, gated_chromium, launch_count, require_chromium

# ---------------------------------------------------------------------------
# browser bridge: the local page in headless Chromium


def test_browser_bridge_reads_through_the_web_ui(fake_peer):
	require_chromium()
	peer = fake_peer(FakeTPLinkWebUI())
	with browser_bridge() as bridge:
		result = bridge.read(peer.url)
		assert peer.logins == 1 and len(peer.active) == 1
		again = bridge.read(peer.url)  # warm: same page, no new login
		assert peer.logins == 1
	assert peer.logouts == 1 and not peer.active
	assert result["sources"]["modem"]["backend"] == "browser"
	assert result["optical"]["rx_dbm"] == -15.0
	assert {w["vlan"] for w in result["wan"]} == {35, 40}
	assert result["summary"]["clients"] == 4 and result["summary"]["mesh_nodes"] == 2
	assert again["device"]["model"] == "XX230v"
	assert "DEV2_OPTC_GPON_CFG" in peer.data_calls


def test_browser_bridge_bad_password_and_busy_device(fake_peer):
	require_chromium()
	peer = fake_peer(FakeTPLinkWebUI())
	with browser_bridge(password="wrong") as bridge, pytest.raises(ConnectorAuthError):
		bridge.read(peer.url)
	assert peer.failed_logins == 1 and not peer.active
	# a technician is logged into the web UI: the device allows one admin session
	with browser_bridge(idle_seconds=600) as technician:
		technician.read(peer.url)
		with browser_bridge() as other, pytest.raises(ConnectorUnavailable, match="another admin session"):
			other.read(peer.url)
	assert peer.max_active == 1 and not peer.active


def test_browser_bridge_timeout_logs_out(fake_peer):
	require_chromium()
	peer = fake_peer(FakeTPLinkWebUI(data_delay=6.0))
	with browser_bridge(timeout=2.0) as bridge:
		bridge.warm_up(wait=True)  # Chromium's start has its own budget: only the requests are timed here
		started = time.monotonic()
		with pytest.raises(ConnectorTimeout, match="no answer within 4.0 s"):
			bridge.read(peer.url)  # the read's budget is 2 request timeouts; each object takes 6 s
		assert time.monotonic() - started < 20  # not the 60 s the modem would take for all objects
		assert peer.logouts == 1 and not peer.active


def test_browser_bridge_reads_two_devices_in_parallel_in_one_chromium(fake_peer, tmp_path):
	require_chromium()
	path, gate, launches = gated_chromium(tmp_path)
	gate.touch()
	first = fake_peer(FakeTPLinkWebUI(data_delay=0.3))  # 10 objects: a read takes 3 s or more
	second = fake_peer(FakeTPLinkWebUI(data_delay=0.3))
	with browser_bridge(chromium_path=path, idle_seconds=0) as bridge:
		bridge.warm_up(wait=True)
		threads = [threading.Thread(target=bridge.read, args=(p.url,)) for p in (first, second)]
		for t in threads:
			t.start()
		for t in threads:
			t.join(60)
	(a,), (b,) = first.sessions, second.sessions
	assert a.closed and b.closed  # both reads completed and logged out
	assert a.opened < b.closed and b.opened < a.closed  # the two sessions overlapped in time
	assert launch_count(launches) == 1  # one browser, a context per session


def test_a_browser_that_died_is_started_again_by_the_next_read(fake_peer, tmp_path):
	require_chromium()
	path, gate, launches = gated_chromium(tmp_path)
	gate.touch()
	peer = fake_peer(FakeTPLinkWebUI())
	with browser_bridge(chromium_path=path, idle_seconds=600) as bridge:
		(backend,) = bridge.kinds["tplink_ex"]
		bridge.read(peer.url)  # the session stays warm
		chromium = backend._chromium
		chromium.run(chromium._browser.close(), 30)  # Chromium goes away under the warm session
		assert not backend.ready
		for session in peer.active:  # which the modem drops on its own timeout
			session.closed = time.monotonic()
		result = bridge.read(peer.url)  # the warm session fails: logged out, a new start, a new login
		assert result["device"]["model"] == "XX230v" and backend.ready
		assert launch_count(launches) == 2 and peer.logins == 2


def test_chromium_is_started_with_the_flags_of_a_closed_machine():
	for flag in (
		"--no-sandbox",
		"--disable-gpu",
		"--disable-background-networking",
		"--disable-component-update",
		"--disable-sync",
		"--no-first-run",
	):
		assert flag in CHROMIUM_ARGS
	assert ModemBridgeSettings().browser_start_timeout == 60.0 > ModemBridgeSettings().timeout


def test_browser_bridge_without_chromium_does_not_start_and_is_unavailable(tmp_path):
	bridge = browser_bridge(chromium_path=str(tmp_path / "no-chromium"))
	(backend,) = bridge.kinds["tplink_ex"]
	bridge.warm_up()  # nothing to start: no error, no thread
	assert backend.start() is False and not backend.ready and bridge.start_allowance() == 0
	with pytest.raises(ConnectorUnavailable, match="no Chromium"):
		bridge.read("192.168.0.1")
	with pytest.raises(ConnectorUnavailable, match="no Chromium"):
		bridge.warm_up(wait=True)
	bridge.close()


def test_browser_start_has_its_own_budget_and_a_read_waits_for_it(fake_peer, tmp_path):
	"""A Chromium that takes longer to start than the request timeout (2 s): a read made
	before the browser is up waits for the start (start budget), then reads fine; the
	warm browser serves later sessions without a new start."""
	require_chromium()
	path, gate, launches = gated_chromium(tmp_path)
	peer = fake_peer(FakeTPLinkWebUI())
	with browser_bridge(chromium_path=path, timeout=2.0, idle_seconds=0) as bridge:
		(backend,) = bridge.kinds["tplink_ex"]
		bridge.warm_up()  # returns at once: Chromium starts in the background
		assert not backend.ready
		assert 2.0 < bridge.start_allowance() <= 60.0  # what diagnose adds to the modem's budget
		outcome = {}

		def read():
			try:
				outcome["result"] = bridge.read(peer.url)
			except Exception as e:  # pragma: no cover - reported below
				outcome["error"] = e

		started = time.monotonic()
		reader = threading.Thread(target=read)
		reader.start()
		reader.join(3.0)  # longer than the request timeout: the read still waits for Chromium
		assert reader.is_alive() and not outcome
		assert not backend.ready and peer.logins == 0
		gate.touch()  # Chromium may start now
		reader.join(60)
		assert not reader.is_alive()
		assert "error" not in outcome, outcome.get("error")
		assert time.monotonic() - started > 3.0
		assert outcome["result"]["device"]["model"] == "XX230v"
		assert backend.ready and bridge.start_allowance() == 0
		assert peer.logins == 1 and peer.logouts == 1  # idle_seconds=0: logged out after the read

		again = bridge.read(peer.url)  # a new session (context) in the same, warm Chromium
		assert again["device"]["model"] == "XX230v"
		assert peer.logins == 2 and peer.logouts == 2 and launch_count(launches) == 1
	assert not backend.ready  # close() stopped Chromium

	# a later bridge's first read starts it itself (no warm_up): one more launch
	with browser_bridge(chromium_path=path, timeout=2.0, idle_seconds=0) as bridge:
		assert bridge.read(peer.url)["device"]["model"] == "XX230v"
	assert launch_count(launches) == 2 and not peer.active


def test_browser_start_is_bounded_by_the_start_budget(fake_peer, tmp_path):
	require_chromium()
	path, _gate, _launches = gated_chromium(tmp_path)  # the gate never opens: Chromium never starts
	peer = fake_peer(FakeTPLinkWebUI())
	with browser_bridge(chromium_path=path, browser_start_timeout=2.0) as bridge:
		started = time.monotonic()
		with pytest.raises(ConnectorTimeout, match="Chromium did not start within 2.0 s"):
			bridge.read(peer.url)
		assert 2.0 <= time.monotonic() - started < 30 and peer.logins == 0
		# the next read tries again (the start that missed its budget is given up), bounded the same way
		assert bridge.diagnose(peer.url).errors[0]["code"] == "modem_timeout"
		assert peer.logins == 0
