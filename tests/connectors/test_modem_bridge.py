"""The modem bridge: direct client against FakeTPLinkEX (real RSA/AES handshake of
tplinkrouterc6u), per-device session rules (serialised, logged out, idle reset), timeouts,
the fallback between backends and the Deco mapping. The browser bridge: test_modem_browser.py."""

from __future__ import annotations

import socket
import threading
import time
from itertools import pairwise

import pytest

from gigafibre_fsm.connectors.errors import (
	ConnectorAuthError,
	ConnectorResponseError,
	ConnectorTimeout,
	ConnectorUnavailable,
)
from gigafibre_fsm.connectors.modem_base import parse_host
from gigafibre_fsm.connectors.modem_bridge import T_AUTH, ModemBridge, SessionPool
from gigafibre_fsm.connectors.modem_direct import DecoBackend, DirectEXBackend
from gigafibre_fsm.core.diagnostics import Diagnosis, merge
from gigafibre_fsm.core.diagnostics.tplink import deco_reading
from gigafibre_fsm.core.settings import ModemBridgeSettings
from gigafibre_fsm.fakepeers.tplink import FakeTPLinkEX
from gigafibre_fsm.fakepeers.tplink_objects import xx230v_objects
from tests.connectors.modem_helpers import NOW, Clock, settings


def direct_bridge(clock=None, **kw) -> ModemBridge:
	s = settings(**kw)
	clock = clock or Clock()
	return ModemBridge(
		s, kinds={"tplink_ex": [DirectEXBackend(s, clock=clock)]}, clock=clock, now=lambda: NOW
	)


def free_port() -> int:
	with socket.socket() as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


# ---------------------------------------------------------------------------
# direct client (tplinkrouterc6u) against the fake encrypted API


@pytest.mark.parametrize("mode", ["gcm", "cbc", "gcm-oaep"])
def test_direct_read_is_a_normaliser_ready_modem_result(fake_peer, mode):
	peer = fake_peer(FakeTPLinkEX(mode=mode))
	with direct_bridge() as bridge:
		result = bridge.read(peer.url)
		assert peer.logins == 1 and len(peer.active) == 1  # kept warm
	assert peer.logouts == 1 and not peer.active  # close() logged out

	assert result["sources"]["modem"]["backend"] == "direct"
	assert result["sources"]["modem"]["ok"] is True
	device = result["device"]
	assert (device["model"], device["serial"], device["uptime_s"]) == ("XX230v", "2235123456789", 86400)
	assert device["source"] == "modem" and device["asof"] == "2026-03-02T12:00:00.000Z"
	wan = {w["vlan"]: w for w in result["wan"]}
	assert set(wan) == {35, 40}  # the disabled WAN is left out
	assert (wan[35]["proto"], wan[35]["ipv4"], wan[35]["gateway"]) == ("ppp", "100.64.12.34", "100.64.0.1")
	assert wan[35]["dns"] == ["1.1.1.1", "8.8.8.8"] and wan[35]["ipv6"] == ["2001:db8:1::2"]
	assert wan[40]["proto"] == "dhcp"
	optical = result["optical"]
	assert optical["rx_dbm"] == -15.0 and optical["status"] == "ok"
	assert optical["raw"]["rx"] == {
		"value": "316",
		"unit": "0.1 µW",
		"transform": "tplink_0.1uW",
		"source": "DEV2_OPTC_GPON_CFG.RXPower",
	}
	assert {(r["band"], r["channel"]) for r in result["radios"]} == {("2.4GHz", 6), ("5GHz", 44)}
	# SSID.3 is the 5 GHz one: found through lowerLayers, not by index
	assert {s["ssid"]: s["band"] for s in result["ssids"]} == {
		"Gigafibre-1234": "2.4GHz",
		"Gigafibre-1234-5G": "5GHz",
	}
	nodes = {n["mac"]: n for n in result["mesh_nodes"]}
	assert nodes["50:91:e3:00:00:01"]["role"] == "controller"
	satellite = nodes["50:91:e3:00:00:a1"]
	assert satellite["parent_mac"] == "50:91:e3:00:00:01"  # its backhaul BSSID is the gateway's 5 GHz
	assert satellite["backhaul"]["band"] == "5GHz" and satellite["backhaul"]["rssi_dbm"] == -50.0
	clients = {c["mac"]: c for c in result["clients"]}
	assert "aa:bb:cc:00:00:05" not in clients  # inactive lease
	assert clients["aa:bb:cc:00:00:01"]["band"] == "5GHz"
	assert clients["aa:bb:cc:00:00:01"]["rssi_dbm"] == -45.0  # RCPI 130
	assert clients["aa:bb:cc:00:00:01"]["hostname"] == "laptop"
	assert clients["aa:bb:cc:00:00:03"]["node_mac"] == "50:91:e3:00:00:a1"  # behind the satellite
	assert clients["aa:bb:cc:00:00:04"]["wired"] is True
	assert result["summary"]["clients"] == 4 and result["summary"]["wifi_clients"] == 3

	# merge() takes it as the modem source beside GenieACS and the OLT
	merged = merge(result, Diagnosis(sources={"olt": {"asof": None, "ok": True}}), now=NOW)
	assert merged.optical["rx_dbm"] == -15.0 and set(merged.sources) == {"modem", "olt"}


def test_direct_finds_the_cipher_family_without_spending_a_password_attempt(fake_peer):
	peer = fake_peer(FakeTPLinkEX(mode="cbc"))
	clock = Clock()
	s = settings(idle_seconds=0)
	backend = DirectEXBackend(s, variants=("gcm", "cbc"), clock=clock)
	bridge = ModemBridge(s, kinds={"tplink_ex": [backend]}, clock=clock, now=lambda: NOW)
	bridge.read(peer.url)
	assert peer.failed_logins == 0 and peer.logins == 1
	requests_before = len(peer.requests)
	bridge.read(peer.url)
	# the second login goes straight to CBC: RSA key, login, token, 10 acts, logout
	assert len(peer.requests) - requests_before == 1 + 1 + 1 + 10 + 1
	assert peer.logouts == 2 and not peer.active


def test_bad_password_is_an_auth_error_and_is_tried_once(fake_peer):
	peer = fake_peer(FakeTPLinkEX(mode="gcm"))
	bridge = direct_bridge(password="wrong")
	with pytest.raises(ConnectorAuthError):
		bridge.read(peer.url)
	assert peer.failed_logins == 1 and peer.logins == 0
	diagnosis = bridge.diagnose(peer.url)
	assert diagnosis.errors[0]["code"] == "modem_auth"
	assert diagnosis.errors[0]["template"] == T_AUTH
	assert diagnosis.sources["modem"]["ok"] is False
	assert peer.failed_logins == 2  # no variant fallback after a refused password


def test_logout_is_always_called_when_a_read_fails(fake_peer):
	objects = xx230v_objects()
	del objects["DEV2_HOST_ENTRY"]  # a required object the firmware does not answer
	peer = fake_peer(FakeTPLinkEX(objects=objects))
	bridge = direct_bridge()
	with pytest.raises(ConnectorResponseError):
		bridge.read(peer.url)
	assert peer.logins == 1 and peer.logouts == 1 and not peer.active
	assert not bridge.pool.warm(parse_host(peer.url)[0])


def test_optional_objects_missing_are_listed_not_fatal(fake_peer):
	objects = xx230v_objects()
	for oid in ("DEV2_OPTC_GPON_CFG", "DEV2_WIFI_APDEV", "DEV2_WIFI_APDEV_ASSOCDEV"):
		del objects[oid]
	peer = fake_peer(FakeTPLinkEX(objects=objects))
	with direct_bridge() as bridge:
		result = bridge.read(peer.url)
	assert result["optical"] is None and result["mesh_nodes"] == []
	assert result["sources"]["modem"]["missing"] == [
		"DEV2_OPTC_GPON_CFG",
		"DEV2_WIFI_APDEV",
		"DEV2_WIFI_APDEV_ASSOCDEV",
	]
	assert {c["mac"] for c in result["clients"]} >= {"aa:bb:cc:00:00:01", "aa:bb:cc:00:00:04"}


def test_warm_session_is_reused_then_reset_when_idle(fake_peer):
	peer = fake_peer(FakeTPLinkEX())
	clock = Clock()
	bridge = direct_bridge(clock, idle_seconds=60)
	bridge.read(peer.url)
	clock.advance(30)
	bridge.read(peer.url)
	assert peer.logins == 1 and peer.logouts == 0  # reused, still one session
	clock.advance(61)
	bridge.read(peer.url)  # idle too long: logged out, then a fresh login
	assert peer.logins == 2 and peer.logouts == 1
	assert bridge.reap_idle() == 0  # just used
	clock.advance(60)
	assert bridge.reap_idle() == 1
	assert peer.logouts == 2 and not peer.active


def test_idle_seconds_zero_logs_out_after_every_read(fake_peer):
	peer = fake_peer(FakeTPLinkEX())
	bridge = direct_bridge(idle_seconds=0)
	bridge.read(peer.url)
	bridge.read(peer.url)
	assert peer.logins == 2 and peer.logouts == 2 and not peer.active


def test_a_warm_session_dropped_by_the_device_logs_in_again(fake_peer):
	peer = fake_peer(FakeTPLinkEX())
	bridge = direct_bridge()
	bridge.read(peer.url)
	peer.expire_sessions()  # the modem's own session timeout
	result = bridge.read(peer.url)
	assert result["device"]["model"] == "XX230v" and peer.logins == 2
	bridge.close()


def test_two_reads_on_one_device_never_overlap(fake_peer):
	peer = fake_peer(FakeTPLinkEX(act_delay=0.02))
	bridge = direct_bridge(idle_seconds=0)
	results, errors = [], []

	def read():
		try:
			results.append(bridge.read(peer.url))
		except Exception as e:  # pragma: no cover - reported below
			errors.append(e)

	threads = [threading.Thread(target=read) for _ in range(3)]
	for t in threads:
		t.start()
	for t in threads:
		t.join(30)
	assert not errors and len(results) == 3
	assert peer.max_active == 1 and peer.overlaps == 0 and peer.busy_refusals == 0
	spans = sorted((s.opened, s.closed) for s in peer.sessions)
	assert len(spans) == 3 and all(a[1] <= b[0] for a, b in pairwise(spans))


def test_two_devices_are_read_in_parallel(fake_peer):
	first = fake_peer(FakeTPLinkEX(act_delay=0.08))
	second = fake_peer(FakeTPLinkEX(act_delay=0.08))
	bridge = direct_bridge(idle_seconds=0)
	threads = [threading.Thread(target=bridge.read, args=(p.url,)) for p in (first, second)]
	for t in threads:
		t.start()
	for t in threads:
		t.join(30)
	(a,), (b,) = first.sessions, second.sessions
	assert a.opened < b.closed and b.opened < a.closed  # the two sessions overlapped in time


def test_timeout_is_a_connector_timeout(fake_peer):
	peer = fake_peer(FakeTPLinkEX(delay=2.0))
	bridge = direct_bridge(timeout=0.3)
	started = time.monotonic()
	with pytest.raises(ConnectorTimeout):
		bridge.read(peer.url)
	assert time.monotonic() - started < 1.5
	assert bridge.diagnose(peer.url).errors[0]["code"] == "modem_timeout"


def test_slow_device_lock_wait_times_out():
	pool = SessionPool(idle_seconds=60, lock_timeout=0.2)
	slot = pool.slot("10.0.0.1:80")
	slot.lock.acquire()
	try:
		with pytest.raises(ConnectorTimeout), pool.use("10.0.0.1:80", "direct", lambda: None):
			pass  # pragma: no cover
	finally:
		slot.lock.release()


def test_unreachable_device_is_unavailable():
	bridge = direct_bridge(timeout=1.0)
	with pytest.raises(ConnectorUnavailable):
		bridge.read(f"127.0.0.1:{free_port()}")


def test_not_configured():
	bridge = ModemBridge(ModemBridgeSettings(), now=lambda: NOW)
	with pytest.raises(ConnectorUnavailable):
		bridge.read("192.168.0.1")
	assert bridge.diagnose("192.168.0.1").errors[0]["code"] == "modem_not_configured"


def test_parse_host():
	assert parse_host("192.168.0.1") == ("192.168.0.1:80", "http://192.168.0.1")
	assert parse_host("https://10.1.2.3/") == ("10.1.2.3:443", "https://10.1.2.3")
	assert parse_host("http://127.0.0.1:8080/x") == ("127.0.0.1:8080", "http://127.0.0.1:8080")
	with pytest.raises(ValueError):
		parse_host("")


# ---------------------------------------------------------------------------
# fallback between backends (stub backends: no network)


class _StubSession:
	def __init__(self, log, reading=None, error=None):
		self.log, self.reading, self.error = log, reading, error

	def read(self):
		if self.error:
			raise self.error
		return self.reading

	def logout(self):
		self.log.append("logout")


class _StubBackend:
	def __init__(self, name, log, *, open_error=None, read_error=None, reading=None):
		self.name, self.log = name, log
		self.open_error, self.read_error, self.reading = open_error, read_error, reading

	def open(self, base_url):
		self.log.append(f"open {self.name}")
		if self.open_error:
			raise self.open_error
		return _StubSession(self.log, self.reading, self.read_error)


def test_falls_back_to_the_browser_only_when_the_direct_client_cannot_read():
	log = []
	reading = {"device": {"model": "XX230v"}, "wan": [], "clients": []}
	direct = _StubBackend("direct", log, read_error=ConnectorResponseError("unknown firmware"))
	browser = _StubBackend("browser", log, reading=reading)
	s = settings()
	bridge = ModemBridge(s, kinds={"tplink_ex": [direct, browser]}, now=lambda: NOW)
	result = bridge.read("192.168.0.1")
	assert result["sources"]["modem"]["backend"] == "browser"
	assert "unknown firmware" in result["sources"]["modem"]["fallback_from"][0]
	assert log == ["open direct", "logout", "open browser"]  # the failed session was logged out first

	log.clear()
	direct = _StubBackend("direct", log, open_error=ConnectorAuthError("refused"))
	bridge = ModemBridge(s, kinds={"tplink_ex": [direct, browser]}, now=lambda: NOW)
	with pytest.raises(ConnectorAuthError):
		bridge.read("192.168.0.1")
	assert log == ["open direct"]  # a refused password is never retried elsewhere


# ---------------------------------------------------------------------------
# Deco (mapping of TPLinkDecoClient answers)

DECO_DEVICES = [
	{
		"mac": "AA-00-00-00-00-01",
		"role": "master",
		"nickname": "TGl2aW5nIHJvb20=",
		"device_model": "XE75",
		"software_ver": "1.2.3",
		"hardware_ver": "2.0",
		"device_ip": "192.168.68.1",
		"group_status": "connected",
		"signal_strength": {},
	},
	{
		"mac": "AA-00-00-00-00-02",
		"role": "slave",
		"nickname": "office",
		"device_model": "XE75",
		"device_ip": "192.168.68.2",
		"group_status": "connected",
		"previous": "AA-00-00-00-00-01",
		"signal_strength": {"band2_4": -48, "band5": -61},
	},
]


def test_deco_reading_maps_nodes_and_clients_per_node():
	wan = {"wan": {"dial_type": "dynamic_ip", "ip_info": {"ip": "203.0.113.9", "gateway": "203.0.113.1"}}}
	wlan = {"band2_4": {"host": {"ssid": "SG9tZQ==", "enable": True, "channel": 1}}}
	clients = {
		"AA-00-00-00-00-01": [{"mac": "BB-00-00-00-00-01", "name": "cGhvbmU=", "connection_type": "band5"}],
		"AA-00-00-00-00-02": [{"mac": "BB-00-00-00-00-02", "wire_type": "wired", "online": True}],
	}
	reading = deco_reading(DECO_DEVICES, wan, wlan, clients)
	nodes = {n["mac"]: n for n in reading["mesh_nodes"]}
	assert nodes["aa:00:00:00:00:01"]["role"] == "controller"
	assert nodes["aa:00:00:00:00:01"]["name"] == "Living room"
	office = nodes["aa:00:00:00:00:02"]
	assert office["parent_mac"] == "aa:00:00:00:00:01"
	assert office["backhaul"]["band"] == "5GHz" and office["backhaul"]["rssi_dbm"] == -61
	cl = {c["mac"]: c for c in reading["clients"]}
	assert cl["bb:00:00:00:00:01"]["node_mac"] == "aa:00:00:00:00:01"
	assert cl["bb:00:00:00:00:01"]["hostname"] == "phone" and cl["bb:00:00:00:00:01"]["band"] == "5GHz"
	assert (
		cl["bb:00:00:00:00:02"]["wired"] is True
		and cl["bb:00:00:00:00:02"]["node_mac"] == "aa:00:00:00:00:02"
	)
	assert reading["wan"][0]["ipv4"] == "203.0.113.9" and reading["wan"][0]["proto"] == "dhcp"
	assert reading["ssids"][0]["ssid"] == "Home"


def test_deco_backend_reads_per_node_and_logs_out():
	calls = []

	class StubDeco:
		def __init__(self, host, password, username, verify_ssl=True, timeout=30):
			calls.append(("init", host, password))

		def authorize(self):
			calls.append("authorize")

		def request(self, path, data):
			calls.append(path)
			if "device_list" in path:
				return {"device_list": DECO_DEVICES}
			if "client_list" in path:
				return {"client_list": []}
			return {}

		def logout(self):
			calls.append("logout")

	s = settings(idle_seconds=0)
	bridge = ModemBridge(s, kinds={"deco": [DecoBackend(s, client_factory=StubDeco)]}, now=lambda: NOW)
	result = bridge.read("192.168.68.1", kind="deco")
	assert len(result["mesh_nodes"]) == 2 and result["sources"]["modem"]["backend"] == "deco"
	assert calls.count("admin/client?form=client_list") == 2  # one per mesh node
	assert calls[-1] == "logout"
