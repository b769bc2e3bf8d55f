"""OLTs over SNMP v2c (pysnmp 7, asyncio): ONT optical levels, status and serials.

What shared/NETWORK.md §4 says and this connector relies on:

- Vendors differ in OIDs, index arithmetic and units, so each vendor is a
  :class:`OltProfile` (plain data) in a registry: :func:`register_profile`,
  :func:`get_profile` (by name or alias), :func:`profile_names`. ZTE C300/C320 and
  Huawei MA5600T/MA5800 ship here; other vendors (Nokia ISAM, TP-Link, Calix)
  plug in with their own profile, and with :func:`register_decoder` for values
  that need special decoding.
- ONT rows are indexed ``{ifIndex}.{ontId}[.suffix]``; the PON port's ifIndex is a
  linear function of frame/slot/port (:class:`PortIndex`), decoded both ways.
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
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

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
from gigafibre_fsm.core.diagnostics import (
	DEFAULT_STALE_AFTER,
	TRANSFORMS,
	Diagnosis,
	error,
	iso,
	optical_reading,
)
from gigafibre_fsm.core.errors import CoreError, InvalidInput, NotFound
from gigafibre_fsm.core.settings import SNMPSettings

SOURCE = "olt"
DEFAULT_MAX_REPETITIONS = 50
OPTICAL_FIELDS = ("rx", "tx", "olt_rx")
# what a sweep reads unless told otherwise: the optical table and what identifies the ONT
DEFAULT_FIELDS = ("rx", "olt_rx", "tx", "status", "serial")
ALL_FIELDS = (*DEFAULT_FIELDS, "name", "distance")
# canonical ONT states (the profile maps the vendor's integers onto these)
ONT_STATES = ("online", "offline", "los", "dying_gasp", "logging", "sync_mib", "auth_failed")

Oid = tuple[int, ...]


def oid_tuple(oid: str | Sequence[int]) -> Oid:
	"""``"1.3.6.1…"`` / ``".1.3.6.1…"`` / a sequence of ints → a tuple of ints."""
	if isinstance(oid, str):
		return tuple(int(arc) for arc in oid.strip().strip(".").split("."))
	return tuple(int(arc) for arc in oid)


def oid_text(oid: Sequence[int]) -> str:
	return ".".join(str(arc) for arc in oid)


# ---------------------------------------------------------------------------
# value decoders (raw Python value from the wire → what the reading holds)


def _text(raw) -> str | None:
	if raw is None:
		return None
	if isinstance(raw, bytes):
		raw = raw.decode("utf-8", errors="replace")
	text = str(raw).replace("\x00", "").strip()
	return text or None


def _int(raw) -> int | None:
	if raw is None or isinstance(raw, bool):
		return None
	if isinstance(raw, int):
		return raw
	try:
		return int(_text(raw) or "")
	except ValueError:
		return None


def _distance(raw) -> int | None:
	"""Metres; negative values (Huawei −1 for an offline ONT) mean "unknown"."""
	value = _int(raw)
	return value if value is not None and value >= 0 else None


_GPON_SERIAL = re.compile(r"^[A-Za-z0-9]{4}[0-9A-Fa-f]{8}$")


def _serial_zte(raw) -> str | None:
	"""ZTE serial column: ``"1,ZTEGC0FFEE12"`` (a leading ``<n>,`` is stripped)."""
	text = _text(raw)
	if text is None:
		return None
	text = re.sub(r"^\d+,", "", text).strip()
	return _canonical_serial(text)


def _serial_huawei(raw) -> str | None:
	"""Huawei ``.43.1.3``: 8 bytes, 4 ASCII vendor letters + 4 bytes shown as hex."""
	if raw is None:
		return None
	if isinstance(raw, bytes) and len(raw) == 8 and raw[:4].isascii() and raw[:4].decode().isalnum():
		return raw[:4].decode().upper() + raw[4:].hex().upper()
	text = _text(raw)
	if text and re.fullmatch(r"[0-9A-Fa-f]{16}", text):  # the 8 bytes written as hex
		head = bytes.fromhex(text[:8])
		if head.isascii() and head.decode().isalnum():
			return head.decode().upper() + text[8:].upper()
	return _canonical_serial(text)


def _canonical_serial(text: str | None) -> str | None:
	if not text:
		return None
	return text[:4].upper() + text[4:].upper() if _GPON_SERIAL.match(text) else text


DECODERS: dict[str, Callable[[object], object]] = {
	"int": _int,
	"text": _text,
	"distance": _distance,
	"serial_zte": _serial_zte,
	"serial_huawei": _serial_huawei,
}


def register_decoder(name: str, decoder: Callable[[object], object]) -> None:
	"""Add a value decoder a plugin profile's columns can name (``Column(decoder=name)``)."""
	DECODERS[name] = decoder


# ---------------------------------------------------------------------------
# profiles (plain data)


class OntLocation(NamedTuple):
	frame: int
	slot: int
	port: int
	ont: int

	@property
	def pon(self) -> str:
		return f"{self.frame}/{self.slot}/{self.port}"

	def __str__(self) -> str:
		return f"{self.pon}:{self.ont}"


@dataclass(frozen=True)
class PortIndex:
	"""A PON port's ifIndex = base + frame·frame_step + slot·slot_step + port·port_step.

	Decoding divides in the same order and checks every part against its range, so
	an index that is not a PON port of this scheme is refused rather than misread.
	"""

	base: int
	frame_step: int
	slot_step: int
	port_step: int
	frames: tuple[int, int]
	slots: tuple[int, int]
	ports: tuple[int, int]

	def encode(self, frame: int, slot: int, port: int, *, profile: str = "") -> int:
		for template, value, (low, high) in (
			("Frame {0} is out of range for {1} ({2} to {3})", frame, self.frames),
			("Slot {0} is out of range for {1} ({2} to {3})", slot, self.slots),
			("PON port {0} is out of range for {1} ({2} to {3})", port, self.ports),
		):
			if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
				raise InvalidInput(template, value, profile, low, high)
		return self.base + frame * self.frame_step + slot * self.slot_step + port * self.port_step

	def decode(self, if_index: int, *, profile: str = "") -> tuple[int, int, int]:
		rest = int(if_index) - self.base
		frame, rest = divmod(rest, self.frame_step) if rest >= 0 else (-1, 0)
		slot, rest = divmod(rest, self.slot_step)
		port, rest = divmod(rest, self.port_step)
		parts = ((frame, self.frames), (slot, self.slots), (port, self.ports))
		if rest or any(not low <= value <= high for value, (low, high) in parts):
			raise InvalidInput("{0} is not a PON port ifIndex of {1}", if_index, profile)
		return frame, slot, port


@dataclass(frozen=True)
class Column:
	"""One SNMP table column of an ONT table: rows ``{oid}.{ifIndex}.{ontId}{suffix}``.

	``decoder`` names a :data:`DECODERS` entry, or is ``"optical"`` (then ``transform``
	names a gigafibre_fsm.core.diagnostics TRANSFORMS entry) or ``"status"`` (mapped
	by the profile's ``status_map``).
	"""

	oid: Oid
	decoder: str = "int"
	transform: str | None = None
	suffix: tuple[int, ...] = ()
	note: str = ""

	def __post_init__(self):
		object.__setattr__(self, "oid", oid_tuple(self.oid))
		object.__setattr__(self, "suffix", tuple(self.suffix))

	def instance(self, if_index: int, ont: int) -> Oid:
		return (*self.oid, if_index, ont, *self.suffix)


@dataclass(frozen=True)
class OltProfile:
	"""Everything vendor-specific about reading one OLT family's ONT table."""

	name: str
	vendor: str
	models: tuple[str, ...]
	port_index: PortIndex
	onts: tuple[int, int]  # first and last ONT id on a PON port
	columns: Mapping[str, Column]  # field (rx, tx, olt_rx, status, serial, name, distance) → column
	status_map: Mapping[int, str]  # vendor integer → one of ONT_STATES
	aliases: tuple[str, ...] = ()
	notes: str = ""

	def if_index(self, frame: int, slot: int, port: int) -> int:
		"""The PON port's ifIndex (InvalidInput when a part is out of range)."""
		return self.port_index.encode(frame, slot, port, profile=self.name)

	def port_of(self, if_index: int) -> tuple[int, int, int]:
		"""(frame, slot, port) of a PON port ifIndex (InvalidInput when it is not one)."""
		return self.port_index.decode(if_index, profile=self.name)

	def ont_index(self, frame: int, slot: int, port: int, ont: int) -> tuple[int, int]:
		"""The ONT's row index ``(ifIndex, ontId)`` (a column's suffix comes on top)."""
		low, high = self.onts
		if not isinstance(ont, int) or isinstance(ont, bool) or not low <= ont <= high:
			raise InvalidInput("ONT id {0} is out of range for {1} ({2} to {3})", ont, self.name, low, high)
		return self.if_index(frame, slot, port), ont

	def ont_of(self, index: Sequence[int]) -> OntLocation:
		"""Decode a row index ``(ifIndex, ontId)`` back to frame/slot/port/ONT."""
		if len(index) != 2:
			raise InvalidInput("{0} is not a PON port ifIndex of {1}", oid_text(index), self.name)
		frame, slot, port = self.port_of(index[0])
		low, high = self.onts
		if not low <= index[1] <= high:
			raise InvalidInput(
				"ONT id {0} is out of range for {1} ({2} to {3})", index[1], self.name, low, high
			)
		return OntLocation(frame, slot, port, int(index[1]))

	def column(self, name: str) -> Column:
		if name not in self.columns:
			raise InvalidInput("The OLT profile {0} has no {1} column", self.name, name)
		return self.columns[name]

	def status(self, raw) -> str | None:
		value = _int(raw)
		return None if value is None else self.status_map.get(value, f"unknown({value})")

	def decode(self, name: str, raw):
		"""A non-optical column's raw value, decoded (optical ones go through optical_reading)."""
		column = self.columns[name]
		if column.decoder == "status":
			return self.status(raw)
		if column.decoder == "optical":
			return raw
		return DECODERS[column.decoder](raw)


_ZTE = "1.3.6.1.4.1.3902"
_HW = "1.3.6.1.4.1.2011.6.128.1.1.2"

ZTE_C300 = OltProfile(
	name="zte_c300",
	vendor="ZTE",
	models=("C300", "C320"),
	aliases=("zte_c320", "zte"),
	# 1/1/1 = 285278465: 0x11000000 + shelf<<16 + slot<<8 + pon
	port_index=PortIndex(
		base=0x11000000,
		frame_step=1 << 16,
		slot_step=1 << 8,
		port_step=1,
		frames=(0, 255),
		slots=(0, 255),
		ports=(0, 255),
	),
	onts=(1, 128),
	columns={
		"rx": Column(f"{_ZTE}.1082.500.20.2.2.2.1.10", "optical", "zte_snmp", suffix=(1,)),
		"tx": Column(
			f"{_ZTE}.1082.500.20.2.2.2.1.14",
			"optical",
			"zte_snmp",
			suffix=(1,),
			note="unverified: peers read it with the RX formula; one uses (raw − 13000)/1000",
		),
		"olt_rx": Column(
			f"{_ZTE}.1015.1010.11.2.1.2",
			"optical",
			"zte_olt_rx",
			note="unverified: peer code indexes it {ifIndex}.{onu}",
		),
		"status": Column(f"{_ZTE}.1082.500.10.2.3.8.1.4", "status"),
		"serial": Column(f"{_ZTE}.1082.500.10.2.3.3.1.18", "serial_zte"),
		"name": Column(f"{_ZTE}.1082.500.10.2.3.3.1.2", "text"),
		"distance": Column(f"{_ZTE}.1082.500.10.2.3.10.1.2", "distance"),
	},
	status_map={
		1: "logging",
		2: "los",
		3: "sync_mib",
		4: "online",
		5: "dying_gasp",
		6: "auth_failed",
		7: "offline",
	},
	notes="ZTE C300/C320 V2.1 (C600 similar); older firmware has ONU RX under .3902.1012.3.50.12.1.1.10",
)

HUAWEI_MA5800 = OltProfile(
	name="huawei_ma5800",
	vendor="Huawei",
	models=("MA5600T", "MA5800"),
	aliases=("huawei_ma5600t", "huawei"),
	# 0/1/0 = 4194312192: 4194304000 + slot·8192 + port·256 (frame 0 only is documented)
	port_index=PortIndex(
		base=4194304000,
		frame_step=1 << 19,
		slot_step=8192,
		port_step=256,
		frames=(0, 0),
		slots=(0, 63),
		ports=(0, 31),
	),
	onts=(0, 255),
	columns={
		"rx": Column(f"{_HW}.51.1.4", "optical", "huawei_0.01"),
		"tx": Column(
			f"{_HW}.51.1.3",
			"optical",
			"huawei_0.01",
			note="unverified: peers disagree whether TX is .51.1.3 or .51.1.5 (probe)",
		),
		"olt_rx": Column(
			f"{_HW}.51.1.6",
			"optical",
			"huawei_olt_rx",
			note="one peer sees nW on some firmware",
		),
		"status": Column(f"{_HW}.46.1.15", "status"),
		"serial": Column(f"{_HW}.43.1.3", "serial_huawei"),
		"name": Column(f"{_HW}.43.1.9", "text", note="unverified: ONT description"),
		"distance": Column(f"{_HW}.46.1.20", "distance"),
	},
	status_map={1: "online", 2: "offline"},
	notes="HUAWEI-XPON-MIB; run status has no LOS/dying-gasp detail",
)

_PROFILES: dict[str, OltProfile] = {}
_ALIASES: dict[str, str] = {}


def register_profile(profile: OltProfile, *, replace: bool = False) -> OltProfile:
	"""Make ``profile`` available by its name and aliases (the plugin entry point).

	Checks that every column's decoder and transform exist, so a broken plugin fails
	when it registers rather than in the middle of a sweep.
	"""
	for name, column in profile.columns.items():
		if column.decoder == "optical":
			if column.transform not in TRANSFORMS:
				raise ValueError(f"{profile.name}.{name}: unknown optical transform {column.transform!r}")
		elif column.decoder != "status" and column.decoder not in DECODERS:
			raise ValueError(f"{profile.name}.{name}: unknown decoder {column.decoder!r}")
		if not column.oid:
			raise ValueError(f"{profile.name}.{name}: empty OID")
	keys = [profile.name.lower(), *(a.lower() for a in profile.aliases)]
	if not replace:
		taken = [k for k in keys if k in _ALIASES]
		if taken:
			raise ValueError(f"OLT profile name already registered: {', '.join(taken)}")
	_PROFILES[profile.name.lower()] = profile
	for key in keys:
		_ALIASES[key] = profile.name.lower()
	return profile


def get_profile(name: str | OltProfile) -> OltProfile:
	"""A registered profile by name or alias (case-insensitive); NotFound otherwise."""
	if isinstance(name, OltProfile):
		return name
	key = _ALIASES.get(str(name or "").strip().lower())
	if key is None:
		raise NotFound("Unknown OLT profile {0}", name)
	return _PROFILES[key]


def profile_names() -> list[str]:
	return sorted(_PROFILES)


register_profile(ZTE_C300)
register_profile(HUAWEI_MA5800)


# ---------------------------------------------------------------------------
# readings


@dataclass
class OntReading:
	"""One ONT as the OLT sees it: location, identity, state and optical levels (dBm)."""

	olt: str
	profile: str
	location: OntLocation
	if_index: int
	asof: datetime
	serial: str | None = None
	name: str | None = None
	ont_status: str | None = None  # one of ONT_STATES (or "unknown(<n>)")
	online: bool | None = None
	distance_m: int | None = None
	rx_dbm: float | None = None  # ONT receive level (downstream)
	tx_dbm: float | None = None  # ONT transmit level
	olt_rx_dbm: float | None = None  # what the OLT receives from this ONT (upstream)
	optical_status: str = "unknown"  # ok / low / high / los / unknown (core.diagnostics)
	raw: dict[str, object] = field(default_factory=dict)
	transforms: dict[str, str] = field(default_factory=dict)
	errors: list[dict] = field(default_factory=list)

	@property
	def frame(self) -> int:
		return self.location.frame

	@property
	def slot(self) -> int:
		return self.location.slot

	@property
	def port(self) -> int:
		return self.location.port

	@property
	def ont(self) -> int:
		return self.location.ont

	def optical_block(self, *, now=None, stale_after: timedelta | float = DEFAULT_STALE_AFTER) -> dict:
		"""The ``olt`` optical block for core.diagnostics.merge() (built by optical_reading)."""
		block, _ = self._optical(now or self.asof, stale_after)
		return block

	def to_diagnosis(self, *, now=None, stale_after: timedelta | float = DEFAULT_STALE_AFTER) -> Diagnosis:
		"""A partial Diagnosis (optical block, errors, sources) to merge with the other sources."""
		block, errors = self._optical(now or self.asof, stale_after)
		return Diagnosis(
			optical=block,
			errors=errors,
			sources={SOURCE: {"asof": iso(self.asof), "ok": not errors}},
		)

	def to_dict(self) -> dict:
		return {
			"olt": self.olt,
			"profile": self.profile,
			"pon": self.location.pon,
			"frame": self.frame,
			"slot": self.slot,
			"port": self.port,
			"ont": self.ont,
			"if_index": self.if_index,
			"serial": self.serial,
			"name": self.name,
			"ont_status": self.ont_status,
			"online": self.online,
			"distance_m": self.distance_m,
			"rx_dbm": self.rx_dbm,
			"tx_dbm": self.tx_dbm,
			"olt_rx_dbm": self.olt_rx_dbm,
			"optical_status": self.optical_status,
			"asof": iso(self.asof),
			"raw": dict(self.raw),
			"errors": list(self.errors),
		}

	def _optical(self, now, stale_after) -> tuple[dict, list[dict]]:
		kwargs = {}
		for name in OPTICAL_FIELDS:
			if name in self.transforms:
				kwargs[name] = self.raw.get(name)
				kwargs[f"{name}_transform"] = self.transforms[name]
		interface_status = {
			"online": "Up",
			"los": "NoSignal",
			"dying_gasp": "Dormant",
			None: None,
		}.get(self.ont_status, "Down")
		block, errors = optical_reading(
			SOURCE,
			now=now,
			asof=self.asof,
			stale_after=stale_after,
			interface_status=interface_status,
			paths={n: f"{SOURCE}:{self.olt}:{self.location}:{n}" for n in OPTICAL_FIELDS},
			**kwargs,
		)
		if self.ont_status in ("online", "dying_gasp") and block["rx_dbm"] is None:
			# online without a reading (the sentinel), or power lost at the customer (dying
			# gasp): the OLT says which, and neither is a loss of signal on the fibre
			block["status"] = "unknown"
		block.update(
			olt=self.olt,
			pon=self.location.pon,
			ont_id=self.ont,
			gpon_serial=self.serial,
			ont_status=self.ont_status,
			online=self.online,
			distance_m=self.distance_m,
		)
		return block, errors


def _json_raw(raw):
	"""Bytes as text when printable, else as hex, so ``raw`` stays JSON-serialisable."""
	if isinstance(raw, bytes):
		try:
			text = raw.decode("ascii")
		except UnicodeDecodeError:
			return raw.hex()
		return text if text.isprintable() else raw.hex()
	if isinstance(raw, tuple):
		return oid_text(raw)
	return raw


def build_reading(
	profile: OltProfile, olt: str, location: OntLocation, values: Mapping[str, object], asof: datetime
) -> OntReading:
	"""An OntReading from one row of raw column values (field → Python value from the wire)."""
	reading = OntReading(
		olt=olt,
		profile=profile.name,
		location=location,
		if_index=profile.if_index(location.frame, location.slot, location.port),
		asof=asof,
	)
	for name, raw in values.items():
		column = profile.columns[name]
		reading.raw[name] = _json_raw(raw)
		if column.decoder == "optical":
			reading.transforms[name] = column.transform
	reading.serial = profile.decode("serial", values["serial"]) if "serial" in values else None
	reading.name = profile.decode("name", values["name"]) if "name" in values else None
	reading.distance_m = profile.decode("distance", values["distance"]) if "distance" in values else None
	if "status" in values:
		reading.ont_status = profile.status(values["status"])
		reading.online = None if reading.ont_status is None else reading.ont_status == "online"
	block, errors = reading._optical(asof, DEFAULT_STALE_AFTER)
	reading.rx_dbm = block["rx_dbm"]
	reading.tx_dbm = block["tx_dbm"]
	reading.olt_rx_dbm = block["olt_rx_dbm"]
	reading.optical_status = block["status"]
	reading.errors = errors
	return reading


# ---------------------------------------------------------------------------
# the client


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
