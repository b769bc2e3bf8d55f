"""Realistic GenieACS device documents for tests and benchmarks.

Shapes follow shared/NETWORK.md §1.3 (GenieACS stores each leaf as ``{_value, _type,
_timestamp, _writable}`` and each object with ``_object`` and its own ``_timestamp``)
and the paths and units of §2:

- :func:`xx230v_document`: a TP-Link XX230v (TR-181 ``Device.``) with a GPON optical
  interface (``X_TP_GPON_Config.RXPower`` in 0.1 µW, optionally the BBF
  ``OpticalSignalLevel`` in 0.001 dBm), IP interfaces over PPP and VLAN terminations
  (the internet WAN is *not* ``IP.Interface.1``), 2.4/5 GHz radios with SSID.1/SSID.3
  on Radio.1/Radio.2, a MultiAP mesh (Deco nodes, RCPI signal levels), hosts.
- :func:`cpe_fleet.tr098_document`: a Huawei-like ONT (TR-098 ``InternetGatewayDevice.``),
  and :func:`cpe_fleet.fleet`: many devices of both kinds.

Everything is parameterisable (serial, MACs, levels, timestamps) so a test states the
values it checks. :func:`device_id` escapes like GenieACS does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

DEFAULT_NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


def iso(when: datetime) -> str:
	return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def escape_id_part(value: str) -> str:
	"""GenieACS device-id component: characters outside [A-Za-z0-9_] become %XX (UTF-8)."""
	out = []
	for ch in value:
		if ch.isascii() and (ch.isalnum() or ch == "_"):
			out.append(ch)
		else:
			out.extend(f"%{b:02X}" for b in ch.encode())
	return "".join(out)


def device_id(oui: str, product_class: str, serial: str) -> str:
	return "-".join(escape_id_part(p) for p in (oui, product_class, serial) if p)


def _type(value) -> str:
	if isinstance(value, bool):
		return "xsd:boolean"
	if isinstance(value, int):
		return "xsd:unsignedInt" if value >= 0 else "xsd:int"
	if isinstance(value, datetime):
		return "xsd:dateTime"
	return "xsd:string"


def build_document(
	params: dict,
	*,
	oui: str,
	product_class: str,
	serial: str,
	manufacturer: str,
	last_inform: datetime,
	timestamp: datetime | None = None,
	timestamps: dict[str, datetime] | None = None,
	tags: list[str] | None = None,
	unfetched: tuple[str, ...] = (),
) -> dict:
	"""A GenieACS device document from flat ``{path: value}``.

	``timestamps`` maps a path prefix to the time its leaves were last fetched (the
	longest matching prefix wins); others get ``timestamp`` (default: ``last_inform``).
	``unfetched`` paths are present as discovered leaves without ``_value``.
	"""
	default_ts = iso(timestamp or last_inform)
	prefixes = sorted(((p, iso(t)) for p, t in (timestamps or {}).items()), key=lambda pt: -len(pt[0]))
	doc = {
		"_id": device_id(oui, product_class, serial),
		"_deviceId": {
			"_Manufacturer": manufacturer,
			"_OUI": oui,
			"_ProductClass": product_class,
			"_SerialNumber": serial,
		},
		"_registered": iso(last_inform - timedelta(days=200)),
		"_lastInform": iso(last_inform),
		"_lastBoot": iso(last_inform - timedelta(days=3)),
		"_lastBootstrap": iso(last_inform - timedelta(days=200)),
	}
	if tags:
		doc["_tags"] = list(tags)
	for path, value in params.items():
		stamp = next((t for p, t in prefixes if path.startswith(p)), default_ts)
		node = doc
		parts = path.split(".")
		for part in parts[:-1]:
			child = node.get(part)
			if child is None:
				child = node[part] = {"_object": True, "_writable": part.isdigit(), "_timestamp": stamp}
			node = child
		if isinstance(value, datetime):
			value = iso(value)
		if path in unfetched:
			node[parts[-1]] = {"_writable": False}
		else:
			node[parts[-1]] = {
				"_value": value,
				"_type": _type(value),
				"_timestamp": stamp,
				"_writable": False,
			}
	return doc


def dbm_to_tplink_raw(dbm: float) -> int:
	"""Inverse of dBm = 10·log10(raw·1e-4): the XX230v's X_TP_GPON_Config value (0.1 µW)."""
	return round(10 ** (dbm / 10) * 1e4)


def mac_from(seed: int, prefix: str = "50:c7:bf") -> str:
	tail = seed & 0xFFFFFF
	return f"{prefix}:{tail >> 16 & 0xFF:02x}:{tail >> 8 & 0xFF:02x}:{tail & 0xFF:02x}"


def dbm_to_rcpi(dbm: float) -> int:
	return round((dbm + 110) * 2)


def xx230v_document(
	serial: str = "22353XX000001",
	*,
	seed: int = 1,
	oui: str = "50C7BF",
	product_class: str = "XX230v",
	last_inform: datetime = DEFAULT_NOW,
	timestamp: datetime | None = None,
	timestamps: dict[str, datetime] | None = None,
	rx_dbm: float | None = -18.5,
	tx_dbm: float | None = 2.1,
	rx_raw: int | None = None,
	optical_status: str = "Up",
	standard_optical: bool = False,
	internet_vlan: int = 35,
	mgmt_vlan: int = 40,
	proto: str = "ppp",
	wan_ip: str = "142.169.10.21",
	mgmt_ip: str = "10.40.3.17",
	gateway: str = "142.169.10.1",
	uptime: int = 86400,
	inform_interval: int = 900,
	mesh_nodes: int = 1,
	clients: list[dict] | None = None,
	wired_hosts: int = 1,
	unfetched: tuple[str, ...] = (),
	tags: list[str] | None = None,
) -> dict:
	"""A TP-Link XX230v as GenieACS stores it (TR-181), see the module docstring.

	``mesh_nodes`` Deco satellites hang off the gateway (the second one, if any, off the
	first satellite: multi-hop). ``clients`` items: ``{"mac", "node" (0 = gateway, n =
	satellite n), "band" ("2.4GHz"/"5GHz"), "rssi_dbm", "hostname", "ip"}``; by default
	one client per node.
	"""
	lan_mac = mac_from(seed * 16)
	wan_mac = mac_from(seed * 16 + 1)
	p: dict = {}
	d = "Device."
	p[d + "DeviceInfo.Manufacturer"] = "TP-Link"
	p[d + "DeviceInfo.ManufacturerOUI"] = oui
	p[d + "DeviceInfo.ModelName"] = "XX230v"
	p[d + "DeviceInfo.ProductClass"] = product_class
	p[d + "DeviceInfo.SerialNumber"] = serial
	p[d + "DeviceInfo.HardwareVersion"] = "XX230v 1.0"
	p[d + "DeviceInfo.SoftwareVersion"] = "0.6.0 3.0.0 v6066.0 Build 220630 Rel.63520n"
	p[d + "DeviceInfo.UpTime"] = uptime
	p[d + "ManagementServer.PeriodicInformInterval"] = inform_interval
	p[d + "ManagementServer.ConnectionRequestURL"] = f"http://{mgmt_ip}:7547/tr069"
	# optical and GPON link
	o = d + "Optical.Interface.1."
	p[o + "Name"] = "GPON"
	p[o + "Status"] = optical_status
	p[o + "Enable"] = True
	p[o + "LowerOpticalThreshold"] = -28000
	p[o + "UpperOpticalThreshold"] = -8000
	if rx_raw is not None:
		p[o + "X_TP_GPON_Config.RXPower"] = rx_raw
	elif rx_dbm is not None:
		p[o + "X_TP_GPON_Config.RXPower"] = dbm_to_tplink_raw(rx_dbm)
	if tx_dbm is not None:
		p[o + "X_TP_GPON_Config.TXPower"] = dbm_to_tplink_raw(tx_dbm)
	if standard_optical and rx_dbm is not None:
		p[o + "OpticalSignalLevel"] = round(rx_dbm * 1000)
		p[o + "TransmitOpticalLevel"] = round((tx_dbm or 0) * 1000)
	p[d + "X_TP_GPON.Link.1.Status"] = "Up"
	p[d + "X_TP_GPON.Link.1.LowerLayers"] = "Device.Optical.Interface.1."
	# ethernet: LAN ports, bridge, links
	for port in (1, 2, 3):
		e = f"{d}Ethernet.Interface.{port}."
		p[e + "Enable"] = True
		p[e + "Status"] = "Up" if port <= wired_hosts else "Down"
		p[e + "Upstream"] = False
		p[e + "MACAddress"] = lan_mac
	p[d + "Bridging.Bridge.1.Port.1.ManagementPort"] = True
	p[d + "Bridging.Bridge.1.Port.1.LowerLayers"] = (
		"Device.Bridging.Bridge.1.Port.2.,Device.Bridging.Bridge.1.Port.3."
	)
	p[d + "Bridging.Bridge.1.Port.2.LowerLayers"] = "Device.Ethernet.Interface.1."
	p[d + "Bridging.Bridge.1.Port.3.LowerLayers"] = "Device.WiFi.SSID.1."
	p[d + "Ethernet.Link.1.Status"] = "Up"
	p[d + "Ethernet.Link.1.MACAddress"] = lan_mac
	p[d + "Ethernet.Link.1.LowerLayers"] = "Device.Bridging.Bridge.1.Port.1."
	p[d + "Ethernet.Link.2.Status"] = "Up"
	p[d + "Ethernet.Link.2.MACAddress"] = wan_mac
	p[d + "Ethernet.Link.2.LowerLayers"] = "Device.X_TP_GPON.Link.1."
	# VLAN terminations: management first, so the internet VLAN is instance 2
	p[d + "Ethernet.VLANTermination.1.VLANID"] = mgmt_vlan
	p[d + "Ethernet.VLANTermination.1.Status"] = "Up"
	p[d + "Ethernet.VLANTermination.1.LowerLayers"] = "Device.Ethernet.Link.2."
	p[d + "Ethernet.VLANTermination.2.VLANID"] = internet_vlan
	p[d + "Ethernet.VLANTermination.2.Status"] = "Up"
	p[d + "Ethernet.VLANTermination.2.LowerLayers"] = "Device.Ethernet.Link.2."
	# IP.Interface.1 = LAN; .2 = management (DHCP, VLAN mgmt); .3 = internet
	p[d + "IP.Interface.1.Name"] = "br-lan"
	p[d + "IP.Interface.1.Status"] = "Up"
	p[d + "IP.Interface.1.LowerLayers"] = "Device.Ethernet.Link.1."
	p[d + "IP.Interface.1.IPv4Address.1.IPAddress"] = "192.168.0.1"
	p[d + "IP.Interface.1.IPv4Address.1.SubnetMask"] = "255.255.255.0"
	p[d + "IP.Interface.1.IPv4Address.1.AddressingType"] = "Static"
	p[d + "IP.Interface.2.Name"] = "wan_mgmt"
	p[d + "IP.Interface.2.Status"] = "Up"
	p[d + "IP.Interface.2.LowerLayers"] = "Device.Ethernet.VLANTermination.1."
	p[d + "IP.Interface.2.X_TP_ServiceType"] = "TR069"
	p[d + "IP.Interface.2.IPv4Address.1.IPAddress"] = mgmt_ip
	p[d + "IP.Interface.2.IPv4Address.1.SubnetMask"] = "255.255.0.0"
	p[d + "IP.Interface.2.IPv4Address.1.AddressingType"] = "DHCP"
	p[d + "DHCPv4.Client.1.Interface"] = "Device.IP.Interface.2."
	p[d + "DHCPv4.Client.1.IPAddress"] = mgmt_ip
	p[d + "DHCPv4.Client.1.DNSServers"] = "10.40.0.53"
	i = d + "IP.Interface.3."
	p[i + "Name"] = "wan_internet"
	p[i + "Status"] = "Up"
	p[i + "X_TP_ServiceType"] = "INTERNET"
	p[i + "Stats.BytesSent"] = 1_234_567
	p[i + "Stats.BytesReceived"] = 98_765_432
	if proto == "ppp":
		p[i + "LowerLayers"] = "Device.PPP.Interface.1."
		pp = d + "PPP.Interface.1."
		p[pp + "Status"] = "Up"
		p[pp + "ConnectionStatus"] = "Connected"
		p[pp + "Username"] = f"{serial.lower()}@gigafibre"
		p[pp + "LastConnectionError"] = "ERROR_NONE"
		p[pp + "LowerLayers"] = "Device.Ethernet.VLANTermination.2."
		p[pp + "IPCP.LocalIPAddress"] = wan_ip
		p[pp + "IPCP.RemoteIPAddress"] = gateway
		p[pp + "IPCP.DNSServers"] = "1.1.1.1,8.8.8.8"
		p[pp + "X_TP_UpTime"] = uptime - 120
		p[i + "IPv4Address.1.AddressingType"] = "IPCP"
	else:
		p[i + "LowerLayers"] = "Device.Ethernet.VLANTermination.2."
		p[i + "IPv4Address.1.AddressingType"] = "DHCP"
		p[d + "DHCPv4.Client.2.Interface"] = "Device.IP.Interface.3."
		p[d + "DHCPv4.Client.2.IPAddress"] = wan_ip
		p[d + "DHCPv4.Client.2.DNSServers"] = "1.1.1.1,8.8.8.8"
	p[i + "IPv4Address.1.IPAddress"] = wan_ip
	p[i + "IPv4Address.1.SubnetMask"] = "255.255.255.255"
	p[i + "IPv6Address.1.IPAddress"] = f"2607:fa49:{seed & 0xFFFF:x}::1"
	p[i + "IPv6Prefix.1.Prefix"] = f"2607:fa49:{seed & 0xFFFF:x}:100::/56"
	p[d + "Routing.Router.1.IPv4Forwarding.1.DestIPAddress"] = ""
	p[d + "Routing.Router.1.IPv4Forwarding.1.GatewayIPAddress"] = gateway
	p[d + "Routing.Router.1.IPv4Forwarding.1.Interface"] = "Device.IP.Interface.3."
	p[d + "Routing.Router.1.IPv4Forwarding.2.DestIPAddress"] = "10.40.0.0"
	p[d + "Routing.Router.1.IPv4Forwarding.2.GatewayIPAddress"] = "10.40.0.1"
	p[d + "Routing.Router.1.IPv4Forwarding.2.Interface"] = "Device.IP.Interface.2."
	# Wi-Fi: Radio.1 2.4 GHz, Radio.2 5 GHz; SSID.1/.2 on Radio.1, SSID.3/.4 on Radio.2
	w = d + "WiFi."
	radios = {
		1: ("2.4GHz", 6, "20MHz", "b,g,n,ax", -92),
		2: ("5GHz", 44, "80MHz", "a,n,ac,ax", -95),
	}
	for r, (band, channel, width, standards, noise) in radios.items():
		p[f"{w}Radio.{r}.Enable"] = True
		p[f"{w}Radio.{r}.Status"] = "Up"
		p[f"{w}Radio.{r}.OperatingFrequencyBand"] = band
		p[f"{w}Radio.{r}.Channel"] = channel
		p[f"{w}Radio.{r}.AutoChannelEnable"] = True
		p[f"{w}Radio.{r}.OperatingChannelBandwidth"] = "Auto"
		p[f"{w}Radio.{r}.CurrentOperatingChannelBandwidth"] = width
		p[f"{w}Radio.{r}.OperatingStandards"] = standards
		p[f"{w}Radio.{r}.TransmitPower"] = 100
		p[f"{w}Radio.{r}.Stats.Noise"] = noise
	ssid_name = f"Gigafibre-{serial[-4:]}"
	ssids = {
		1: (1, ssid_name, True),
		2: (1, f"{ssid_name}-Guest", False),
		3: (2, ssid_name, True),
		4: (2, f"{ssid_name}-Guest", False),
	}
	bssid = {}
	for s, (radio, name, enabled) in ssids.items():
		bssid[s] = mac_from(seed * 16 + 2 + s)
		p[f"{w}SSID.{s}.SSID"] = name
		p[f"{w}SSID.{s}.Enable"] = enabled
		p[f"{w}SSID.{s}.Status"] = "Up" if enabled else "Down"
		p[f"{w}SSID.{s}.BSSID"] = bssid[s]
		p[f"{w}SSID.{s}.LowerLayers"] = f"Device.WiFi.Radio.{radio}."
		p[f"{w}AccessPoint.{s}.SSIDReference"] = f"Device.WiFi.SSID.{s}."
		p[f"{w}AccessPoint.{s}.Enable"] = enabled
		p[f"{w}AccessPoint.{s}.SSIDAdvertisementEnabled"] = True
	# mesh: APDevice.1 is the gateway; satellites after it
	nodes = [{"mac": lan_mac, "bssid": {"2.4GHz": bssid[1], "5GHz": bssid[3]}}]
	for n in range(1, mesh_nodes + 1):
		nodes.append(
			{
				"mac": mac_from(seed * 16 + 8 + n, "a8:42:a1"),
				"bssid": {
					"2.4GHz": mac_from(seed * 16 + 10 + 2 * n, "a8:42:a1"),
					"5GHz": mac_from(seed * 16 + 11 + 2 * n, "a8:42:a1"),
				},
			}
		)
	if clients is None:
		clients = [
			{
				"mac": mac_from(seed * 64 + k, "3c:22:fb"),
				"node": k,
				"band": "5GHz" if k % 2 == 0 else "2.4GHz",
				"rssi_dbm": -48 - 7 * k,
				"hostname": f"phone-{k}",
				"ip": f"192.168.0.{100 + k}",
			}
			for k in range(len(nodes))
		]
	m = w + "MultiAP.APDevice."
	for n, node in enumerate(nodes, start=1):
		p[f"{m}{n}.MACAddress"] = node["mac"]
		p[f"{m}{n}.Manufacturer"] = "TP-Link"
		p[f"{m}{n}.ProductClass"] = "XX230v" if n == 1 else "Deco XE75"
		p[f"{m}{n}.SerialNumber"] = serial if n == 1 else f"{serial}-M{n - 1}"
		p[f"{m}{n}.SoftwareVersion"] = "1.1.8 Build 20240304" if n > 1 else "0.6.0 3.0.0 v6066.0"
		p[f"{m}{n}.X_TP_Nickname"] = "Main" if n == 1 else f"Deco {n - 1}"
		p[f"{m}{n}.X_TP_IPAddress"] = f"192.168.0.{n}" if n > 1 else "192.168.0.1"
		if n == 1:
			p[f"{m}{n}.BackhaulLinkType"] = "None"
			p[f"{m}{n}.BackhaulMACAddress"] = ""
		else:
			parent = nodes[0] if n == 2 else nodes[n - 2]
			p[f"{m}{n}.BackhaulLinkType"] = "Wi-Fi"
			p[f"{m}{n}.BackhaulMACAddress"] = parent["bssid"]["5GHz"]
			p[f"{m}{n}.BackhaulSignalStrength"] = dbm_to_rcpi(-58 - 4 * n)
		for r, band in ((1, "2.4GHz"), (2, "5GHz")):
			base = f"{m}{n}.Radio.{r}."
			p[base + "OperatingFrequencyBand"] = band
			p[base + "Channel"] = radios[r][1]
			p[base + "AP.1.BSSID"] = mac_from(seed * 16 + 12 + n * 4 + r, "a8:42:a2")  # backhaul BSS
			p[base + "AP.2.BSSID"] = node["bssid"][band]
			p[base + "AP.2.SSID"] = ssid_name
			attached = [c for c in clients if c.get("node", 0) == n - 1 and c.get("band", "5GHz") == band]
			for k, client in enumerate(attached, start=1):
				a = f"{base}AP.2.AssociatedDevice.{k}."
				p[a + "MACAddress"] = client["mac"]
				if client.get("rssi_dbm") is not None:
					p[a + "SignalStrength"] = dbm_to_rcpi(client["rssi_dbm"])
				p[a + "LastDataDownlinkRate"] = 433_000 if band == "5GHz" else 144_000
				p[a + "LastDataUplinkRate"] = 390_000 if band == "5GHz" else 130_000
	h = 0
	for client in clients:
		h += 1
		p[f"{d}Hosts.Host.{h}.PhysAddress"] = client["mac"]
		p[f"{d}Hosts.Host.{h}.IPAddress"] = client.get("ip") or ""
		p[f"{d}Hosts.Host.{h}.HostName"] = client.get("hostname") or ""
		p[f"{d}Hosts.Host.{h}.Active"] = True
		ssid = 1 if client.get("band") == "2.4GHz" else 3
		p[f"{d}Hosts.Host.{h}.Layer1Interface"] = f"Device.WiFi.SSID.{ssid}."
	for k in range(wired_hosts):
		h += 1
		p[f"{d}Hosts.Host.{h}.PhysAddress"] = mac_from(seed * 64 + 40 + k, "00:1a:2b")
		p[f"{d}Hosts.Host.{h}.IPAddress"] = f"192.168.0.{50 + k}"
		p[f"{d}Hosts.Host.{h}.HostName"] = f"desktop-{k}"
		p[f"{d}Hosts.Host.{h}.Active"] = True
		p[f"{d}Hosts.Host.{h}.Layer1Interface"] = f"Device.Ethernet.Interface.{k + 1}."
	p[f"{d}Hosts.HostNumberOfEntries"] = h
	return build_document(
		p,
		oui=oui,
		product_class=product_class,
		serial=serial,
		manufacturer="TP-Link",
		last_inform=last_inform,
		timestamp=timestamp,
		timestamps=timestamps,
		tags=tags,
		unfetched=unfetched,
	)
