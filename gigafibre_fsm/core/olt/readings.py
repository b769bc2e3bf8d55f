"""One ONT as read from its OLT: identity, state and optical levels, and its ``olt`` Diagnosis."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gigafibre_fsm.core.diagnostics import (
	DEFAULT_STALE_AFTER,
	Diagnosis,
	iso,
	optical_reading,
)
from gigafibre_fsm.core.olt.profiles import OPTICAL_FIELDS, SOURCE, OltProfile, OntLocation, oid_text

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
