"""The DEV2_* objects a fake TP-Link XX230v serves (data for the fake modem peers).

TR-181-like values in TP-Link's attribute names; optical/radio/mesh OIDs follow peer code
and are not verified on a real XX230v. Nothing here runs in production.
"""

from __future__ import annotations


def xx230v_objects() -> dict[str, object]:
	"""DEV2_* objects of an XX230v-like ONT with one mesh satellite, as ``gl``/``go`` answers.

	List items carry their TR-181 instance path in ``stack`` (``"2,0,0,0,0,0"`` is
	instance 2), as the device's own answers do.
	"""
	return {
		"DEV2_DEV_INFO": {
			"modelName": "XX230v",
			"manufacturer": "TP-Link",
			"serialNumber": "2235123456789",
			"hardwareVersion": "XX230v 1.0",
			"softwareVersion": "0.6.0 3.0.0 v6066.0 Build 220630 Rel.52178n",
			"upTime": "86400",
		},
		"DEV2_ADT_LAN": [
			{
				"stack": "1,0,0,0,0,0",
				"MACAddress": "50:91:E3:00:00:01",
				"IPAddress": "192.168.0.1",
				"IPSubnetMask": "255.255.255.0",
				"DHCPv4Enable": "1",
			}
		],
		"DEV2_ADT_WAN": [
			{
				"stack": "2,0,0,0,0,0",
				"enable": "1",
				"name": "Internet_PPPoE_VLAN35",
				"connectionType": "PPPoE",
				"status": "Up",
				"vlanId": "35",
				"MACAddr": "50:91:E3:00:00:02",
				"connIPv4Address": "100.64.12.34",
				"connIPv4SubnetMask": "255.255.255.255",
				"connIPv4Gateway": "100.64.0.1",
				"connIPv4DnsServer": "1.1.1.1,8.8.8.8",
				"connIPv6Address": "2001:db8:1::2",
			},
			{
				"stack": "3,0,0,0,0,0",
				"enable": "1",
				"name": "VoIP_DHCP_VLAN40",
				"connectionType": "DHCP",
				"status": "Up",
				"vlanId": "40",
				"MACAddr": "50:91:E3:00:00:03",
				"connIPv4Address": "10.40.1.20",
				"connIPv4SubnetMask": "255.255.0.0",
				"connIPv4Gateway": "10.40.0.1",
				"connIPv4DnsServer": "10.40.0.1",
			},
			{
				"stack": "4,0,0,0,0,0",
				"enable": "0",
				"name": "disabled",
				"connIPv4Address": "0.0.0.0",
			},
		],
		"DEV2_OPTC_GPON_CFG": [{"stack": "1,0,0,0,0,0", "RXPower": "316", "TXPower": "19952"}],
		"DEV2_WIFI_RADIO": [
			{
				"stack": "1,0,0,0,0,0",
				"enable": "1",
				"operatingFrequencyBand": "2.4GHz",
				"channel": "6",
				"autoChannelEnable": "1",
				"currentOperatingChannelBandwidth": "20MHz",
				"operatingStandards": "b,g,n,ax",
				"transmitPower": "100",
			},
			{
				"stack": "2,0,0,0,0,0",
				"enable": "1",
				"operatingFrequencyBand": "5GHz",
				"channel": "44",
				"autoChannelEnable": "1",
				"currentOperatingChannelBandwidth": "80MHz",
				"operatingStandards": "a,n,ac,ax",
				"transmitPower": "100",
			},
		],
		# XX230v: SSID.1 is 2.4 GHz and SSID.3 is 5 GHz (shared/NETWORK.md §2.3)
		"DEV2_WIFI_SSID": [
			{
				"stack": "1,0,0,0,0,0",
				"SSID": "Gigafibre-1234",
				"BSSID": "50:91:E3:00:00:10",
				"enable": "1",
				"status": "Up",
				"lowerLayers": "Device.WiFi.Radio.1.",
			},
			{
				"stack": "3,0,0,0,0,0",
				"SSID": "Gigafibre-1234-5G",
				"BSSID": "50:91:E3:00:00:11",
				"enable": "1",
				"status": "Up",
				"lowerLayers": "Device.WiFi.Radio.2.",
			},
		],
		"DEV2_WIFI_APDEV": [
			{
				"stack": "1,0,0,0,0,0",
				"MACAddress": "50:91:E3:00:00:01",
				"X_TP_HostName": "Gateway",
				"productClass": "XX230v",
				"serialNumber": "2235123456789",
				"softwareVersion": "0.6.0 3.0.0 v6066.0",
				"X_TP_IPAddress": "192.168.0.1",
				"backhaulLinkType": "None",
				"backhaulMACAddress": "",
			},
			{
				"stack": "2,0,0,0,0,0",
				"MACAddress": "50:91:E3:00:00:A1",
				"X_TP_HostName": "Basement",
				"productClass": "Deco X50",
				"serialNumber": "Y2201000001",
				"softwareVersion": "1.2.0",
				"X_TP_IPAddress": "192.168.0.2",
				"backhaulLinkType": "Wi-Fi",
				"backhaulMACAddress": "50:91:E3:00:00:11",
				"backhaulSignalStrength": "120",
			},
		],
		"DEV2_WIFI_APDEV_RADIO": [
			{"stack": "1,1,0,0,0,0", "operatingFrequencyBand": "2.4GHz", "channel": "6"},
			{"stack": "1,2,0,0,0,0", "operatingFrequencyBand": "5GHz", "channel": "44"},
			{"stack": "2,1,0,0,0,0", "operatingFrequencyBand": "2.4GHz", "channel": "6"},
			{"stack": "2,2,0,0,0,0", "operatingFrequencyBand": "5GHz", "channel": "44"},
		],
		# signal in RCPI (dBm = x/2 − 110): 130 → −45 dBm, 100 → −60 dBm, 80 → −70 dBm
		"DEV2_WIFI_APDEV_ASSOCDEV": [
			{
				"stack": "1,2,2,1,0,0",
				"MACAddress": "AA:BB:CC:00:00:01",
				"signalStrength": "130",
				"lastDataDownlinkRate": "866000",
				"lastDataUplinkRate": "650000",
				"active": "1",
			},
			{
				"stack": "1,1,2,1,0,0",
				"MACAddress": "AA:BB:CC:00:00:02",
				"signalStrength": "100",
				"lastDataDownlinkRate": "72000",
				"lastDataUplinkRate": "65000",
				"active": "1",
			},
			{
				"stack": "2,2,2,1,0,0",
				"MACAddress": "AA:BB:CC:00:00:03",
				"signalStrength": "80",
				"lastDataDownlinkRate": "390000",
				"lastDataUplinkRate": "200000",
				"active": "1",
			},
		],
		"DEV2_HOST_ENTRY": [
			{
				"stack": "1,0,0,0,0,0",
				"active": "1",
				"X_TP_LanConnType": "3",
				"physAddress": "AA:BB:CC:00:00:01",
				"IPAddress": "192.168.0.101",
				"hostName": "laptop",
				"leaseTimeRemaining": "3600",
			},
			{
				"stack": "2,0,0,0,0,0",
				"active": "1",
				"X_TP_LanConnType": "1",
				"physAddress": "AA:BB:CC:00:00:02",
				"IPAddress": "192.168.0.102",
				"hostName": "phone",
				"leaseTimeRemaining": "3600",
			},
			{
				"stack": "3,0,0,0,0,0",
				"active": "1",
				"X_TP_LanConnType": "3",
				"physAddress": "AA:BB:CC:00:00:03",
				"IPAddress": "192.168.0.103",
				"hostName": "tv",
				"leaseTimeRemaining": "3600",
			},
			{
				"stack": "4,0,0,0,0,0",
				"active": "1",
				"X_TP_LanConnType": "0",
				"physAddress": "AA:BB:CC:00:00:04",
				"IPAddress": "192.168.0.104",
				"hostName": "desktop",
				"leaseTimeRemaining": "0",
			},
			{
				"stack": "5,0,0,0,0,0",
				"active": "0",
				"X_TP_LanConnType": "1",
				"physAddress": "AA:BB:CC:00:00:05",
				"IPAddress": "192.168.0.105",
				"hostName": "gone",
				"leaseTimeRemaining": "0",
			},
		],
		"DEV2_MEM_STATUS": {"total": "262144", "free": "131072"},
		"DEV2_PROC_STATUS": {"CPUUsage": "12"},
	}
