"""The fake-peer toolkit and the real-service fixtures do what later tests rely on."""

from __future__ import annotations

import http.client
import json
import socket
import urllib.request
import uuid

import pytest

from gigafibre_fsm.fakepeers.http import FakePeer, Response


class EchoPeer(FakePeer):
	"""Fake peer for these tests only: echoes what it receives; /queued answers GenieACS-style 202."""

	def setup_routes(self):
		@self.route("POST", r"/echo/(?P<name>\w+)")
		def echo(request, name):
			return Response.json(
				{"name": name, "body": request.json(), "q": request.query}, headers={"X-Peer": "echo"}
			)

		@self.route("GET", r"/queued")
		def queued(request):
			return Response(status=202, reason="Task queued but not processed")

		@self.route("GET", r"/slow")
		def slow(request):
			return Response.json({}, delay=0.5)


def test_routes_headers_and_recording(fake_peer):
	peer = fake_peer(EchoPeer())
	req = urllib.request.Request(
		peer.url + "/echo/abc?x=1",
		data=json.dumps({"k": "v"}).encode(),
		headers={"Content-Type": "application/json", "Authorization": "Basic Zm9vOmJhcg=="},
		method="POST",
	)
	with urllib.request.urlopen(req, timeout=5) as resp:
		assert resp.status == 200
		assert resp.headers["X-Peer"] == "echo"
		assert json.load(resp) == {"name": "abc", "body": {"k": "v"}, "q": {"x": ["1"]}}
	assert [r.path for r in peer.requests] == ["/echo/abc"]
	assert peer.requests[0].headers["authorization"] == "Basic Zm9vOmJhcg=="


def test_reason_phrase_is_sent_as_given(fake_peer):
	peer = fake_peer(EchoPeer())
	conn = http.client.HTTPConnection("127.0.0.1", peer.port, timeout=5)
	conn.request("GET", "/queued")
	resp = conn.getresponse()
	assert (resp.status, resp.reason) == (202, "Task queued but not processed")
	conn.close()


def test_unknown_route_is_404(fake_peer):
	peer = fake_peer(EchoPeer())
	with pytest.raises(urllib.error.HTTPError) as err:
		urllib.request.urlopen(peer.url + "/nope", timeout=5)
	assert err.value.code == 404


def test_delay_lets_clients_time_out(fake_peer):
	peer = fake_peer(EchoPeer())
	with pytest.raises((socket.timeout, TimeoutError, urllib.error.URLError)):
		urllib.request.urlopen(peer.url + "/slow", timeout=0.1)


def test_stopped_peer_refuses_connections():
	peer = EchoPeer().start()
	port = peer.port
	peer.stop()
	with pytest.raises(OSError):
		socket.create_connection(("127.0.0.1", port), timeout=1)


def test_redis_fixture_roundtrip(redis_client):
	key = f"gf-test:{uuid.uuid4().hex[:8]}:probe"
	redis_client.set(key, "1", ex=60)
	assert redis_client.get(key) == b"1"
	redis_client.delete(key)


def test_postgres_fixture_is_isolated(pg_conn):
	with pg_conn.cursor() as cur:
		cur.execute("CREATE TABLE probe (id int)")
		cur.execute("INSERT INTO probe VALUES (1), (2)")
		cur.execute("SELECT count(*) FROM probe")
		assert cur.fetchone()[0] == 2


def test_mariadb_fixture_is_isolated(mariadb_conn):
	with mariadb_conn.cursor() as cur:
		cur.execute("CREATE TABLE probe (id int)")
		cur.execute("INSERT INTO probe VALUES (1), (2)")
		cur.execute("SELECT count(*) FROM probe")
		assert cur.fetchone()[0] == 2
