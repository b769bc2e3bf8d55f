"""OLTs over SNMP v2c (asyncio, snmp_v2c's codec and socket): ONT optical levels, status and serials.

What shared/NETWORK.md §4 says and this connector relies on:

- Vendors differ in OIDs, index arithmetic and units, so each vendor is a
  ``OltProfile`` (plain data, gigafibre_fsm.core.olt.profiles) in a registry: ``register_profile``,
  ``get_profile`` (by name or alias), ``profile_names``; an ONT's reading and its ``olt``
  Diagnosis are gigafibre_fsm.core.olt.readings. This module speaks SNMP. ZTE C300/C320 and
  Huawei MA5600T/MA5800 ship here; other vendors (Nokia ISAM, TP-Link, Calix)
  plug in with their own profile, and with ``register_decoder`` for values
  that need special decoding.
- ONT rows are indexed ``{ifIndex}.{ontId}[.suffix]``; the PON port's ifIndex is a
  linear function of frame/slot/port (``PortIndex``), decoded both ways.
- Units are never guessed: every optical column names a transform of
  gigafibre_fsm.core.diagnostics (``zte_snmp``, ``zte_olt_rx``, ``huawei_0.01``,
  ``huawei_olt_rx``), which also turns the sentinels (65535, −80000, 2147483647)
  into None; :func:`~gigafibre_fsm.core.diagnostics.optical_reading` builds the
  ``olt`` optical block that :func:`~gigafibre_fsm.core.diagnostics.merge` combines
  with GenieACS and the modem.
- Columns are read with GETBULK walks (``max_repetitions`` per request), one ONT
  with one GET. At most ``SNMPSettings.max_inflight_per_olt`` requests are in
  flight per OLT (an asyncio.Semaphore; snmp-olt-zte saw 42 % timeouts without
  such a cap), every request has the settings' timeout and retries, and
  :func:`sweep` reads many OLTs at once: one dead OLT costs its own timeout and
  never holds the others back.
- The wire is :mod:`gigafibre_fsm.connectors.snmp_v2c` (GET/GETBULK encoded and answers
  decoded by hand, one UDP socket shared by every OLT of a sweep or a worker): a walk
  decodes only the rows it keeps. pysnmp's engine spent two thirds of a walk in pyasn1
  and ~0.4 s per new engine (benchmarks/bench_olt_sweep.py).
- Errors are typed: :class:`~gigafibre_fsm.connectors.errors.ConnectorTimeout` when
  the agent does not answer (an SNMP v2c agent also stays silent on a wrong
  community), :class:`~gigafibre_fsm.connectors.errors.ConnectorResponseError` for
  SNMP error statuses and answers that cannot be used (OIDs not increasing),
  :class:`~gigafibre_fsm.connectors.errors.ConnectorUnavailable` when the address
  cannot be used at all. A sweep reports them per OLT instead of raising.

ZTE OIDs are under ``1.3.6.1.4.1.3902``, Huawei's under HUAWEI-XPON-MIB
``1.3.6.1.4.1.2011.6.128.1.1.2``. Columns marked *unverified* come from peer code
only and must be checked on a real OLT before anyone relies on them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gigafibre_fsm.connectors import snmp_v2c as wire
from gigafibre_fsm.connectors.errors import (
	ConnectorError,
	ConnectorResponseError,
	ConnectorTimeout,
	ConnectorUnavailable,
)
from gigafibre_fsm.core.diagnostics import error
from gigafibre_fsm.core.errors import CoreError, InvalidInput
from gigafibre_fsm.core.olt.profiles import (
	ALL_FIELDS,
	DEFAULT_FIELDS,
	SOURCE,
	Oid,
	OntLocation,
	get_profile,
	oid_text,
	oid_tuple,
)
from gigafibre_fsm.core.olt.readings import OntReading, build_reading
from gigafibre_fsm.core.settings import SNMPSettings

# ---------------------------------------------------------------------------
# the client

DEFAULT_MAX_REPETITIONS = 50


@dataclass(frozen=True)
class OltTarget:
	"""One OLT to read: its name (Network Element), address, community and profile."""

	name: str
	host: str
	community: str = field(default="public", repr=False)
	profile: str = "zte_c300"
	port: int = 161


class OltSnmpClient:
	"""Reads one OLT over SNMP v2c. Use ``async with`` (or call :meth:`close`).

	``transport`` (a :class:`~gigafibre_fsm.connectors.snmp_v2c.SnmpTransport`: one UDP
	socket) may be shared by many clients (a sweep, a worker's chunk jobs); the client then
	does not close it. ``clock`` (→ aware datetime) stamps the readings.
	"""

	def __init__(
		self,
		olt: OltTarget,
		settings: SNMPSettings | None = None,
		*,
		transport: wire.SnmpTransport | None = None,
		max_repetitions: int = DEFAULT_MAX_REPETITIONS,
		clock: Callable[[], datetime] | None = None,
	):
		self.olt = olt
		self.settings = settings or SNMPSettings()
		self.profile = get_profile(olt.profile)
		self.max_repetitions = max(1, int(max_repetitions))
		self.clock = clock or (lambda: datetime.now(UTC))
		self._own_transport = transport is None
		self.transport = transport or wire.SnmpTransport()
		self._community = olt.community.encode()
		self._address: tuple[int, tuple] | None = None
		self._limit = asyncio.Semaphore(max(1, int(self.settings.max_inflight_per_olt)))
		self._timeout = float(self.settings.timeout)
		self._retries = max(0, int(self.settings.retries))
		self.inflight = 0
		self.peak_inflight = 0
		self.requests = 0
		self.varbinds = 0

	async def __aenter__(self) -> OltSnmpClient:
		return self

	async def __aexit__(self, *exc) -> None:
		self.close()

	def close(self) -> None:
		if self._own_transport:
			self.transport.close()

	# -- low level
	def _describe(self) -> str:
		return f"OLT {self.olt.name} ({self.olt.host}:{self.olt.port})"

	async def _resolve(self) -> tuple[int, tuple]:
		if self._address is None:
			try:
				self._address = await self.transport.resolve(self.olt.host, int(self.olt.port))
			except (OSError, UnicodeError, ValueError) as e:
				raise ConnectorUnavailable(f"{self._describe()}: {e}", source=SOURCE)
		return self._address

	async def _request(
		self, kind: str, pdu: int, oids: list[bytes], max_repetitions: int = 0
	) -> list[tuple[bytes, int, bytes]]:
		"""One SNMP request under the per-OLT in-flight limit → raw varbinds (snmp_v2c); errors
		become typed errors."""
		family, address = await self._resolve()
		community = self._community

		def build(request_id: int) -> bytes:
			return wire.encode_request(pdu, request_id, community, oids, 0, max_repetitions)

		async with self._limit:
			self.inflight += 1
			self.peak_inflight = max(self.peak_inflight, self.inflight)
			self.requests += 1
			try:
				answer = await self.transport.request(
					family, address, build, timeout=self._timeout, retries=self._retries
				)
			finally:
				self.inflight -= 1
		if answer is None:
			raise ConnectorTimeout(
				f"{self._describe()} did not answer {kind} within {self.settings.timeout:g} s × "
				f"{self._retries + 1} tries (down, unreachable or wrong community)",
				source=SOURCE,
			)
		try:
			response = wire.decode_response(answer)
		except wire.DecodeError as e:
			raise ConnectorResponseError(f"{self._describe()}: {kind}: {e}", source=SOURCE)
		if response.error_status:
			where = ""
			index = response.error_index
			if 0 < index <= len(response.varbinds):
				where = f" at {oid_text(wire.decode_oid(response.varbinds[index - 1][0]))}"
			raise ConnectorResponseError(
				f"{self._describe()}: {kind}: SNMP error {response.error_name}{where}",
				source=SOURCE,
				status=response.error_status,
			)
		self.varbinds += len(response.varbinds)
		return response.varbinds

	async def get(self, oids: Iterable[str | Sequence[int]]) -> dict[Oid, object]:
		"""GET of a few OIDs in one request → OID → Python value (None for noSuch*)."""
		wanted = [wire.encode_oid(oid_tuple(o)) for o in oids]
		varbinds = await self._request("GET", wire.GET, wanted)
		return {wire.decode_oid(name): wire.decode_value(tag, value) for name, tag, value in varbinds}

	async def walk(self, oid: str | Sequence[int]) -> list[tuple[Oid, object]]:
		"""Every row under ``oid`` (a column or a subtree) with GETBULK, in OID order.

		An agent that answers tooBig gets half the max-repetitions (for the rest of this
		client's walks), down to one. Only what is kept is decoded: an answer's OIDs are compared with the root as BER
		bytes, the index arcs and the value of a row are decoded once it is known to be
		under the root, and the next request starts from the last row's OID as received.
		"""
		root = oid_tuple(oid)
		prefix = wire.encode_oid(root)
		cut = len(prefix)
		rows: list[tuple[Oid, object]] = []
		append = rows.append
		decode_arcs, decode_value, no_value = wire.decode_arcs, wire.decode_value, wire.NO_VALUE
		last: tuple[int, ...] = ()
		last_raw = prefix
		while True:
			asked = self.max_repetitions
			try:
				varbinds = await self._request("GETBULK", wire.GETBULK, [last_raw], asked)
			except ConnectorResponseError as e:
				if e.status != wire.TOO_BIG or asked == 1:
					raise
				# the answer would not fit in one message: ask for less (columns walked in
				# parallel share the figure, so two tooBig answers to one figure halve it once)
				self.max_repetitions = min(self.max_repetitions, asked // 2)
				continue
			if not varbinds:
				return rows
			for name, tag, value in varbinds:
				if name[:cut] != prefix or tag in no_value:
					return rows  # left the subtree, or endOfMibView
				index = decode_arcs(name[cut:])
				if index <= last:
					raise ConnectorResponseError(
						f"{self._describe()}: GETBULK: OID not increasing ({oid_text((*root, *index))} "
						f"after {oid_text((*root, *last))})",
						source=SOURCE,
					)
				append(((*root, *index), decode_value(tag, value)))
				last, last_raw = index, name

	# -- the ONT table
	def _fields(self, fields: Iterable[str] | None) -> list[str]:
		names = list(fields or DEFAULT_FIELDS)
		for name in names:
			self.profile.column(name)
		return names

	async def _walk_columns(self, fields: list[str], under: tuple[int, ...] = ()) -> dict[str, list]:
		tasks = {
			name: asyncio.create_task(self.walk((*self.profile.columns[name].oid, *under))) for name in fields
		}
		try:
			await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_EXCEPTION)
			for task in tasks.values():
				if task.done() and task.exception():
					raise task.exception()
			return {name: task.result() for name, task in tasks.items()}
		finally:
			for task in tasks.values():
				task.cancel()
			await asyncio.gather(*tasks.values(), return_exceptions=True)

	def _assemble(self, columns: dict[str, list], asof: datetime) -> list[OntReading]:
		rows: dict[tuple[int, int], dict[str, object]] = {}
		for name, walked in columns.items():
			column = self.profile.columns[name]
			depth = len(column.oid)
			suffix = column.suffix
			for oid, value in walked:
				index = oid[depth:]
				if suffix:
					if index[-len(suffix) :] != suffix:
						continue
					index = index[: -len(suffix)]
				if len(index) == 2:
					rows.setdefault(index, {})[name] = value
		readings = []
		for index in sorted(rows):
			try:
				location = self.profile.ont_of(index)
			except InvalidInput:
				continue  # not a GPON ONT row of this profile (another technology's port)
			readings.append(build_reading(self.profile, self.olt.name, location, rows[index], asof))
		return readings

	async def read_olt(self, fields: Iterable[str] | None = None) -> list[OntReading]:
		"""Every ONT of the OLT: one bulk walk per column, the columns in parallel."""
		names = self._fields(fields)
		columns = await self._walk_columns(names)
		return self._assemble(columns, self.clock())

	async def read_port(
		self, frame: int, slot: int, port: int, fields: Iterable[str] | None = None
	) -> list[OntReading]:
		"""The ONTs of one PON port: each column walked under ``{column}.{ifIndex}``."""
		names = self._fields(fields)
		if_index = self.profile.if_index(frame, slot, port)
		columns = await self._walk_columns(names, (if_index,))
		return self._assemble(columns, self.clock())

	async def read_ont(
		self, frame: int, slot: int, port: int, ont: int, fields: Iterable[str] | None = None
	) -> OntReading | None:
		"""One ONT with one GET; None when the OLT has no row for it."""
		names = list(fields or ALL_FIELDS)
		for name in names:
			self.profile.column(name)
		if_index, ont_id = self.profile.ont_index(frame, slot, port, ont)
		oids = {name: self.profile.columns[name].instance(if_index, ont_id) for name in names}
		values = await self.get(oids.values())
		row = {name: values.get(oid) for name, oid in oids.items()}
		if all(value is None for value in row.values()):
			return None
		row = {name: value for name, value in row.items() if value is not None}
		return build_reading(
			self.profile, self.olt.name, OntLocation(frame, slot, port, ont), row, self.clock()
		)


# ---------------------------------------------------------------------------
# many OLTs at once


@dataclass
class SweepResult:
	"""One OLT's part of a sweep: its ONTs, or the error that stopped it."""

	olt: str
	onts: list[OntReading] = field(default_factory=list)
	error: dict | None = None  # core.diagnostics.error(): source, code, template, params, message
	exception: Exception | None = None
	elapsed_s: float = 0.0
	requests: int = 0
	peak_inflight: int = 0

	@property
	def ok(self) -> bool:
		return self.error is None

	def to_dict(self) -> dict:
		return {
			"olt": self.olt,
			"ok": self.ok,
			"onts": [o.to_dict() for o in self.onts],
			"error": self.error,
			"elapsed_s": round(self.elapsed_s, 3),
			"requests": self.requests,
		}


def _sweep_error(olt: OltTarget, exc: Exception) -> dict:
	if isinstance(exc, ConnectorTimeout):
		return error(
			SOURCE,
			"timeout",
			"The OLT {0} did not answer over SNMP (down, unreachable or wrong community)",
			olt.name,
		)
	if isinstance(exc, ConnectorResponseError):
		return error(SOURCE, "snmp_error", "The OLT {0} answered with an SNMP error: {1}", olt.name, str(exc))
	if isinstance(exc, CoreError):
		return error(SOURCE, "invalid", exc.template, *exc.params)
	return error(SOURCE, "unavailable", "The OLT {0} cannot be reached: {1}", olt.name, str(exc))


async def sweep(
	olts: Iterable[OltTarget],
	settings: SNMPSettings | None = None,
	*,
	fields: Iterable[str] | None = None,
	max_repetitions: int = DEFAULT_MAX_REPETITIONS,
	clock: Callable[[], datetime] | None = None,
	transport: wire.SnmpTransport | None = None,
) -> dict[str, SweepResult]:
	"""Read the ONT tables of many OLTs in parallel → OLT name → :class:`SweepResult`.

	Each OLT keeps its own in-flight cap; one that fails (timeout, SNMP error, bad
	profile) gets an ``error`` in its result and the others carry on.
	"""
	olts = list(olts)
	names = [o.name for o in olts]
	if len(set(names)) != len(names):
		raise ValueError("two OLTs of one sweep share a name")
	settings = settings or SNMPSettings()
	own_transport = transport is None
	transport = transport or wire.SnmpTransport()
	field_list = list(fields) if fields else None

	async def one(olt: OltTarget) -> SweepResult:
		started = time.perf_counter()
		result = SweepResult(olt=olt.name)
		client = None
		try:
			client = OltSnmpClient(
				olt, settings, transport=transport, max_repetitions=max_repetitions, clock=clock
			)
			result.onts = await client.read_olt(field_list)
		except (ConnectorError, CoreError) as e:
			result.error = _sweep_error(olt, e)
			result.exception = e
		finally:
			result.elapsed_s = time.perf_counter() - started
			if client:
				result.requests = client.requests
				result.peak_inflight = client.peak_inflight
		return result

	try:
		results = await asyncio.gather(*(one(o) for o in olts))
	finally:
		if own_transport:
			transport.close()
	return {r.olt: r for r in results}


def sweep_sync(
	olts: Iterable[OltTarget], settings: SNMPSettings | None = None, **kwargs
) -> dict[str, SweepResult]:
	""":func:`sweep` for synchronous callers (background jobs): runs its own event loop."""
	return asyncio.run(sweep(olts, settings, **kwargs))
