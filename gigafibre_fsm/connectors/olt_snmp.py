"""OLTs over SNMP v2c (pysnmp 7, asyncio): ONT optical levels, status and serials.

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

from pyasn1.type import univ
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
	CommunityData,
	ContextData,
	ObjectIdentity,
	ObjectType,
	SnmpEngine,
	UdpTransportTarget,
	bulk_cmd,
	get_cmd,
)
from pysnmp.proto import errind

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


def _python(value):
	"""A pysnmp/pyasn1 value as plain Python; the SNMP exceptions (noSuch*, endOfMibView) → None."""
	if isinstance(value, univ.Null):  # NoSuchObject, NoSuchInstance, EndOfMibView derive from Null
		return None
	if isinstance(value, univ.Integer):
		return int(value)
	if isinstance(value, univ.OctetString):
		return bytes(value.asOctets())
	if isinstance(value, univ.ObjectIdentifier):
		return tuple(value)
	return value.prettyPrint()


class OltSnmpClient:
	"""Reads one OLT over SNMP v2c. Use ``async with`` (or call :meth:`close`).

	``engine`` may be shared by many clients (a sweep does); the client then does not
	close it. ``clock`` (→ aware datetime) stamps the readings.
	"""

	def __init__(
		self,
		olt: OltTarget,
		settings: SNMPSettings | None = None,
		*,
		engine: SnmpEngine | None = None,
		max_repetitions: int = DEFAULT_MAX_REPETITIONS,
		clock: Callable[[], datetime] | None = None,
	):
		self.olt = olt
		self.settings = settings or SNMPSettings()
		self.profile = get_profile(olt.profile)
		self.max_repetitions = max(1, int(max_repetitions))
		self.clock = clock or (lambda: datetime.now(UTC))
		self._own_engine = engine is None
		self.engine = engine or SnmpEngine()
		self._auth = CommunityData(olt.community, mpModel=1)  # v2c
		self._context = ContextData()
		self._target: UdpTransportTarget | None = None
		self._limit = asyncio.Semaphore(max(1, int(self.settings.max_inflight_per_olt)))
		self.inflight = 0
		self.peak_inflight = 0
		self.requests = 0
		self.varbinds = 0
		# a request never waits longer than pysnmp's own timeout × tries, plus a little slack
		tries = max(0, int(self.settings.retries)) + 1
		self._deadline = float(self.settings.timeout) * tries + 0.5

	async def __aenter__(self) -> OltSnmpClient:
		return self

	async def __aexit__(self, *exc) -> None:
		self.close()

	def close(self) -> None:
		if self._own_engine:
			self.engine.close_dispatcher()

	# -- low level
	def _describe(self) -> str:
		return f"OLT {self.olt.name} ({self.olt.host}:{self.olt.port})"

	async def _transport(self) -> UdpTransportTarget:
		if self._target is None:
			try:
				self._target = await UdpTransportTarget.create(
					(self.olt.host, int(self.olt.port)),
					timeout=float(self.settings.timeout),
					retries=max(0, int(self.settings.retries)),
				)
			except PySnmpError as e:
				raise ConnectorUnavailable(f"{self._describe()}: {e}", source=SOURCE)
		return self._target

	async def _request(self, kind: str, call, *args) -> list[tuple[Oid, object]]:
		"""One SNMP request under the per-OLT in-flight limit; errors become typed errors."""
		target = await self._transport()
		async with self._limit:
			self.inflight += 1
			self.peak_inflight = max(self.peak_inflight, self.inflight)
			self.requests += 1
			try:
				result = await asyncio.wait_for(
					call(self.engine, self._auth, target, self._context, *args, lookupMib=False),
					self._deadline,
				)
			except TimeoutError:
				result = (errind.requestTimedOut, 0, 0, ())
			except PySnmpError as e:
				raise ConnectorUnavailable(f"{self._describe()}: {kind} failed: {e}", source=SOURCE)
			finally:
				self.inflight -= 1
		indication, status, index, varbinds = result
		if indication:
			if isinstance(indication, errind.RequestTimedOut):
				raise ConnectorTimeout(
					f"{self._describe()} did not answer {kind} within {self.settings.timeout:g} s × "
					f"{max(0, int(self.settings.retries)) + 1} tries (down, unreachable or wrong community)",
					source=SOURCE,
				)
			raise ConnectorResponseError(f"{self._describe()}: {kind}: {indication}", source=SOURCE)
		if status:
			where = ""
			if index and varbinds and int(index) <= len(varbinds):
				where = f" at {oid_text(tuple(varbinds[int(index) - 1][0]))}"
			raise ConnectorResponseError(
				f"{self._describe()}: {kind}: SNMP error {status.prettyPrint()}{where}",
				source=SOURCE,
				status=int(status),
			)
		self.varbinds += len(varbinds)
		return [(tuple(name), value) for name, value in varbinds]

	async def get(self, oids: Iterable[str | Sequence[int]]) -> dict[Oid, object]:
		"""GET of a few OIDs in one request → OID → Python value (None for noSuch*)."""
		wanted = [oid_tuple(o) for o in oids]
		varbinds = await self._request("GET", get_cmd, *(ObjectType(ObjectIdentity(o)) for o in wanted))
		return {name: _python(value) for name, value in varbinds}

	async def walk(self, oid: str | Sequence[int]) -> list[tuple[Oid, object]]:
		"""Every row under ``oid`` (a column or a subtree) with GETBULK, in OID order."""
		root = oid_tuple(oid)
		depth = len(root)
		rows: list[tuple[Oid, object]] = []
		last = root
		while True:
			varbinds = await self._request(
				"GETBULK", bulk_cmd, 0, self.max_repetitions, ObjectType(ObjectIdentity(last))
			)
			if not varbinds:
				return rows
			for name, value in varbinds:
				if name[:depth] != root or isinstance(value, univ.Null):
					return rows  # left the subtree, or endOfMibView
				if name <= last:
					raise ConnectorResponseError(
						f"{self._describe()}: GETBULK: OID not increasing ({oid_text(name)} after "
						f"{oid_text(last)})",
						source=SOURCE,
					)
				rows.append((name, _python(value)))
				last = name

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
	engine: SnmpEngine | None = None,
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
	own_engine = engine is None
	engine = engine or SnmpEngine()
	field_list = list(fields) if fields else None

	async def one(olt: OltTarget) -> SweepResult:
		started = time.perf_counter()
		result = SweepResult(olt=olt.name)
		client = None
		try:
			client = OltSnmpClient(olt, settings, engine=engine, max_repetitions=max_repetitions, clock=clock)
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
		if own_engine:
			engine.close_dispatcher()
	return {r.olt: r for r in results}


def sweep_sync(
	olts: Iterable[OltTarget], settings: SNMPSettings | None = None, **kwargs
) -> dict[str, SweepResult]:
	""":func:`sweep` for synchronous callers (background jobs): runs its own event loop."""
	return asyncio.run(sweep(olts, settings, **kwargs))
