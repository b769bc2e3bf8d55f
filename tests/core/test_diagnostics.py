"""The normaliser: GenieACS documents (TR-181, TR-098) → one normalised diagnostic, and merge()."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from gigafibre_fsm.core.diagnostics import (
	Diagnosis,
	block,
	merge,
	normalise_genieacs,
	optical_reading,
	optical_status,
	pick_transform,
	rcpi_to_dbm,
	rssi_percent,
	signal_dbm,
	to_dbm,
)
from gigafibre_fsm.fakepeers.cpe_documents import (
	DEFAULT_NOW,
	build_document,
	dbm_to_tplink_raw,
	xx230v_document,
)
from gigafibre_fsm.fakepeers.cpe_fleet import tr098_document

NOW = DEFAULT_NOW + timedelta(minutes=5)


def by(items, key):
	return {item[key]: item for item in items}


# -- unit transforms and sentinels


@pytest.mark.parametrize(
	"raw, transform, dbm",
	[
		(-18500, "dbm1000", -18.5),
		(158, "tplink_0.1uW", -18.01),  # 10·log10(158·1e-4)
		(1000, "tplink_0.1uW", -10.0),
		(185, "tplink_neg_0.1", -18.5),
		(5750, "zte_snmp", -18.5),  # 5750·0.002 − 30
		(65535 - 999, "zte_snmp", -32.0),  # > 32767: two's complement first
		(-1850, "huawei_0.01", -18.5),
		(8150, "huawei_olt_rx", -18.5),  # (raw − 10000)/100
		(-18500, "zte_olt_rx", -18.5),
		("-0.34 dBm", "dbm", -0.34),  # Nokia strings
	],
)
def test_transforms(raw, transform, dbm):
	assert to_dbm(raw, transform) == pytest.approx(dbm, abs=0.01)


@pytest.mark.parametrize(
	"raw, transform",
	[
		(0, "tplink_0.1uW"),  # no light
		(65535, "zte_snmp"),
		(2147483647, "huawei_0.01"),
		(2147483647, "huawei_olt_rx"),
		(-80000, "zte_olt_rx"),
		(-65536, "dbm1000"),
		("No Power", "dbm"),
		(None, "dbm1000"),
		("", "dbm"),
	],
)
def test_sentinels_are_none_never_zero(raw, transform):
	assert to_dbm(raw, transform) is None


def test_unknown_transform_is_refused():
	with pytest.raises(ValueError):
		to_dbm(1, "furlongs")


@pytest.mark.parametrize(
	"rx, status",
	[
		(-8.0, "ok"),
		(-25.0, "ok"),
		(-7.9, "high"),
		(-25.1, "low"),
		(-45.0, "los"),
		(None, "unknown"),
		(9.0, "unknown"),
	],
)
def test_optical_status_thresholds(rx, status):
	assert optical_status(rx) == status


def test_los_from_sentinel_or_interface_down():
	optical, errors = optical_reading("olt", now=NOW, asof=NOW, rx=65535, rx_transform="zte_snmp")
	assert (optical["rx_dbm"], optical["status"], errors) == (None, "los", [])
	optical, _ = optical_reading("genieacs", now=NOW, asof=NOW, rx=None, interface_status="Down")
	assert optical["status"] == "los"


def test_implausible_reading_is_flagged_not_shown():
	optical, errors = optical_reading("genieacs", now=NOW, asof=NOW, rx=-185, rx_transform="tplink_neg_0.1")
	assert optical["rx_dbm"] is None and optical["status"] == "unknown"
	assert errors[0]["code"] == "implausible_optical" and errors[0]["params"][0] == "rx"
	assert optical["raw"]["rx"] == {
		"value": -185,
		"unit": "-0.1 dBm",
		"transform": "tplink_neg_0.1",
		"source": "genieacs",
	}


def test_pick_transform_against_the_olt():
	raw = dbm_to_tplink_raw(-19.2)
	assert pick_transform(raw, -19.0) == "tplink_0.1uW"
	assert pick_transform(192, -19.0) == "tplink_neg_0.1"
	assert pick_transform(raw, -5.0) is None


def test_rssi_units():
	assert rcpi_to_dbm(100) == -60 and rcpi_to_dbm(255) is None
	assert signal_dbm(-61) == -61 and signal_dbm(0) is None and signal_dbm(100) is None
	assert signal_dbm(100, rcpi_when_positive=True) == -60
	assert [rssi_percent(v) for v in (-40, -50, -75, -100, -110, None)] == [100, 100, 50, 0, 0, None]


# -- TR-181 (XX230v)


def test_xx230v_device_and_optical():
	doc = xx230v_document("22353XX000042", rx_dbm=-19.2, tx_dbm=2.0, uptime=4242)
	result = normalise_genieacs(doc, now=NOW)
	device = result.device
	assert (device["serial"], device["model"], device["uptime_s"], device["online"]) == (
		"22353XX000042",
		"XX230v",
		4242,
		True,
	)
	assert device["fw"].startswith("0.6.0 3.0.0 v6066.0") and device["data_model"] == "tr181"
	optical = result.optical
	assert optical["rx_dbm"] == pytest.approx(-19.2, abs=0.05)
	assert optical["tx_dbm"] == pytest.approx(2.0, abs=0.05)
	assert optical["status"] == "ok" and optical["source"] == "genieacs"
	assert optical["raw"]["rx"]["transform"] == "tplink_0.1uW"
	assert optical["raw"]["rx"]["source"] == "Device.Optical.Interface.1.X_TP_GPON_Config.RXPower"
	assert optical["thresholds"] == {"high": -8.0, "low": -25.0}
	assert result.errors == []
	json.dumps(result.to_dict())  # serialisable as is


def test_standard_optical_leaf_wins_and_zero_is_distrusted():
	doc = xx230v_document(rx_dbm=-21.0, standard_optical=True)
	assert normalise_genieacs(doc, now=NOW).optical["raw"]["rx"]["transform"] == "dbm1000"
	doc["Device"]["Optical"]["Interface"]["1"]["OpticalSignalLevel"]["_value"] = 0
	optical = normalise_genieacs(doc, now=NOW).optical
	assert optical["raw"]["rx"]["transform"] == "tplink_0.1uW"
	assert optical["rx_dbm"] == pytest.approx(-21.0, abs=0.05)


def test_optical_low_and_los():
	assert normalise_genieacs(xx230v_document(rx_dbm=-27.5), now=NOW).optical["status"] == "low"
	optical = normalise_genieacs(xx230v_document(rx_raw=0, optical_status="Down"), now=NOW).optical
	assert (optical["rx_dbm"], optical["status"]) == (None, "los")


def test_transform_override():
	doc = xx230v_document(rx_raw=192)
	result = normalise_genieacs(
		doc, now=NOW, optical_transforms={"X_TP_GPON_Config.RXPower": "tplink_neg_0.1"}
	)
	assert result.optical["rx_dbm"] == -19.2


def test_wan_found_through_lower_layers_not_instance_1():
	doc = xx230v_document(internet_vlan=35, mgmt_vlan=40, wan_ip="142.169.10.99", gateway="142.169.10.1")
	wan = by(normalise_genieacs(doc, now=NOW).wan, "vlan")
	assert set(wan) == {35, 40}  # the LAN (IP.Interface.1) is not a WAN
	internet = wan[35]
	assert internet["iface"] == "Device.IP.Interface.3"
	assert (internet["ipv4"], internet["proto"], internet["gateway"]) == (
		"142.169.10.99",
		"ppp",
		"142.169.10.1",
	)
	assert internet["dns"] == ["1.1.1.1", "8.8.8.8"] and internet["ipv6"][0].startswith("2607:fa49")
	assert internet["ppp_status"] == "Connected"
	# the CPE's BytesReceived is what came down the WAN
	assert (internet["bytes_down"], internet["bytes_up"]) == (98_765_432, 1_234_567)
	mgmt = wan[40]
	assert (mgmt["iface"], mgmt["proto"], mgmt["dns"]) == ("Device.IP.Interface.2", "dhcp", ["10.40.0.53"])


def test_wan_with_dhcp_and_renumbered_tables():
	doc = xx230v_document(proto="dhcp", internet_vlan=101)
	ip = doc["Device"]["IP"]["Interface"]
	ip["7"] = ip.pop("3")  # instance numbers are whatever the CPE chose
	doc["Device"]["Routing"]["Router"]["1"]["IPv4Forwarding"]["1"]["Interface"]["_value"] = (
		"Device.IP.Interface.7."
	)
	wan = by(normalise_genieacs(doc, now=NOW).wan, "vlan")
	assert wan[101]["iface"] == "Device.IP.Interface.7"
	assert (wan[101]["proto"], wan[101]["gateway"]) == ("dhcp", "142.169.10.1")


def test_ssids_map_to_radios_through_references():
	result = normalise_genieacs(xx230v_document(), now=NOW)
	ssids = by(result.ssids, "path")
	assert ssids["Device.WiFi.SSID.1"]["band"] == "2.4GHz"
	assert ssids["Device.WiFi.SSID.3"]["band"] == "5GHz"  # SSID.3 sits on Radio.2
	assert ssids["Device.WiFi.SSID.3"]["radio"] == "Device.WiFi.Radio.2"
	assert ssids["Device.WiFi.SSID.3"]["ap_index"] == 3
	radios = by(result.radios, "band")
	assert (radios["5GHz"]["channel"], radios["5GHz"]["bandwidth"], radios["5GHz"]["noise_dbm"]) == (
		44,
		"80MHz",
		-95,
	)
	assert radios["5GHz"]["bandwidth_configured"] == "Auto"


def test_ssid_mapping_survives_shuffled_indices():
	doc = xx230v_document()
	wifi = doc["Device"]["WiFi"]
	wifi["SSID"]["3"]["LowerLayers"]["_value"] = "Device.WiFi.Radio.1."
	wifi["SSID"]["1"]["LowerLayers"]["_value"] = "Device.WiFi.Radio.2."
	ssids = by(normalise_genieacs(doc, now=NOW).ssids, "path")
	assert (ssids["Device.WiFi.SSID.1"]["band"], ssids["Device.WiFi.SSID.3"]["band"]) == ("5GHz", "2.4GHz")


def test_mesh_nodes_and_clients_per_node():
	clients = [
		{"mac": "3c:22:fb:00:00:01", "node": 0, "band": "5GHz", "rssi_dbm": -45, "hostname": "tv"},
		{"mac": "3c:22:fb:00:00:02", "node": 1, "band": "2.4GHz", "rssi_dbm": -70, "hostname": "cam"},
		{"mac": "3c:22:fb:00:00:03", "node": 2, "band": "5GHz", "rssi_dbm": -80, "hostname": "phone"},
	]
	result = normalise_genieacs(xx230v_document(mesh_nodes=2, clients=clients, wired_hosts=1), now=NOW)
	nodes = result.mesh_nodes
	assert [n["role"] for n in nodes] == ["controller", "agent", "agent"]
	gateway, first, second = (n["mac"] for n in nodes)
	assert (nodes[0]["parent_mac"], nodes[1]["parent_mac"], nodes[2]["parent_mac"]) == (None, gateway, first)
	assert nodes[1]["backhaul"]["rssi_dbm"] == -66.0 and nodes[1]["name"] == "Deco 1"
	found = by(result.clients, "mac")
	assert found["3c:22:fb:00:00:01"]["node_mac"] == gateway
	assert found["3c:22:fb:00:00:02"]["node_mac"] == first
	assert found["3c:22:fb:00:00:03"]["node_mac"] == second
	cam = found["3c:22:fb:00:00:02"]
	assert (cam["rssi_dbm"], cam["rssi_pct"], cam["band"], cam["hostname"]) == (-70, 60, "2.4GHz", "cam")
	wired = [c for c in result.clients if c["wired"]]
	assert len(wired) == 1 and wired[0]["band"] is None and wired[0]["rssi_dbm"] is None
	summary = result.to_dict()["summary"]
	assert (summary["clients"], summary["wifi_clients"], summary["wired_clients"], summary["mesh_nodes"]) == (
		4,
		3,
		1,
		3,
	)


def test_clients_under_access_points_use_dbm():
	doc = xx230v_document(mesh_nodes=0, clients=[])
	ap = doc["Device"]["WiFi"]["AccessPoint"]["3"]
	ts = ap["SSIDReference"]["_timestamp"]
	leaf = lambda v: {"_value": v, "_timestamp": ts, "_type": "xsd:string"}  # noqa: E731
	ap["AssociatedDevice"] = {
		"_object": True,
		"1": {"MACAddress": leaf("AA-BB-CC-00-11-22"), "SignalStrength": leaf(-58)},
	}
	client = normalise_genieacs(doc, now=NOW).clients[0]
	assert (client["mac"], client["band"], client["rssi_dbm"], client["rssi_pct"]) == (
		"aa:bb:cc:00:11:22",
		"5GHz",
		-58,
		84,
	)


# -- freshness and missing values


def test_missing_values_are_none_not_zero():
	doc = xx230v_document(
		unfetched=("Device.DeviceInfo.UpTime", "Device.WiFi.Radio.1.Stats.Noise"), tx_dbm=None
	)
	result = normalise_genieacs(doc, now=NOW)
	assert result.device["uptime_s"] is None
	assert result.optical["tx_dbm"] is None
	assert by(result.radios, "band")["2.4GHz"]["noise_dbm"] is None
	assert by(result.ssids, "path")["Device.WiFi.SSID.1"]["clients"] is None


def test_stale_values_are_flagged_per_field():
	old = DEFAULT_NOW - timedelta(hours=6)
	doc = xx230v_document(timestamps={"Device.Optical.": old, "Device.DeviceInfo.SerialNumber": old})
	result = normalise_genieacs(doc, now=NOW, stale_after=timedelta(hours=1))
	optical = result.optical
	assert optical["stale"] and "rx_dbm" in optical["stale_fields"]
	assert optical["asof"] == "2025-03-14T06:00:00.000Z"
	assert not result.device["stale"]  # the serial does not go stale
	assert not any(w["stale"] for w in result.wan)


def test_informing_device_with_old_data_is_flagged():
	old = DEFAULT_NOW - timedelta(days=2)
	doc = xx230v_document(timestamp=old, last_inform=DEFAULT_NOW)
	result = normalise_genieacs(doc, now=NOW)
	assert result.device["online"] is True
	assert [e["code"] for e in result.errors] == ["stale_data"]
	assert result.errors[0]["params"] == ["2025-03-12T12:00:00.000Z"]


def test_offline_device():
	doc = xx230v_document(last_inform=DEFAULT_NOW - timedelta(hours=2), inform_interval=900)
	assert normalise_genieacs(doc, now=NOW).device["online"] is False


def test_document_without_data_model():
	doc = build_document(
		{}, oui="X", product_class="Y", serial="Z", manufacturer="M", last_inform=DEFAULT_NOW
	)
	result = normalise_genieacs(doc, now=NOW)
	assert result.device["serial"] == "Z" and result.optical is None
	assert [e["code"] for e in result.errors] == ["no_data_model"]
	assert result.sources["genieacs"]["ok"] is False


def test_projected_document_without_optics_says_so():
	doc = xx230v_document()
	del doc["Device"]["Optical"]
	result = normalise_genieacs(doc, now=NOW)
	assert result.optical is None and [e["code"] for e in result.errors] == ["no_optical"]


# -- TR-098


def test_tr098_document():
	result = normalise_genieacs(tr098_document(rx_dbm=-26.1, vlan=35), now=NOW)
	assert result.device["data_model"] == "tr098" and result.device["model"] == "HG8245H"
	assert result.device["id"] == "00259E-HG8245H%2D5-48575443A1B2C3D4"
	assert (result.optical["rx_dbm"], result.optical["status"]) == (-26.1, "low")
	assert "X_GponInterafceConfig" in result.optical["raw"]["rx"]["source"]
	wan = by(result.wan, "vlan")
	assert (wan[35]["proto"], wan[35]["ipv4"], wan[35]["gateway"]) == ("ppp", "142.169.20.33", "142.169.20.1")
	assert wan[40]["proto"] == "dhcp"
	assert {s["band"] for s in result.ssids} == {"2.4GHz", "5GHz"}
	assert {r["band"]: r["channel"] for r in result.radios} == {"2.4GHz": 11, "5GHz": 36}
	clients = by(result.clients, "hostname")
	assert (clients["laptop"]["band"], clients["laptop"]["rssi_dbm"], clients["laptop"]["rssi_pct"]) == (
		"2.4GHz",
		-61,
		78,
	)
	assert result.mesh_nodes == [] and result.errors == []


# -- merge


def test_merge_picks_the_freshest_value_per_field():
	genieacs = normalise_genieacs(
		xx230v_document(rx_dbm=-20.0, timestamps={"Device.Optical.": DEFAULT_NOW - timedelta(hours=3)}),
		now=NOW,
	)
	olt_optical, olt_errors = optical_reading(
		"olt",
		now=NOW,
		asof=NOW,
		rx=5000,
		rx_transform="zte_snmp",
		olt_rx=-23100,
		olt_rx_transform="zte_olt_rx",
	)
	olt = Diagnosis(optical=olt_optical, errors=olt_errors, sources={"olt": {"asof": "x", "ok": True}})
	modem = Diagnosis(
		errors=[{"source": "modem", "code": "login_busy", "message": "Another admin session is open"}],
		sources={"modem": {"asof": None, "ok": False}},
	)
	merged = merge(genieacs, olt, modem, now=NOW)
	optical = merged.optical
	assert optical["rx_dbm"] == -20.0 and optical["olt_rx_dbm"] == -23.1  # OLT is fresher: 5000·0.002−30
	assert optical["sources"]["rx_dbm"] == "olt" and optical["sources"]["tx_dbm"] == "genieacs"
	assert optical["status"] == "ok" and "rx_dbm" not in optical["stale_fields"]
	assert "tx_dbm" in optical["stale_fields"]  # only GenieACS has TX, 3 h old
	assert set(optical["raw"]) == {"rx", "tx", "olt_rx"}
	assert optical["source"] == "genieacs+olt"
	assert merged.device == genieacs.device  # one source: kept as is
	assert {e["source"] for e in merged.errors} == {"modem"}
	assert set(merged.sources) == {"genieacs", "olt", "modem"}
	json.dumps(merged.to_dict())


def test_merge_keeps_the_older_value_when_the_fresher_is_missing():
	old = DEFAULT_NOW - timedelta(minutes=30)
	a = Diagnosis(device=block("genieacs", {"serial": "S1", "uptime_s": 100, "fw": "1.0"}, now=NOW, asof=old))
	b = Diagnosis(device=block("modem", {"serial": "S1", "uptime_s": None, "fw": "1.1"}, now=NOW, asof=NOW))
	device = merge(a, b.to_dict(), now=NOW).device  # dicts (stored snapshots) merge too
	assert (device["uptime_s"], device["fw"]) == (100, "1.1")
	assert device["sources"] == {"fw": "modem", "serial": "modem", "uptime_s": "genieacs"}
	assert device["field_asof"]["uptime_s"] == "2025-03-14T11:30:00.000Z"


def test_merge_matches_list_items_by_key():
	now_doc = normalise_genieacs(xx230v_document(mesh_nodes=1), now=NOW)
	mac = now_doc.clients[0]["mac"]
	later = NOW + timedelta(minutes=1)
	bridge = Diagnosis(
		clients=[
			block(
				"modem",
				{"mac": mac, "rssi_dbm": -77.0, "rssi_pct": 46, "hostname": None},
				now=later,
				asof=later,
			)
		],
		wan=[
			block(
				"modem",
				{"vlan": 35, "ipv4": "142.169.10.21", "gateway": "142.169.10.254"},
				now=later,
				asof=later,
			)
		],
	)
	merged = merge(now_doc, bridge, now=later)
	assert len(merged.clients) == len(now_doc.clients)
	client = by(merged.clients, "mac")[mac]
	assert (client["rssi_dbm"], client["hostname"]) == (-77.0, "phone-0")
	assert client["sources"]["rssi_dbm"] == "modem" and client["sources"]["hostname"] == "genieacs"
	assert len(merged.wan) == 2
	assert by(merged.wan, "vlan")[35]["gateway"] == "142.169.10.254"


def test_merge_of_los_status():
	a, _ = optical_reading(
		"genieacs", now=NOW, asof=NOW - timedelta(minutes=1), rx=None, interface_status="Down"
	)
	b, _ = optical_reading("olt", now=NOW, asof=NOW, rx=65535, rx_transform="zte_snmp")
	c, _ = optical_reading("modem", now=NOW, asof=NOW, tx=2.0)
	assert merge(Diagnosis(optical=a), Diagnosis(optical=c), now=NOW).optical["status"] == "los"
	assert merge(Diagnosis(optical=b), Diagnosis(optical=c), now=NOW).optical["status"] == "los"
