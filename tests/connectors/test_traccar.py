"""Traccar connector against a fake Traccar on loopback (real sockets, real timeouts)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from gigafibre_fsm.connectors.errors import (
	ConnectorAuthError,
	ConnectorResponseError,
	ConnectorTimeout,
	ConnectorUnavailable,
)
from gigafibre_fsm.connectors.traccar import (
	InvalidDeviceId,
	Position,
	TraccarClient,
	parse_time,
	positions_for,
)
from gigafibre_fsm.core.settings import TraccarSettings
from gigafibre_fsm.fakepeers.http import FakePeer, Response
from gigafibre_fsm.fakepeers.traccar import FakeTraccar

FIX = datetime(2026, 3, 2, 14, 5, 30, tzinfo=UTC)
# Sainte-Clotilde, Quebec (headquarters)
HQ = (45.1667, -73.6833)


@pytest.fixture
def traccar(fake_peer) -> FakeTraccar:
	return fake_peer(FakeTraccar(token="tok-123"))


def settings_for(peer: FakePeer, token: str = "tok-123", timeout: float = 2.0) -> TraccarSettings:
	return TraccarSettings(url=peer.url, token=token, timeout=timeout)


def test_latest_position_of_one_device(traccar):
	traccar.set_position(7, *HQ, speed_knots=0, course=270, fix_time=FIX, accuracy=12.5)
	with TraccarClient(settings_for(traccar)) as client:
		position = client.latest_position(7)
	assert position == Position(
		device_id=7,
		lat=HQ[0],
		lon=HQ[1],
		speed_kmh=0.0,
		course=270.0,
		fix_time=FIX,
		accuracy_m=12.5,
		position_id=traccar.positions[7]["id"],
		valid=True,
	)
	assert position.fix_time.tzinfo is not None and position.fix_time.utcoffset() == timedelta(0)
	assert position.as_dict()["fix_time"] == "2026-03-02T14:05:30+00:00"
	request = traccar.requests[-1]
	assert request.path == "/api/positions" and request.query == {"deviceId": ["7"]}
	assert request.headers["authorization"] == "Bearer tok-123"
	assert request.headers["accept"] == "application/json"


def test_speed_is_converted_from_knots_to_kmh(traccar):
	traccar.set_position(3, *HQ, speed_knots=10, fix_time=FIX)
	traccar.set_position(4, *HQ, speed_knots=54, fix_time=FIX)
	with TraccarClient(settings_for(traccar)) as client:
		assert client.latest_position(3).speed_kmh == 18.52
		assert client.latest_position(4).speed_kmh == 100.01


def test_unreported_accuracy_is_none(traccar):
	traccar.set_position(5, *HQ, fix_time=FIX, accuracy=0)
	with TraccarClient(settings_for(traccar)) as client:
		assert client.latest_position("5").accuracy_m is None


def test_bad_token_is_an_auth_error(traccar):
	traccar.set_position(7, *HQ, fix_time=FIX)
	client = TraccarClient(settings_for(traccar, token="wrong"))
	with pytest.raises(ConnectorAuthError) as err:
		client.latest_position(7)
	assert err.value.status == 401 and err.value.source == "traccar"
	results = client.positions_for([7, 8])
	assert all(isinstance(r, ConnectorAuthError) for r in results.values())


def test_unknown_device_has_no_position(traccar):
	traccar.set_position(7, *HQ, fix_time=FIX)
	with TraccarClient(settings_for(traccar)) as client:
		assert client.latest_position(999) is None
		assert client.positions_for([999, 7])[999] is None


def test_a_device_the_user_cannot_see_is_a_response_error(traccar):
	traccar.set_position(7, *HQ, fix_time=FIX)
	traccar.denied.add(7)
	with pytest.raises(ConnectorResponseError) as err:
		TraccarClient(settings_for(traccar)).latest_position(7)
	assert err.value.status == 400 and "Device access denied" in str(err.value)


def test_positions_of_other_devices_are_ignored(traccar):
	# a server that ignores deviceId answers every device's latest position
	other = traccar.set_position(8, *HQ, fix_time=FIX)
	traccar.fail_next.append(Response.json([other]))
	assert TraccarClient(settings_for(traccar)).latest_position(7) is None


def test_parallel_polling_is_parallel(traccar):
	ids = list(range(1, 9))
	for i in ids:
		traccar.set_position(i, HQ[0] + i / 1000, HQ[1], speed_knots=i, fix_time=FIX)
		traccar.delays[i] = 0.5
	started = time.monotonic()
	results = positions_for(settings_for(traccar), ids, max_workers=8)
	elapsed = time.monotonic() - started
	assert elapsed < 2.0, f"8 × 0.5 s took {elapsed:.2f} s: not polled in parallel"
	assert list(results) == ids
	assert all(isinstance(p, Position) for p in results.values())
	assert {i: p.device_id for i, p in results.items()} == {i: i for i in ids}
	assert len(traccar.requests) == 8


def test_one_slow_device_times_out_alone(traccar):
	for i in (1, 2, 3, 4):
		traccar.set_position(i, *HQ, fix_time=FIX)
	traccar.delays[3] = 3.0
	started = time.monotonic()
	results = TraccarClient(settings_for(traccar, timeout=0.5)).positions_for([1, 2, 3, 4])
	elapsed = time.monotonic() - started
	assert isinstance(results[3], ConnectorTimeout)
	assert all(isinstance(results[i], Position) for i in (1, 2, 4))
	assert elapsed < 2.0, f"the slow device held the poll for {elapsed:.2f} s"


def test_ids_are_kept_as_given_and_deduplicated(traccar):
	traccar.set_position(12, *HQ, fix_time=FIX)
	results = TraccarClient(settings_for(traccar)).positions_for(["12", "12", "abc", 0])
	assert list(results) == ["12", "abc", 0]
	assert results["12"].device_id == 12
	assert isinstance(results["abc"], InvalidDeviceId) and isinstance(results[0], InvalidDeviceId)
	assert len(traccar.requests) == 1  # nothing asked for the invalid ids


def test_empty_poll_asks_nothing(traccar):
	assert TraccarClient(settings_for(traccar)).positions_for([]) == {}
	assert traccar.requests == []


def test_not_configured():
	client = TraccarClient(TraccarSettings(url="", token=""))
	with pytest.raises(ConnectorUnavailable):
		client.positions_for([1])
	with pytest.raises(ConnectorUnavailable):
		client.latest_position(1)


def test_unreachable_peer_is_unavailable():
	peer = FakeTraccar().start()
	settings = settings_for(peer)
	peer.stop()
	result = TraccarClient(settings).positions_for([1])[1]
	assert isinstance(result, ConnectorUnavailable)


def test_gateway_errors_and_garbage(traccar):
	traccar.fail_next.append(Response.text("Bad Gateway", status=502))
	traccar.fail_next.append(Response.text("<html>not json</html>", content_type="text/html"))
	traccar.fail_next.append(Response.json({"not": "a list"}))
	traccar.fail_next.append(Response.json([{"deviceId": 7, "latitude": "x", "longitude": 0}]))
	client = TraccarClient(settings_for(traccar))
	with pytest.raises(ConnectorUnavailable) as err:
		client.latest_position(7)
	assert err.value.status == 502
	for _ in range(3):
		with pytest.raises(ConnectorResponseError):
			client.latest_position(7)


def test_devices(traccar):
	traccar.add_device(7, name="Camion 7", unique_id="358000000000007")
	traccar.set_position(7, *HQ, fix_time=FIX)
	devices = TraccarClient(settings_for(traccar)).devices()
	assert [(d["id"], d["name"], d["uniqueId"], d["status"]) for d in devices] == [
		(7, "Camion 7", "358000000000007", "online")
	]


@pytest.mark.parametrize(
	"text",
	[
		"2026-03-02T14:05:30.000+00:00",
		"2026-03-02T14:05:30Z",
		"2026-03-02T14:05:30.000+0000",
		"2026-03-02T09:05:30-05:00",
	],
)
def test_parse_time(text):
	assert parse_time(text) == FIX and parse_time(text).tzinfo == UTC


def test_parse_time_assumes_utc_when_naive():
	assert parse_time("2026-03-02T14:05:30") == FIX
