"""Merging per-source results field by field, keeping the freshest value and saying where it came from."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from gigafibre_fsm.core.diagnostics.model import (
	BLOCKS,
	DEFAULT_STALE_AFTER,
	LIST_BLOCKS,
	LIST_KEYS,
	META_FIELDS,
	Diagnosis,
	block,
	parse_time,
)
from gigafibre_fsm.core.diagnostics.units import optical_status

# ---------------------------------------------------------------------------
# merging per-source results


def merge(
	*results: Diagnosis | Mapping | None,
	now: datetime,
	stale_after: timedelta | float = DEFAULT_STALE_AFTER,
) -> Diagnosis:
	"""Combine partial results from several sources into one.

	For every field the freshest non-missing value wins (by its ``field_asof``, else
	its block's ``asof``); the winner's source is recorded in the block's ``sources``.
	List blocks are matched by :data:`LIST_KEYS`. Errors from every source are kept,
	so one failure never hides what the other sources said.
	"""
	parts = [r if isinstance(r, Diagnosis) else Diagnosis.from_dict(r) for r in results if r]
	out = Diagnosis()
	for name in BLOCKS:
		setattr(out, name, _merge_blocks([getattr(p, name) for p in parts], now, stale_after))
	for name in LIST_BLOCKS:
		groups: dict[tuple, list[dict]] = {}
		for part in parts:
			seen: dict[tuple, int] = {}
			for item in getattr(part, name):
				key = _item_key(name, item)
				# two items of one source never merge (two IP interfaces on one VLAN)
				seen[key] = seen.get(key, -1) + 1
				groups.setdefault((*key, seen[key]), []).append(item)
		setattr(out, name, [_merge_blocks(items, now, stale_after) for items in groups.values()])
	for part in parts:
		out.errors.extend(part.errors)
		for source, info in part.sources.items():
			out.sources.setdefault(source, info)
	if out.optical and len([p for p in parts if p.optical]) > 1:
		_recheck_optical(out.optical, [p.optical["status"] for p in parts if p.optical])
	return out


def _item_key(name: str, item: Mapping) -> tuple:
	if name == "wan" and item.get("vlan") is not None:
		return (item.get("vlan"),)  # the same VLAN seen by GenieACS and by the modem UI
	values = tuple(item.get(k) for k in LIST_KEYS[name])
	return (id(item),) if all(v is None for v in values) else values


def _merge_blocks(blocks: list[dict | None], now, stale_after) -> dict | None:
	blocks = [b for b in blocks if b]
	if not blocks:
		return None
	if len(blocks) == 1:
		return blocks[0]
	chosen: dict = {}
	times: dict = {}
	origin: dict = {}
	for b in blocks:
		default = parse_time(b.get("asof"))
		stamps = b.get("field_asof") or {}
		for key, value in b.items():
			if key in META_FIELDS:
				continue
			if _missing(value):
				chosen.setdefault(key, value)
				continue
			when = parse_time(stamps.get(key)) or default
			best = times.get(key)
			fresher = key not in origin or (when is not None and (best is None or when > best))
			if isinstance(value, dict) and isinstance(chosen.get(key), dict):
				# nested readings (raw per reading, backhaul): combine, the fresher side on top
				value = {**chosen[key], **value} if fresher else {**value, **chosen[key]}
				chosen[key] = value
			if fresher:
				chosen[key] = value
				times[key] = when
				origin[key] = b.get("source")
	merged = block(
		"+".join(sorted({s for s in origin.values() if s})) or blocks[0].get("source", ""),
		chosen,
		now=now,
		stale_after=stale_after,
		field_asof={k: t for k, t in times.items() if t is not None},
	)
	merged["sources"] = dict(sorted(origin.items()))
	return merged


def _missing(value) -> bool:
	return value is None or value == [] or value == {}


def _recheck_optical(optical: dict, statuses: list[str]) -> None:
	"""The merged RX may come from one source and the status from another: recompute it."""
	sources = optical.setdefault("sources", {})
	if optical.get("rx_dbm") is not None:
		optical["status"] = optical_status(optical["rx_dbm"])
		sources["status"] = sources.get("rx_dbm")
	elif "los" in statuses:
		optical["status"] = "los"
	else:
		optical["status"] = "unknown"
