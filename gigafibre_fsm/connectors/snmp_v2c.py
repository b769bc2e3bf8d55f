"""SNMP v2c on the wire: the few PDUs an OLT sweep sends, and one UDP socket for many OLTs.

Why not pysnmp's engine: profiling a warm ``OltSnmpClient.walk`` of one OLT's RX column
(252 rows) showed two thirds of its time in pyasn1's generic BER decoder (every varbind
becomes several pyasn1 objects, then Python values), and a new ``SnmpEngine`` cost
~0.4 s. A sweep only ever needs GET and GETBULK of OIDs it knows, and answers with
INTEGER, OCTET STRING and the v2c exceptions, so this module encodes those requests and
decodes answers by hand (RFC 3416 over BER, X.690 definite lengths):

- :func:`decode_response` splits a Response-PDU into raw varbinds ``(oid, tag, value)``
  where ``oid`` and ``value`` are the BER *contents* (bytes). Nothing more is decoded:
  a walk compares encoded OIDs with the encoded root (BER's arc encoding is
  self-delimiting, so "under the root" is a byte prefix), decodes only the index arcs
  of the rows it keeps (:func:`decode_arcs`) and only their values (:func:`decode_value`),
  and asks for the next page with the last raw OID as is.
- :class:`SnmpTransport` is one unconnected UDP socket per event loop (per worker):
  requests carry a request-id, answers are matched by request-id and sender address, a
  request is sent again after ``timeout`` up to ``retries`` times (like net-snmp and
  pysnmp), and no answer at all is ``None`` (the caller raises its timeout error).

Pure: no frappe; used by :mod:`gigafibre_fsm.connectors.olt_snmp`.
"""

from __future__ import annotations

import asyncio
import random
import socket
from dataclasses import dataclass

VERSION_2C = 1
GET = 0xA0
GETNEXT = 0xA1
RESPONSE = 0xA2
GETBULK = 0xA5

INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
SEQUENCE = 0x30
IP_ADDRESS = 0x40
COUNTER32 = 0x41
GAUGE32 = 0x42
TIMETICKS = 0x43
OPAQUE = 0x44
COUNTER64 = 0x46
NO_SUCH_OBJECT = 0x80
NO_SUCH_INSTANCE = 0x81
END_OF_MIB_VIEW = 0x82
# NULL and the three v2c exceptions: "no value here" (a walk stops on them)
NO_VALUE = frozenset((NULL, NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW))
_UNSIGNED = frozenset((COUNTER32, GAUGE32, TIMETICKS, COUNTER64))
_BYTES = frozenset((OCTET_STRING, IP_ADDRESS, OPAQUE))

TOO_BIG = 1
# RFC 3416 error-status names, as agents' errors are reported
ERROR_STATUS = (
	"noError",
	"tooBig",
	"noSuchName",
	"badValue",
	"readOnly",
	"genErr",
	"noAccess",
	"wrongType",
	"wrongLength",
	"wrongEncoding",
	"wrongValue",
	"noCreation",
	"inconsistentValue",
	"resourceUnavailable",
	"commitFailed",
	"undoFailed",
	"authorizationError",
	"notWritable",
	"inconsistentName",
)


class DecodeError(ValueError):
	"""An answer that is not a well-formed SNMP v2c message."""


# ---------------------------------------------------------------------------
# BER


def _length(n: int) -> bytes:
	if n < 0x80:
		return bytes((n,))
	raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
	return bytes((0x80 | len(raw),)) + raw


def _tlv(tag: int, body: bytes) -> bytes:
	return bytes((tag,)) + _length(len(body)) + body


def _integer(value: int) -> bytes:
	return _tlv(INTEGER, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def _arc(value: int) -> bytes:
	out = [value & 0x7F]
	value >>= 7
	while value:
		out.append(0x80 | (value & 0x7F))
		value >>= 7
	return bytes(reversed(out))


def encode_oid(oid: tuple[int, ...]) -> bytes:
	"""The BER contents of an OID (without tag and length); at least two arcs."""
	if len(oid) < 2 or oid[0] > 2 or (oid[0] < 2 and oid[1] > 39) or min(oid) < 0:
		raise ValueError(f"not an OID: {oid!r}")
	return _arc(40 * oid[0] + oid[1]) + b"".join(_arc(a) for a in oid[2:])


def decode_arcs(raw: bytes) -> tuple[int, ...]:
	"""Arcs of BER OID contents taken as is (no first-byte split): for an index suffix."""
	arcs = []
	value = 0
	for byte in raw:
		value = (value << 7) | (byte & 0x7F)
		if byte < 0x80:
			arcs.append(value)
			value = 0
	if raw and raw[-1] >= 0x80:
		raise DecodeError("truncated OID arc")
	return tuple(arcs)


def decode_oid(raw: bytes) -> tuple[int, ...]:
	"""A whole OID from its BER contents."""
	arcs = decode_arcs(raw)
	if not arcs:
		raise DecodeError("empty OID")
	first = arcs[0]
	head = (first // 40, first % 40) if first < 80 else (2, first - 80)
	return head + arcs[1:]


def decode_value(tag: int, raw: bytes):
	"""One varbind value as plain Python: int, bytes, OID tuple, or None (NULL, noSuch*,
	endOfMibView)."""
	if tag == INTEGER:
		return int.from_bytes(raw, "big", signed=True)
	if tag in _BYTES:
		return bytes(raw)
	if tag in _UNSIGNED:
		return int.from_bytes(raw, "big")
	if tag in NO_VALUE:
		return None
	if tag == OBJECT_IDENTIFIER:
		return decode_oid(raw)
	return bytes(raw)  # an application type this client never asks for: left raw


def encode_request(
	pdu: int,
	request_id: int,
	community: bytes,
	oids: list[bytes],
	non_repeaters: int = 0,
	max_repetitions: int = 0,
) -> bytes:
	"""A v2c GET / GETNEXT / GETBULK message; ``oids`` are BER OID contents (:func:`encode_oid`)."""
	bindings = b"".join(_tlv(SEQUENCE, _tlv(OBJECT_IDENTIFIER, o) + b"\x05\x00") for o in oids)
	body = _integer(request_id) + _integer(non_repeaters) + _integer(max_repetitions)
	message = (
		_integer(VERSION_2C) + _tlv(OCTET_STRING, community) + _tlv(pdu, body + _tlv(SEQUENCE, bindings))
	)
	return _tlv(SEQUENCE, message)


def _header(data: bytes, pos: int) -> tuple[int, int, int]:
	"""Tag, contents start, contents end of the TLV at ``pos``."""
	try:
		tag = data[pos]
		n = data[pos + 1]
	except IndexError:
		raise DecodeError("truncated message") from None
	pos += 2
	if n & 0x80:
		count = n & 0x7F
		if not count or count > 4:
			raise DecodeError("unsupported BER length")
		n = int.from_bytes(data[pos : pos + count], "big")
		pos += count
	end = pos + n
	if end > len(data):
		raise DecodeError("truncated message")
	return tag, pos, end


@dataclass
class Response:
	"""A decoded Response-PDU; ``varbinds`` are raw ``(oid contents, tag, value contents)``."""

	request_id: int
	error_status: int
	error_index: int
	varbinds: list[tuple[bytes, int, bytes]]

	@property
	def error_name(self) -> str:
		status = self.error_status
		return ERROR_STATUS[status] if 0 <= status < len(ERROR_STATUS) else f"error {status}"


def _int_at(data: bytes, pos: int) -> tuple[int, int]:
	tag, start, end = _header(data, pos)
	if tag != INTEGER:
		raise DecodeError("INTEGER expected")
	return int.from_bytes(data[start:end], "big", signed=True), end


def response_id(data: bytes) -> int | None:
	"""The request-id of a v2c Response message (None when it is not one): the transport
	matches answers with it before anything else is decoded."""
	try:
		tag, pos, _end = _header(data, 0)
		_version, pos = _int_at(data, pos)
		_tag, _start, pos = _header(data, pos)  # community
		tag_pdu, pos, _end = _header(data, pos)
		if tag != SEQUENCE or tag_pdu != RESPONSE:
			return None
		return _int_at(data, pos)[0]
	except DecodeError:
		return None


def decode_response(data: bytes) -> Response:
	"""Split a v2c Response message into its raw varbinds (nothing inside them decoded)."""
	tag, pos, end = _header(data, 0)
	if tag != SEQUENCE:
		raise DecodeError("not an SNMP message")
	version, pos = _int_at(data, pos)
	if version != VERSION_2C:
		raise DecodeError(f"SNMP version {version}, expected v2c")
	_tag, _start, pos = _header(data, pos)  # community
	tag, pos, _pdu_end = _header(data, pos)
	if tag != RESPONSE:
		raise DecodeError(f"PDU 0x{tag:02x}, expected a Response")
	request_id, pos = _int_at(data, pos)
	status, pos = _int_at(data, pos)
	index, pos = _int_at(data, pos)
	tag, pos, end = _header(data, pos)
	if tag != SEQUENCE:
		raise DecodeError("varbind list expected")
	varbinds = []
	append = varbinds.append
	while pos < end:
		tag, start, stop = _header(data, pos)
		if tag != SEQUENCE:
			raise DecodeError("varbind expected")
		tag, o_start, o_end = _header(data, start)
		if tag != OBJECT_IDENTIFIER:
			raise DecodeError("varbind name expected")
		tag, v_start, v_end = _header(data, o_end)
		append((data[o_start:o_end], tag, data[v_start:v_end]))
		pos = stop
	return Response(request_id, status, index, varbinds)


# ---------------------------------------------------------------------------
# the transport


class _Protocol(asyncio.DatagramProtocol):
	def __init__(self, owner: SnmpTransport):
		self.owner = owner

	def datagram_received(self, data: bytes, addr) -> None:
		request_id = response_id(data)
		waiting = self.owner._pending.get(request_id)
		if waiting and waiting[1] == addr[:2] and not waiting[0].done():
			waiting[0].set_result(data)

	def error_received(self, exc) -> None:  # ICMP port unreachable and such: the request times out
		pass


class SnmpTransport:
	"""One UDP socket (per address family) shared by every request of a worker's event loop.

	:meth:`request` sends a message built by ``build(request_id)`` to ``address`` and waits
	for the Response with that request-id from that address: ``timeout`` seconds per try,
	``retries`` more tries. It returns the raw answer, or None when nothing came back.
	"""

	RECEIVE_BUFFER = 4 * 1024 * 1024  # many OLTs answer at once; the kernel caps it at rmem_max

	def __init__(self):
		self._endpoints: dict[int, asyncio.DatagramTransport] = {}
		self._pending: dict[int, tuple[asyncio.Future, tuple]] = {}
		self._next_id = random.randrange(1, 1 << 30)
		self.sent = 0

	async def __aenter__(self) -> SnmpTransport:
		return self

	async def __aexit__(self, *exc) -> None:
		self.close()

	def close(self) -> None:
		for endpoint in self._endpoints.values():
			endpoint.close()
		self._endpoints.clear()

	async def resolve(self, host: str, port: int) -> tuple[int, tuple]:
		"""(address family, socket address) of ``host:port``, IPv4 first (a name with both is
		read over IPv4, as pysnmp's UDP target did); OSError when it cannot be resolved."""
		infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
		infos.sort(key=lambda info: info[0] != socket.AF_INET)
		family, _type, _proto, _name, address = infos[0]
		return family, address

	async def _endpoint(self, family: int) -> asyncio.DatagramTransport:
		endpoint = self._endpoints.get(family)
		if endpoint is None or endpoint.is_closing():
			local = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)
			endpoint, _protocol = await asyncio.get_running_loop().create_datagram_endpoint(
				lambda: _Protocol(self), local_addr=local, family=family
			)
			sock = endpoint.get_extra_info("socket")
			try:
				sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.RECEIVE_BUFFER)
			except OSError:
				pass
			self._endpoints[family] = endpoint
		return endpoint

	def _request_id(self) -> int:
		self._next_id = self._next_id % 0x7FFFFFFF + 1
		while self._next_id in self._pending:
			self._next_id = self._next_id % 0x7FFFFFFF + 1
		return self._next_id

	async def request(
		self, family: int, address: tuple, build, *, timeout: float, retries: int
	) -> bytes | None:
		endpoint = await self._endpoint(family)
		request_id = self._request_id()
		message = build(request_id)
		answer = asyncio.get_running_loop().create_future()
		self._pending[request_id] = (answer, tuple(address[:2]))
		try:
			for _try in range(max(0, int(retries)) + 1):
				endpoint.sendto(message, address)
				self.sent += 1
				done, _ = await asyncio.wait((answer,), timeout=timeout)
				if done:
					return answer.result()
			return None
		finally:
			del self._pending[request_id]
			answer.cancel()
