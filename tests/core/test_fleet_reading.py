"""The fleet refresh's lean path (fleet_reading) stores what the full normaliser would.

Every kind of device the fake fleet holds (TP-Link XX230v TR-181 with 0–2 Deco nodes, PPP
and DHCP; Huawei TR-098) and the variants the rules branch on (the BBF standard leaf, a
sentinel, an interface down, an implausible level, no reading, other vendors' TR-098
leaves, silent devices, documents without a data model), read both as the fleet refresh's
projection and whole: equipment_fields() of both paths must be equal.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from gigafibre_fsm.core.diagnostics import (
	FLEET_PROJECTION,
	equipment_fields,
	fleet_reading,
	normalise_genieacs,
)
from gigafibre_fsm.fakepeers.cpe_documents import DEFAULT_NOW, build_document, xx230v_document
from gigafibre_fsm.fakepeers.cpe_fleet import fleet, tr098_document
from gigafibre_fsm.fakepeers.genieacs import _project

NOW = DEFAULT_NOW + timedelta(minutes=5)


def _tr098_vendor(obj: str, rx_leaf: str, rx, *, serial: str, wan: str = "WANDevice.1.") -> dict:
	"""A bare TR-098 ONT whose optics sit in a vendor object (ZTE, China Telecom, TP-Link, ALU)."""
	g = "InternetGatewayDevice."
	params = {
		g + "DeviceInfo.SoftwareVersion": "V1",
		g + "ManagementServer.PeriodicInformInterval": 300,
		f"{g}{wan}{obj}.{rx_leaf}": rx,
		f"{g}{wan}WANConnectionDevice.1.WANIPConnection.1.ConnectionStatus": "Connected",
	}
	return build_document(
		params, oui="0019C6", product_class="F660", serial=serial, manufacturer="ZTE", last_inform=DEFAULT_NOW
	)


def variants() -> list[tuple[str, dict]]:
	old = DEFAULT_NOW - timedelta(hours=3)
	cases = [
		("xx230v", xx230v_document()),
		("xx230v standard leaf", xx230v_document(standard_optical=True, rx_dbm=-19.2)),
		("xx230v standard leaf reads 0", xx230v_document(standard_optical=True, rx_dbm=0.0)),
		("xx230v sentinel", xx230v_document(rx_raw=0)),
		("xx230v implausible", xx230v_document(rx_raw=10**9)),
		("xx230v below window", xx230v_document(rx_raw=1)),
		("xx230v low", xx230v_document(rx_dbm=-27.5)),
		("xx230v high", xx230v_document(rx_dbm=-6.0)),
		("xx230v interface down", xx230v_document(optical_status="Down")),
		("xx230v no level", xx230v_document(rx_dbm=None, tx_dbm=None)),
		(
			"xx230v rx unfetched",
			xx230v_document(unfetched=("Device.Optical.Interface.1.X_TP_GPON_Config.RXPower",)),
		),
		("xx230v silent", xx230v_document(last_inform=old)),
		("xx230v long interval", xx230v_document(last_inform=old, inform_interval=86400)),
		("xx230v three nodes", xx230v_document(mesh_nodes=2, proto="dhcp")),
		("huawei tr098", tr098_document()),
		("huawei no level", tr098_document(rx_dbm=None, tx_dbm=None)),
		("huawei low", tr098_document(rx_dbm=-28.0)),
		("huawei silent", tr098_document(last_inform=old)),
		("zte wanpon", _tr098_vendor("X_ZTE-COM_WANPONInterfaceConfig", "RXPower", -17.4, serial="Z1")),
		("zte gpon", _tr098_vendor("X_ZTE-COM_GponInterfaceConfig", "RxPower", "-24.9", serial="Z2")),
		("ct-com", _tr098_vendor("X_CT-COM_GponInterfaceConfig", "RXPower", -31.0, serial="C1")),
		("tp-link tr098", _tr098_vendor("X_TP_GponInterfaceConfig", "RXPower", 12.0, serial="T1")),
		("alu", _tr098_vendor("X_ALU_COM.OntOpticalParam", "RxPower", "-20.10 dBm", serial="A1", wan="")),
		(
			"alu no power",
			_tr098_vendor("X_ALU_COM.OntOpticalParam", "RxPower", "No Power", serial="A2", wan=""),
		),
		(
			"second wan device",
			_tr098_vendor("X_GponInterafceConfig", "RXPower", -22.2, serial="H2", wan="WANDevice.2."),
		),
	]
	bare = {"_id": "000000-X-1", "_lastInform": "2025-03-14T11:58:00.000Z"}
	cases += [
		("no data model", bare),
		("never informed", {"_id": "000000-X-2", "Device": {}}),
		("epoch last inform", {**bare, "_lastInform": 1741953480000}),
	]
	return cases


CASES = variants()


def _lean_view(data: dict) -> dict:
	"""The part of a full diagnosis the lean path returns."""
	optical = data.get("optical")
	return {
		"device": {k: (data.get("device") or {}).get(k) for k in ("online", "last_inform")},
		"optical": None if optical is None else {k: optical.get(k) for k in ("rx_dbm", "status")},
	}


def _check(document: dict, transforms=None) -> dict:
	full = normalise_genieacs(document, now=NOW, optical_transforms=transforms).to_dict()
	lean = fleet_reading(document, now=NOW, optical_transforms=transforms)
	assert lean == _lean_view(full)
	assert equipment_fields(lean) == equipment_fields(full)
	return equipment_fields(lean)


@pytest.mark.parametrize("name, document", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("projected", [False, True], ids=["whole", "projected"])
def test_lean_path_stores_what_the_normaliser_stores(name, document, projected):
	_check(_project(document, FLEET_PROJECTION) if projected else document)


def test_the_variants_cover_every_stored_outcome():
	"""The cases above reach every optical status, online and offline, and a missing level."""
	stored = [_check(doc) for _name, doc in CASES]
	assert {s.get("last_optical_status") for s in stored} >= {"ok", "low", "high", "los", "unknown", None}
	assert {s.get("last_online") for s in stored} == {0, 1, None}
	assert any("last_rx_dbm" not in s and "last_optical_status" in s for s in stored)


def test_optical_transforms_apply_to_the_lean_path():
	doc = xx230v_document(rx_raw=185)
	stored = _check(doc, {"X_TP_GPON_Config.RXPower": "tplink_neg_0.1"})
	assert stored["last_rx_dbm"] == -18.5


def test_the_whole_fake_fleet():
	"""Every device of a generated fleet (all kinds it makes), as the refresh asks for it."""
	docs = fleet(600)
	kinds = {
		(("Device" in d), len((d.get("Device") or {}).get("WiFi", {}).get("MultiAP", {}).get("APDevice", {})))
		for d in docs
	}
	assert len(kinds) >= 3  # TR-181 with several mesh sizes and TR-098
	statuses = set()
	for doc in docs:
		stored = _check(_project(doc, FLEET_PROJECTION))
		statuses.add(stored["last_optical_status"])
		assert stored["last_inform"] == doc["_lastInform"]
	assert statuses == {"ok", "low"}
