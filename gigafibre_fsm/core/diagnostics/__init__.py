"""Device diagnostics: turn what the network tells us about a CPE into one normalised result.

Pure: no network, no clock. ``now`` and the staleness threshold are passed in.

Sources feed *partial* results (a :class:`Diagnosis`): GenieACS device documents
(TR-181 ``Device.`` or TR-098 ``InternetGatewayDevice.``, read by
:func:`normalise_genieacs`), the modem bridge and the OLT (built with
:func:`block` and :func:`optical_reading`). :func:`merge` combines them, field by
field, keeping the freshest value and saying where it came from.

Rules that hold everywhere (shared/NETWORK.md):

- a missing value is ``None``, never 0; sentinels ("no reading") become ``None``;
- every block says its ``source`` and ``asof`` (the oldest timestamp of the
  changing values it holds) and flags values older than ``stale_after``;
- units are declared per reading (:data:`TRANSFORMS`) and checked against a
  plausibility window; optical health is −8 ≥ RX ≥ −25 dBm;
- table indices are never assumed: the WAN is found through ``LowerLayers``,
  an SSID's radio through its ``LowerLayers`` and an access point's SSID
  through ``SSIDReference``.

The package, by source: :mod:`.units` (transforms and bands), :mod:`.model` (blocks, the
Diagnosis, time), :mod:`.documents` with :mod:`.tr181` and :mod:`.tr098` (GenieACS documents,
read by :mod:`.genieacs`; its :func:`fleet_reading` is the fleet refresh's lean path),
:mod:`.tplink` (TP-Link modems, read for the modem bridge) and :mod:`.merge`. The OLT's readings are built by connectors/olt_snmp.py with :func:`optical_reading`.
"""

from __future__ import annotations

from gigafibre_fsm.core.diagnostics.genieacs import FLEET_PROJECTION, fleet_reading, normalise_genieacs
from gigafibre_fsm.core.diagnostics.merge import merge
from gigafibre_fsm.core.diagnostics.model import (
	BLOCKS,
	DEFAULT_STALE_AFTER,
	LIST_BLOCKS,
	LIST_KEYS,
	META_FIELDS,
	ONLINE_FLOOR,
	ONLINE_INTERVALS,
	SOURCES,
	STATIC_FIELDS,
	Diagnosis,
	block,
	equipment_fields,
	error,
	is_online,
	iso,
	optical_reading,
	parse_time,
	rx_level,
)
from gigafibre_fsm.core.diagnostics.units import (
	OPTICAL_HIGH_DBM,
	OPTICAL_LOW_DBM,
	OPTICAL_PLAUSIBLE,
	OPTICAL_STATUSES,
	TRANSFORMS,
	optical_status,
	pick_transform,
	rcpi_to_dbm,
	rssi_percent,
	signal_dbm,
	to_dbm,
)

__all__ = [
	"BLOCKS",
	"DEFAULT_STALE_AFTER",
	"FLEET_PROJECTION",
	"LIST_BLOCKS",
	"LIST_KEYS",
	"META_FIELDS",
	"ONLINE_FLOOR",
	"ONLINE_INTERVALS",
	"OPTICAL_HIGH_DBM",
	"OPTICAL_LOW_DBM",
	"OPTICAL_PLAUSIBLE",
	"OPTICAL_STATUSES",
	"SOURCES",
	"STATIC_FIELDS",
	"TRANSFORMS",
	"Diagnosis",
	"block",
	"equipment_fields",
	"error",
	"fleet_reading",
	"is_online",
	"iso",
	"merge",
	"normalise_genieacs",
	"optical_reading",
	"optical_status",
	"parse_time",
	"pick_transform",
	"rcpi_to_dbm",
	"rssi_percent",
	"rx_level",
	"signal_dbm",
	"to_dbm",
]
