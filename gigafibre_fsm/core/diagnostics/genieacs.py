"""A GenieACS device document (TR-181 or TR-098) → a Diagnosis, or only what a fleet refresh stores."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from gigafibre_fsm.core.diagnostics.documents import _Base
from gigafibre_fsm.core.diagnostics.model import DEFAULT_STALE_AFTER, Diagnosis, parse_time
from gigafibre_fsm.core.diagnostics.tr098 import _TR098
from gigafibre_fsm.core.diagnostics.tr181 import _TR181

# what the fleet refresh asks the NBI for: identity, last inform, inform interval, firmware,
# uptime and the objects holding the optical levels (TR-181 Optical.Interface, TR-098 WANDevice)
FLEET_PROJECTION = [
	"_deviceId",
	"_lastInform",
	"Device.DeviceInfo.SoftwareVersion",
	"Device.DeviceInfo.UpTime",
	"Device.ManagementServer.PeriodicInformInterval",
	"Device.Optical.Interface",
	"InternetGatewayDevice.DeviceInfo.SoftwareVersion",
	"InternetGatewayDevice.DeviceInfo.UpTime",
	"InternetGatewayDevice.ManagementServer.PeriodicInformInterval",
	"InternetGatewayDevice.WANDevice",
	"InternetGatewayDevice.X_ALU_COM.OntOpticalParam",
]


def _reader(document: Mapping, now, stale_after, optical_transforms) -> _Base:
	now = parse_time(now)
	if "Device" in document and isinstance(document["Device"], dict):
		return _TR181(document, now, stale_after, optical_transforms)
	if "InternetGatewayDevice" in document:
		return _TR098(document, now, stale_after, optical_transforms)
	return _Base(document, now, stale_after, optical_transforms)


def normalise_genieacs(
	document: Mapping,
	*,
	now: datetime,
	stale_after: timedelta | float = DEFAULT_STALE_AFTER,
	optical_transforms: Mapping[str, str] | None = None,
) -> Diagnosis:
	"""Normalise one GenieACS device document (TR-181 or TR-098) into a Diagnosis.

	``optical_transforms`` overrides the declared transform of an optical leaf by its
	last two path segments (e.g. ``{"X_TP_GPON_Config.RXPower": "tplink_neg_0.1"}``).
	"""
	return _reader(document, now, stale_after, optical_transforms).run()


def fleet_reading(
	document: Mapping, *, now: datetime, optical_transforms: Mapping[str, str] | None = None
) -> dict:
	"""The lean path of the fleet refresh: only the device's online state and last inform and
	the optical receive level and status, read by the same rules (the same reader classes) as
	:func:`normalise_genieacs`, so ``equipment_fields`` of either gives the same values. About
	a third to a fifth of the cost: no blocks, no staleness, no interfaces, Wi-Fi or WAN chain."""
	return _reader(document, now, DEFAULT_STALE_AFTER, optical_transforms).fleet()
