"""Reading a GenieACS device document: leaves, tables, values, and the reader every data model shares."""

from __future__ import annotations

from collections.abc import Callable

from gigafibre_fsm.core.diagnostics.model import (
	Diagnosis,
	_seconds,
	block,
	error,
	is_online,
	iso,
	optical_reading,
	parse_time,
	rx_level,
)
from gigafibre_fsm.core.diagnostics.units import OPTICAL_PLAUSIBLE, _number, _text, to_dbm

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


def _int(value) -> int | None:
	number = _number(value)
	return None if number is None else int(number)


def _bool(value) -> bool | None:
	if value is None or value == "":
		return None
	if isinstance(value, str):
		return value.strip().lower() in ("1", "true", "yes", "up", "enabled")
	return bool(value)


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

	def optical_candidates(self) -> tuple[list, list, tuple | None] | None:
		"""Where this data model keeps the ONT's optical levels: (RX candidates, TX candidates,
		the interface's status leaf), each candidate a (path, transform); None when the
		document holds no optical object (per data model)."""
		return None

	def fleet(self) -> dict:
		"""Only what a fleet refresh stores (see model.equipment_fields), by the same rules as
		:meth:`run` (online, last inform, the chosen RX level and its status), without
		building the blocks: ``{"device": {"online", "last_inform"}, "optical": {"rx_dbm",
		"status"} or None}``."""
		last_inform = parse_time(self.doc.get("_lastInform"))
		interval = _int(_leaf(self.root, "ManagementServer.PeriodicInformInterval")[0])
		optical = None
		sources = self.optical_candidates() if self.root is not None else None
		chosen = self.choose_rx(sources[0]) if sources else None
		if chosen is not None:
			status = sources[2][0] if sources[2] else None
			rx_dbm, status = rx_level(chosen[1], chosen[3], _text(status))
			optical = {"rx_dbm": rx_dbm, "status": status}
		return {
			"device": {"online": is_online(last_inform, interval, self.now), "last_inform": iso(last_inform)},
			"optical": optical,
		}

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
		r.put("online", is_online(last_inform, interval, self.now), last_inform)
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
		chosen = self.choose_rx(candidates)
		if chosen is None:
			return
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

	def choose_rx(self, candidates: list[tuple[str, str]]) -> tuple | None:
		"""(path, raw, timestamp, transform) of the RX reading to use among (path, transform)
		candidates: the first plausible non-zero level (an unsupported standard leaf often
		reads 0), else the first plausible one, else the first present; None if none is."""
		found = []
		for path, transform in candidates:
			raw, ts = _leaf(self.doc, path)
			if raw is None or raw == "":
				continue
			found.append((path, raw, ts, self._transform(path, transform)))
		if not found:
			return None
		readings = [(f, to_dbm(f[1], f[3])) for f in found]
		return next(
			(f for f, v in readings if v is not None and _plausible(v) and v != 0),
			next((f for f, v in readings if v is not None and _plausible(v)), found[0]),
		)

	def _transform(self, path: str, default: str) -> str:
		key = ".".join(path.split(".")[-2:])
		return self.transforms.get(key, default)


def _plausible(value: float) -> bool:
	return OPTICAL_PLAUSIBLE[0] <= value <= OPTICAL_PLAUSIBLE[1]
