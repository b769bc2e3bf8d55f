"""The served addresses, indexed once: what an address written by hand means, or a position.

Index (built once, in :class:`AddressIndex`): municipality key → street key → the streets
of that name (one per type and direction) → civic number → address records; the
distinct street keys of each municipality (and of each of its postal codes) as the
rapidfuzz choices; an STRtree over the address points. A match is a few dict lookups
plus two rapidfuzz extracts (key and spelled key, below) over the streets of one
municipality.

Matching a normalised address (:meth:`AddressIndex.match`):

1. Municipality: its key (St/Ste/Saint/Sainte alike, hyphens as spaces) among the
   served ones; else the closest served one (rapidfuzz ``token_sort_ratio`` at least
   ``score_cutoff``); else the municipalities of its postal code; else, when none is
   written, every municipality. A municipality written but not found (nor its postal
   code) is ``not_in_footprint``.
2. Exact: (municipality, street key, street type, direction, civic) in the index;
   the type and direction written must be the record's (both may be absent).
3. Fuzzy: ``rapidfuzz.process.extract`` over the municipality's streets (those of
   the postal code first, when one is written, then all of them), scorer
   ``fuzz.token_sort_ratio``, twice: the street key written against the street keys,
   and its spelled key (particles kept, so "duu Parc" still finds "du Parc") against
   the spelled keys; a street scores the better of the two. It qualifies with a score
   of at least ``score_cutoff`` (85), or, for a key of 4 characters or more, when it
   is one edit away (``rapidfuzz.distance.OSA``: a letter added, dropped, changed or
   two neighbours swapped: "Pacr" for "Parc" scores only 75). A street whose type
   differs from the one written loses ``TYPE_PENALTY`` (10) points, one whose
   direction differs ``DIRECTION_PENALTY`` (10); only streets holding the civic number
   count. The best street wins unless another is within ``tie_margin`` points (6):
   then the answer is ``ambiguous`` and lists them, best first. 6 points is about
   one letter of a ten-letter name: in a town with "rue Principale" and "chemin
   Principal", "123 Principal" scores 100 and 94.7, which is ambiguous;
   "123 rue Principal" is not (the chemin loses 10 points).
4. A "12-34" civic (see address.py) is tried in its first reading, then the other.
5. With a position as well, ambiguous candidates within ``radius_m`` of it decide
   when exactly one is left.


A position alone means the served address nearest to it within ``radius_m`` (50 m)
(:meth:`AddressIndex.nearest`); the zones are the footprint's (footprint.py).
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable
from dataclasses import replace

import shapely
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from gigafibre_fsm.core.customers.address import (
	NormalisedAddress,
	Street,
	name_key,
	normalise_address,
	parse_street,
)
from gigafibre_fsm.core.customers.served import (
	AMBIGUOUS,
	NO_CIVIC_NUMBER,
	NOT_IN_FOOTPRINT,
	AddressRecord,
	Candidate,
	Match,
	failed,
)
from gigafibre_fsm.core.errors import InvalidInput

SCORE_CUTOFF = 85.0
SCORE_FLOOR = 60.0  # below it, not even a one-edit typo is considered
ONE_EDIT_MIN_LENGTH = 4
TIE_MARGIN = 6.0
TYPE_PENALTY = 10.0
DIRECTION_PENALTY = 10.0
RADIUS_M = 50.0
EXTRACT_LIMIT = 10
METRES_PER_DEGREE = 111_195.0  # one degree of a great circle on the mean Earth (6371.0 km)


class _Street:
	"""One street of one municipality, with its served civic numbers."""

	__slots__ = ("civics", "street")

	def __init__(self, street: Street):
		self.street = street
		self.civics: dict[str, list[AddressRecord]] = {}


class _Scope:
	"""Where the fuzzy search runs: street keys and spelled keys (the rapidfuzz choices), their streets."""

	__slots__ = ("names", "spelled", "spelled_key", "streets")

	def __init__(self, streets: dict[str, list[_Street]], names: list[str] | None = None):
		self.streets = streets
		self.names = names if names is not None else list(streets)
		self.spelled_key = {entry.street.spelled: name for name in self.names for entry in streets[name]}
		self.spelled = list(self.spelled_key)


class _Town:
	__slots__ = ("by_postal", "name", "scope", "streets")

	def __init__(self, name: str):
		self.name = name
		self.streets: dict[str, list[_Street]] = {}
		self.by_postal: dict[str, _Scope] = {}
		self.scope = _Scope(self.streets)


def _haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
	p1, p2 = math.radians(lat1), math.radians(lat2)
	dp, dl = p2 - p1, math.radians(lon2 - lon1)
	h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
	return 2 * 6_371_000.0 * math.asin(math.sqrt(h))


def _pick(records: list[AddressRecord], unit: str | None) -> AddressRecord:
	"""The record of ``unit`` if there is one, else the building's (no unit), else the first."""
	if unit:
		for record in records:
			if record.unit and record.unit.casefold() == unit.casefold():
				return record
	for record in records:
		if not record.unit:
			return record
	return records[0]


class AddressIndex:
	"""Served addresses indexed for :meth:`match`, :meth:`normalise` and :meth:`nearest`."""

	def __init__(
		self,
		addresses: Iterable[AddressRecord],
		zone_ids: Container[str],
		*,
		score_cutoff: float = SCORE_CUTOFF,
		tie_margin: float = TIE_MARGIN,
		radius_m: float = RADIUS_M,
	):
		self.score_cutoff = score_cutoff
		self.tie_margin = tie_margin
		self.radius_m = radius_m
		self.addresses: tuple[AddressRecord, ...] = tuple(addresses)
		self._index_addresses(zone_ids)

	def _index_addresses(self, zone_ids: Container[str]) -> None:
		self._towns: dict[str, _Town] = {}
		self._streets: dict[tuple[str, str, str | None, str | None], _Street] = {}
		self._postal_towns: dict[str, list[str]] = {}
		everywhere: dict[str, list[_Street]] = {}
		postal_names: dict[tuple[str, str], dict[str, None]] = {}
		located: list[AddressRecord] = []
		for record in self.addresses:
			if record.zone not in zone_ids:
				raise InvalidInput("Line {0}: unknown zone {1}", record.line or "?", record.zone)
			town_key, street = record.municipality_key, record.street
			town = self._towns.get(town_key)
			if town is None:
				town = self._towns[town_key] = _Town(record.municipality)
			sid = (town_key, street.key, street.type, street.direction)
			entry = self._streets.get(sid)
			if entry is None:
				entry = self._streets[sid] = _Street(street)
				town.streets.setdefault(street.key, []).append(entry)
				everywhere.setdefault(street.key, []).append(entry)
			entry.civics.setdefault(record.civic, []).append(record)
			if record.postal_code:
				postal_names.setdefault((town_key, record.postal_code), {})[street.key] = None
				towns = self._postal_towns.setdefault(record.postal_code, [])
				if town_key not in towns:
					towns.append(town_key)
			if record.lat is not None and record.lon is not None:
				located.append(record)
		for town in self._towns.values():
			town.scope = _Scope(town.streets)
		for (town_key, postal), names in postal_names.items():
			self._towns[town_key].by_postal[postal] = _Scope(self._towns[town_key].streets, list(names))
		self._everywhere = _Scope(everywhere)
		self._town_keys = list(self._towns)
		self._town_set = frozenset(self._town_keys)
		self._located = located
		self._kx = math.cos(math.radians(sum(r.lat for r in located) / len(located))) if located else 1.0
		self._point_tree = (
			shapely.STRtree(shapely.points([(r.lon * self._kx, r.lat) for r in located])) if located else None
		)

	@property
	def municipalities(self) -> dict[str, str]:
		"""Municipality key → its name as first seen in the addresses."""
		return {key: town.name for key, town in self._towns.items()}

	# --- reading an address --------------------------------------------------------------------

	def normalise(self, text: str) -> NormalisedAddress:
		""":func:`normalise_address` knowing the served municipalities (to split text without commas).

		When no municipality is found, the last one to three words of the street that
		fuzzily name a served municipality are taken as the municipality.
		"""
		address = normalise_address(text, self._town_set)
		street = address.street
		if address.municipality is not None or street is None:
			return address
		words = street.name.split()
		for size in range(min(3, len(words) - 1), 0, -1):
			tail = " ".join(words[-size:])
			found = process.extractOne(
				name_key(tail), self._town_keys, scorer=fuzz.token_sort_ratio, score_cutoff=self.score_cutoff
			)
			if found:
				head = " ".join(p for p in (street.type, *words[:-size], street.direction) if p)
				return replace(
					address,
					street=parse_street(head),
					municipality=self._towns[found[0]].name,
					municipality_key=found[0],
				)
		return address

	def match(self, address: NormalisedAddress) -> Match:
		"""The served address ``address`` means (see the module docstring), or why none."""
		if not address.civic:
			return failed(NO_CIVIC_NUMBER, "The address has no civic number")
		street = address.street
		if street is None:
			return failed(NOT_IN_FOOTPRINT, "The address names no street")
		towns = self._towns_for(address)
		if isinstance(towns, Match):
			return towns
		readings = [(address.civic, address.unit)]
		if address.other_reading:
			readings.append(address.other_reading)

		for civic, unit in readings:
			hits = [
				entry
				for town_key in towns or self._town_keys
				if (entry := self._streets.get((town_key, street.key, street.type, street.direction)))
				and civic in entry.civics
			]
			if len(hits) == 1:
				return Match(record=_pick(hits[0].civics[civic], unit), how="exact", score=100.0)
			if hits:
				return self._ambiguous([Candidate(_pick(e.civics[civic], unit), 100.0) for e in hits])

		scopes = [self._everywhere] if towns is None else [self._towns[key] for key in towns]
		found: list[Candidate] = []
		seen_street = False
		for scope_or_town in scopes:
			before = len(found)
			for scope in self._scopes(scope_or_town, address.postal_code):
				scores = self._street_scores(street, scope)
				seen_street = seen_street or bool(scores)
				for name, score in scores.items():
					for entry in scope.streets[name]:
						record = self._record_at(entry, readings)
						if record is not None:
							found.append(Candidate(record, score - self._penalty(street, entry.street)))
				if len(found) > before:
					break  # the postal code's streets answered; the whole municipality is not needed
		if not found:
			if seen_street:
				return failed(
					NOT_IN_FOOTPRINT,
					"No served address at civic number {0} on {1}",
					address.civic,
					street.display,
				)
			return failed(NOT_IN_FOOTPRINT, "No served street matches {0}", street.display)
		found.sort(key=lambda c: -c.score)
		close = [c for c in found if c.score >= found[0].score - self.tie_margin]
		if len(close) > 1:
			return self._ambiguous(close)
		return Match(record=found[0].record, how="fuzzy", score=found[0].score)

	def _towns_for(self, address: NormalisedAddress) -> list[str] | None | Match:
		"""The municipality keys to search, None for all of them, or the reason there is none."""
		key = address.municipality_key
		if key:
			if key in self._towns:
				return [key]
			found = process.extractOne(
				key, self._town_keys, scorer=fuzz.token_sort_ratio, score_cutoff=self.score_cutoff
			)
			if found:
				return [found[0]]
		if address.postal_code in self._postal_towns:
			return self._postal_towns[address.postal_code]
		if key:
			return failed(NOT_IN_FOOTPRINT, "{0} is not a served municipality", address.municipality)
		return None

	def _street_scores(self, street: Street, scope: _Scope) -> dict[str, float]:
		"""Street key → score of the streets of ``scope`` close enough to ``street`` (see the module docstring)."""
		scores: dict[str, float] = {}
		for written, choices, to_key in (
			(street.key, scope.names, None),
			(street.spelled, scope.spelled, scope.spelled_key),
		):
			results = process.extract(
				written, choices, scorer=fuzz.token_sort_ratio, score_cutoff=SCORE_FLOOR, limit=EXTRACT_LIMIT
			)
			for choice, score, _ in results:
				if score < self.score_cutoff and not (
					len(written) >= ONE_EDIT_MIN_LENGTH and OSA.distance(written, choice, score_cutoff=1) <= 1
				):
					continue
				name = to_key[choice] if to_key is not None else choice
				scores[name] = max(score, scores.get(name, 0.0))
		return scores

	@staticmethod
	def _scopes(scope_or_town: _Scope | _Town, postal_code: str | None) -> list[_Scope]:
		if isinstance(scope_or_town, _Scope):
			return [scope_or_town]
		narrow = scope_or_town.by_postal.get(postal_code) if postal_code else None
		return [narrow, scope_or_town.scope] if narrow else [scope_or_town.scope]

	@staticmethod
	def _record_at(entry: _Street, readings: list[tuple[str, str | None]]) -> AddressRecord | None:
		for civic, unit in readings:
			records = entry.civics.get(civic)
			if records:
				return _pick(records, unit)
		return None

	@staticmethod
	def _penalty(written: Street, served: Street) -> float:
		penalty = TYPE_PENALTY if written.type and written.type != served.type else 0.0
		if written.direction and written.direction != served.direction:
			penalty += DIRECTION_PENALTY
		return penalty

	@staticmethod
	def _ambiguous(candidates: list[Candidate]) -> Match:
		labels = "; ".join(c.record.label for c in candidates)
		return Match(
			candidates=tuple(candidates),
			reason=AMBIGUOUS,
			message="The address could be any of {0} served addresses: {1}",
			params=(len(candidates), labels),
		)

	# --- positions -----------------------------------------------------------------------------

	def nearest(
		self, lat: float, lon: float, radius_m: float | None = None
	) -> tuple[AddressRecord, float] | None:
		"""The served address nearest to the point within ``radius_m`` (default ``self.radius_m``), and its distance in metres."""
		if self._point_tree is None:
			return None
		radius = self.radius_m if radius_m is None else radius_m
		found = self._point_tree.query_nearest(
			shapely.Point(lon * self._kx, lat), max_distance=radius / METRES_PER_DEGREE, all_matches=False
		)
		if not len(found):
			return None
		record = self._located[int(found[0])]
		distance = _haversine_m(lat, lon, record.lat, record.lon)  # type: ignore[arg-type]
		return (record, distance) if distance <= radius else None

	def _by_position(self, found: Match, lat: float, lon: float) -> Match:
		"""An ambiguous match settled by the one candidate within ``radius_m`` of the position, if there is one."""
		near = [
			c
			for c in found.candidates
			if c.record.lat is not None
			and c.record.lon is not None
			and _haversine_m(lat, lon, c.record.lat, c.record.lon) <= self.radius_m
		]
		if len(near) == 1:
			return Match(record=near[0].record, how="fuzzy", score=near[0].score)
		return found
