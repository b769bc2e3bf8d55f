"""A TR-098 ONT's GenieACS document and a whole fleet of documents, for tests and benchmarks.

The TR-181 XX230v document and the helpers both use are in :mod:`cpe_documents`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from gigafibre_fsm.fakepeers.cpe_documents import (
	DEFAULT_NOW,
	build_document,
	mac_from,
	xx230v_document,
)


def tr098_document(
	serial: str = "48575443A1B2C3D4",
	*,
	seed: int = 7,
	oui: str = "00259E",
	product_class: str = "HG8245H-5",
	last_inform: datetime = DEFAULT_NOW,
	timestamp: datetime | None = None,
	timestamps: dict[str, datetime] | None = None,
	rx_dbm: float | None = -21.3,
	tx_dbm: float | None = 2.4,
	vlan: int = 35,
	wan_ip: str = "142.169.20.33",
	gateway: str = "142.169.20.1",
	uptime: int = 3600,
	clients: list[dict] | None = None,
) -> dict:
	"""A Huawei-like ONT (TR-098): PPPoE WAN on WANConnectionDevice.2 with a vendor VLAN
	leaf, a management IP connection on .1, Huawei's ``X_GponInterafceConfig`` optics in dBm
	(the typo is real), two WLANConfiguration instances and LAN hosts."""
	p: dict = {}
	g = "InternetGatewayDevice."
	p[g + "DeviceInfo.Manufacturer"] = "Huawei Technologies Co., Ltd"
	p[g + "DeviceInfo.ManufacturerOUI"] = oui
	p[g + "DeviceInfo.ModelName"] = "HG8245H"
	p[g + "DeviceInfo.SerialNumber"] = serial
	p[g + "DeviceInfo.HardwareVersion"] = "174C.A"
	p[g + "DeviceInfo.SoftwareVersion"] = "V3R017C10S115"
	p[g + "DeviceInfo.UpTime"] = uptime
	p[g + "ManagementServer.PeriodicInformInterval"] = 900
	wd = g + "WANDevice.1."
	if rx_dbm is not None:
		p[wd + "X_GponInterafceConfig.RXPower"] = rx_dbm
	if tx_dbm is not None:
		p[wd + "X_GponInterafceConfig.TXPower"] = tx_dbm
	p[wd + "X_GponInterafceConfig.Status"] = "up"
	mgmt = wd + "WANConnectionDevice.1.WANIPConnection.1."
	p[mgmt + "Name"] = "1_TR069_R_VID_40"
	p[mgmt + "Enable"] = True
	p[mgmt + "ConnectionStatus"] = "Connected"
	p[mgmt + "AddressingType"] = "DHCP"
	p[mgmt + "ExternalIPAddress"] = "10.40.8.9"
	p[mgmt + "DefaultGateway"] = "10.40.0.1"
	p[mgmt + "MACAddress"] = mac_from(seed * 16 + 1, "00:25:9e")
	p[mgmt + "X_HW_VLAN"] = 40
	ppp = wd + "WANConnectionDevice.2.WANPPPConnection.1."
	p[ppp + "Name"] = "2_INTERNET_R_VID_35"
	p[ppp + "Enable"] = True
	p[ppp + "ConnectionStatus"] = "Connected"
	p[ppp + "Username"] = f"{serial.lower()}@gigafibre"
	p[ppp + "ExternalIPAddress"] = wan_ip
	p[ppp + "RemoteIPAddress"] = gateway
	p[ppp + "DNSServers"] = "1.1.1.1,8.8.4.4"
	p[ppp + "LastConnectionError"] = "ERROR_NONE"
	p[ppp + "MACAddress"] = mac_from(seed * 16 + 2, "00:25:9e")
	p[ppp + "X_HW_VLAN"] = vlan
	p[ppp + "Uptime"] = uptime - 60
	lan = g + "LANDevice.1."
	for port in (1, 2):
		p[f"{lan}LANEthernetInterfaceConfig.{port}.Enable"] = True
		p[f"{lan}LANEthernetInterfaceConfig.{port}.Status"] = "Up" if port == 1 else "NoLink"
		p[f"{lan}LANEthernetInterfaceConfig.{port}.MACAddress"] = mac_from(seed * 16 + 3, "00:25:9e")
	wlans = {
		1: ("Gigafibre-" + serial[-4:], 11, "b,g,n"),
		5: ("Gigafibre-" + serial[-4:] + "-5G", 36, "a,n,ac"),
	}
	if clients is None:
		clients = [
			{"mac": mac_from(seed * 64 + 1, "f0:18:98"), "wlan": 1, "rssi_dbm": -61, "hostname": "laptop"},
			{"mac": mac_from(seed * 64 + 2, "f0:18:98"), "wlan": 5, "rssi_dbm": -55, "hostname": "tablet"},
		]
	for index, (name, channel, standard) in wlans.items():
		wl = f"{lan}WLANConfiguration.{index}."
		p[wl + "Enable"] = True
		p[wl + "Status"] = "Up"
		p[wl + "SSID"] = name
		p[wl + "Channel"] = channel
		p[wl + "Standard"] = standard
		p[wl + "BSSID"] = mac_from(seed * 16 + 4 + index, "00:25:9e")
		attached = [c for c in clients if c.get("wlan") == index]
		p[wl + "TotalAssociations"] = len(attached)
		for k, client in enumerate(attached, start=1):
			a = f"{wl}AssociatedDevice.{k}."
			p[a + "AssociatedDeviceMACAddress"] = client["mac"]
			p[a + "AssociatedDeviceIPAddress"] = client.get("ip", f"192.168.100.{10 + k + index}")
			p[a + "AssociatedDeviceAuthenticationState"] = True
			if client.get("rssi_dbm") is not None:
				p[a + "X_HW_RSSI"] = client["rssi_dbm"]
	for h, client in enumerate(clients, start=1):
		p[f"{lan}Hosts.Host.{h}.MACAddress"] = client["mac"]
		p[f"{lan}Hosts.Host.{h}.IPAddress"] = client.get("ip", f"192.168.100.{20 + h}")
		p[f"{lan}Hosts.Host.{h}.HostName"] = client.get("hostname", "")
		p[f"{lan}Hosts.Host.{h}.InterfaceType"] = "802.11"
		p[f"{lan}Hosts.Host.{h}.Active"] = True
	return build_document(
		p,
		oui=oui,
		product_class=product_class,
		serial=serial,
		manufacturer="Huawei Technologies Co., Ltd",
		last_inform=last_inform,
		timestamp=timestamp,
		timestamps=timestamps,
	)


def fleet(
	count: int, *, now: datetime = DEFAULT_NOW, tr098_every: int = 10, inform_interval: int = 900
) -> list[dict]:
	"""``count`` devices: mostly XX230v, one in ``tr098_every`` TR-098; informs spread
	over one periodic interval before ``now``, optical levels spread over −12…−29 dBm."""
	docs = []
	for n in range(count):
		last = now - timedelta(seconds=(n * 7919) % inform_interval, milliseconds=n % 1000)
		rx = -12 - (n * 37 % 170) / 10
		if tr098_every and n % tr098_every == tr098_every - 1:
			docs.append(tr098_document(f"48575443{n:08X}", seed=n + 1, last_inform=last, rx_dbm=rx))
		else:
			docs.append(
				xx230v_document(
					f"2235{n:09d}",
					seed=n + 1,
					last_inform=last,
					rx_dbm=rx,
					mesh_nodes=n % 3,
					proto="ppp" if n % 4 else "dhcp",
				)
			)
	return docs
