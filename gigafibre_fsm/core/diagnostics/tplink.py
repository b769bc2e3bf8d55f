"""TP-Link modems: the ``DEV2_*`` objects of EX/XX models and Deco answers → a reading → a Diagnosis.

Rules, not transport: the modem bridge (connectors/modem_direct.py, modem_browser.py) fetches the
objects; this reads them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from gigafibre_fsm.core.diagnostics.model import DEFAULT_STALE_AFTER, Diagnosis, block, iso, optical_reading
from gigafibre_fsm.core.diagnostics.units import _mac, _text, rcpi_to_dbm, rssi_percent, signal_dbm

SOURCE = "modem"

# DEV2_HOST_ENTRY.X_TP_LanConnType (tplinkrouterc6u TPLinkEXClient.CLIENT_TYPES)
LAN_CONN_TYPES: dict[int, tuple[str | None, str]] = {
	0: (None, "wired"),
	1: ("2.4GHz", "main"),
	2: ("2.4GHz", "guest"),
	3: ("5GHz", "main"),
	4: ("5GHz", "guest"),
	5: ("6GHz", "main"),
	6: ("6GHz", "guest"),
	8: ("2.4GHz", "iot"),
	9: ("5GHz", "iot"),
	10: (None, "mlo"),
}

# ---------------------------------------------------------------------------
# mapping DEV2_* objects and Deco answers to a reading


def _items(value) -> list[dict]:
	if value is None:
		return []
	if isinstance(value, dict):
		return [value]
	return [v for v in value if isinstance(v, dict)]


def _first(value) -> dict:
	items = _items(value)
	return items[0] if items else {}


def _get(item: Mapping, *names: str):
	"""The first non-empty attribute among ``names`` (case-insensitive: firmwares differ)."""
	lower = {k.lower(): v for k, v in item.items()}
	for name in names:
		value = lower.get(name.lower())
		if value not in (None, ""):
			return value
	return None


def _int(value) -> int | None:
	try:
		return int(float(str(value).strip()))
	except (TypeError, ValueError):
		return None


def _flag(value) -> bool | None:
	if value is None or value == "":
		return None
	if isinstance(value, str):
		return value.strip().lower() in ("1", "true", "yes", "up", "enabled", "online")
	return bool(value)


def _ip(value) -> str | None:
	text = _text(value)
	return None if text in (None, "0.0.0.0", "::") else text


def _csv(value) -> list[str]:
	text = _text(value)
	return [p.strip() for p in text.split(",") if p.strip() and p.strip() != "0.0.0.0"] if text else []


def _band(value=None, channel=None) -> str | None:
	text = (_text(value) or "").lower().replace(" ", "").replace("_", ".")
	if text.startswith(("2.4", "2g", "band2.4")):
		return "2.4GHz"
	if text.startswith(("5", "band5")):
		return "5GHz"
	if text.startswith(("6", "band6")):
		return "6GHz"
	channel = _int(channel)
	if channel:
		return "2.4GHz" if channel <= 14 else "5GHz"
	return None


def _stack(item: Mapping) -> tuple[int, ...]:
	parts = [_int(p) or 0 for p in str(item.get("stack") or "").split(",")]
	while parts and parts[-1] == 0:
		parts.pop()
	return tuple(parts)


def _proto(kind) -> str | None:
	text = (_text(kind) or "").lower()
	if "ppp" in text:
		return "ppp"
	if "dhcp" in text or "dynamic" in text:
		return "dhcp"
	if "static" in text:
		return "static"
	return None


def dev2_reading(objects: Mapping[str, object]) -> dict:
	"""A reading from the ``DEV2_*`` objects of an EX/XX modem (``gl``/``go`` answers by oid).

	Values keep the names the normaliser uses (shared/NETWORK.md §7). The optical
	reading stays raw (its transform is declared in :func:`to_diagnosis`). Radios
	are matched to SSIDs through ``lowerLayers`` and to instances through ``stack``;
	no table index is assumed.
	"""
	info = _first(objects.get("DEV2_DEV_INFO"))
	lan = _first(objects.get("DEV2_ADT_LAN"))
	device = {
		"vendor": _text(_get(info, "manufacturer")) or "TP-Link",
		"model": _text(_get(info, "modelName", "productClass")),
		"serial": _text(_get(info, "serialNumber")),
		"fw": _text(_get(info, "softwareVersion")),
		"hw": _text(_get(info, "hardwareVersion")),
		"uptime_s": _int(_get(info, "upTime", "uptime")),
		"mac": _mac(_get(lan, "MACAddress", "X_TP_MACAddress")),
		"lan_ip": _ip(_get(lan, "IPAddress")),
		"online": True,
	}
	wan = []
	for item in _items(objects.get("DEV2_ADT_WAN")):
		if _flag(_get(item, "enable")) is False:
			continue
		ipv6 = _ip(_get(item, "connIPv6Address", "IPv6Address"))
		stack = _stack(item)
		wan.append(
			{
				"iface": f"DEV2_ADT_WAN.{'.'.join(map(str, stack))}" if stack else "DEV2_ADT_WAN",
				"name": _text(_get(item, "name")),
				"vlan": _int(_get(item, "vlanId", "VLANID", "X_TP_VlanId", "vlan")),
				"proto": _proto(_get(item, "connectionType", "connType", "name")),
				"ipv4": _ip(_get(item, "connIPv4Address", "externalIPAddress")),
				"netmask": _ip(_get(item, "connIPv4SubnetMask", "subnetMask")),
				"gateway": _ip(_get(item, "connIPv4Gateway", "defaultGateway")),
				"dns": _csv(_get(item, "connIPv4DnsServer", "DNSServers")),
				"ipv6": [ipv6] if ipv6 else [],
				"status": _text(_get(item, "status", "connectionStatus")),
				"mac": _mac(_get(item, "MACAddr", "MACAddress")),
			}
		)
	gpon = _first(objects.get("DEV2_OPTC_GPON_CFG"))
	optical = None
	rx = _get(gpon, "RXPower", "rxPower", "RxPower")
	if rx is not None:
		optical = {
			"rx": rx,
			"tx": _get(gpon, "TXPower", "txPower", "TxPower"),
			"paths": {"rx": "DEV2_OPTC_GPON_CFG.RXPower", "tx": "DEV2_OPTC_GPON_CFG.TXPower"},
		}
	radios, radio_band = [], {}
	for item in _items(objects.get("DEV2_WIFI_RADIO")):
		stack = _stack(item)
		band = _band(_get(item, "operatingFrequencyBand", "X_TP_Band", "band"), _get(item, "channel"))
		path = f"Device.WiFi.Radio.{stack[0]}" if stack else None
		if path:
			radio_band[path] = band
		radios.append(
			{
				"path": path,
				"band": band,
				"channel": _int(_get(item, "channel")),
				"enabled": _flag(_get(item, "enable")),
				"auto_channel": _flag(_get(item, "autoChannelEnable")),
				"bandwidth": _text(
					_get(item, "currentOperatingChannelBandwidth", "operatingChannelBandwidth", "bandWidth")
				),
				"standards": _csv(_get(item, "operatingStandards", "standard")),
				"transmit_power_pct": _int(_get(item, "transmitPower")),
				"noise_dbm": signal_dbm(_get(item, "noise", "X_TP_Noise")),
			}
		)
	ssids, bssid_band = [], {}
	for item in _items(objects.get("DEV2_WIFI_SSID")):
		stack = _stack(item)
		lower = (_text(_get(item, "lowerLayers")) or "").split(",")[0].strip().rstrip(".")
		band = radio_band.get(lower) or _band(_get(item, "X_TP_Band", "band"))
		bssid = _mac(_get(item, "BSSID", "MACAddress"))
		if bssid:
			bssid_band[bssid] = band
		ssids.append(
			{
				"path": f"Device.WiFi.SSID.{stack[0]}" if stack else None,
				"ssid": _text(_get(item, "SSID", "X_TP_SSID", "name")),
				"band": band,
				"radio": lower or None,
				"bssid": bssid,
				"enabled": _flag(_get(item, "enable")),
				"status": _text(_get(item, "status")),
				"ap_index": None,
			}
		)
	# EasyMesh: nodes by APDevice instance, their radios' bands, then stations
	nodes_by_index, mesh_nodes = {}, []
	for item in _items(objects.get("DEV2_WIFI_APDEV")):
		mac = _mac(_get(item, "MACAddress", "ID"))
		if not mac:
			continue
		stack = _stack(item)
		link = (_text(_get(item, "backhaulLinkType")) or "").lower()
		parent = _mac(_get(item, "backhaulMACAddress", "backhaulDeviceID"))
		root = not parent and link in ("", "none")
		rssi = rcpi_to_dbm(_get(item, "backhaulSignalStrength")) if link.startswith("wi") else None
		node = {
			"mac": mac,
			"name": _text(_get(item, "X_TP_HostName", "X_TP_Nickname", "hostName", "nickname")),
			"model": _text(_get(item, "productClass", "modelName")),
			"serial": _text(_get(item, "serialNumber")),
			"fw": _text(_get(item, "softwareVersion")),
			"ip": _ip(_get(item, "X_TP_IPAddress", "IPAddress")),
			"role": "controller" if root else "agent",
			"parent_mac": parent,
			"backhaul": {
				"type": _text(_get(item, "backhaulLinkType")),
				"band": bssid_band.get(parent) if parent else None,
				"rssi_dbm": rssi,
				"rssi_pct": rssi_percent(rssi),
			},
			"online": True,
		}
		if stack:
			nodes_by_index[stack[0]] = node
		mesh_nodes.append(node)
	# a backhaul parent given as a BSSID of the gateway is the gateway
	gateway = next((n for n in mesh_nodes if n["role"] == "controller"), None)
	for node in mesh_nodes:
		if gateway and node["parent_mac"] in bssid_band:
			node["parent_mac"] = gateway["mac"]
	apdev_radio_band = {}
	for item in _items(objects.get("DEV2_WIFI_APDEV_RADIO")):
		stack = _stack(item)
		if len(stack) >= 2:
			apdev_radio_band[stack[:2]] = _band(_get(item, "operatingFrequencyBand"), _get(item, "channel"))
	clients: dict[str, dict] = {}
	for item in _items(objects.get("DEV2_WIFI_APDEV_ASSOCDEV")):
		mac = _mac(_get(item, "MACAddress"))
		if not mac:
			continue
		stack = _stack(item)
		node = nodes_by_index.get(stack[0]) if stack else None
		rssi = signal_dbm(_get(item, "signalStrength"), rcpi_when_positive=True)
		clients[mac] = {
			"mac": mac,
			"ip": _ip(_get(item, "X_TP_IPAddress", "IPAddress")),
			"hostname": _text(_get(item, "X_TP_HostName", "hostName")),
			"band": apdev_radio_band.get(stack[:2]) if len(stack) >= 2 else None,
			"rssi_dbm": rssi,
			"rssi_pct": rssi_percent(rssi),
			"rate_kbps": _int(_get(item, "lastDataDownlinkRate")),
			"uplink_rate_kbps": _int(_get(item, "lastDataUplinkRate")),
			"node_mac": node["mac"] if node else (gateway["mac"] if gateway else None),
			"wired": False,
			"active": _flag(_get(item, "active")),
		}
	for item in _items(objects.get("DEV2_HOST_ENTRY")):
		mac = _mac(_get(item, "physAddress", "MACAddress"))
		if not mac:
			continue
		active = _flag(_get(item, "active"))
		band, network = LAN_CONN_TYPES.get(_int(_get(item, "X_TP_LanConnType")), (None, "unknown"))
		known = mac in clients
		if not known and active is False:
			continue  # a lease of a device that is gone
		client = clients.setdefault(mac, {"mac": mac})
		client["ip"] = client.get("ip") or _ip(_get(item, "IPAddress"))
		client["hostname"] = client.get("hostname") or _text(_get(item, "hostName"))
		client["network"] = network
		if not known:
			client.update(
				{
					"band": band,
					"rssi_dbm": None,
					"rssi_pct": None,
					"rate_kbps": None,
					"node_mac": gateway["mac"] if gateway else device["mac"],
					"wired": network == "wired",
					"active": active,
				}
			)
		elif client.get("band") is None:
			client["band"] = band
	node_macs = {n["mac"] for n in mesh_nodes}
	for client in clients.values():
		client["is_mesh_node"] = client["mac"] in node_macs
	return {
		"device": device,
		"wan": wan,
		"optical": optical,
		"radios": radios,
		"ssids": ssids,
		"mesh_nodes": mesh_nodes,
		"clients": list(clients.values()),
		"missing": sorted(oid for oid, value in objects.items() if value is None),
	}


def _b64_name(value) -> str | None:
	from base64 import b64decode

	text = _text(value)
	if not text:
		return None
	try:
		return b64decode(text, validate=True).decode() or text
	except (ValueError, UnicodeDecodeError):
		return text


def deco_reading(devices: list, wan: Mapping, wlan: Mapping, clients_by_node: Mapping[str, list]) -> dict:
	"""A reading from a Deco's ``device_list``, ``wan_ipv4``, ``wlan`` and per-node ``client_list`` answers."""
	master = next((d for d in devices if d.get("role") == "master"), devices[0] if devices else {})
	device = {
		"vendor": "TP-Link",
		"model": _text(master.get("device_model")),
		"fw": _text(master.get("software_ver")),
		"hw": _text(master.get("hardware_ver")),
		"mac": _mac(master.get("mac")),
		"lan_ip": _ip(master.get("device_ip")),
		"online": True,
	}
	ip_info = (wan.get("wan") or {}).get("ip_info") or {}
	wan_rows = []
	if ip_info:
		wan_rows.append(
			{
				"iface": "wan",
				"name": "wan",
				"vlan": None,
				"proto": _proto((wan.get("wan") or {}).get("dial_type")),
				"ipv4": _ip(ip_info.get("ip")),
				"netmask": _ip(ip_info.get("mask")),
				"gateway": _ip(ip_info.get("gateway")),
				"dns": [d for d in (_ip(ip_info.get("dns1")), _ip(ip_info.get("dns2"))) if d],
				"ipv6": [],
				"status": None,
				"mac": _mac(ip_info.get("mac")),
			}
		)
	ssids, radios = [], []
	for key, band in (("band2_4", "2.4GHz"), ("band5_1", "5GHz"), ("band5_2", "5GHz"), ("band6", "6GHz")):
		host = ((wlan or {}).get(key) or {}).get("host") or {}
		if not host:
			continue
		ssids.append(
			{
				"path": f"{key}.host",
				"ssid": _b64_name(host.get("ssid")),
				"band": band,
				"enabled": _flag(host.get("enable")),
				"ap_index": None,
			}
		)
		radios.append({"path": key, "band": band, "channel": _int(host.get("channel")), "enabled": True})
	nodes = []
	for item in devices:
		mac = _mac(item.get("mac"))
		if not mac:
			continue
		signal = item.get("signal_strength") or {}
		parent = _mac(item.get("previous"))
		band = "5GHz" if _int(signal.get("band5")) else ("2.4GHz" if _int(signal.get("band2_4")) else None)
		rssi = _int(signal.get("band5")) or _int(signal.get("band2_4"))
		rssi = rssi if rssi is not None and rssi < 0 else None
		nodes.append(
			{
				"mac": mac,
				"name": _b64_name(item.get("nickname")),
				"model": _text(item.get("device_model")),
				"fw": _text(item.get("software_ver")),
				"ip": _ip(item.get("device_ip")),
				"role": "controller" if item.get("role") == "master" else "agent",
				"parent_mac": parent if item.get("role") != "master" else None,
				"backhaul": {
					"type": None if item.get("role") == "master" else ("Wi-Fi" if band else "Ethernet"),
					"band": band if item.get("role") != "master" else None,
					"rssi_dbm": rssi,
					"rssi_pct": rssi_percent(rssi),
				},
				"online": (_text(item.get("group_status")) or "").lower() == "connected",
			}
		)
	node_macs = {n["mac"] for n in nodes}
	clients = {}
	for node_mac, rows in clients_by_node.items():
		for row in rows or []:
			mac = _mac(row.get("mac"))
			if not mac or mac in clients:
				continue
			wired = row.get("wire_type") == "wired"
			clients[mac] = {
				"mac": mac,
				"ip": _ip(row.get("ip")),
				"hostname": _b64_name(row.get("name")),
				"band": None if wired else _band(row.get("connection_type")),
				"rssi_dbm": None,
				"rssi_pct": None,
				"rate_kbps": None,
				"node_mac": _mac(node_mac),
				"wired": wired,
				"network": _text(row.get("interface")),
				"active": _flag(row.get("online")),
				"is_mesh_node": mac in node_macs,
			}
	return {
		"device": device,
		"wan": wan_rows,
		"optical": None,
		"radios": radios,
		"ssids": ssids,
		"mesh_nodes": nodes,
		"clients": list(clients.values()),
		"missing": [],
	}


def to_diagnosis(
	reading: Mapping,
	*,
	host: str,
	backend: str,
	now: datetime,
	stale_after: timedelta | float = DEFAULT_STALE_AFTER,
	optical_transform: str = "tplink_0.1uW",
	fallback_from: Sequence[str] = (),
) -> Diagnosis:
	"""A ``modem`` :class:`Diagnosis` from a reading: every block stamped ``asof=now`` (one read)."""
	result = Diagnosis()

	def wrap(values: Mapping) -> dict:
		return block(SOURCE, dict(values), now=now, stale_after=stale_after, asof=now)

	device = dict(reading.get("device") or {})
	device["mgmt_url"] = host
	device["bridge_backend"] = backend
	result.device = wrap(device)
	result.wan = [wrap(w) for w in reading.get("wan") or []]
	optical = reading.get("optical")
	if optical:
		paths = optical.get("paths") or {}
		result.optical, errors = optical_reading(
			SOURCE,
			now=now,
			asof=now,
			stale_after=stale_after,
			rx=optical.get("rx"),
			rx_transform=optical_transform,
			tx=optical.get("tx"),
			tx_transform=optical_transform,
			paths=paths,
		)
		result.errors.extend(errors)
	result.radios = [wrap(r) for r in reading.get("radios") or []]
	result.ssids = [wrap(s) for s in reading.get("ssids") or []]
	result.mesh_nodes = [wrap(n) for n in reading.get("mesh_nodes") or []]
	result.clients = [wrap(c) for c in reading.get("clients") or []]
	info = {"asof": iso(now), "ok": not result.errors, "backend": backend}
	if reading.get("missing"):
		info["missing"] = list(reading["missing"])
	if fallback_from:
		info["fallback_from"] = list(fallback_from)
	result.sources[SOURCE] = info
	return result
