"""What a customer sees of their device on the QR page: a plain summary of a Diagnosis (pure).

Statuses, Wi-Fi network names, mesh node and client device names and counts; never serials,
IP or MAC addresses, ids, raw errors or OLT data (names that look like a MAC or an IP are dropped).
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

BANDS = ("2.4GHz", "5GHz", "6GHz")
MAX_NAMES = 50
MAX_NAME_LENGTH = 64

_MAC_LIKE = re.compile(r"([0-9a-f]{2}[:\-]){5}[0-9a-f]{2}|[0-9a-f]{12}", re.I)
_IP_LIKE = re.compile(r"\b\d{1,3}(\.\d{1,3}){3}\b|[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,7}", re.I)


def plain_summary(result: dict, diagnosed_at=None, *, tz: str = "America/Toronto") -> dict:
	"""What the customer sees, from a Diagnosis dict (gigafibre_fsm.core.diagnostics).

	``fibre``: good / weak / none / unknown; ``internet``: up / down / unknown;
	``wifi``: per band seen, ``{"band": "2.4", "on": bool | None, "networks": [SSID]}``;
	``mesh``: ``{"count", "names"}``; ``devices``: ``{"count", "wifi", "wired", "names"}``;
	``checked_at``: ISO time with the offset of ``tz`` (the site's zone) when ``diagnosed_at`` has none.
	"""
	device = result.get("device") or {}
	optical = result.get("optical") or {}
	nodes = [n for n in result.get("mesh_nodes") or [] if isinstance(n, dict)]
	node_macs = {n.get("mac") for n in nodes if n.get("mac")}
	clients = [
		c for c in result.get("clients") or [] if isinstance(c, dict) and c.get("mac") not in node_macs
	]
	wifi_clients = [c for c in clients if c.get("band")]
	return {
		"checked_at": _checked_at(diagnosed_at, tz),
		"fibre": _fibre(optical.get("status")),
		"internet": _internet(device.get("online"), result.get("wan") or []),
		"wifi": _wifi(result.get("radios") or [], result.get("ssids") or []),
		"mesh": {"count": len(nodes), "names": _names(n.get("name") for n in nodes)},
		"devices": {
			"count": len(clients),
			"wifi": len(wifi_clients),
			"wired": len(clients) - len(wifi_clients),
			"names": _names(c.get("hostname") or c.get("name") for c in clients),
		},
	}


def _fibre(status) -> str:
	return {"ok": "good", "low": "weak", "high": "weak", "los": "none"}.get(status, "unknown")


def _internet(online, wan: list) -> str:
	if online is False:
		return "down"
	states = []
	for w in wan:
		if not isinstance(w, dict):
			continue
		words = {str(w.get(k) or "").strip().lower() for k in ("status", "ppp_status")} - {""}
		if words & {"up", "connected"} or (not words and w.get("ipv4")):
			states.append(True)
		elif words:
			states.append(False)
	if any(states):
		return "up"
	if states:
		return "down"
	return "up" if online else "unknown"


def _wifi(radios: list, ssids: list) -> list[dict]:
	out = []
	for band in BANDS:
		band_radios = [r for r in radios if isinstance(r, dict) and r.get("band") == band]
		band_ssids = [s for s in ssids if isinstance(s, dict) and s.get("band") == band]
		if not band_radios and not band_ssids:
			continue
		flags = [r.get("enabled") for r in band_radios if r.get("enabled") is not None]
		live = [s for s in band_ssids if s.get("enabled") is not False and not s.get("hidden")]
		if flags:
			on = any(flags) and (bool(live) or not band_ssids)
		elif band_ssids:
			on = bool(live) if any(s.get("enabled") is not None for s in band_ssids) else None
		else:
			on = None
		networks = _names(s.get("ssid") for s in live) if on is not False else []
		out.append({"band": band.removesuffix("GHz"), "on": on, "networks": networks})
	return out


def _names(values) -> list[str]:
	"""Distinct readable names, never something that looks like a MAC or an IP address."""
	seen: list[str] = []
	for value in values:
		if not isinstance(value, str):
			continue
		name = " ".join(value.split())[:MAX_NAME_LENGTH]
		if not name or _MAC_LIKE.search(name) or _IP_LIKE.search(name) or name in seen:
			continue
		seen.append(name)
		if len(seen) >= MAX_NAMES:
			break
	return seen


def _checked_at(value, tz: str) -> str | None:
	if not value:
		return None
	when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
	if when.tzinfo is None:
		when = when.replace(tzinfo=ZoneInfo(tz))
	return when.isoformat(timespec="minutes")
