"""A GenieACS device document (TR-181 or TR-098) → a Diagnosis."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from gigafibre_fsm.core.diagnostics.documents import _Base
from gigafibre_fsm.core.diagnostics.model import DEFAULT_STALE_AFTER, Diagnosis, parse_time
from gigafibre_fsm.core.diagnostics.tr098 import _TR098
from gigafibre_fsm.core.diagnostics.tr181 import _TR181


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
	now = parse_time(now)
	if "Device" in document and isinstance(document["Device"], dict):
		reader = _TR181(document, now, stale_after, optical_transforms)
	elif "InternetGatewayDevice" in document:
		reader = _TR098(document, now, stale_after, optical_transforms)
	else:
		reader = _Base(document, now, stale_after, optical_transforms)
	return reader.run()
