"""Units of the readings: optical transforms to dBm, the optical band, Wi-Fi signal (pure)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable

# -- thresholds (shared/FACTS.md "Network", snmp-olt-zte)
OPTICAL_HIGH_DBM = -8.0
OPTICAL_LOW_DBM = -25.0
# a reading outside this window is not a light level: a sentinel or a wrong transform
OPTICAL_PLAUSIBLE = (-40.0, 5.0)
OPTICAL_STATUSES = ("ok", "low", "high", "los", "unknown")

# ---------------------------------------------------------------------------
# unit transforms


def _number(raw) -> float | None:
	if raw is None or isinstance(raw, bool):
		return None
	if isinstance(raw, int | float):
		return None if isinstance(raw, float) and math.isnan(raw) else float(raw)
	match = re.match(r"^\s*([-+]?\d+(?:\.\d+)?)", str(raw))
	return float(match.group(1)) if match else None


def _dbm(raw) -> float | None:
	"""Already dBm; also reads strings such as Nokia's "-0.34 dBm" ("No Power" → None)."""
	return _number(raw)


def _dbm1000(raw) -> float | None:
	"""BBF Dbm1000: an integer in 0.001 dBm (TR-181 Optical.Interface)."""
	value = _number(raw)
	if value is None or value <= -65536 or value >= 65535:
		return None
	return value / 1000


def _tplink_tenth_uw(raw) -> float | None:
	"""TP-Link X_TP_GPON_Config.RXPower/TXPower: 0.1 µW → dBm = 10·log10(raw·1e-4) (Flashman)."""
	value = _number(raw)
	if value is None or value <= 0:
		return None
	return 10 * math.log10(value * 1e-4)


def _tplink_neg_tenth(raw) -> float | None:
	"""The other public reading of TP-Link's raw value: dBm = raw × −0.1 (to be checked against the OLT)."""
	value = _number(raw)
	return None if value is None else value * -0.1


def _zte_snmp(raw) -> float | None:
	"""ZTE C300/C320 ONU RX over SNMP: 16-bit, 65535 = no reading, dBm = raw·0.002 − 30."""
	value = _number(raw)
	if value is None or value == 65535:
		return None
	if value > 32767:
		value -= 65536
	return value * 0.002 - 30


def _zte_olt_rx(raw) -> float | None:
	"""ZTE OLT-side RX: 0.001 dBm, −80000 = none."""
	value = _number(raw)
	if value is None or value <= -80000:
		return None
	return value / 1000


def _huawei_centi(raw) -> float | None:
	"""Huawei HUAWEI-XPON-MIB ONT optics: 0.01 dBm, 2147483647 = invalid."""
	value = _number(raw)
	if value is None or value == 2147483647:
		return None
	return value / 100


def _huawei_olt_rx(raw) -> float | None:
	"""Huawei OLT-side RX: dBm = (raw − 10000) / 100, 2147483647 = invalid."""
	value = _number(raw)
	if value is None or value == 2147483647:
		return None
	return (value - 10000) / 100


TRANSFORMS: dict[str, tuple[str, Callable[[object], float | None]]] = {
	# name: (unit of the raw value, raw → dBm or None)
	"dbm": ("dBm", _dbm),
	"dbm1000": ("0.001 dBm", _dbm1000),
	"tplink_0.1uW": ("0.1 µW", _tplink_tenth_uw),
	"tplink_neg_0.1": ("-0.1 dBm", _tplink_neg_tenth),
	"zte_snmp": ("0.002 dB offset -30", _zte_snmp),
	"zte_olt_rx": ("0.001 dBm", _zte_olt_rx),
	"huawei_0.01": ("0.01 dBm", _huawei_centi),
	"huawei_olt_rx": ("0.01 dB offset 10000", _huawei_olt_rx),
}


def to_dbm(raw, transform: str) -> float | None:
	"""``raw`` converted with a named transform; None for sentinels and missing values."""
	if transform not in TRANSFORMS:
		raise ValueError(f"unknown optical transform {transform!r}")
	value = TRANSFORMS[transform][1](raw)
	return None if value is None else round(value, 2)


def optical_status(rx_dbm: float | None, *, los: bool = False) -> str:
	"""ok / low / high / los / unknown for an ONT receive level (healthy: −8 ≥ RX ≥ −25 dBm)."""
	if rx_dbm is None:
		return "los" if los else "unknown"
	if rx_dbm < OPTICAL_PLAUSIBLE[0]:
		return "los"
	if rx_dbm > OPTICAL_PLAUSIBLE[1]:
		return "unknown"
	if rx_dbm > OPTICAL_HIGH_DBM:
		return "high"
	if rx_dbm < OPTICAL_LOW_DBM:
		return "low"
	return "ok"


def pick_transform(
	raw,
	reference_dbm: float,
	candidates: Iterable[str] = ("tplink_0.1uW", "tplink_neg_0.1"),
	tolerance_db=1.0,
) -> str | None:
	"""The candidate transform whose reading of ``raw`` agrees with the OLT's reading within tolerance."""
	best = None
	for name in candidates:
		value = to_dbm(raw, name)
		if value is None:
			continue
		gap = abs(value - reference_dbm)
		if gap <= tolerance_db and (best is None or gap < best[0]):
			best = (gap, name)
	return best[1] if best else None


def rcpi_to_dbm(rcpi) -> float | None:
	"""IEEE 802.11 RCPI (0–220, 255 = unknown) → dBm = RCPI/2 − 110."""
	value = _number(rcpi)
	if value is None or value < 0 or value > 220:
		return None
	return value / 2 - 110


def signal_dbm(raw, *, rcpi_when_positive: bool = False) -> float | None:
	"""A Wi-Fi signal level in dBm.

	TR-181 AccessPoint.AssociatedDevice.SignalStrength is dBm (−200…0); MultiAP and
	Data Elements report RCPI (0–220). Positive values are RCPI when the path is known
	to carry it; 0 and anything outside the windows is "no reading".
	"""
	value = _number(raw)
	if value is None:
		return None
	if value > 0 and rcpi_when_positive:
		return rcpi_to_dbm(value)
	if -200 < value < 0:
		return value
	return None


def rssi_percent(dbm: float | None) -> int | None:
	"""Signal as a percentage: −100 dBm or less = 0 %, −50 dBm or more = 100 %, linear between."""
	if dbm is None:
		return None
	return max(0, min(100, round(2 * (dbm + 100))))


# ---------------------------------------------------------------------------
# plain values


def _text(value) -> str | None:
	"""A value as stripped text; None when absent or blank."""
	if value is None:
		return None
	text = str(value).strip()
	return text or None


def _mac(value) -> str | None:
	"""A MAC address as ``aa:bb:cc:dd:ee:ff``; None when it is not one (or all zeros)."""
	text = _text(value)
	if not text:
		return None
	digits = re.sub(r"[\s:.\-]", "", text.lower())
	if not re.fullmatch(r"[0-9a-f]{12}", digits) or digits == "000000000000":
		return None
	return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
