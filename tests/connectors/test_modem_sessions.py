"""The modem bridge's sessions under load: a cap on browser contexts per process, idle ones
evicted or reclaimed, reads of other devices waiting their turn (in order) or refused as busy,
reads of one device serialised on its session. Against real headless Chromium and the fake
TP-Link web UI (fakepeers/tplink_webui.py); the order-only cases use stub sessions."""

from __future__ import annotations

import threading
import time
from itertools import pairwise

import pytest

from gigafibre_fsm.connectors.modem_bridge import T_BUSY, ModemBridge
from gigafibre_fsm.connectors.modem_browser import BrowserBackend
from gigafibre_fsm.connectors.modem_pool import BridgeBusy, SessionPool
from gigafibre_fsm.core.settings import ModemBridgeSettings, build_settings
from gigafibre_fsm.fakepeers.tplink_webui import FakeTPLinkWebUI
from tests.connectors.modem_helpers import CHROMIUM, NOW, Clock, require_chromium, settings


def capped_bridge(clock=None, **kw) -> ModemBridge:
	s = settings(**{"chromium_path": CHROMIUM, **kw})
	return ModemBridge(s, kinds={"tplink_ex": [BrowserBackend(s)]}, clock=clock or Clock(), now=lambda: NOW)


def wait_until(condition, what: str, limit: float = 120.0) -> None:
	"""Poll ``condition`` (a generous limit: this only guards against a hang)."""
	deadline = time.monotonic() + limit
	while not condition():
		if time.monotonic() > deadline:
			raise AssertionError(f"never happened: {what}")
		time.sleep(0.05)


def in_thread(fn, *args) -> tuple[threading.Thread, dict]:
	outcome: dict = {}

	def run():
		try:
			outcome["result"] = fn(*args)
		except Exception as e:  # reported by the test
			outcome["error"] = e

	thread = threading.Thread(target=run)
	thread.start()
	return thread, outcome


def test_the_cap_evicts_the_least_recently_used_idle_context_and_reclaim_closes_the_rest(fake_peer):
	require_chromium()
	clock = Clock()
	peers = [fake_peer(FakeTPLinkWebUI()) for _ in range(3)]
	with capped_bridge(clock, idle_seconds=600, browser_sessions=2) as bridge:
		(backend,) = bridge.kinds["tplink_ex"]
		bridge.read(peers[0].url)
		clock.advance(1)
		bridge.read(peers[1].url)
		assert backend.contexts() == 2 and [len(p.active) for p in peers] == [1, 1, 0]
		clock.advance(1)
		bridge.read(peers[2].url)  # past the cap: the idle session used longest ago makes room
		assert backend.contexts() == 2 and [len(p.active) for p in peers] == [0, 1, 1]
		assert peers[0].logouts == 1 and bridge.stats()["evicted"] == 1
		bridge.read(peers[2].url)  # warm: no new context, no login
		assert peers[2].logins == 1 and backend.contexts() == 2

		clock.advance(599)  # peers[1] idle 600 s, peers[2] 599 s
		assert bridge.reap_idle() == 1 and backend.contexts() == 1
		clock.advance(1)
		assert bridge.reap_idle() == 1 and backend.contexts() == 0
		assert bridge.stats()["live"] == {} and not any(p.active for p in peers)
		assert backend.ready  # the browser itself stays up for the next diagnosis
	assert [p.logins for p in peers] == [1, 1, 1] and [p.logouts for p in peers] == [1, 1, 1]


def test_reads_of_other_devices_wait_their_turn_in_order_when_every_context_is_in_use(fake_peer):
	require_chromium()
	slow = fake_peer(FakeTPLinkWebUI(data_delay=0.3))  # 10 objects: its read holds the context 3 s or more
	others = [fake_peer(FakeTPLinkWebUI()) for _ in range(3)]
	with capped_bridge(idle_seconds=600, browser_sessions=1, browser_slot_wait=300) as bridge:
		(backend,) = bridge.kinds["tplink_ex"]
		bridge.warm_up(wait=True)
		first, first_out = in_thread(bridge.read, slow.url)
		wait_until(lambda: slow.logins == 1, "the slow device's login")
		waiters = []
		for n, peer in enumerate(others):  # each one queued before the next arrives
			waiters.append(in_thread(bridge.read, peer.url))
			wait_until(lambda n=n: bridge.pool.waiting() == n + 1, f"{n + 1} reads waiting")
		assert backend.contexts() == 1 and not any(p.logins for p in others)
		for thread, _ in (first, first_out), *waiters:
			thread.join(300)
		assert "error" not in first_out and all("error" not in out for _, out in waiters)
	sessions = [slow.sessions[0], *(p.sessions[0] for p in others)]
	opened = [s.opened for s in sessions]
	assert opened == sorted(opened)  # served in arrival order
	# one context at a time: each session was logged out before the next one logged in
	assert all(a.closed <= b.opened for a, b in pairwise(sessions))
	assert bridge.stats()["evicted"] == 3  # each waiter evicted the idle session before it


def test_a_read_of_another_device_gives_up_as_busy_after_its_wait_and_the_cap_holds(fake_peer):
	require_chromium()
	slow = fake_peer(FakeTPLinkWebUI(data_delay=1.0))  # its read holds the only context 10 s or more
	other = fake_peer(FakeTPLinkWebUI())
	with capped_bridge(idle_seconds=0, browser_sessions=1, browser_slot_wait=0.5) as bridge:
		(backend,) = bridge.kinds["tplink_ex"]
		bridge.warm_up(wait=True)
		first, first_out = in_thread(bridge.read, slow.url)
		wait_until(lambda: slow.logins == 1, "the slow device's login")
		with pytest.raises(BridgeBusy, match="all 1 browser sessions of this worker stayed in use"):
			bridge.read(other.url)
		result = bridge.diagnose(other.url)
		assert result.errors[0]["code"] == "modem_busy" and result.errors[0]["template"] == T_BUSY
		assert result.errors[0]["params"] == [1]
		assert other.logins == 0 and backend.contexts() == 1 and bridge.stats()["busy"] == 2
		first.join(300)
		assert "error" not in first_out
		assert bridge.read(other.url)["device"]["model"] == "XX230v"  # room again
		assert backend.contexts() == 0  # idle_seconds=0: every context closed after its read


def test_reads_of_one_device_share_its_session_while_another_device_proceeds(fake_peer):
	require_chromium()
	busy = fake_peer(FakeTPLinkWebUI(data_delay=0.5))  # each read 5 s or more, serialised
	other = fake_peer(FakeTPLinkWebUI())
	finished: list[str] = []
	with capped_bridge(idle_seconds=600, browser_sessions=2) as bridge:
		(backend,) = bridge.kinds["tplink_ex"]
		bridge.warm_up(wait=True)

		def read(peer, name):
			bridge.read(peer.url)
			finished.append(name)

		a1, out1 = in_thread(read, busy, "busy")
		a2, out2 = in_thread(read, busy, "busy")
		wait_until(lambda: busy.logins == 1, "the busy device's login")
		b, out_b = in_thread(read, other, "other")
		for thread in (a1, a2, b):
			thread.join(300)
		assert not (out1.get("error") or out2.get("error") or out_b.get("error"))
		assert backend.contexts() == 2
	assert busy.logins == 1 and busy.max_active == 1 and busy.busy_refusals == 0  # one session, shared
	assert finished.index("other") < finished.index("busy", 1)  # never queued behind the second read


def test_a_firmware_only_the_browser_reads_keeps_its_warm_context_between_reads(fake_peer):
	require_chromium()
	peer = fake_peer(FakeTPLinkWebUI())
	s = settings(chromium_path=CHROMIUM, idle_seconds=600)
	with ModemBridge(s, now=lambda: NOW) as bridge:  # the default order: direct client, then browser
		first = bridge.read(peer.url)
		assert (
			first["sources"]["modem"]["backend"] == "browser" and first["sources"]["modem"]["fallback_from"]
		)
		again = bridge.read(peer.url)  # the browser goes first now: its warm session is not logged out
		assert again["sources"]["modem"]["backend"] == "browser"
		assert peer.logins == 1 and peer.logouts == 0 and bridge.stats()["browser_contexts"] == 1


def test_a_dead_browser_leaves_no_slot_behind(fake_peer, tmp_path):
	require_chromium()
	first, second = fake_peer(FakeTPLinkWebUI()), fake_peer(FakeTPLinkWebUI())
	with capped_bridge(idle_seconds=600, browser_sessions=1) as bridge:
		(backend,) = bridge.kinds["tplink_ex"]
		bridge.read(first.url)
		chromium = backend._chromium
		chromium.run(chromium._browser.close(), 30)  # Chromium goes away under the warm session
		assert backend.contexts() is None and bridge.stats()["live"] == {"browser": 1}
		assert bridge.read(second.url)["device"]["model"] == "XX230v"  # the dead one is evicted
		assert backend.ready and backend.contexts() == 1 and bridge.stats()["live"] == {"browser": 1}


def test_the_reaper_thread_reclaims_idle_contexts_without_a_read(fake_peer):
	require_chromium()
	clock = Clock()
	peer = fake_peer(FakeTPLinkWebUI())
	with capped_bridge(clock, idle_seconds=60) as bridge:
		(backend,) = bridge.kinds["tplink_ex"]
		bridge.read(peer.url)
		assert bridge.start_reaper(interval=0.05) and not bridge.start_reaper()  # one reaper
		assert backend.contexts() == 1
		clock.advance(60)
		wait_until(lambda: backend.contexts() == 0, "the reaper's logout")
		assert peer.logouts == 1 and bridge.stats()["live"] == {}


# ---------------------------------------------------------------------------
# the pool alone (stub sessions: order and bookkeeping, no network)


class _Held:
	"""A session whose read waits for its gate."""

	def __init__(self, log, name):
		self.log, self.name, self.gate = log, name, threading.Event()

	def read(self):
		self.gate.wait(60)
		return self.name

	def logout(self):
		self.log.append(f"logout {self.name}")


def test_the_pool_serves_waiters_first_come_first_served_and_forgets_idle_devices():
	clock = Clock()
	pool = SessionPool(idle_seconds=60, clock=clock, limits={"browser": 1}, slot_wait=60)
	log: list[str] = []
	sessions: dict[str, _Held] = {}

	def read(name):
		def opener():
			log.append(f"open {name}")
			sessions[name] = _Held(log, name)
			return sessions[name]

		with pool.use(name, "browser", opener) as (session, _):
			return session.read()

	first, _ = in_thread(read, "a")
	wait_until(lambda: "a" in sessions, "a's session")
	threads = []
	for n, name in enumerate("bcd"):
		threads.append(in_thread(read, name)[0])
		wait_until(lambda n=n: pool.waiting() == n + 1, f"{n + 1} waiting")
	for name in "abcd":
		wait_until(lambda name=name: name in sessions, f"{name}'s session")
		sessions[name].gate.set()
	for thread in (first, *threads):
		thread.join(60)
	assert [line for line in log if line.startswith("open")] == ["open a", "open b", "open c", "open d"]
	assert log.index("logout a") < log.index("open b") and pool.live() == {"browser": 1}
	assert pool.evicted == 3 and pool.waiting() == 0
	clock.advance(60)
	assert pool.reap_idle() == 1 and pool.live() == {} and not pool._slots  # nothing kept per device


def test_a_direct_session_is_not_capped_and_a_zero_setting_keeps_the_default():
	pool = SessionPool(idle_seconds=60, limits={"browser": 1, "direct": 0})
	for host in ("a", "b", "c"):
		with pool.use(host, "direct", lambda: _Held([], "x")):
			pass
	assert pool.live() == {"direct": 3}
	assert ModemBridgeSettings().browser_sessions == 4
	assert build_settings({"modem_browser_sessions": 0}, {}).modem.browser_sessions == 4
	assert build_settings({"modem_browser_sessions": "2"}, {}).modem.browser_sessions == 2
