"""The normalised result: blocks with their source, age and staleness, the Diagnosis, time (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from gigafibre_fsm.core.diagnostics.units import (
	OPTICAL_HIGH_DBM,
	OPTICAL_LOW_DBM,
	OPTICAL_PLAUSIBLE,
	TRANSFORMS,
	optical_status,
	to_dbm,
)

DEFAULT_STALE_AFTER = timedelta(hours=1)
# a device is online when its last inform is younger than max(floor, k × inform interval)
ONLINE_FLOOR = timedelta(minutes=10)
ONLINE_INTERVALS = 2.5

SOURCES = ("genieacs", "modem", "olt")
BLOCKS = ("device", "optical")
LIST_BLOCKS = ("interfaces", "wan", "radios", "ssids", "mesh_nodes", "clients")
# how merge() recognises the same item coming from two sources
LIST_KEYS = {
	"interfaces": ("name",),
	"wan": ("vlan", "iface"),
	"radios": ("band",),
	"ssids": ("band", "ssid"),
	"mesh_nodes": ("mac",),
	"clients": ("mac",),
}
# identity fields: read once, they do not go stale
STATIC_FIELDS = frozenset(
	{
		"id",
		"vendor",
		"model",
		"serial",
		"hw",
		"oui",
		"product_class",
		"data_model",
		"mac",
		"name",
		"path",
		"type",
		"iface",
		"band",
		"bssid",
		"ssid",
		"ap_index",
		"radio",
		"vlan",
		"lower_layers",
		"role",
	}
)
META_FIELDS = ("source", "asof", "stale", "stale_fields", "field_asof", "sources")

# ---------------------------------------------------------------------------
# time


def parse_time(value) -> datetime | None:
	"""A GenieACS date (ISO string, epoch ms or datetime) as an aware UTC datetime."""
	if value is None or value == "":
		return None
	if isinstance(value, datetime):
		return value if value.tzinfo else value.replace(tzinfo=UTC)
	if isinstance(value, int | float) and not isinstance(value, bool):
		return datetime.fromtimestamp(value / 1000, UTC)
	return _parse_iso(str(value))


@lru_cache(maxsize=4096)
def _parse_iso(text: str) -> datetime | None:
	# leaves of one inform share a handful of timestamps: parse each string once
	try:
		parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
	except ValueError:
		return None
	return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@lru_cache(maxsize=4096)
def iso(value: datetime | None) -> str | None:
	if value is None:
		return None
	return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _seconds(value: timedelta | float | int) -> float:
	return value.total_seconds() if isinstance(value, timedelta) else float(value)


# ---------------------------------------------------------------------------
# blocks


def block(
	source: str,
	values: Mapping,
	*,
	now: datetime,
	stale_after: timedelta | float = DEFAULT_STALE_AFTER,
	asof=None,
	field_asof: Mapping | None = None,
) -> dict:
	"""One normalised block from ``source``: its values plus source, asof, stale flags.

	``field_asof`` gives a time per field (GenieACS leaves each carry one); ``asof``
	is the time of every other field (a modem or OLT read done at once). The block's
	``asof`` is the oldest time among its changing fields; ``stale_fields`` lists the
	changing fields older than ``stale_after`` at ``now``.
	"""
	now = parse_time(now)
	default = parse_time(asof)
	times = {}
	for name, value in values.items():
		if value is None or value == [] or name in META_FIELDS:
			continue
		when = parse_time((field_asof or {}).get(name)) or default
		if when is not None:
			times[name] = when
	limit = _seconds(stale_after)
	changing = {k: t for k, t in times.items() if k not in STATIC_FIELDS}
	stale_fields = sorted(k for k, t in changing.items() if (now - t).total_seconds() > limit)
	oldest = min((changing or times).values(), default=None)
	return {
		**values,
		"source": source,
		"asof": iso(oldest),
		"stale": bool(stale_fields),
		"stale_fields": stale_fields,
		"field_asof": {k: iso(t) for k, t in sorted(times.items())},
	}


def error(source: str, code: str, template: str, *params) -> dict:
	"""One entry of a result's ``errors``: English ``template`` and its ``params`` (so the
	Frappe layer can translate the template, see translations/fr.csv) and the formatted
	``message``."""
	params = [p if isinstance(p, int | float | str | None) else str(p) for p in params]
	message = template.format(*params) if params else template
	return {"source": source, "code": code, "message": message, "template": template, "params": params}


@dataclass
class Diagnosis:
	"""A (partial or merged) normalised diagnostic. ``to_dict()`` is JSON-serialisable."""

	device: dict | None = None
	optical: dict | None = None
	interfaces: list[dict] = field(default_factory=list)
	wan: list[dict] = field(default_factory=list)
	radios: list[dict] = field(default_factory=list)
	ssids: list[dict] = field(default_factory=list)
	mesh_nodes: list[dict] = field(default_factory=list)
	clients: list[dict] = field(default_factory=list)
	errors: list[dict] = field(default_factory=list)
	# source → {"asof": iso of the read, "ok": no error from it}
	sources: dict[str, dict] = field(default_factory=dict)

	def to_dict(self) -> dict:
		return {
			"device": self.device,
			"optical": self.optical,
			"interfaces": self.interfaces,
			"wan": self.wan,
			"radios": self.radios,
			"ssids": self.ssids,
			"mesh_nodes": self.mesh_nodes,
			"clients": self.clients,
			"summary": self.summary(),
			"errors": self.errors,
			"sources": self.sources,
		}

	@classmethod
	def from_dict(cls, data: Mapping) -> Diagnosis:
		return cls(
			device=data.get("device"),
			optical=data.get("optical"),
			**{name: list(data.get(name) or []) for name in LIST_BLOCKS},
			errors=list(data.get("errors") or []),
			sources=dict(data.get("sources") or {}),
		)

	def summary(self) -> dict:
		"""Counts the portal shows: clients include those behind mesh repeaters."""
		node_macs = {n.get("mac") for n in self.mesh_nodes}
		clients = [c for c in self.clients if c.get("mac") not in node_macs]
		wifi = [c for c in clients if c.get("band")]
		return {
			"clients": len(clients),
			"wifi_clients": len(wifi),
			"wired_clients": len(clients) - len(wifi),
			"mesh_nodes": len(self.mesh_nodes),
			"optical_status": (self.optical or {}).get("status", "unknown"),
			"online": (self.device or {}).get("online"),
		}


def optical_reading(
	source: str,
	*,
	now: datetime,
	asof=None,
	stale_after: timedelta | float = DEFAULT_STALE_AFTER,
	rx=None,
	rx_transform: str = "dbm",
	tx=None,
	tx_transform: str = "dbm",
	olt_rx=None,
	olt_rx_transform: str = "dbm",
	interface_status: str | None = None,
	paths: Mapping[str, str] | None = None,
	field_asof: Mapping | None = None,
) -> tuple[dict, list[dict]]:
	"""An optical block from raw readings with declared transforms, and the errors it raised.

	For an OLT over SNMP: ``optical_reading("olt", rx=raw, rx_transform="zte_snmp", ...)``.
	"""
	errors = []
	paths = paths or {}
	out = {}
	raws = {}
	for name, raw, transform in (
		("rx", rx, rx_transform),
		("tx", tx, tx_transform),
		("olt_rx", olt_rx, olt_rx_transform),
	):
		if raw is None:
			out[name] = None
			continue
		unit = TRANSFORMS[transform][0] if transform in TRANSFORMS else None
		raws[name] = {"value": raw, "unit": unit, "transform": transform, "source": paths.get(name, source)}
		value = to_dbm(raw, transform)
		if value is not None and value > OPTICAL_PLAUSIBLE[1]:
			errors.append(
				error(
					source,
					"implausible_optical",
					"Optical {0} reading {1} ({2}) gives {3} dBm, outside the plausible window",
					name,
					raw,
					transform,
					value,
				)
			)
			value = None
		out[name] = value
	out["rx"], status = rx_level(rx, rx_transform, interface_status)
	values = {
		"rx_dbm": out["rx"],
		"tx_dbm": out["tx"],
		"olt_rx_dbm": out["olt_rx"],
		"status": status,
		"interface_status": interface_status,
		"thresholds": {"high": OPTICAL_HIGH_DBM, "low": OPTICAL_LOW_DBM},
		"raw": raws,
	}
	times = dict(field_asof or {})
	for name, key in (("rx", "rx_dbm"), ("tx", "tx_dbm"), ("olt_rx", "olt_rx_dbm")):
		if name in times:
			times[key] = times.pop(name)
	if "rx_dbm" in times:
		times.setdefault("status", times["rx_dbm"])
	return block(source, values, now=now, stale_after=stale_after, asof=asof, field_asof=times), errors


def rx_level(raw, transform: str = "dbm", interface_status: str | None = None) -> tuple[float | None, str]:
	"""An ONT receive reading → (the dBm kept, its optical status), the rule of
	:func:`optical_reading`: a level above the plausible window is no reading (status
	unknown); a raw value that converts to nothing is a sentinel, so loss of signal, as is
	an interface that is down; a level below the window is LOS and not kept."""
	value = None if raw is None else to_dbm(raw, transform)
	implausible = value is not None and value > OPTICAL_PLAUSIBLE[1]
	if implausible:
		value = None
	sentinel = raw is not None and value is None and not implausible
	down = (interface_status or "").lower() in ("down", "lowerlayerdown", "nosignal")
	status = optical_status(value, los=sentinel or down)
	if value is not None and value < OPTICAL_PLAUSIBLE[0]:
		value = None
	return value, status


def is_online(last_inform: datetime | None, interval_s: float | None, now: datetime) -> bool | None:
	"""Online when the last inform is younger than max(ONLINE_FLOOR, ONLINE_INTERVALS × the
	periodic inform interval); None when the device never informed."""
	if last_inform is None:
		return None
	limit = max(ONLINE_FLOOR.total_seconds(), ONLINE_INTERVALS * (interval_s or 0))
	return (now - last_inform).total_seconds() <= limit


def equipment_fields(data: Mapping) -> dict:
	"""The last-known fields a piece of equipment keeps from a diagnosis (its ``to_dict()``
	form, or a :func:`~gigafibre_fsm.core.diagnostics.fleet_reading`): receive level,
	optical status, online (1/0), last inform (ISO UTC). A value not given is left out, so
	the stored one stays (never 0)."""
	optical = data.get("optical") or {}
	device = data.get("device") or {}
	values = {}
	if optical.get("rx_dbm") is not None:
		values["last_rx_dbm"] = optical["rx_dbm"]
	if optical.get("status"):
		values["last_optical_status"] = optical["status"]
	if device.get("online") is not None:
		values["last_online"] = 1 if device["online"] else 0
	if device.get("last_inform"):
		values["last_inform"] = device["last_inform"]
	return values
