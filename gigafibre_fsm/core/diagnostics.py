"""Device diagnostics: turn what the network tells us about a CPE into one normalised result.

Pure: no network, no clock. ``now`` and the staleness threshold are passed in.

Sources feed *partial* results (a :class:`Diagnosis`): GenieACS device documents
(TR-181 ``Device.`` or TR-098 ``InternetGatewayDevice.``, read by
:func:`normalise_genieacs`), the modem bridge and the OLT (built with
:func:`block` and :func:`optical_reading`). :func:`merge` combines them, field by
field, keeping the freshest value and saying where it came from.

Rules that hold everywhere (shared/NETWORK.md):

- a missing value is ``None``, never 0; sentinels ("no reading") become ``None``;
- every block says its ``source`` and ``asof`` (the oldest timestamp of the
  changing values it holds) and flags values older than ``stale_after``;
- units are declared per reading (:data:`TRANSFORMS`) and checked against a
  plausibility window; optical health is −8 ≥ RX ≥ −25 dBm;
- table indices are never assumed: the WAN is found through ``LowerLayers``,
  an SSID's radio through its ``LowerLayers`` and an access point's SSID
  through ``SSIDReference``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

# -- thresholds (shared/FACTS.md "Network", snmp-olt-zte)
OPTICAL_HIGH_DBM = -8.0
OPTICAL_LOW_DBM = -25.0
# a reading outside this window is not a light level: a sentinel or a wrong transform
OPTICAL_PLAUSIBLE = (-40.0, 5.0)
OPTICAL_STATUSES = ("ok", "low", "high", "los", "unknown")

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
# unit transforms


def _number(raw) -> float | None:
	if raw is None or isinstance(raw, bool):
		return None
	if isinstance(raw, int | float):
		return None if isinstance(raw, float) and math.isnan(raw) else float(raw)
	match = re.match(r"^\s*([-+]?\d+(?:\.\d+)?)", str(raw))
	return float(match.group(1)) if match else None


def _dbm(raw) -> float | None:
	"""Already dBm; also reads strings such as Nokia's "-0.34 dBm" ("No Power" → None)."""
	return _number(raw)


def _dbm1000(raw) -> float | None:
	"""BBF Dbm1000: an integer in 0.001 dBm (TR-181 Optical.Interface)."""
	value = _number(raw)
	if value is None or value <= -65536 or value >= 65535:
		return None
	return value / 1000


def _tplink_tenth_uw(raw) -> float | None:
	"""TP-Link X_TP_GPON_Config.RXPower/TXPower: 0.1 µW → dBm = 10·log10(raw·1e-4) (Flashman)."""
	value = _number(raw)
	if value is None or value <= 0:
		return None
	return 10 * math.log10(value * 1e-4)


def _tplink_neg_tenth(raw) -> float | None:
	"""The other public reading of TP-Link's raw value: dBm = raw × −0.1 (to be checked against the OLT)."""
	value = _number(raw)
	return None if value is None else value * -0.1


def _zte_snmp(raw) -> float | None:
	"""ZTE C300/C320 ONU RX over SNMP: 16-bit, 65535 = no reading, dBm = raw·0.002 − 30."""
	value = _number(raw)
	if value is None or value == 65535:
		return None
	if value > 32767:
		value -= 65536
	return value * 0.002 - 30


def _zte_olt_rx(raw) -> float | None:
	"""ZTE OLT-side RX: 0.001 dBm, −80000 = none."""
	value = _number(raw)
	if value is None or value <= -80000:
		return None
	return value / 1000


def _huawei_centi(raw) -> float | None:
	"""Huawei HUAWEI-XPON-MIB ONT optics: 0.01 dBm, 2147483647 = invalid."""
	value = _number(raw)
	if value is None or value == 2147483647:
		return None
	return value / 100


def _huawei_olt_rx(raw) -> float | None:
	"""Huawei OLT-side RX: dBm = (raw − 10000) / 100, 2147483647 = invalid."""
	value = _number(raw)
	if value is None or value == 2147483647:
		return None
	return (value - 10000) / 100


TRANSFORMS: dict[str, tuple[str, Callable[[object], float | None]]] = {
	# name: (unit of the raw value, raw → dBm or None)
	"dbm": ("dBm", _dbm),
	"dbm1000": ("0.001 dBm", _dbm1000),
	"tplink_0.1uW": ("0.1 µW", _tplink_tenth_uw),
	"tplink_neg_0.1": ("-0.1 dBm", _tplink_neg_tenth),
	"zte_snmp": ("0.002 dB offset -30", _zte_snmp),
	"zte_olt_rx": ("0.001 dBm", _zte_olt_rx),
	"huawei_0.01": ("0.01 dBm", _huawei_centi),
	"huawei_olt_rx": ("0.01 dB offset 10000", _huawei_olt_rx),
}


def to_dbm(raw, transform: str) -> float | None:
	"""``raw`` converted with a named transform; None for sentinels and missing values."""
	if transform not in TRANSFORMS:
		raise ValueError(f"unknown optical transform {transform!r}")
	value = TRANSFORMS[transform][1](raw)
	return None if value is None else round(value, 2)


def optical_status(rx_dbm: float | None, *, los: bool = False) -> str:
	"""ok / low / high / los / unknown for an ONT receive level (healthy: −8 ≥ RX ≥ −25 dBm)."""
	if rx_dbm is None:
		return "los" if los else "unknown"
	if rx_dbm < OPTICAL_PLAUSIBLE[0]:
		return "los"
	if rx_dbm > OPTICAL_PLAUSIBLE[1]:
		return "unknown"
	if rx_dbm > OPTICAL_HIGH_DBM:
		return "high"
	if rx_dbm < OPTICAL_LOW_DBM:
		return "low"
	return "ok"


def pick_transform(
	raw,
	reference_dbm: float,
	candidates: Iterable[str] = ("tplink_0.1uW", "tplink_neg_0.1"),
	tolerance_db=1.0,
) -> str | None:
	"""The candidate transform whose reading of ``raw`` agrees with the OLT's reading within tolerance."""
	best = None
	for name in candidates:
		value = to_dbm(raw, name)
		if value is None:
			continue
		gap = abs(value - reference_dbm)
		if gap <= tolerance_db and (best is None or gap < best[0]):
			best = (gap, name)
	return best[1] if best else None


def rcpi_to_dbm(rcpi) -> float | None:
	"""IEEE 802.11 RCPI (0–220, 255 = unknown) → dBm = RCPI/2 − 110."""
	value = _number(rcpi)
	if value is None or value < 0 or value > 220:
		return None
	return value / 2 - 110


def signal_dbm(raw, *, rcpi_when_positive: bool = False) -> float | None:
	"""A Wi-Fi signal level in dBm.

	TR-181 AccessPoint.AssociatedDevice.SignalStrength is dBm (−200…0); MultiAP and
	Data Elements report RCPI (0–220). Positive values are RCPI when the path is known
	to carry it; 0 and anything outside the windows is "no reading".
	"""
	value = _number(raw)
	if value is None:
		return None
	if value > 0 and rcpi_when_positive:
		return rcpi_to_dbm(value)
	if -200 < value < 0:
		return value
	return None


def rssi_percent(dbm: float | None) -> int | None:
	"""Signal as a percentage: −100 dBm or less = 0 %, −50 dBm or more = 100 %, linear between."""
	if dbm is None:
		return None
	return max(0, min(100, round(2 * (dbm + 100))))


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
	los_sentinel = rx is not None and out["rx"] is None and not _implausible(errors, "rx")
	down = (interface_status or "").lower() in ("down", "lowerlayerdown", "nosignal")
	status = optical_status(out["rx"], los=los_sentinel or down)
	if out["rx"] is not None and out["rx"] < OPTICAL_PLAUSIBLE[0]:
		out["rx"] = None
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


def _implausible(errors: list[dict], name: str) -> bool:
	return any(e["code"] == "implausible_optical" and e["params"][0] == name for e in errors)


# ---------------------------------------------------------------------------
# reading a GenieACS device document


def _walk(node, path: str):
	"""The object or leaf at a dotted ``path`` under ``node`` (a trailing dot is ignored)."""
	for part in path.strip(".").split("."):
		if not isinstance(node, dict):
			return None
		node = node.get(part)
	return node


def _leaf(node, path: str = ""):
	"""(value, timestamp) of a GenieACS leaf; (None, None) when absent or never fetched."""
	leaf = _walk(node, path) if path else node
	if not isinstance(leaf, dict) or "_value" not in leaf:
		return None, None
	value = leaf["_value"]
	if isinstance(value, list) and value and len(value) == 2 and leaf.get("_type") is None:
		value = value[0]  # GenieACS stores [value, type] in some exports
	return value, leaf.get("_timestamp")


def _instances(node) -> list[tuple[int, dict]]:
	"""Numbered table instances of an object node, in index order."""
	if not isinstance(node, dict):
		return []
	return sorted(
		((int(k), v) for k, v in node.items() if k.isdigit() and isinstance(v, dict)), key=lambda kv: kv[0]
	)


def _text(value) -> str | None:
	if value is None:
		return None
	text = str(value).strip()
	return text or None


def _int(value) -> int | None:
	number = _number(value)
	return None if number is None else int(number)


def _bool(value) -> bool | None:
	if value is None or value == "":
		return None
	if isinstance(value, str):
		return value.strip().lower() in ("1", "true", "yes", "up", "enabled")
	return bool(value)


def _mac(value) -> str | None:
	text = _text(value)
	if not text:
		return None
	digits = re.sub(r"[\s:.\-]", "", text.lower())
	if not re.fullmatch(r"[0-9a-f]{12}", digits) or digits == "000000000000":
		return None
	return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _refs(value) -> list[str]:
	"""A TR-181 reference list ("Device.A.1.,Device.B.2") as paths without the trailing dot."""
	text = _text(value)
	if not text:
		return []
	return [part.strip().rstrip(".") for part in text.split(",") if part.strip()]


def _csv(value) -> list[str]:
	text = _text(value)
	return [p.strip() for p in text.split(",") if p.strip()] if text else []


def _band(value=None, channel=None) -> str | None:
	text = (_text(value) or "").lower().replace(" ", "")
	for band in ("2.4", "5", "6"):
		if text.startswith(band):
			return f"{band}GHz"
	channel = _int(channel)
	if channel:
		return "2.4GHz" if channel <= 14 else "5GHz"
	return None


class _Reader:
	"""Collects values with their leaf timestamps for one block."""

	def __init__(self):
		self.values: dict = {}
		self.times: dict = {}

	def put(self, name: str, value, ts=None, convert: Callable | None = None):
		"""Set ``name`` unless it already holds a value: the first value found wins."""
		if convert is not None and value is not None:
			value = convert(value)
		if self.values.get(name) is None:
			self.values[name] = value
			if value is not None and ts is not None:
				self.times[name] = ts
		return value

	def leaf(self, name: str, node, path: str, convert: Callable | None = _text):
		value, ts = _leaf(node, path)
		return self.put(name, value, ts, convert)

	def finish(self, source: str, now, stale_after) -> dict:
		return block(source, self.values, now=now, stale_after=stale_after, field_asof=self.times)


def normalise_genieacs(
	document: Mapping,
	*,
	now: datetime,
	stale_after: timedelta | float = DEFAULT_STALE_AFTER,
	optical_transforms: Mapping[str, str] | None = None,
) -> Diagnosis:
	"""Normalise one GenieACS device document (TR-181 or TR-098) into a Diagnosis.

	``optical_transforms`` overrides the declared transform of an optical leaf by its
	last two path segments (e.g. ``{"X_TP_GPON_Config.RXPower": "tplink_neg_0.1"}``).
	"""
	now = parse_time(now)
	if "Device" in document and isinstance(document["Device"], dict):
		reader = _TR181(document, now, stale_after, optical_transforms)
	elif "InternetGatewayDevice" in document:
		reader = _TR098(document, now, stale_after, optical_transforms)
	else:
		reader = _Base(document, now, stale_after, optical_transforms)
	return reader.run()


class _Base:
	source = "genieacs"
	data_model: str | None = None
	root_name = ""

	def __init__(self, document, now, stale_after, optical_transforms):
		self.doc = document
		self.now = now
		self.stale_after = stale_after
		self.transforms = dict(optical_transforms or {})
		self.root = document.get(self.root_name) if self.root_name else None
		self.result = Diagnosis()

	def err(self, code: str, template: str, *params):
		self.result.errors.append(error(self.source, code, template, *params))

	def finish(self, reader: _Reader) -> dict:
		return reader.finish(self.source, self.now, self.stale_after)

	def run(self) -> Diagnosis:
		self.result.device = self.device()
		if self.root is None:
			self.err("no_data_model", "The device document has neither Device. nor InternetGatewayDevice.")
		else:
			self.read()
		self.check_session()
		last = parse_time(self.doc.get("_lastInform"))
		self.result.sources[self.source] = {
			"asof": iso(last),
			"ok": not self.result.errors,
		}
		return self.result

	def read(self) -> None:
		"""Fill the blocks from ``self.root`` (per data model)."""

	# -- device block, common to both data models
	def device(self) -> dict:
		r = _Reader()
		ident = self.doc.get("_deviceId") or {}
		info = _walk(self.root, "DeviceInfo") if self.root else None
		last_inform = parse_time(self.doc.get("_lastInform"))
		r.put("id", _text(self.doc.get("_id")))
		r.put("data_model", self.data_model)
		r.leaf("vendor", info, "Manufacturer")
		r.put("vendor", _text(ident.get("_Manufacturer")))
		r.leaf("model", info, "ModelName")
		r.put("model", _text(ident.get("_ProductClass")))
		r.put("oui", _text(ident.get("_OUI")))
		r.put("product_class", _text(ident.get("_ProductClass")))
		r.leaf("serial", info, "SerialNumber")
		r.put("serial", _text(ident.get("_SerialNumber")))
		r.leaf("fw", info, "SoftwareVersion")
		r.leaf("hw", info, "HardwareVersion")
		r.leaf("uptime_s", info, "UpTime", _int)
		r.put("last_inform", iso(last_inform), last_inform)
		r.put("last_boot", iso(parse_time(self.doc.get("_lastBoot"))))
		interval = r.leaf(
			"periodic_inform_s",
			_walk(self.root, "ManagementServer") if self.root else None,
			"PeriodicInformInterval",
			_int,
		)
		online = None
		if last_inform is not None:
			limit = max(ONLINE_FLOOR.total_seconds(), ONLINE_INTERVALS * (interval or 0))
			online = (self.now - last_inform).total_seconds() <= limit
		r.put("online", online, last_inform)
		r.put("tags", list(self.doc.get("_tags") or []) or None)
		return self.finish(r)

	def check_session(self) -> None:
		"""Flag CPEs whose informs keep coming while their data stays old (sessions that never finish)."""
		device = self.result.device or {}
		if not device.get("online"):
			return
		blocks = [self.result.optical, *self.result.radios, *self.result.wan]
		if device.get("uptime_s") is not None:
			blocks.append({"asof": device["field_asof"].get("uptime_s")})
		times = [parse_time(b.get("asof")) for b in blocks if b and b.get("asof")]
		if not times:
			return
		newest = max(times)
		if (self.now - newest).total_seconds() > _seconds(self.stale_after):
			self.err(
				"stale_data",
				"The device informs but its data dates from {0}: its sessions may not complete "
				"or no preset refreshes these parameters",
				iso(newest),
			)

	# -- optical, shared by both data models
	def optical_from(
		self, candidates: list[tuple[str, str]], tx_candidates: list[tuple[str, str]], status_leaf=None
	) -> None:
		"""The optical block from the first plausible RX among (path, transform) candidates."""
		found = []
		for path, transform in candidates:
			raw, ts = _leaf(self.doc, path)
			if raw is None or raw == "":
				continue
			transform = self._transform(path, transform)
			found.append((path, raw, ts, transform))
		if not found:
			return
		# a plausible, non-zero level first (an unsupported standard leaf often reads 0)
		readings = [(f, to_dbm(f[1], f[3])) for f in found]
		chosen = next(
			(f for f, v in readings if v is not None and _plausible(v) and v != 0),
			next((f for f, v in readings if v is not None and _plausible(v)), found[0]),
		)
		path, raw, ts, transform = chosen
		tx = tx_ts = tx_path = None
		tx_transform = "dbm"
		for tpath, ttransform in tx_candidates:
			value, when = _leaf(self.doc, tpath)
			if value is not None and value != "":
				tx, tx_ts, tx_path, tx_transform = value, when, tpath, self._transform(tpath, ttransform)
				break
		status, status_ts = status_leaf if status_leaf else (None, None)
		optical, errors = optical_reading(
			self.source,
			now=self.now,
			stale_after=self.stale_after,
			rx=raw,
			rx_transform=transform,
			tx=tx,
			tx_transform=tx_transform,
			interface_status=_text(status),
			paths={"rx": path, "tx": tx_path},
			field_asof={"rx": ts, "tx": tx_ts, "interface_status": status_ts},
		)
		self.result.optical = optical
		self.result.errors.extend(errors)

	def _transform(self, path: str, default: str) -> str:
		key = ".".join(path.split(".")[-2:])
		return self.transforms.get(key, default)


def _plausible(value: float) -> bool:
	return OPTICAL_PLAUSIBLE[0] <= value <= OPTICAL_PLAUSIBLE[1]


class _TR181(_Base):
	data_model = "tr181"
	root_name = "Device"

	def read(self) -> None:
		self.interfaces()
		self.wan()
		self.optical()
		self.wifi()
		if not self.result.wan:
			self.err("no_wan", "No IP interface reaches a WAN lower layer (VLAN, PPP, optical)")

	def obj(self, path: str):
		"""The object at a full TR-181 path such as "Device.IP.Interface.2"."""
		return _walk(self.doc, path)

	# -- interfaces and the LowerLayers graph
	TABLES = (
		("Device.IP.Interface", "ip"),
		("Device.PPP.Interface", "ppp"),
		("Device.Ethernet.VLANTermination", "vlan"),
		("Device.Ethernet.Link", "ethernet_link"),
		("Device.Ethernet.Interface", "ethernet"),
		("Device.X_TP_GPON.Link", "gpon_link"),
		("Device.Optical.Interface", "optical"),
		("Device.Bridging.Bridge.1.Port", "bridge_port"),
		("Device.WiFi.Radio", "radio"),
		("Device.WiFi.SSID", "ssid"),
	)

	def interfaces(self) -> None:
		for table, kind in self.TABLES:
			for index, node in _instances(self.obj(table)):
				r = _Reader()
				r.put("name", f"{table}.{index}")
				r.put("type", kind)
				r.leaf("alias", node, "Name")
				r.leaf("alias", node, "Alias")
				r.leaf("status", node, "Status")
				r.leaf("enabled", node, "Enable", _bool)
				r.leaf("lower_layers", node, "LowerLayers", _refs)
				r.leaf("vlan", node, "VLANID", _int)
				r.leaf("mac", node, "MACAddress", _mac)
				r.leaf("upstream", node, "Upstream", _bool)
				self.result.interfaces.append(self.finish(r))

	def chain(self, path: str) -> list[str]:
		"""Every path below ``path`` through LowerLayers (depth-first, cycles ignored)."""
		seen, out, stack = {path}, [], [path]
		while stack:
			current = stack.pop()
			lower, _ = _leaf(self.obj(current), "LowerLayers")
			for ref in reversed(_refs(lower)):
				if ref not in seen and len(seen) < 32:
					seen.add(ref)
					out.append(ref)
					stack.append(ref)
		return out

	def wan(self) -> None:
		routes = self.routes()
		dhcp = self.dhcp_clients()
		for index, node in _instances(self.obj("Device.IP.Interface")):
			path = f"Device.IP.Interface.{index}"
			below = self.chain(path)
			vlan_paths = [p for p in below if ".VLANTermination." in p]
			ppp_paths = [p for p in below if p.startswith("Device.PPP.Interface.")]
			upstream = any(_bool(_leaf(self.obj(p), "Upstream")[0]) for p in below)
			wan_media = any(".Optical.Interface." in p or ".X_TP_GPON." in p or ".DSL." in p for p in below)
			if not (vlan_paths or ppp_paths or upstream or wan_media):
				continue
			r = _Reader()
			r.put("iface", path)
			r.leaf("name", node, "Name")
			if vlan_paths:
				r.leaf("vlan", self.obj(vlan_paths[0]), "VLANID", _int)
			else:
				r.put("vlan", None)
			ppp = self.obj(ppp_paths[0]) if ppp_paths else None
			addresses = []
			for _, address in _instances(_walk(node, "IPv4Address")):
				value, ts = _leaf(address, "IPAddress")
				if _text(value) and _text(value) != "0.0.0.0":
					kind, _ = _leaf(address, "AddressingType")
					addresses.append((_text(value), ts, _text(kind), _leaf(address, "SubnetMask")[0]))
			if addresses:
				r.put("ipv4", addresses[0][0], addresses[0][1])
				r.put("netmask", _text(addresses[0][3]))
			elif ppp is not None:
				r.leaf("ipv4", ppp, "IPCP.LocalIPAddress")
			else:
				r.put("ipv4", None)
			r.put("ipv4_all", [a[0] for a in addresses] or None, addresses[0][1] if addresses else None)
			ipv6 = []
			v6_ts = None
			for _, address in _instances(_walk(node, "IPv6Address")):
				value, ts = _leaf(address, "IPAddress")
				if _text(value):
					ipv6.append(_text(value))
					v6_ts = v6_ts or ts
			r.put("ipv6", ipv6, v6_ts)
			prefixes = [_text(_leaf(p, "Prefix")[0]) for _, p in _instances(_walk(node, "IPv6Prefix"))]
			r.put("ipv6_prefixes", [p for p in prefixes if p])
			if ppp is not None:
				r.put("proto", "ppp")
			else:
				kind = next((a[2] for a in addresses if a[2]), None) or ("DHCP" if path in dhcp else None)
				r.put("proto", {"dhcp": "dhcp", "static": "static", "ipcp": "ppp"}.get((kind or "").lower()))
			gateway = routes.get(path)
			if gateway:
				r.put("gateway", gateway[0], gateway[1])
			elif ppp is not None:
				r.leaf("gateway", ppp, "IPCP.RemoteIPAddress")
			else:
				r.put("gateway", None)
			dns, dns_ts = _leaf(ppp, "IPCP.DNSServers") if ppp is not None else (None, None)
			if not _csv(dns) and path in dhcp:
				dns, dns_ts = _leaf(dhcp[path], "DNSServers")
			r.put("dns", _csv(dns), dns_ts)
			r.leaf("status", node, "Status")
			if ppp is not None:
				r.leaf("ppp_status", ppp, "ConnectionStatus")
				r.leaf("ppp_username", ppp, "Username")
				r.leaf("last_error", ppp, "LastConnectionError")
			mac = next(
				(m for p in below if (m := _mac(_leaf(self.obj(p), "MACAddress")[0]))),
				None,
			)
			r.put("mac", mac)
			r.leaf("uptime_s", node, "X_TP_Uptime", _int)
			if ppp is not None:
				r.leaf("uptime_s", ppp, "X_TP_UpTime", _int)
			# counters are named from the CPE's side: on the WAN, received = downstream
			r.leaf("bytes_down", node, "Stats.BytesReceived", _int)
			r.leaf("bytes_up", node, "Stats.BytesSent", _int)
			r.leaf("service", node, "X_TP_ServiceType")
			self.result.wan.append(self.finish(r))

	def routes(self) -> dict[str, tuple[str, object]]:
		out = {}
		for _, router in _instances(self.obj("Device.Routing.Router")):
			for _, fwd in _instances(_walk(router, "IPv4Forwarding")):
				iface = (_refs(_leaf(fwd, "Interface")[0]) or [None])[0]
				gateway, ts = _leaf(fwd, "GatewayIPAddress")
				dest = _text(_leaf(fwd, "DestIPAddress")[0])
				if iface and _text(gateway) and _text(gateway) != "0.0.0.0" and dest in (None, "0.0.0.0"):
					out.setdefault(iface, (_text(gateway), ts))
		return out

	def dhcp_clients(self) -> dict[str, dict]:
		out = {}
		for _, client in _instances(self.obj("Device.DHCPv4.Client")):
			iface = (_refs(_leaf(client, "Interface")[0]) or [None])[0]
			if iface:
				out[iface] = client
		return out

	# -- optical
	def optical(self) -> None:
		interfaces = _instances(self.obj("Device.Optical.Interface"))
		# prefer an interface that is Up, else the first one
		ordered = sorted(interfaces, key=lambda kv: _text(_leaf(kv[1], "Status")[0]) != "Up")
		if not ordered:
			if self.obj("Device.X_TP_GPON") is not None or self.result.wan:
				self.err("no_optical", "No Optical.Interface in the document (no preset fetches it?)")
			return
		index, node = ordered[0]
		base = f"Device.Optical.Interface.{index}"
		self.optical_from(
			[
				(f"{base}.OpticalSignalLevel", "dbm1000"),
				(f"{base}.X_TP_GPON_Config.RXPower", "tplink_0.1uW"),
			],
			[
				(f"{base}.TransmitOpticalLevel", "dbm1000"),
				(f"{base}.X_TP_GPON_Config.TXPower", "tplink_0.1uW"),
			],
			status_leaf=_leaf(node, "Status"),
		)
		if self.result.optical is None:
			self.err("no_optical", "{0} holds no receive level (not fetched?)", base)

	# -- Wi-Fi: radios, SSIDs, access points, mesh, clients
	def wifi(self) -> None:
		radios = {}
		for index, node in _instances(self.obj("Device.WiFi.Radio")):
			r = _Reader()
			r.put("path", f"Device.WiFi.Radio.{index}")
			channel = r.leaf("channel", node, "Channel", _int)
			band_raw, band_ts = _leaf(node, "OperatingFrequencyBand")
			r.put("band", _band(band_raw, channel), band_ts)
			r.leaf("enabled", node, "Enable", _bool)
			r.leaf("status", node, "Status")
			r.leaf("auto_channel", node, "AutoChannelEnable", _bool)
			r.leaf("bandwidth", node, "CurrentOperatingChannelBandwidth")
			r.leaf("bandwidth", node, "OperatingChannelBandwidth")
			r.leaf("bandwidth_configured", node, "OperatingChannelBandwidth")
			r.leaf("standards", node, "OperatingStandards", _csv)
			r.leaf("transmit_power_pct", node, "TransmitPower", _int)
			r.leaf("noise_dbm", node, "Stats.Noise", lambda v: signal_dbm(v))
			radios[f"Device.WiFi.Radio.{index}"] = r.values.get("band")
			self.result.radios.append(self.finish(r))
		# access points point at SSIDs; SSIDs point at radios
		aps = {}
		for index, node in _instances(self.obj("Device.WiFi.AccessPoint")):
			ref = (_refs(_leaf(node, "SSIDReference")[0]) or [None])[0]
			if ref:
				aps.setdefault(ref, (index, node))
		ssid_band = {}
		for index, node in _instances(self.obj("Device.WiFi.SSID")):
			path = f"Device.WiFi.SSID.{index}"
			r = _Reader()
			r.put("path", path)
			r.leaf("ssid", node, "SSID")
			radio = next((p for p in _refs(_leaf(node, "LowerLayers")[0]) if p in radios), None)
			r.put("radio", radio)
			r.put("band", radios.get(radio))
			ssid_band[path] = radios.get(radio)
			r.leaf("bssid", node, "BSSID", _mac)
			r.leaf("enabled", node, "Enable", _bool)
			r.leaf("status", node, "Status")
			ap = aps.get(path)
			r.put("ap_index", ap[0] if ap else None)
			if ap:
				r.leaf("clients", ap[1], "AssociatedDeviceNumberOfEntries", _int)
				r.leaf("hidden", ap[1], "SSIDAdvertisementEnabled", lambda v: not _bool(v))
			self.result.ssids.append(self.finish(r))
		nodes = self.mesh_nodes()
		gateway_mac = next((n["mac"] for n in nodes if n.get("role") == "controller"), None)
		clients: dict[str, _Reader] = {}
		# clients of the gateway's own access points
		for ssid_path, (_ap_index, ap) in aps.items():
			for _, assoc in _instances(_walk(ap, "AssociatedDevice")):
				mac = _mac(_leaf(assoc, "MACAddress")[0])
				if not mac:
					continue
				r = clients.setdefault(mac, _Reader())
				r.put("mac", mac)
				r.put("band", ssid_band.get(ssid_path))
				r.put("ssid", _text(_leaf(self.obj(ssid_path), "SSID")[0]))
				r.put("node_mac", gateway_mac)
				self._signal(r, assoc, rcpi=False)
				r.leaf("rate_kbps", assoc, "LastDataDownlinkRate", _int)
				r.leaf("uplink_rate_kbps", assoc, "LastDataUplinkRate", _int)
				r.leaf("active", assoc, "Active", _bool)
				r.leaf("retransmissions", assoc, "Retransmissions", _int)
				r.leaf("standard", assoc, "OperatingStandard")
		# clients per mesh node (MultiAP), signal in RCPI
		for _, device in _instances(self.obj("Device.WiFi.MultiAP.APDevice")):
			node_mac = _mac(_leaf(device, "MACAddress")[0])
			for _, radio in _instances(_walk(device, "Radio")):
				band = _band(_leaf(radio, "OperatingFrequencyBand")[0], _leaf(radio, "Channel")[0])
				for _, ap in _instances(_walk(radio, "AP")):
					ssid = _text(_leaf(ap, "SSID")[0])
					for _, assoc in _instances(_walk(ap, "AssociatedDevice")):
						mac = _mac(_leaf(assoc, "MACAddress")[0])
						if not mac:
							continue
						r = clients.setdefault(mac, _Reader())
						r.put("mac", mac)
						r.put("band", band)
						r.put("ssid", ssid)
						r.values["node_mac"] = node_mac  # the mesh node is more precise than the gateway
						self._signal(r, assoc, rcpi=True)
						r.leaf("rate_kbps", assoc, "LastDataDownlinkRate", _int)
						r.leaf("uplink_rate_kbps", assoc, "LastDataUplinkRate", _int)
						r.leaf("active", assoc, "Active", _bool)
		# EasyMesh Data Elements: STA per BSS per radio per device, signal in RCPI
		for _, device in _instances(self.obj("Device.WiFi.DataElements.Network.Device")):
			node_mac = _mac(_leaf(device, "ID")[0])
			for _, radio in _instances(_walk(device, "Radio")):
				for _, bss in _instances(_walk(radio, "BSS")):
					ssid = _text(_leaf(bss, "SSID")[0])
					for _, sta in _instances(_walk(bss, "STA")):
						mac = _mac(_leaf(sta, "MACAddress")[0])
						if not mac or (mac in clients and clients[mac].values.get("rssi_dbm") is not None):
							continue
						r = clients.setdefault(mac, _Reader())
						r.put("mac", mac)
						r.put("ssid", ssid)
						r.values["node_mac"] = node_mac
						self._signal(r, sta, rcpi=True)
						r.leaf("rate_kbps", sta, "LastDataDownlinkRate", _int)
						r.leaf("uplink_rate_kbps", sta, "LastDataUplinkRate", _int)
		# hosts: IP, name, wired clients
		for _, host in _instances(self.obj("Device.Hosts.Host")):
			mac = _mac(_leaf(host, "PhysAddress")[0])
			if not mac:
				continue
			known = mac in clients
			r = clients.setdefault(mac, _Reader())
			r.put("mac", mac)
			r.leaf("ip", host, "IPAddress")
			r.leaf("hostname", host, "HostName")
			r.leaf("active", host, "Active", _bool)
			layer1 = (_refs(_leaf(host, "Layer1Interface")[0]) or [""])[0]
			if not known:
				if ".WiFi." in layer1:
					r.put("band", ssid_band.get(layer1) or radios.get(layer1))
					r.put("node_mac", gateway_mac)
				else:
					r.put("band", None)
					r.put("wired", True)
					r.put("node_mac", gateway_mac)
		backhaul_macs = {n["mac"] for n in nodes} | {m for n in nodes for m in n.get("bssids") or []}
		for mac, r in clients.items():
			r.put("wired", r.values.get("wired") or False)
			r.put("is_mesh_node", mac in backhaul_macs)
			for name in ("ip", "hostname", "band", "rssi_dbm", "rssi_pct", "rate_kbps", "active", "node_mac"):
				r.values.setdefault(name, None)
			self.result.clients.append(self.finish(r))

	def _signal(self, r: _Reader, node, *, rcpi: bool) -> None:
		raw, ts = _leaf(node, "SignalStrength")
		dbm = signal_dbm(raw, rcpi_when_positive=rcpi)
		if dbm is not None or r.values.get("rssi_dbm") is None:
			r.values.pop("rssi_dbm", None)
			r.put("rssi_dbm", dbm, ts)
			r.values.pop("rssi_pct", None)
			r.put("rssi_pct", rssi_percent(dbm), ts)

	def mesh_nodes(self) -> list[dict]:
		"""Mesh nodes from MultiAP.APDevice (or Data Elements), each with its parent."""
		readers = []
		bssid_owner = {}
		for _, device in _instances(self.obj("Device.WiFi.MultiAP.APDevice")):
			mac = _mac(_leaf(device, "MACAddress")[0])
			if not mac:
				continue
			r = _Reader()
			r.put("mac", mac)
			bssids = []
			for _, radio in _instances(_walk(device, "Radio")):
				for _, ap in _instances(_walk(radio, "AP")):
					bssid = _mac(_leaf(ap, "BSSID")[0])
					if bssid:
						bssids.append(bssid)
						bssid_owner[bssid] = mac
			bssid_owner[mac] = mac
			r.put("bssids", bssids)
			r.leaf("name", device, "X_TP_Nickname")
			r.leaf("name", device, "ProductClass")
			r.leaf("model", device, "ProductClass")
			r.leaf("serial", device, "SerialNumber")
			r.leaf("fw", device, "SoftwareVersion")
			r.leaf("ip", device, "X_TP_IPAddress")
			link, link_ts = _leaf(device, "BackhaulLinkType")
			parent, parent_ts = _leaf(device, "BackhaulMACAddress")
			signal, signal_ts = _leaf(device, "BackhaulSignalStrength")
			r.put("backhaul_type", _text(link), link_ts)
			r.put("_parent_raw", _mac(parent), parent_ts)
			r.put("_backhaul_signal", signal, signal_ts)
			r.leaf("last_contact", device, "LastContactTime")
			readers.append(r)
		if not readers:
			for _, device in _instances(self.obj("Device.WiFi.DataElements.Network.Device")):
				mac = _mac(_leaf(device, "ID")[0])
				if not mac:
					continue
				r = _Reader()
				r.put("mac", mac)
				r.put("bssids", [])
				r.leaf("name", device, "X_TP_Nickname")
				r.leaf("model", device, "MultiAPDevice.ProductClass")
				r.leaf("serial", device, "MultiAPDevice.SerialNumber")
				r.leaf("fw", device, "MultiAPDevice.SoftwareVersion")
				r.leaf("backhaul_type", device, "MultiAPDevice.Backhaul.LinkType")
				parent, parent_ts = _leaf(device, "MultiAPDevice.Backhaul.BackhaulDeviceID")
				if not _mac(parent):
					parent, parent_ts = _leaf(device, "MultiAPDevice.Backhaul.BackhaulMACAddress")
				r.put("_parent_raw", _mac(parent), parent_ts)
				r.put("_backhaul_signal", None)
				readers.append(r)
				bssid_owner[mac] = mac
		nodes = []
		for r in readers:
			values = r.values
			parent_raw = values.pop("_parent_raw", None)
			signal = values.pop("_backhaul_signal", None)
			link = (values.get("backhaul_type") or "").lower()
			is_root = not parent_raw and link in ("", "none")
			parent = bssid_owner.get(parent_raw, parent_raw) if parent_raw else None
			values["role"] = "controller" if is_root else "agent"
			values["parent_mac"] = parent
			if parent is not None and "_parent_raw" in r.times:
				r.times["parent_mac"] = r.times.pop("_parent_raw")
			rssi = rcpi_to_dbm(signal) if link.startswith("wi") else None
			values["backhaul"] = {
				"type": values.pop("backhaul_type", None),
				"band": None,
				"rssi_dbm": rssi,
				"rssi_pct": rssi_percent(rssi),
			}
			if "backhaul_type" in r.times:
				r.times["backhaul"] = r.times.pop("backhaul_type")
			r.times.pop("_backhaul_signal", None)
			r.times.pop("_parent_raw", None)
			values.setdefault("online", None)
			nodes.append(self.finish(r))
		self.result.mesh_nodes = nodes
		return nodes


# TR-098 optical leaves: vendor-only, units unverified (shared/NETWORK.md §2.2).
TR098_OPTICAL = (
	# (path under WANDevice.{w}, RX leaf, TX leaf, transform)
	("X_GponInterafceConfig", "RXPower", "TXPower", "dbm"),  # Huawei; the typo is real
	("X_ZTE-COM_WANPONInterfaceConfig", "RXPower", "TXPower", "dbm"),
	("X_ZTE-COM_GponInterfaceConfig", "RxPower", "TxPower", "dbm"),
	("X_CT-COM_GponInterfaceConfig", "RXPower", "TXPower", "dbm"),
	("X_TP_GponInterfaceConfig", "RXPower", "TXPower", "dbm"),
)
_VLAN_LEAF = re.compile(r"VLAN(ID)?(Mark)?$", re.IGNORECASE)


class _TR098(_Base):
	data_model = "tr098"
	root_name = "InternetGatewayDevice"

	def read(self) -> None:
		self.wan()
		self.optical()
		self.wifi()
		if not self.result.wan:
			self.err("no_wan", "No WANIPConnection or WANPPPConnection in the document")

	def wan(self) -> None:
		for w, wan_device in _instances(_walk(self.root, "WANDevice")):
			for c, conn_device in _instances(_walk(wan_device, "WANConnectionDevice")):
				device_vlan = self.vlan(conn_device)
				for kind, proto in (("WANIPConnection", None), ("WANPPPConnection", "ppp")):
					for k, conn in _instances(_walk(conn_device, kind)):
						path = f"InternetGatewayDevice.WANDevice.{w}.WANConnectionDevice.{c}.{kind}.{k}"
						r = _Reader()
						r.put("iface", path)
						r.leaf("name", conn, "Name")
						vlan = self.vlan(conn) or device_vlan
						r.put("vlan", vlan[0] if vlan else None, vlan[1] if vlan else None)
						r.leaf(
							"ipv4", conn, "ExternalIPAddress", lambda v: None if v == "0.0.0.0" else _text(v)
						)
						r.leaf("netmask", conn, "SubnetMask")
						r.put("ipv6", [])
						if proto:
							r.put("proto", proto)
							r.leaf("gateway", conn, "RemoteIPAddress")
							r.leaf("ppp_username", conn, "Username")
						else:
							addressing, _ = _leaf(conn, "AddressingType")
							r.put(
								"proto",
								{"dhcp": "dhcp", "static": "static"}.get((_text(addressing) or "").lower()),
							)
							r.leaf("gateway", conn, "DefaultGateway")
						r.leaf("dns", conn, "DNSServers", _csv)
						r.leaf("status", conn, "ConnectionStatus")
						r.leaf("last_error", conn, "LastConnectionError")
						r.leaf("mac", conn, "MACAddress", _mac)
						r.leaf("uptime_s", conn, "Uptime", _int)
						r.leaf("service", conn, "X_HW_SERVICELIST")
						self.result.wan.append(self.finish(r))
						self.result.interfaces.append(
							block(
								self.source,
								{
									"name": path,
									"type": proto or "ip",
									"status": r.values.get("status"),
									"enabled": _bool(_leaf(conn, "Enable")[0]),
									"lower_layers": [],
									"vlan": r.values.get("vlan"),
									"mac": r.values.get("mac"),
								},
								now=self.now,
								stale_after=self.stale_after,
								field_asof={"status": r.times.get("status")},
							)
						)

	@staticmethod
	def vlan(node) -> tuple[int, object] | None:
		"""A vendor VLAN leaf (X_..._VLANID, VLANIDMark) directly in ``node`` or one level down."""
		if not isinstance(node, dict):
			return None
		candidates = [(k, v) for k, v in node.items() if not k.startswith("_")]
		for key, child in candidates:
			if _VLAN_LEAF.search(key):
				value, ts = _leaf(child)
				number = _int(value)
				if number is not None and 0 < number < 4095:
					return number, ts
		for key, child in candidates:
			if key.startswith("X_") and isinstance(child, dict) and "_value" not in child:
				for sub, leaf in child.items():
					if _VLAN_LEAF.search(sub):
						number = _int(_leaf(leaf)[0])
						if number is not None and 0 < number < 4095:
							return number, _leaf(leaf)[1]
		return None

	def optical(self) -> None:
		candidates, tx = [], []
		for w, _ in _instances(_walk(self.root, "WANDevice")):
			for obj, rx_leaf, tx_leaf, transform in TR098_OPTICAL:
				base = f"InternetGatewayDevice.WANDevice.{w}.{obj}"
				candidates.append((f"{base}.{rx_leaf}", transform))
				tx.append((f"{base}.{tx_leaf}", transform))
		candidates.append(("InternetGatewayDevice.X_ALU_COM.OntOpticalParam.RxPower", "dbm"))
		tx.append(("InternetGatewayDevice.X_ALU_COM.OntOpticalParam.TxPower", "dbm"))
		self.optical_from(candidates, tx)

	def wifi(self) -> None:
		lan = _walk(self.root, "LANDevice") or {}
		hosts = {}
		for _, lan_device in _instances(lan):
			for _, host in _instances(_walk(lan_device, "Hosts.Host")):
				mac = _mac(_leaf(host, "MACAddress")[0])
				if mac:
					hosts[mac] = host
		clients: dict[str, _Reader] = {}
		radios_seen = set()
		for l_index, lan_device in _instances(lan):
			for p, port in _instances(_walk(lan_device, "LANEthernetInterfaceConfig")):
				self.result.interfaces.append(
					block(
						self.source,
						{
							"name": f"InternetGatewayDevice.LANDevice.{l_index}.LANEthernetInterfaceConfig.{p}",
							"type": "ethernet",
							"status": _text(_leaf(port, "Status")[0]),
							"enabled": _bool(_leaf(port, "Enable")[0]),
							"lower_layers": [],
							"vlan": None,
							"mac": _mac(_leaf(port, "MACAddress")[0]),
						},
						now=self.now,
						stale_after=self.stale_after,
						field_asof={"status": _leaf(port, "Status")[1]},
					)
				)
			for index, wlan in _instances(_walk(lan_device, "WLANConfiguration")):
				path = f"InternetGatewayDevice.LANDevice.{l_index}.WLANConfiguration.{index}"
				channel, channel_ts = _leaf(wlan, "Channel")
				band = _band(_leaf(wlan, "OperatingFrequencyBand")[0], channel)
				if band is None:
					standard = (_text(_leaf(wlan, "Standard")[0]) or "").lower()
					band = "5GHz" if standard.startswith(("a", "ac")) else ("2.4GHz" if standard else None)
				enabled = _bool(_leaf(wlan, "Enable")[0])
				s = _Reader()
				s.put("path", path)
				s.leaf("ssid", wlan, "SSID")
				s.put("band", band)
				s.put("radio", path)
				s.leaf("bssid", wlan, "BSSID", _mac)
				s.leaf("enabled", wlan, "Enable", _bool)
				s.leaf("status", wlan, "Status")
				s.put("ap_index", index)
				s.leaf("clients", wlan, "TotalAssociations", _int)
				self.result.ssids.append(self.finish(s))
				if band and band not in radios_seen and enabled is not False:
					radios_seen.add(band)
					r = _Reader()
					r.put("path", path)
					r.put("band", band)
					r.put("channel", _int(channel), channel_ts)
					r.leaf("auto_channel", wlan, "AutoChannelEnable", _bool)
					r.leaf("standards", wlan, "Standard", _csv)
					r.put("bandwidth", None)
					r.leaf("transmit_power_pct", wlan, "TransmitPower", _int)
					r.put("noise_dbm", None)
					r.put("enabled", enabled)
					self.result.radios.append(self.finish(r))
				for _, assoc in _instances(_walk(wlan, "AssociatedDevice")):
					mac = _mac(_leaf(assoc, "AssociatedDeviceMACAddress")[0])
					if not mac:
						continue
					c = clients.setdefault(mac, _Reader())
					c.put("mac", mac)
					c.put("band", band)
					c.put("ssid", _text(_leaf(wlan, "SSID")[0]))
					c.leaf("ip", assoc, "AssociatedDeviceIPAddress")
					c.leaf("active", assoc, "AssociatedDeviceAuthenticationState", _bool)
					raw, ts = next(
						(_leaf(v) for k, v in assoc.items() if k.endswith(("RSSI", "SignalStrength"))),
						(None, None),
					)
					dbm = signal_dbm(raw)
					c.put("rssi_dbm", dbm, ts)
					c.put("rssi_pct", rssi_percent(dbm), ts)
		for mac, host in hosts.items():
			known = mac in clients
			c = clients.setdefault(mac, _Reader())
			c.put("mac", mac)
			c.leaf("ip", host, "IPAddress")
			c.leaf("hostname", host, "HostName")
			c.leaf("active", host, "Active", _bool)
			if not known:
				kind = (_text(_leaf(host, "InterfaceType")[0]) or "").lower()
				c.put("wired", kind == "ethernet")
				c.put("band", None)
		for c in clients.values():
			c.put("wired", c.values.get("wired") or False)
			c.put("node_mac", None)
			c.put("is_mesh_node", False)
			for name in ("ip", "hostname", "band", "rssi_dbm", "rssi_pct", "rate_kbps", "active"):
				c.values.setdefault(name, None)
			self.result.clients.append(self.finish(c))


# ---------------------------------------------------------------------------
# merging per-source results


def merge(
	*results: Diagnosis | Mapping | None,
	now: datetime,
	stale_after: timedelta | float = DEFAULT_STALE_AFTER,
) -> Diagnosis:
	"""Combine partial results from several sources into one.

	For every field the freshest non-missing value wins (by its ``field_asof``, else
	its block's ``asof``); the winner's source is recorded in the block's ``sources``.
	List blocks are matched by :data:`LIST_KEYS`. Errors from every source are kept,
	so one failure never hides what the other sources said.
	"""
	parts = [r if isinstance(r, Diagnosis) else Diagnosis.from_dict(r) for r in results if r]
	out = Diagnosis()
	for name in BLOCKS:
		setattr(out, name, _merge_blocks([getattr(p, name) for p in parts], now, stale_after))
	for name in LIST_BLOCKS:
		groups: dict[tuple, list[dict]] = {}
		for part in parts:
			seen: dict[tuple, int] = {}
			for item in getattr(part, name):
				key = _item_key(name, item)
				# two items of one source never merge (two IP interfaces on one VLAN)
				seen[key] = seen.get(key, -1) + 1
				groups.setdefault((*key, seen[key]), []).append(item)
		setattr(out, name, [_merge_blocks(items, now, stale_after) for items in groups.values()])
	for part in parts:
		out.errors.extend(part.errors)
		for source, info in part.sources.items():
			out.sources.setdefault(source, info)
	if out.optical and len([p for p in parts if p.optical]) > 1:
		_recheck_optical(out.optical, [p.optical["status"] for p in parts if p.optical])
	return out


def _item_key(name: str, item: Mapping) -> tuple:
	if name == "wan" and item.get("vlan") is not None:
		return (item.get("vlan"),)  # the same VLAN seen by GenieACS and by the modem UI
	values = tuple(item.get(k) for k in LIST_KEYS[name])
	return (id(item),) if all(v is None for v in values) else values


def _merge_blocks(blocks: list[dict | None], now, stale_after) -> dict | None:
	blocks = [b for b in blocks if b]
	if not blocks:
		return None
	if len(blocks) == 1:
		return blocks[0]
	chosen: dict = {}
	times: dict = {}
	origin: dict = {}
	for b in blocks:
		default = parse_time(b.get("asof"))
		stamps = b.get("field_asof") or {}
		for key, value in b.items():
			if key in META_FIELDS:
				continue
			if _missing(value):
				chosen.setdefault(key, value)
				continue
			when = parse_time(stamps.get(key)) or default
			best = times.get(key)
			fresher = key not in origin or (when is not None and (best is None or when > best))
			if isinstance(value, dict) and isinstance(chosen.get(key), dict):
				# nested readings (raw per reading, backhaul): combine, the fresher side on top
				value = {**chosen[key], **value} if fresher else {**value, **chosen[key]}
				chosen[key] = value
			if fresher:
				chosen[key] = value
				times[key] = when
				origin[key] = b.get("source")
	merged = block(
		"+".join(sorted({s for s in origin.values() if s})) or blocks[0].get("source", ""),
		chosen,
		now=now,
		stale_after=stale_after,
		field_asof={k: t for k, t in times.items() if t is not None},
	)
	merged["sources"] = dict(sorted(origin.items()))
	return merged


def _missing(value) -> bool:
	return value is None or value == [] or value == {}


def _recheck_optical(optical: dict, statuses: list[str]) -> None:
	"""The merged RX may come from one source and the status from another: recompute it."""
	sources = optical.setdefault("sources", {})
	if optical.get("rx_dbm") is not None:
		optical["status"] = optical_status(optical["rx_dbm"])
		sources["status"] = sources.get("rx_dbm")
	elif "los" in statuses:
		optical["status"] = "los"
	else:
		optical["status"] = "unknown"
