"""Shared fixtures: fake HTTP peers and the real local services (Redis, PostgreSQL, MariaDB).

The services are the ones this machine runs on loopback. When one is down, its
tests are skipped with the reason, except when GIGAFIBRE_REQUIRE_SERVICES=1
(set by .ci/run), where a missing service fails the run instead of hiding tests.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from gigafibre_fsm.fakepeers.http import FakePeer

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("GIGAFIBRE_SHARED", REPO.parent / "shared"))

REDIS_URL = os.environ.get("GIGAFIBRE_TEST_REDIS", "redis://127.0.0.1:6379/15")
PG_DSN = os.environ.get("GIGAFIBRE_TEST_PG", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
MARIADB = dict(
	host=os.environ.get("GIGAFIBRE_TEST_MARIADB_HOST", "127.0.0.1"),
	port=int(os.environ.get("GIGAFIBRE_TEST_MARIADB_PORT", "3306")),
	user=os.environ.get("GIGAFIBRE_TEST_MARIADB_USER", "root"),
	password=os.environ.get("GIGAFIBRE_TEST_MARIADB_PASSWORD", ""),
)


def _unavailable(what: str, error: Exception):
	message = f"{what} is not reachable on loopback: {error}"
	if os.environ.get("GIGAFIBRE_REQUIRE_SERVICES") == "1":
		pytest.fail(message)
	pytest.skip(message)


@pytest.fixture
def fake_peer():
	"""Start any number of FakePeer instances; all are stopped after the test."""
	started: list[FakePeer] = []

	def start(peer: FakePeer) -> FakePeer:
		started.append(peer.start())
		return peer

	yield start
	for peer in started:
		peer.stop()


@pytest.fixture
def redis_client():
	"""A Redis client on a scratch database (15). Not flushed: another test run on this machine (a
	developer's beside CI) may be using it; each test keeps to keys of its own and removes them."""
	import redis

	client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
	try:
		client.ping()
	except Exception as e:
		_unavailable("Redis", e)
	yield client
	client.close()


@pytest.fixture
def pg_conn():
	"""A PostgreSQL connection inside a throw-away schema (dropped afterwards)."""
	import psycopg2

	try:
		conn = psycopg2.connect(PG_DSN, connect_timeout=3)
	except Exception as e:
		_unavailable("PostgreSQL", e)
	conn.autocommit = True
	schema = f"gf_test_{uuid.uuid4().hex[:10]}"
	with conn.cursor() as cur:
		cur.execute(f'CREATE SCHEMA "{schema}"')
		cur.execute(f'SET search_path TO "{schema}"')
	yield conn
	with conn.cursor() as cur:
		cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
	conn.close()


@pytest.fixture
def mariadb_conn():
	"""A MariaDB connection to a throw-away database (dropped afterwards)."""
	import pymysql

	try:
		conn = pymysql.connect(**MARIADB, connect_timeout=3, autocommit=True)
	except Exception as e:
		_unavailable("MariaDB", e)
	database = f"gf_test_{uuid.uuid4().hex[:10]}"
	with conn.cursor() as cur:
		cur.execute(f"CREATE DATABASE `{database}`")
		cur.execute(f"USE `{database}`")
	yield conn
	with conn.cursor() as cur:
		cur.execute(f"DROP DATABASE `{database}`")
	conn.close()


@pytest.fixture
def shared_dir() -> Path:
	"""../shared beside the repo (data read by tests, never copied into the repo)."""
	return SHARED
