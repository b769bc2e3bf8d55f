"""The GenieACS NBI client against FakeGenieACS over loopback."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest

from gigafibre_fsm.connectors.errors import (
	ConnectorAuthError,
	ConnectorResponseError,
	ConnectorTimeout,
	ConnectorUnavailable,
)
from gigafibre_fsm.connectors.genieacs import GenieACSClient
from gigafibre_fsm.connectors.genieacs_nbi import (
	REASON_FAULTED,
	REASON_QUEUED,
	NoSuchDevice,
	TaskStatus,
	make_device_id,
	quote_device_id,
	task_outcome,
)
from gigafibre_fsm.core.settings import GenieACSSettings
from gigafibre_fsm.fakepeers.cpe_documents import DEFAULT_NOW, iso, xx230v_document
from gigafibre_fsm.fakepeers.cpe_fleet import tr098_document
from gigafibre_fsm.fakepeers.genieacs import FakeGenieACS

PROJECTION = ["_deviceId", "Device.DeviceInfo.UpTime", "Device.Optical.Interface"]


class Clock:
	"""Injectable sleep/clock: records the waits, never sleeps."""

	def __init__(self):
		self.now = 0.0
		self.sleeps: list[float] = []

	def sleep(self, seconds: float) -> None:
		self.sleeps.append(seconds)
		self.now += seconds

	def __call__(self) -> float:
		return self.now


def make_client(peer, clock: Clock | None = None, **kwargs) -> GenieACSClient:
	clock = clock or Clock()
	settings = GenieACSSettings(
		nbi_url=peer.url + "/", timeout=kwargs.pop("timeout", 3.0), **kwargs.pop("auth", {})
	)
	return GenieACSClient(settings, sleep=clock.sleep, clock=clock, **kwargs)


def fleet(count: int) -> list[dict]:
	return [
		xx230v_document(
			f"2235{n:09d}",
			seed=n + 1,
			last_inform=DEFAULT_NOW - timedelta(seconds=n * 13 % 900),
			mesh_nodes=0,
			clients=[],
			wired_hosts=0,
		)
		for n in range(count)
	]


def test_device_id_escaping():
	assert make_device_id("00259E", "HG8245H-5", "4857 5443") == "00259E-HG8245H%2D5-4857%205443"
	assert make_device_id("00259E", "", "ABC") == "00259E-ABC"
	assert quote_device_id("00259E-HG8245H%2D5-4857%205443") == "00259E-HG8245H%252D5-4857%25205443"
	assert quote_device_id("A.B/C é") == "A%2EB%2FC%20%C3%A9"


def test_task_outcome_reads_status_and_reason():
	assert task_outcome(200, "OK") is TaskStatus.DONE
	assert task_outcome(202, REASON_QUEUED) is TaskStatus.QUEUED
	assert task_outcome(202, "Accepted") is TaskStatus.QUEUED
	assert task_outcome(202, REASON_FAULTED) is TaskStatus.FAULTED
	assert task_outcome(202, "Device is offline") is TaskStatus.CONNECTION_REQUEST_FAILED
	assert (
		task_outcome(504, "Incorrect connection request credentials") is TaskStatus.CONNECTION_REQUEST_FAILED
	)


def test_paging_with_total_header_and_projection(fake_peer):
	peer = fake_peer(FakeGenieACS(fleet(25)))
	with make_client(peer) as client:
		page = client.query_devices({}, PROJECTION, skip=10, limit=10, sort={"_lastInform": -1})
		assert page.total == 25
		assert len(page.devices) == 10
		doc = page.devices[0]
		assert set(doc) == {"_id", "_deviceId", "Device"}
		assert set(doc["Device"]) == {"DeviceInfo", "Optical"}
		assert set(doc["Device"]["DeviceInfo"]) == {"UpTime"}
		assert client.count_devices({"_deviceId._SerialNumber": "2235000000003"}) == 1
	request = peer.requests[0]
	assert request.query["projection"] == [",".join(PROJECTION)]
	assert json.loads(request.query["sort"][0]) == {"_lastInform": -1}
	assert (request.query["skip"], request.query["limit"]) == (["10"], ["10"])


def test_query_on_parameter_values_and_prefix(fake_peer):
	docs = fleet(5)
	peer = fake_peer(FakeGenieACS(docs))
	with make_client(peer) as client:
		serial = {"Device.DeviceInfo.SerialNumber": "2235000000002"}
		assert [d["_id"] for d in client.query_devices(serial).devices] == [docs[2]["_id"]]
		assert client.query_devices({"_deviceId._SerialNumber": "22350000000*"}).total == 5
		assert client.query_devices({"_id": {"$in": [docs[0]["_id"], docs[4]["_id"]]}}).total == 2


def test_fleet_iteration_pages_on_last_inform_and_never_touches_tasks(fake_peer):
	docs = fleet(57)
	# ties on _lastInform across a page boundary must be neither lost nor repeated
	for doc in docs[:12]:
		doc["_lastInform"] = iso(DEFAULT_NOW - timedelta(minutes=30))
	peer = fake_peer(FakeGenieACS(docs))
	with make_client(peer) as client:
		walked = list(client.iter_devices({}, PROJECTION, page_size=5))
	seen = [d["_id"] for d in walked]
	assert sorted(seen) == sorted(d["_id"] for d in docs)
	assert len(seen) == len(set(seen))
	paths = {r.path for r in peer.requests}
	assert paths == {"/devices/"}
	assert not any("connection_request" in r.query for r in peer.requests)
	assert all("_lastInform" in r.query["projection"][0] for r in peer.requests)
	keys = [(d["_lastInform"], d["_id"]) for d in walked]
	assert keys == sorted(keys)


def test_an_indexed_fake_answers_the_fleet_walk_as_the_general_matcher(fake_peer):
	"""FakeGenieACS(indexed=True) (for benchmarks) pages, counts and looks up exactly as the
	general matcher does, ties on _lastInform across pages and ``since`` included."""
	docs = fleet(57)
	for doc in docs[:12]:
		doc["_lastInform"] = iso(DEFAULT_NOW - timedelta(minutes=30))
	plain, indexed = fake_peer(FakeGenieACS(docs)), fake_peer(FakeGenieACS(docs, indexed=True))
	since = iso(DEFAULT_NOW - timedelta(seconds=300))
	answers = []
	for peer in (plain, indexed):
		with make_client(peer) as client:
			walks = [
				[
					(p.total, [d["_id"] for d in p.devices])
					for p in client.iter_pages(projection=["_lastInform"], page_size=n, since=s)
				]
				for n, s in ((5, None), (12, None), (4, since), (100, None))
			]
			wanted = [docs[40]["_id"], "nobody", docs[3]["_id"], docs[40]["_id"]]
			lookup = client.query_devices({"_id": {"$in": wanted}}, ["_lastInform"])
			answers.append((walks, lookup.total, lookup.devices))
	assert answers[0] == answers[1]
	walked = [[i for _total, ids in walk for i in ids] for walk in answers[1][0]]
	assert sorted(walked[0]) == sorted(walked[1]) == sorted(d["_id"] for d in docs)
	assert 0 < len(walked[2]) < len(docs)
	assert any(r.query.get("query", [""])[0].count("$nin") for r in indexed.requests)


def test_incremental_refresh_since(fake_peer):
	docs = fleet(20)
	peer = fake_peer(FakeGenieACS(docs))
	since = iso(DEFAULT_NOW - timedelta(seconds=100))
	expected = {d["_id"] for d in docs if d["_lastInform"] > since}
	with make_client(peer) as client:
		got = {d["_id"] for d in client.iter_devices(projection=["_deviceId"], page_size=4, since=since)}
		assert got == expected and 0 < len(got) < 20
		# a datetime in a query is sent in GenieACS's ISO form
		stale = {"_lastInform": {"$lt": DEFAULT_NOW - timedelta(seconds=100)}}
		assert client.query_devices(stale).total == 20 - len(expected)
	assert '"$lt":"2025-03-14T11:58:20.000Z"' in peer.requests[-1].query["query"][0]


def test_odd_device_ids_reach_the_device(fake_peer):
	doc = tr098_document("4857 5443-A%B", product_class="HG8245H-5 V2")
	assert doc["_id"] == "00259E-HG8245H%2D5%20V2-4857%205443%2DA%25B"
	peer = fake_peer(FakeGenieACS([doc]))
	with make_client(peer) as client:
		result = client.create_task(doc["_id"], {"name": "getParameterValues", "parameterNames": ["x"]})
		assert result.status is TaskStatus.DONE
		assert client.get_device(doc["_id"], ["_deviceId"])["_id"] == doc["_id"]
	assert peer.requests[0].path == "/devices/00259E-HG8245H%252D5%2520V2-4857%25205443%252DA%2525B/tasks"
	assert peer.requests[0].query == {"connection_request": [""], "timeout": ["5000"]}


@pytest.mark.parametrize(
	"behaviour, status, http, reason",
	[
		("done", TaskStatus.DONE, 200, "OK"),
		("queued", TaskStatus.QUEUED, 202, REASON_QUEUED),
		("in_session", TaskStatus.QUEUED, 202, REASON_QUEUED),
		("faulted", TaskStatus.FAULTED, 202, REASON_FAULTED),
		("offline", TaskStatus.CONNECTION_REQUEST_FAILED, 202, "Device is offline"),
		(
			"credentials",
			TaskStatus.CONNECTION_REQUEST_FAILED,
			202,
			"Incorrect connection request credentials",
		),
	],
)
def test_task_outcomes_from_reason_phrases(fake_peer, behaviour, status, http, reason):
	doc = xx230v_document()
	peer = fake_peer(FakeGenieACS([doc]))
	peer.set_behaviour(doc["_id"], behaviour)
	with make_client(peer) as client:
		result = client.create_task(doc["_id"], {"name": "refreshObject", "objectName": "Device.Optical."})
	assert (result.status, result.http_status, result.reason) == (status, http, reason)
	assert result.task["name"] == "refreshObject" and result.task_id
	assert result.pending == (status in (TaskStatus.QUEUED, TaskStatus.CONNECTION_REQUEST_FAILED))


def test_task_without_connection_request_is_queued(fake_peer):
	doc = xx230v_document()
	peer = fake_peer(FakeGenieACS([doc]))
	with make_client(peer) as client:
		result = client.create_task(doc["_id"], {"name": "reboot"}, connection_request=False)
	assert (result.status, result.http_status) == (TaskStatus.QUEUED, 202)
	assert peer.requests[0].query == {}


def test_unknown_device_is_no_such_device(fake_peer):
	peer = fake_peer(FakeGenieACS([]))
	with make_client(peer) as client, pytest.raises(NoSuchDevice) as caught:
		client.create_task("00259E-X-Y", {"name": "reboot"})
	assert caught.value.status == 404


def test_bare_connection_request(fake_peer):
	doc = xx230v_document()
	peer = fake_peer(FakeGenieACS([doc]))
	with make_client(peer) as client:
		assert client.connection_request(doc["_id"]).status is TaskStatus.DONE
		peer.set_behaviour(doc["_id"], "offline")
		failed = client.connection_request(doc["_id"])
	assert (failed.status, failed.http_status, failed.reason) == (
		TaskStatus.CONNECTION_REQUEST_FAILED,
		504,
		"Device is offline",
	)


def test_run_task_polls_with_backoff_until_done(fake_peer):
	doc = xx230v_document()
	peer = fake_peer(FakeGenieACS([doc]))
	peer.set_behaviour(doc["_id"], "offline")
	clock = Clock()
	polls = []

	def sleep(seconds):
		clock.sleep(seconds)
		polls.append(seconds)
		if len(polls) == 3:
			peer.inform(doc["_id"])  # the device comes back and runs its queue

	with make_client(peer, clock) as client:
		client.sleep = sleep
		result = client.run_task(doc["_id"], {"name": "refreshObject", "objectName": "Device.WiFi."})
	assert result.status is TaskStatus.DONE and result.attempts == 4
	assert polls == [5.0, 10.0, 20.0]
	assert not any(r.path.startswith("/devices/?") for r in peer.requests)


def test_run_task_is_bounded_and_reports_the_cr_error(fake_peer):
	doc = xx230v_document()
	peer = fake_peer(FakeGenieACS([doc]))
	peer.set_behaviour(doc["_id"], "credentials")
	clock = Clock()
	with make_client(peer, clock) as client:
		result = client.run_task(doc["_id"], {"name": "reboot"}, max_polls=10, deadline=60)
	assert result.status is TaskStatus.CONNECTION_REQUEST_FAILED
	assert result.reason == "Incorrect connection request credentials"
	assert sum(clock.sleeps) <= 60 and clock.sleeps == [5.0, 10.0, 20.0]


def test_run_task_sees_a_fault(fake_peer):
	doc = xx230v_document()
	peer = fake_peer(FakeGenieACS([doc]))
	peer.set_behaviour(doc["_id"], "queued")
	with make_client(peer) as client:
		first = client.create_task(doc["_id"], {"name": "reboot"})
		fault_id = f"{doc['_id']}:task_{first.task_id}"
		peer.faults[fault_id] = {"_id": fault_id, "device": doc["_id"], "code": "cwmp.9002"}
		queued, fault = client.task_state(doc["_id"], first.task_id)
		assert queued["_id"] == first.task_id and fault["code"] == "cwmp.9002"
		client.retry_task(first.task_id)
		assert client.task_state(doc["_id"], first.task_id)[1] is None
		client.delete_task(first.task_id)
		with pytest.raises(ConnectorResponseError) as caught:
			client.delete_task(first.task_id)
	assert caught.value.status == 404


def test_slow_nbi_is_a_timeout(fake_peer):
	peer = fake_peer(FakeGenieACS(fleet(2), query_delay=1.0))
	clock = Clock()
	with make_client(peer, clock, timeout=0.2) as client, pytest.raises(ConnectorTimeout):
		client.query_devices({})
	assert clock.sleeps == [0.5, 1.0]  # the read was retried with backoff, then given up
	assert len(peer.requests) == 3


def test_refused_port_is_unavailable():
	with socket.socket() as s:
		s.bind(("127.0.0.1", 0))
		port = s.getsockname()[1]
	client = GenieACSClient(
		GenieACSSettings(nbi_url=f"http://127.0.0.1:{port}", timeout=1), sleep=lambda s: None
	)
	with pytest.raises(ConnectorUnavailable) as caught:
		client.query_devices({})
	assert caught.value.source == "genieacs"


def test_not_configured_is_unavailable():
	with pytest.raises(ConnectorUnavailable):
		GenieACSClient(GenieACSSettings())


def test_proxy_auth(fake_peer):
	peer = fake_peer(FakeGenieACS(fleet(1), credentials=("acs", "s3cret")))
	with make_client(peer, auth={"username": "acs", "password": "wrong"}) as client:
		with pytest.raises(ConnectorAuthError) as caught:
			client.query_devices({})
		assert caught.value.status == 401
	assert len(peer.requests) == 1  # an auth failure is not retried
	with make_client(peer, auth={"username": "acs", "password": "s3cret"}) as client:
		assert client.query_devices({}).total == 1


def test_bad_query_is_a_response_error(fake_peer):
	peer = fake_peer(FakeGenieACS([]))
	with make_client(peer) as client:
		with pytest.raises(ConnectorResponseError) as caught:
			client.query("no_such_collection")
	assert caught.value.status == 404


def test_refresh_refuses_the_whole_tree(fake_peer):
	peer = fake_peer(FakeGenieACS([]))
	with make_client(peer) as client, pytest.raises(ValueError):
		client.refresh("x", "Device.")


def test_session_is_reused(fake_peer):
	peer = fake_peer(FakeGenieACS(fleet(3)))
	with make_client(peer) as client:
		session = client.session
		for _ in range(3):
			client.query_devices({})
		assert client.session is session
