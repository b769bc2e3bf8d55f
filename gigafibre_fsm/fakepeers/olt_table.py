"""Test data: GENERATED OLT optical tables for the fake OLT agent (olt_agent.py).

:func:`generate_table` builds a realistic ONT optical table for one OLT: N PON
ports × M ONTs, seeded random receive levels around −20 dBm with some low,
high, very low (ZTE 16-bit wrap), LOS, offline and "no reading" (sentinel)
values, and vendor serials. It returns the SNMP varbinds *and* the truth
(:class:`OntTruth`, in dBm), so tests compare what the connector decodes with
what the generator meant. The OIDs, index arithmetic and raw encodings here are
written independently of the connector, from shared/NETWORK.md §4:

- ZTE C300/C320: GPON ifIndex = 0x11000000 + shelf<<16 + slot<<8 + pon; rows
  ``{ifIndex}.{onu}``; ONU RX/TX ``.1082.500.20.2.2.2.1.10/.14.{ifIndex}.{onu}.1``,
  raw = (dBm + 30) / 0.002 as a 16-bit value, 65535 = no reading; OLT-side RX
  ``.1015.1010.11.2.1.2`` in 0.001 dBm, −80000 = none; phase ``.8.1.4``; serial
  ``.3.3.1.18`` as ``"1,ZTEG…"``; name ``.3.3.1.2``; distance ``.3.10.1.2``.
- Huawei MA5600T/MA5800: GPON ifIndex = 4194304000 + slot·8192 + port·256
  (frame 0); rows ``{ifIndex}.{ontId}``; ONT RX/TX ``.51.1.4/.3`` in 0.01 dBm,
  OLT-side RX ``.51.1.6`` = dBm·100 + 10000, 2147483647 = invalid; run status
  ``.46.1.15`` (1 up, 2 down); distance ``.46.1.20``; serial ``.43.1.3`` as 8
  bytes (4 ASCII + 4 binary); description ``.43.1.9``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

ZTE = "zte"
HUAWEI = "huawei"
VENDORS = (ZTE, HUAWEI)
# the connector profile each generated table imitates
PROFILE_NAMES = {ZTE: "zte_c300", HUAWEI: "huawei_ma5800"}

_ZTE_ROOT = (1, 3, 6, 1, 4, 1, 3902)
_HUAWEI_ROOT = (1, 3, 6, 1, 4, 1, 2011)
_HW_XPON = (*_HUAWEI_ROOT, 6, 128, 1, 1, 2)

ZTE_OIDS = {
	"rx": (*_ZTE_ROOT, 1082, 500, 20, 2, 2, 2, 1, 10),
	"tx": (*_ZTE_ROOT, 1082, 500, 20, 2, 2, 2, 1, 14),
	"olt_rx": (*_ZTE_ROOT, 1015, 1010, 11, 2, 1, 2),
	"status": (*_ZTE_ROOT, 1082, 500, 10, 2, 3, 8, 1, 4),
	"serial": (*_ZTE_ROOT, 1082, 500, 10, 2, 3, 3, 1, 18),
	"name": (*_ZTE_ROOT, 1082, 500, 10, 2, 3, 3, 1, 2),
	"distance": (*_ZTE_ROOT, 1082, 500, 10, 2, 3, 10, 1, 2),
}
HUAWEI_OIDS = {
	"rx": (*_HW_XPON, 51, 1, 4),
	"tx": (*_HW_XPON, 51, 1, 3),
	"olt_rx": (*_HW_XPON, 51, 1, 6),
	"status": (*_HW_XPON, 46, 1, 15),
	"serial": (*_HW_XPON, 43, 1, 3),
	"name": (*_HW_XPON, 43, 1, 9),
	"distance": (*_HW_XPON, 46, 1, 20),
}
ZTE_PHASES = {"online": 4, "los": 2, "dying_gasp": 5, "offline": 7}
HUAWEI_RUN_STATUS = {"online": 1, "los": 2, "dying_gasp": 2, "offline": 2}

ZTE_NO_READING = 65535
ZTE_OLT_RX_NONE = -80000
HUAWEI_INVALID = 2147483647

# share of each kind of ONT in a generated table (the rest is "ok")
KIND_WEIGHTS = {
	"ok": 0.74,
	"low": 0.06,  # −25 … −29.5 dBm
	"very_low": 0.03,  # below −30 dBm: ZTE's 16-bit raw wraps (> 32767)
	"high": 0.04,  # above −8 dBm
	"no_reading": 0.04,  # online, but the ONT RX column holds the sentinel
	"los": 0.04,
	"dying_gasp": 0.03,
	"offline": 0.02,
}


def zte_if_index(shelf: int, slot: int, pon: int) -> int:
	return 0x11000000 + (shelf << 16) + (slot << 8) + pon


def huawei_if_index(frame: int, slot: int, port: int) -> int:
	assert frame == 0, "only frame 0 is documented for Huawei GPON ifIndex"
	return 4194304000 + slot * 8192 + port * 256


@dataclass(frozen=True)
class OntTruth:
	"""What the generator put in the table for one ONT, in engineering units."""

	frame: int
	slot: int
	port: int
	ont: int
	if_index: int
	serial: str  # canonical GPON serial: 4 letters + 8 upper-case hex digits
	name: str
	status: str  # online / los / dying_gasp / offline
	kind: str  # see KIND_WEIGHTS
	rx_dbm: float | None
	tx_dbm: float | None
	olt_rx_dbm: float | None
	distance_m: int | None

	@property
	def online(self) -> bool:
		return self.status == "online"

	@property
	def location(self) -> tuple[int, int, int, int]:
		return (self.frame, self.slot, self.port, self.ont)


@dataclass
class OltTable:
	"""One generated OLT: its ONTs (truth) and the varbinds an agent serves."""

	vendor: str
	seed: int
	onts: list[OntTruth]
	# OID → (pass_persist type, value as pass_persist writes it)
	varbinds: dict[tuple[int, ...], tuple[str, str]] = field(default_factory=dict)
	# fault injection: OID → the (wrong) OID the agent names in its answer instead
	answer_as: dict[tuple[int, ...], tuple[int, ...]] = field(default_factory=dict)

	@property
	def profile(self) -> str:
		return PROFILE_NAMES[self.vendor]

	@property
	def oids(self) -> dict[str, tuple[int, ...]]:
		return ZTE_OIDS if self.vendor == ZTE else HUAWEI_OIDS

	def ports(self) -> list[tuple[int, int, int]]:
		return sorted({(o.frame, o.slot, o.port) for o in self.onts})

	def truth(self, frame: int, slot: int, port: int, ont: int) -> OntTruth:
		for o in self.onts:
			if o.location == (frame, slot, port, ont):
				return o
		raise KeyError((frame, slot, port, ont))

	def on_port(self, frame: int, slot: int, port: int) -> list[OntTruth]:
		return [o for o in self.onts if (o.frame, o.slot, o.port) == (frame, slot, port)]

	def by_kind(self, kind: str) -> list[OntTruth]:
		return [o for o in self.onts if o.kind == kind]

	def column(self, name: str) -> dict[tuple[int, ...], tuple[str, str]]:
		"""The varbinds of one column (as a walk of it would return them)."""
		base = self.oids[name]
		return {k: v for k, v in self.varbinds.items() if k[: len(base)] == base}

	def inject_non_increasing(self, name: str, row: int = 2) -> tuple[int, ...]:
		"""Make the agent answer a GETNEXT/GETBULK with an OID that does not increase (a buggy
		agent): row ``row`` of column ``name`` comes back named as the row before it."""
		keys = sorted(self.column(name))
		self.answer_as[keys[row]] = keys[row - 1]
		return keys[row]

	def write_tsv(self, path: Path) -> Path:
		lines = []
		for oid, (kind, value) in sorted(self.varbinds.items()):
			shown = ".".join(map(str, self.answer_as.get(oid, oid)))
			lines.append(f"{'.'.join(map(str, oid))}\t{kind}\t{value}\t{shown}")
		path.write_text("\n".join(lines) + "\n", encoding="utf-8")
		return path


def generate_table(
	vendor: str,
	*,
	ports: int = 4,
	onts_per_port: int = 16,
	seed: int = 0,
	ports_per_slot: int = 16,
) -> OltTable:
	"""A realistic optical table for ``ports`` PON ports × ``onts_per_port`` ONTs.

	ZTE ports are numbered shelf 1, slot 1…, pon 1…16 and ONUs 1…M; Huawei ports
	frame 0, slot 1…, port 0…15 and ONTs 0…M−1. The same ``seed`` gives the same
	table. Every mix in :data:`KIND_WEIGHTS` appears once the table is big enough;
	the first ONTs of port one are forced to cover each kind at least once.
	"""
	if vendor not in VENDORS:
		raise ValueError(f"unknown vendor {vendor!r}; expected one of {VENDORS}")
	rng = random.Random(f"{vendor}:{seed}")
	kinds, weights = zip(*KIND_WEIGHTS.items(), strict=True)
	table = OltTable(vendor=vendor, seed=seed, onts=[])
	forced = list(kinds)
	for p in range(ports):
		slot = 1 + p // ports_per_slot
		if vendor == ZTE:
			frame, port = 1, 1 + p % ports_per_slot
			if_index = zte_if_index(frame, slot, port)
			ont_ids = range(1, onts_per_port + 1)
		else:
			frame, port = 0, p % ports_per_slot
			if_index = huawei_if_index(frame, slot, port)
			ont_ids = range(onts_per_port)
		for ont in ont_ids:
			kind = forced.pop(0) if forced else rng.choices(kinds, weights)[0]
			truth = _ont(rng, vendor, kind, frame, slot, port, ont, if_index)
			table.onts.append(truth)
			_encode(table.varbinds, vendor, truth)
	return table


def _ont(rng: random.Random, vendor, kind, frame, slot, port, ont, if_index) -> OntTruth:
	status = {"los": "los", "dying_gasp": "dying_gasp", "offline": "offline"}.get(kind, "online")
	rx = tx = olt_rx = None
	distance = None
	if status == "online":
		distance = rng.randint(150, 19000)
		tx = round(rng.uniform(0.8, 4.5), 2)
		if kind == "ok":
			rx = min(-8.5, max(-24.5, rng.gauss(-20.0, 2.2)))
		elif kind == "low":
			rx = rng.uniform(-29.5, -25.2)
		elif kind == "very_low":
			rx = rng.uniform(-33.0, -30.2)
		elif kind == "high":
			rx = rng.uniform(-7.5, -4.0)
		if rx is not None:
			rx = _grid(rx, vendor)
			olt_rx = round(rx - rng.uniform(1.0, 4.0), 2)
		else:  # no_reading: the ONT RX column holds the sentinel, the OLT still hears it
			olt_rx = round(rng.uniform(-27.0, -18.0), 2)
	if vendor == ZTE and tx is not None:
		tx = _grid(tx, vendor)
	prefix = "ZTEG" if vendor == ZTE else "HWTC"
	serial = prefix + f"{rng.getrandbits(32):08X}"
	name = f"client-{slot}-{port}-{ont}"
	return OntTruth(
		frame=frame,
		slot=slot,
		port=port,
		ont=ont,
		if_index=if_index,
		serial=serial,
		name=name,
		status=status,
		kind=kind,
		rx_dbm=rx,
		tx_dbm=tx,
		olt_rx_dbm=olt_rx,
		distance_m=distance,
	)


def _grid(dbm: float, vendor: str) -> float:
	"""Round to a level the vendor's raw unit holds exactly (2 decimals; ZTE: even 0.002 steps)."""
	value = round(dbm, 2)
	if vendor == ZTE:
		# raw = (dBm + 30) · 500 must be an integer: 0.01 dB steps give multiples of 5
		return round(round((value + 30) * 500) / 500 - 30, 2)
	return value


def _zte_raw(dbm: float | None) -> int:
	if dbm is None:
		return ZTE_NO_READING
	raw = round((dbm + 30) * 500)
	return raw + 65536 if raw < 0 else raw  # 16-bit two's complement, as the OLT sends it


def _encode(out: dict, vendor: str, o: OntTruth) -> None:
	row = (o.if_index, o.ont)
	if vendor == ZTE:
		oids = ZTE_OIDS
		out[(*oids["rx"], *row, 1)] = ("integer", str(_zte_raw(o.rx_dbm)))
		out[(*oids["tx"], *row, 1)] = ("integer", str(_zte_raw(o.tx_dbm)))
		olt_rx = ZTE_OLT_RX_NONE if o.olt_rx_dbm is None else round(o.olt_rx_dbm * 1000)
		out[(*oids["olt_rx"], *row)] = ("integer", str(olt_rx))
		out[(*oids["status"], *row)] = ("integer", str(ZTE_PHASES[o.status]))
		out[(*oids["serial"], *row)] = ("string", f"1,{o.serial}")
		out[(*oids["name"], *row)] = ("string", o.name)
		if o.distance_m is not None:
			out[(*oids["distance"], *row)] = ("integer", str(o.distance_m))
		return
	oids = HUAWEI_OIDS

	def centi(value, offset=0):
		return HUAWEI_INVALID if value is None else round(value * 100) + offset

	out[(*oids["rx"], *row)] = ("integer", str(centi(o.rx_dbm)))
	out[(*oids["tx"], *row)] = ("integer", str(centi(o.tx_dbm)))
	out[(*oids["olt_rx"], *row)] = ("integer", str(centi(o.olt_rx_dbm, 10000)))
	out[(*oids["status"], *row)] = ("integer", str(HUAWEI_RUN_STATUS[o.status]))
	serial_bytes = o.serial[:4].encode() + bytes.fromhex(o.serial[4:])
	out[(*oids["serial"], *row)] = ("octet", " ".join(f"{b:02X}" for b in serial_bytes))
	out[(*oids["name"], *row)] = ("string", o.name)
	out[(*oids["distance"], *row)] = ("integer", str(-1 if o.distance_m is None else o.distance_m))
