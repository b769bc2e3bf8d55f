"""OLT vendor profiles as plain data: OIDs, ONT index arithmetic, value decoders, canonical states.

Each vendor is an :class:`OltProfile` in a registry (:func:`register_profile`, :func:`get_profile` by
name or alias, :func:`profile_names`); ZTE C300/C320 and Huawei MA5600T/MA5800 ship here. ONT rows are
indexed ``{ifIndex}.{ontId}[.suffix]``; a PON port's ifIndex is a linear function of frame/slot/port
(:class:`PortIndex`), decoded both ways. Units are never guessed: every optical column names a
transform of gigafibre_fsm.core.diagnostics. Read by connectors/olt_snmp.py, which speaks SNMP.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from gigafibre_fsm.core.diagnostics import (
	TRANSFORMS,
)
from gigafibre_fsm.core.errors import InvalidInput, NotFound

SOURCE = "olt"
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
