"""One admin session per modem across processes: device leases in a real Redis on loopback
(connectors/modem_lease.py) held by the bridge's session pool; a read of a device another
worker holds is made by that worker (forwarded through Redis), or, when it does not answer,
the device is handed over on request.

Two bridges with their own pools stand for two gunicorn workers; one test runs them in
two real processes. The modems are the fake TP-Link peers (fakepeers/tplink.py: the
encrypted local API that tplinkrouterc6u speaks; fakepeers/tplink_webui.py: the web UI
read in headless Chromium); both refuse a second admin login while a session is open and
count ``max_active`` / ``busy_refusals``, which the tests read.
"""

from __future__ import annotations

import multiprocessing
import threading
import uuid

import pytest

from gigafibre_fsm.connectors.modem_bridge import T_IN_USE, ModemBridge
from gigafibre_fsm.connectors.modem_browser import BrowserBackend
from gigafibre_fsm.connectors.modem_direct import DirectEXBackend
from gigafibre_fsm.connectors.modem_lease import RedisDeviceLeases
from gigafibre_fsm.connectors.modem_pool import DeviceHeld
from gigafibre_fsm.fakepeers.tplink import FakeTPLinkEX
from gigafibre_fsm.fakepeers.tplink_webui import FakeTPLinkWebUI
from tests.conftest import REDIS_URL
from tests.connectors.modem_helpers import CHROMIUM, NOW, require_chromium, settings
from tests.connectors.test_modem_sessions import in_thread, wait_until


def leased_bridge(redis_client, prefix: str, *, browser: bool = False, **kw) -> ModemBridge:
	s = settings(**{"chromium_path": CHROMIUM, "idle_seconds": 600, "timeout": 30.0, **kw})
	backend = BrowserBackend(s) if browser else DirectEXBackend(s)
	return ModemBridge(
		s,
		kinds={"tplink_ex": [backend]},
		now=lambda: NOW,
		leases=RedisDeviceLeases(redis_client, prefix=prefix),
	)


@pytest.fixture
def prefix(redis_client):
	"""This test's own keys; removed afterwards."""
	own = f"gf-test:{uuid.uuid4().hex[:8]}:modem_lease:"
	yield own
	for key in redis_client.scan_iter(match=own + "*"):
		redis_client.delete(key)


def test_a_lease_is_held_by_one_owner_renewed_by_it_and_freed_only_by_it(redis_client, prefix):
	leases = RedisDeviceLeases(redis_client, prefix=prefix, ttl=30)
	first, second = leases.lease("10.0.0.1:80"), leases.lease("10.0.0.1:80")
	assert first.acquire(0)
	assert not second.acquire(0.3)  # held: the wait is bounded
	assert leases.requested([first]) == [True]  # and the holder is asked to let go
	second.release()  # not its lease: nothing happens
	assert first.renew() and not second.renew()
	first.release()
	assert second.acquire(0)
	assert leases.requested([second]) == [False]  # its own request was cleared on taking it
	second.release()
	assert leases.lease("10.0.0.2:80").acquire(0)  # another device: another lease


@pytest.mark.parametrize("browser", [False, True], ids=["direct", "browser"])
def test_a_read_of_a_device_warm_in_another_worker_is_made_by_that_worker(
	redis_client, prefix, fake_peer, browser
):
	if browser:
		require_chromium()
	modem = fake_peer(FakeTPLinkWebUI() if browser else FakeTPLinkEX())
	with (
		leased_bridge(redis_client, prefix, browser=browser) as a,
		leased_bridge(redis_client, prefix, browser=browser) as b,
	):
		a.start_reaper(), b.start_reaper()
		assert a.read(modem.url)["device"]
		assert len(modem.active) == 1 and a.pool.live()  # warm in worker A
		wait_until(lambda: redis_client.get(f"{prefix}serving:{a.pool.leases.holder_id}"), "A serves")
		for _ in range(3):
			assert b.read(modem.url)["device"]  # not refused by the modem: A read it
		assert b.forwarded == 3 and b.pool.live() == {} and a.pool.live()
		assert modem.logins == 1 and modem.max_active == 1 and modem.busy_refusals == 0


def test_a_failure_of_the_holder_reading_for_another_worker_reaches_it_typed(redis_client, prefix, fake_peer):
	modem = fake_peer(FakeTPLinkEX())
	with leased_bridge(redis_client, prefix) as a, leased_bridge(redis_client, prefix) as b:
		a.start_reaper(), b.start_reaper()
		a.read(modem.url)
		wait_until(lambda: a.pool.leases.serving(a.pool.leases.holder_id), "A serves")
		modem.expire_sessions()  # a reboot: A's warm session is gone, and its password changed
		modem.password = "changed"
		result = b.diagnose(modem.url)
		assert [e["code"] for e in result.errors] == ["modem_auth"]  # as if B had logged in itself
		assert b.forwarded == 0 and modem.failed_logins == 1 and modem.max_active == 1


def test_a_session_warm_in_a_worker_that_does_not_answer_is_handed_over_on_request(
	redis_client, prefix, fake_peer
):
	modem = fake_peer(FakeTPLinkEX())
	with leased_bridge(redis_client, prefix) as a, leased_bridge(redis_client, prefix) as b:
		# neither serves forwarded reads; each only renews and hands over its leases, as its reaper does
		stop = threading.Event()

		def keepers():
			while not stop.wait(0.1):
				a.pool.service_leases(), b.pool.service_leases()

		keeper = threading.Thread(target=keepers, daemon=True)
		keeper.start()
		try:
			assert a.read(modem.url)["device"]
			for reader, holder in ((b, a), (a, b), (b, a)):
				assert reader.read(modem.url)["device"]  # not refused by the modem
				assert holder.pool.live() == {} and reader.pool.live()  # the holder's idle session went
		finally:
			stop.set()
			keeper.join(30)
		assert modem.max_active == 1 and modem.busy_refusals == 0
		assert modem.logins == 4 and a.pool.handed_over + b.pool.handed_over == 3
		assert a.forwarded == b.forwarded == 0


def test_a_device_held_by_a_worker_that_never_lets_go_fails_as_in_use_after_the_wait(
	redis_client, prefix, fake_peer
):
	modem = fake_peer(FakeTPLinkEX())
	# A has no reaper: its warm session is never handed over (a stuck worker)
	with (
		leased_bridge(redis_client, prefix) as a,
		leased_bridge(redis_client, prefix, timeout=1.0) as b,
	):
		a.read(modem.url)
		result = b.diagnose(modem.url)
		assert [e["code"] for e in result.errors] == ["modem_in_use"]
		assert result.errors[0]["template"] == T_IN_USE
		with pytest.raises(DeviceHeld):
			b.read(modem.url)
		assert modem.logins == 1 and modem.busy_refusals == 0  # B never tried to log in
		assert a.read(modem.url)["device"]  # A's session is still good


def test_a_worker_reading_when_another_asks_hands_over_after_its_read(redis_client, prefix, fake_peer):
	modem = fake_peer(FakeTPLinkEX(act_delay=0.5))  # a slow modem: B asks while A reads
	with leased_bridge(redis_client, prefix) as a, leased_bridge(redis_client, prefix) as b:
		b.start_reaper()  # A has none: only its read's end can hand the device over
		thread, outcome = in_thread(a.read, modem.url)
		wait_until(lambda: modem.logins == 1, "A logged in")
		assert b.read(modem.url)["device"]
		thread.join(120)
		assert outcome.get("result") and not outcome.get("error")
		assert a.pool.live() == {} and a.pool.handed_over == 1
		assert modem.max_active == 1 and modem.busy_refusals == 0


def _worker(url: str, redis_url: str, prefix: str, reads: int, gate, out) -> None:
	"""A process standing for one gunicorn worker: its own bridge, reads of the one modem."""
	import redis

	client = redis.Redis.from_url(redis_url, socket_timeout=10)
	bridge = ModemBridge(
		settings(idle_seconds=600, timeout=30),
		kinds={"tplink_ex": [DirectEXBackend(settings(idle_seconds=600, timeout=30))]},
		now=lambda: NOW,
		leases=RedisDeviceLeases(client, prefix=prefix),
	)
	bridge.start_reaper()
	ok, errors = 0, []
	gate.wait(120)
	for _ in range(reads):
		result = bridge.diagnose(url)
		if result.errors:
			errors.extend(e["code"] for e in result.errors)
		else:
			ok += 1
	bridge.close()
	out.put((ok, errors))


def test_two_processes_diagnosing_one_modem_at_once_all_succeed_one_admin_at_a_time(
	redis_client, prefix, fake_peer
):
	modem = fake_peer(FakeTPLinkEX(act_delay=0.01))
	ctx = multiprocessing.get_context("spawn")
	gate, out = ctx.Barrier(2), ctx.Queue()
	procs = [ctx.Process(target=_worker, args=(modem.url, REDIS_URL, prefix, 5, gate, out)) for _ in range(2)]
	for proc in procs:
		proc.start()
	results = [out.get(timeout=300) for _ in procs]
	for proc in procs:
		proc.join(60)
	assert results == [(5, []), (5, [])]
	assert modem.max_active == 1 and modem.overlaps == 0 and modem.busy_refusals == 0
	assert modem.active == []  # both logged out on close


def test_threads_of_two_workers_reading_one_modem_never_overlap(redis_client, prefix, fake_peer):
	modem = fake_peer(FakeTPLinkEX())
	with leased_bridge(redis_client, prefix) as a, leased_bridge(redis_client, prefix) as b:
		a.start_reaper(), b.start_reaper()
		gate = threading.Barrier(8)
		errors: list = []

		def reads(bridge):
			gate.wait(60)
			for _ in range(3):
				errors.extend(e["code"] for e in bridge.diagnose(modem.url).errors)

		threads = [threading.Thread(target=reads, args=(bridge,)) for bridge in (a, b) * 4]
		for t in threads:
			t.start()
		for t in threads:
			t.join(300)
		assert errors == []
		assert modem.max_active == 1 and modem.busy_refusals == 0
