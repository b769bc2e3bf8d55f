"""The QR page's plain summary of a Diagnosis: words a customer reads, nothing internal."""

from __future__ import annotations

from datetime import UTC, datetime

from gigafibre_fsm.core.qr_summary import MAX_NAMES, plain_summary


def test_plain_words_for_weak_none_and_down():
	weak = plain_summary({"optical": {"status": "low"}, "device": {"online": True}, "wan": []})
	assert (weak["fibre"], weak["internet"]) == ("weak", "up")
	none = plain_summary(
		{"optical": {"status": "los"}, "device": {"online": None}, "wan": [{"status": "Down"}]}
	)
	assert (none["fibre"], none["internet"]) == ("none", "down")
	offline = plain_summary({"device": {"online": False}, "wan": [{"status": "Up"}]})
	assert (offline["fibre"], offline["internet"]) == ("unknown", "down")
	assert plain_summary({}) == {
		"checked_at": None,
		"fibre": "unknown",
		"internet": "unknown",
		"wifi": [],
		"mesh": {"count": 0, "names": []},
		"devices": {"count": 0, "wifi": 0, "wired": 0, "names": []},
	}


def test_names_that_look_like_a_mac_or_an_ip_address_are_dropped():
	result = {
		"clients": [
			{"mac": "aa:bb:cc:00:00:01", "hostname": "Salon TV", "band": "5GHz"},
			{"mac": "aa:bb:cc:00:00:02", "hostname": "AA-BB-CC-00-00-02"},
			{"mac": "aa:bb:cc:00:00:03", "hostname": "192.168.0.12"},
			{"mac": "aa:bb:cc:00:00:04", "hostname": "  Salon   TV "},
		],
		"mesh_nodes": [{"mac": "aa:bb:cc:00:00:09", "name": "Deco cuisine"}],
	}
	summary = plain_summary(result)
	assert summary["devices"] == {"count": 4, "wifi": 1, "wired": 3, "names": ["Salon TV"]}
	assert summary["mesh"] == {"count": 1, "names": ["Deco cuisine"]}


def test_mesh_nodes_are_not_counted_as_client_devices_and_names_are_capped():
	clients = [
		{"mac": f"00:00:00:00:{i // 256:02x}:{i % 256:02x}", "hostname": f"device {i}"} for i in range(80)
	]
	nodes = [{"mac": clients[0]["mac"], "name": "node"}]
	summary = plain_summary({"clients": clients, "mesh_nodes": nodes})
	assert summary["devices"]["count"] == 79
	assert len(summary["devices"]["names"]) == MAX_NAMES


def test_wifi_per_band_on_off_and_hidden_networks():
	result = {
		"radios": [{"band": "2.4GHz", "enabled": True}, {"band": "5GHz", "enabled": False}],
		"ssids": [
			{"band": "2.4GHz", "ssid": "Maison", "enabled": True},
			{"band": "2.4GHz", "ssid": "cachee", "enabled": True, "hidden": True},
			{"band": "5GHz", "ssid": "Maison-5G", "enabled": True},
		],
	}
	assert plain_summary(result)["wifi"] == [
		{"band": "2.4", "on": True, "networks": ["Maison"]},
		{"band": "5", "on": False, "networks": []},
	]


def test_checked_at_takes_the_site_zone_when_the_time_has_none():
	naive = plain_summary({}, "2026-07-01 02:07:00", tz="America/Toronto")
	assert naive["checked_at"] == "2026-07-01T02:07-04:00"
	aware = plain_summary({}, datetime(2026, 1, 5, 7, 7, tzinfo=UTC), tz="America/Toronto")
	assert aware["checked_at"] == "2026-01-05T07:07+00:00"
