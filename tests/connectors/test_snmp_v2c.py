"""SNMP v2c codec and transport (gigafibre_fsm.connectors.snmp_v2c), and the walk's edges.

The codec is checked against pysnmp/pyasn1 as an independent implementation of the
same RFCs (messages encoded here are decoded by pyasn1, and the other way round); the
transport and the walk run against real UDP peers: net-snmp's snmpd serving a generated
table, and a small test peer answering with pysnmp-encoded error responses.
"""

from __future__ import annotations

import asyncio
import socket

import pytest
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

from gigafibre_fsm.connectors import snmp_v2c as wire
from gigafibre_fsm.connectors.errors import ConnectorResponseError, ConnectorTimeout
from gigafibre_fsm.connectors.olt_snmp import OltSnmpClient, OltTarget, sweep
from gigafibre_fsm.core.settings import SNMPSettings
from gigafibre_fsm.fakepeers.olt_agent import OltAgent, free_udp_port
from gigafibre_fsm.fakepeers.olt_table import generate_table
from tests.connectors.conftest import require_snmpd

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
FAST = SNMPSettings(timeout=1.0, retries=0, max_inflight_per_olt=4)
ROW = (1, 3, 6, 1, 4, 1, 3902, 1082, 500, 20, 2, 2, 2, 1, 10, 285278465, 200, 1)


def run(coro):
	return asyncio.run(coro)


def pysnmp_response(request_id: int, varbinds, status: int = 0, index: int = 0) -> bytes:
	"""A v2c Response message encoded by pysnmp (the independent encoder)."""
	pdu = V2C.GetResponsePDU()
	V2C.apiPDU.set_defaults(pdu)
	V2C.apiPDU.set_request_id(pdu, request_id)
	V2C.apiPDU.set_error_status(pdu, status)
	V2C.apiPDU.set_error_index(pdu, index)
	V2C.apiPDU.set_varbinds(pdu, varbinds)
	message = V2C.Message()
	V2C.apiMessage.set_defaults(message)
	V2C.apiMessage.set_community(message, "public")
	V2C.apiMessage.set_pdu(message, pdu)
	return encoder.encode(message)


# ---------------------------------------------------------------------------
# the codec (pure)


@pytest.mark.parametrize(
	"oid", [(1, 3), (1, 3, 6, 1, 2, 1, 1, 1, 0), ROW, (2, 999, 3), (0, 39, 127, 128, 16383, 16384, 2**32 - 1)]
)
def test_oids_round_trip_and_match_pyasn1(oid):
	raw = wire.encode_oid(oid)
	assert raw == encoder.encode(V2C.ObjectIdentifier(oid))[2:]  # same contents as pyasn1's
	assert wire.decode_oid(raw) == oid


def test_an_index_is_a_byte_suffix_of_its_column():
	column = ROW[:-3]
	raw = wire.encode_oid(ROW)
	prefix = wire.encode_oid(column)
	assert raw.startswith(prefix) and wire.decode_arcs(raw[len(prefix) :]) == ROW[-3:]


@pytest.mark.parametrize("bad", [(1,), (3, 1), (1, 40), (1, 3, -1)])
def test_not_an_oid(bad):
	with pytest.raises(ValueError):
		wire.encode_oid(bad)


def test_getbulk_request_decodes_with_pyasn1():
	message = wire.encode_request(
		wire.GETBULK, 77, b"s3cret", [wire.encode_oid(ROW), wire.encode_oid(ROW[:-3])], 0, 126
	)
	decoded, rest = decoder.decode(message, asn1Spec=V2C.Message())
	assert rest == b""
	assert int(decoded["version"]) == 1 and bytes(decoded["community"]) == b"s3cret"
	pdu = V2C.apiMessage.get_pdu(decoded)
	assert pdu.isSameTypeWith(V2C.GetBulkRequestPDU())
	assert V2C.apiBulkPDU.get_request_id(pdu) == 77
	assert V2C.apiBulkPDU.get_non_repeaters(pdu) == 0
	assert V2C.apiBulkPDU.get_max_repetitions(pdu) == 126
	names = [tuple(name) for name, _value in V2C.apiPDU.get_varbinds(pdu)]
	assert names == [ROW, ROW[:-3]]


def test_response_values_as_pyasn1_encodes_them():
	values = [
		V2C.Integer(-5),
		V2C.Integer(2147483647),
		V2C.OctetString(b"1,ZTEG0011AABB"),
		V2C.OctetString(bytes(range(256))),  # long-form length
		V2C.Counter32(4294967295),
		V2C.Gauge32(7),
		V2C.TimeTicks(123456),
		V2C.Counter64(2**63 + 1),
		V2C.IpAddress("10.1.2.3"),
		V2C.ObjectIdentifier(ROW),
		V2C.Null(""),
		V2C.NoSuchObject(""),
		V2C.NoSuchInstance(""),
		V2C.EndOfMibView(""),
	]
	expected = [
		-5,
		2147483647,
		b"1,ZTEG0011AABB",
		bytes(range(256)),
		4294967295,
		7,
		123456,
		2**63 + 1,
		b"\x0a\x01\x02\x03",
		ROW,
		None,
		None,
		None,
		None,
	]
	data = pysnmp_response(4242, [((*ROW[:-1], i), v) for i, v in enumerate(values)] * 5)
	assert wire.response_id(data) == 4242
	response = wire.decode_response(data)
	assert (response.request_id, response.error_status, response.error_index) == (4242, 0, 0)
	assert len(response.varbinds) == 5 * len(values)
	got = [wire.decode_value(tag, value) for _name, tag, value in response.varbinds[: len(values)]]
	assert got == expected
	assert [wire.decode_oid(n) for n, _t, _v in response.varbinds[:3]] == [(*ROW[:-1], i) for i in range(3)]
	assert {t for _n, t, _v in response.varbinds[-4:]} <= wire.NO_VALUE


def test_broken_messages_are_decode_errors():
	good = pysnmp_response(9, [(ROW, V2C.Integer(1))])
	for broken in (good[:-3], b"", b"\x30\x03\x02\x01", good.replace(b"\xa2", b"\xa0", 1)):
		with pytest.raises(wire.DecodeError):
			wire.decode_response(broken)
	assert wire.response_id(b"\x30\x00") is None
	assert wire.response_id(good.replace(b"\xa2", b"\xa0", 1)) is None  # a request, not an answer


# ---------------------------------------------------------------------------
# the walk's edges against snmpd


@pytest.fixture(scope="module")
def zte_agent():
	require_snmpd()
	agent = OltAgent(generate_table("zte", ports=2, onts_per_port=10, seed=11)).start()
	yield agent
	agent.stop()


def _target(agent, name="olt-1") -> OltTarget:
	return OltTarget(
		name, agent.host, community=agent.community, profile=agent.table.profile, port=agent.port
	)


async def _walk(agent, oid, max_repetitions):
	async with OltSnmpClient(_target(agent), FAST, max_repetitions=max_repetitions) as client:
		return await client.walk(oid), client.requests


@pytest.mark.parametrize("column", ["olt_rx", "tx"])  # tx is the table's last column: the agent's end
@pytest.mark.parametrize("shift", [-1, 0, 1])
def test_a_walk_stops_exactly_at_the_column_end(zte_agent, column, shift):
	table = zte_agent.table
	expected = table.column(column)
	count = len(expected)
	rows, requests = run(_walk(zte_agent, table.oids[column], count + shift))
	assert [oid for oid, _ in rows] == sorted(expected)
	assert [value for _, value in rows] == [int(expected[oid][1]) for oid in sorted(expected)]
	# a page one row longer than the column leaves it at once; a page exactly as long as the
	# column (or a row shorter) needs one more answer, which leaves it
	assert requests == (1 if shift > 0 else 2)


def test_a_walk_of_a_row_of_a_port_and_of_nothing(zte_agent):
	table = zte_agent.table
	first = sorted(table.column("status"))[0]
	rows, _ = run(_walk(zte_agent, first, 50))
	assert rows == []  # a leaf has nothing under it: GETBULK starts after it
	port = sorted(oid for oid in table.column("status") if oid[:-1] == first[:-1])
	rows, _ = run(_walk(zte_agent, first[:-1], 3))
	assert rows == [(oid, int(table.varbinds[oid][1])) for oid in port] and len(port) == 10
	rows, requests = run(_walk(zte_agent, (1, 3, 6, 1, 4, 1, 3902, 1, 99), 50))
	assert rows == [] and requests == 1


def test_one_transport_serves_many_clients_and_sweeps(zte_agent):
	async def go():
		async with wire.SnmpTransport() as transport:
			first = await sweep([_target(zte_agent, "a"), _target(zte_agent, "b")], FAST, transport=transport)
			second = await sweep([_target(zte_agent, "c")], FAST, transport=transport)
			return first, second, transport.sent, len(transport._endpoints)

	first, second, sent, sockets = run(go())
	assert all(r.ok and len(r.onts) == len(zte_agent.table.onts) for r in (*first.values(), *second.values()))
	assert sent == sum(r.requests for r in (*first.values(), *second.values()))
	assert sockets == 1  # one socket for every OLT


def test_a_timeout_sends_the_request_once_per_try():
	async def go():
		async with wire.SnmpTransport() as transport:
			olt = OltTarget("dead", "127.0.0.1", port=free_udp_port())
			client = OltSnmpClient(olt, SNMPSettings(timeout=0.2, retries=2), transport=transport)
			with pytest.raises(ConnectorTimeout, match=r"0.2 s × 3 tries"):
				await client.walk(ROW[:-3])
			return transport.sent, transport._pending

	sent, pending = run(go())
	assert sent == 3 and pending == {}


# ---------------------------------------------------------------------------
# error answers, from a test peer that answers every request with a pysnmp-encoded Response


class _ErrorPeer(asyncio.DatagramProtocol):
	"""Test peer: answers each SNMP request with error-status ``status`` (index 1), or with
	a Response whose varbind list is not a SEQUENCE when ``status`` is None. With
	``fits``, a GETBULK asking for at most ``fits`` rows is answered instead: one row
	under the OID asked for, then an OID outside it."""

	def __init__(self, status, fits=0):
		self.status = status
		self.fits = fits
		self.asked: list[int] = []

	def connection_made(self, transport):
		self.transport = transport

	def datagram_received(self, data, addr):
		message, _ = decoder.decode(data, asn1Spec=V2C.Message())
		pdu = V2C.apiMessage.get_pdu(message)
		request_id = int(V2C.apiPDU.get_request_id(pdu))
		name = V2C.apiPDU.get_varbinds(pdu)[0][0]
		repetitions = int(V2C.apiBulkPDU.get_max_repetitions(pdu))
		self.asked.append(repetitions)
		if repetitions <= self.fits:
			rows = [((*ROW[:-3], 1), V2C.Integer(7))] if tuple(name) == ROW[:-3] else []
			answer = pysnmp_response(request_id, [*rows, ((1, 3, 6, 1, 9), V2C.Integer(0))])
		elif self.status is None:
			answer = pysnmp_response(request_id, [])
			answer = answer[:-2] + b"\x04\x00"  # varbind list replaced by an OCTET STRING
		else:
			answer = pysnmp_response(request_id, [(name, V2C.Null(""))], self.status, 1)
		self.transport.sendto(answer, addr)


async def _against_error_peer(status, fits=0):
	loop = asyncio.get_running_loop()
	protocol = _ErrorPeer(status, fits)
	peer, _ = await loop.create_datagram_endpoint(lambda: protocol, local_addr=("127.0.0.1", 0))
	port = peer.get_extra_info("sockname")[1]
	try:
		async with OltSnmpClient(OltTarget("err", "127.0.0.1", port=port), FAST) as client:
			return await client.walk(ROW[:-3]), client.max_repetitions, protocol.asked
	finally:
		peer.close()


def test_an_error_status_is_a_response_error_naming_the_oid():
	with pytest.raises(
		ConnectorResponseError, match=r"SNMP error genErr at 1\.3\.6\.1\.4\.1\.3902"
	) as caught:
		run(_against_error_peer(5))
	assert caught.value.status == 5


def test_a_malformed_answer_is_a_response_error():
	with pytest.raises(ConnectorResponseError, match="varbind list expected"):
		run(_against_error_peer(None))


def test_addresses_resolve_ipv4_first_and_a_bad_name_is_unavailable():
	from gigafibre_fsm.connectors.errors import ConnectorUnavailable

	async def go():
		async with wire.SnmpTransport() as transport:
			family, address = await transport.resolve("localhost", 1161)
			client = OltSnmpClient(OltTarget("bad", "no-such-host.invalid"), FAST, transport=transport)
			with pytest.raises(ConnectorUnavailable):
				await client.walk(ROW[:-3])
			return family, address

	family, address = run(go())
	assert (family, address) == (socket.AF_INET, ("127.0.0.1", 1161))


def test_too_big_halves_the_max_repetitions_until_the_answer_fits():
	rows, max_repetitions, asked = run(_against_error_peer(wire.TOO_BIG, fits=10))
	assert rows == [((*ROW[:-3], 1), 7)]
	assert asked == [50, 25, 12, 6] and max_repetitions == 6  # kept for the next walks


def test_too_big_at_one_row_is_a_response_error():
	with pytest.raises(ConnectorResponseError, match="tooBig"):
		run(_against_error_peer(wire.TOO_BIG, fits=0))
