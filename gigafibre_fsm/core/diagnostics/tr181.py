"""TR-181 (``Device.``) device documents: WAN through LowerLayers, Wi-Fi, mesh, optical."""

from __future__ import annotations

from gigafibre_fsm.core.diagnostics.documents import _Base, _bool, _instances, _leaf, _Reader, _refs, _walk
from gigafibre_fsm.core.diagnostics.tplink import _band, _csv, _int, _mac, _text
from gigafibre_fsm.core.diagnostics.units import rcpi_to_dbm, rssi_percent, signal_dbm


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
	def optical_candidates(self):
		interfaces = _instances(self.obj("Device.Optical.Interface"))
		# prefer an interface that is Up, else the first one
		ordered = sorted(interfaces, key=lambda kv: _text(_leaf(kv[1], "Status")[0]) != "Up")
		if not ordered:
			return None
		index, node = ordered[0]
		base = f"Device.Optical.Interface.{index}"
		return (
			[(f"{base}.OpticalSignalLevel", "dbm1000"), (f"{base}.X_TP_GPON_Config.RXPower", "tplink_0.1uW")],
			[
				(f"{base}.TransmitOpticalLevel", "dbm1000"),
				(f"{base}.X_TP_GPON_Config.TXPower", "tplink_0.1uW"),
			],
			_leaf(node, "Status"),
		)

	def optical(self) -> None:
		sources = self.optical_candidates()
		if sources is None:
			if self.obj("Device.X_TP_GPON") is not None or self.result.wan:
				self.err("no_optical", "No Optical.Interface in the document (no preset fetches it?)")
			return
		candidates, tx_candidates, status_leaf = sources
		self.optical_from(candidates, tx_candidates, status_leaf=status_leaf)
		if self.result.optical is None:
			self.err(
				"no_optical", "{0} holds no receive level (not fetched?)", candidates[0][0].rsplit(".", 1)[0]
			)

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
