"""TR-098 (``InternetGatewayDevice.``) device documents."""

from __future__ import annotations

import re

from gigafibre_fsm.core.diagnostics.documents import _Base, _bool, _instances, _leaf, _Reader, _walk
from gigafibre_fsm.core.diagnostics.model import block
from gigafibre_fsm.core.diagnostics.tplink import _band, _csv, _int, _mac, _text
from gigafibre_fsm.core.diagnostics.units import rssi_percent, signal_dbm

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

	def optical_candidates(self):
		candidates, tx = [], []
		for w, _ in _instances(_walk(self.root, "WANDevice")):
			for obj, rx_leaf, tx_leaf, transform in TR098_OPTICAL:
				base = f"InternetGatewayDevice.WANDevice.{w}.{obj}"
				candidates.append((f"{base}.{rx_leaf}", transform))
				tx.append((f"{base}.{tx_leaf}", transform))
		candidates.append(("InternetGatewayDevice.X_ALU_COM.OntOpticalParam.RxPower", "dbm"))
		tx.append(("InternetGatewayDevice.X_ALU_COM.OntOpticalParam.TxPower", "dbm"))
		return candidates, tx, None

	def optical(self) -> None:
		candidates, tx, _status = self.optical_candidates()
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
