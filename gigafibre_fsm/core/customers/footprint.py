"""The footprint: served addresses and zones, indexed once; :meth:`Footprint.check` answers.

Index (built once, in :class:`Footprint`): municipality key → street key → the streets
of that name (one per type and direction) → civic number → address records; the
distinct street keys of each municipality (and of each of its postal codes) as the
rapidfuzz choices; an STRtree over the zone polygons (prepared) and one over the
address points. A check is a few dict lookups plus two rapidfuzz extracts (key and
spelled key, below) over the streets of one municipality.

Matching a normalised address (:meth:`Footprint.match`):

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

A position alone means the served address nearest to it within ``radius_m`` (50 m),
else the zone containing it. Zones: a point on a zone's edge is inside it. A point in several zones (overlapping
polygons, or exactly on a shared edge) belongs to the served one with the smallest
area, then the lowest zone id.

Reason codes of :class:`CheckResult` (messages are English templates with params):

	served            an address of the footprint, in a served zone offering plans
	in_served_zone    not an address of the footprint (or none given), but the
	                  position lies in a served zone: serviceable, to confirm on site
	not_in_footprint  no served address matches, or the position is outside every zone
	zone_not_served   the zone is marked not served, or offers no plan for the connection
	no_civic_number   the address has no civic number (and no position was given)
	ambiguous         several served addresses match about equally; see ``candidates``

Plans, prices, the install fee and the earliest installation date are given only
when serviceable (see pricing.py for promotions and dispatch capacity).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

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
from gigafibre_fsm.core.customers.pricing import (
	Capacity,
	Plan,
	PlanOffer,
	Promotion,
	earliest_install_date,
	money,
	plan_offers,
)
from gigafibre_fsm.core.errors import InvalidInput

__all__ = [
	"AMBIGUOUS",
	"IN_SERVED_ZONE",
	"NOT_IN_FOOTPRINT",
	"NO_CIVIC_NUMBER",
	"SERVED",
	"ZONE_NOT_SERVED",
	"AddressRecord",
	"Candidate",
	"CheckResult",
	"Footprint",
	"Match",
	"Zone",
]

SERVED = "served"
IN_SERVED_ZONE = "in_served_zone"
NOT_IN_FOOTPRINT = "not_in_footprint"
ZONE_NOT_SERVED = "zone_not_served"
NO_CIVIC_NUMBER = "no_civic_number"
AMBIGUOUS = "ambiguous"

SCORE_CUTOFF = 85.0
SCORE_FLOOR = 60.0  # below it, not even a one-edit typo is considered
ONE_EDIT_MIN_LENGTH = 4
TIE_MARGIN = 6.0
TYPE_PENALTY = 10.0
DIRECTION_PENALTY = 10.0
RADIUS_M = 50.0
EXTRACT_LIMIT = 10
METRES_PER_DEGREE = 111_195.0  # one degree of a great circle on the mean Earth (6371.0 km)


@dataclass(frozen=True, slots=True)
class AddressRecord:
	"""A served civic address; ``line`` is its line in the source file, for error messages."""

	civic: str
	street: Street
	municipality: str
	zone: str
	connection_type: str
	postal_code: str | None = None
	lat: float | None = None
	lon: float | None = None
	service_location: str | None = None
	unit: str | None = None
	line: int | None = None
	municipality_key: str = ""

	def __post_init__(self) -> None:
		if not self.municipality_key:
			object.__setattr__(self, "municipality_key", name_key(self.municipality))

	@property
	def label(self) -> str:
		first = f"{self.civic} {self.street.display}"
		town = " ".join(p for p in (self.municipality, "QC", self.postal_code) if p)
		return ", ".join(p for p in (first, f"app. {self.unit}" if self.unit else None, town) if p)

	def to_dict(self) -> dict[str, Any]:
		return {
			"civic": self.civic,
			"unit": self.unit,
			"street": self.street.display,
			"municipality": self.municipality,
			"postal_code": self.postal_code,
			"lat": self.lat,
			"lon": self.lon,
			"zone": self.zone,
			"connection_type": self.connection_type,
			"service_location": self.service_location,
			"label": self.label,
		}


@dataclass(frozen=True, slots=True, eq=False)
class Zone:
	"""A zone: its polygon (lon/lat; None for a zone known only by its addresses) and its offer.

	``prices`` maps item code → monthly price in the zone (None: the catalogue price);
	None instead of a mapping offers every plan of the catalogue at its price.
	``install_fee`` and ``lead_days`` None take the footprint's defaults.
	"""

	id: str
	name: str
	connection_type: str
	geometry: Any = None
	served: bool = True
	prices: Mapping[str, Decimal | None] | None = None
	install_fee: Decimal | None = None
	lead_days: int | None = None

	def to_dict(self) -> dict[str, Any]:
		return {
			"id": self.id,
			"name": self.name,
			"connection_type": self.connection_type,
			"served": self.served,
		}


@dataclass(frozen=True, slots=True)
class Candidate:
	"""One of several served addresses an ambiguous text could mean, with its score."""

	record: AddressRecord
	score: float

	def to_dict(self) -> dict[str, Any]:
		return {**self.record.to_dict(), "score": round(self.score, 1)}


@dataclass(frozen=True, slots=True)
class Match:
	"""How an address matched: ``record`` and ``how`` (exact, fuzzy, position), or why not."""

	record: AddressRecord | None = None
	how: str | None = None
	score: float | None = None
	candidates: tuple[Candidate, ...] = ()
	reason: str | None = None
	message: str = ""
	params: tuple[Any, ...] = ()


def _failed(reason: str, message: str, *params: Any) -> Match:
	return Match(reason=reason, message=message, params=params)


@dataclass(frozen=True, slots=True)
class CheckResult:
	"""The answer of :meth:`Footprint.check`; ``message`` is an English template, ``text`` its formatted form."""

	serviceable: bool
	reason: str
	message: str
	params: tuple[Any, ...]
	address: NormalisedAddress | None = None
	record: AddressRecord | None = None
	how: str | None = None
	score: float | None = None
	candidates: tuple[Candidate, ...] = ()
	zone: Zone | None = None
	connection_type: str | None = None
	plans: tuple[PlanOffer, ...] = ()
	install_fee: Decimal | None = None
	earliest_install_date: date | None = None

	@property
	def text(self) -> str:
		return self.message.format(*self.params) if self.params else self.message

	@property
	def service_location(self) -> str | None:
		return self.record.service_location if self.record else None

	def to_dict(self) -> dict[str, Any]:
		"""Plain JSON values: money as numbers, dates as ISO strings."""
		return {
			"serviceable": self.serviceable,
			"reason": self.reason,
			"message": self.text,
			"message_template": self.message,
			"message_params": [str(p) for p in self.params],
			"address": self.address.to_dict() if self.address else None,
			"match": None
			if self.record is None
			else {
				"how": self.how,
				"score": None if self.score is None else round(self.score, 1),
				**self.record.to_dict(),
			},
			"service_location": self.service_location,
			"candidates": [c.to_dict() for c in self.candidates],
			"zone": self.zone.to_dict() if self.zone else None,
			"connection_type": self.connection_type,
			"plans": [offer.to_dict() for offer in self.plans],
			"install_fee": None if self.install_fee is None else float(self.install_fee),
			"earliest_install_date": self.earliest_install_date.isoformat()
			if self.earliest_install_date
			else None,
		}


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


class Footprint:
	"""Served addresses and zones with their plans and promotions, indexed for :meth:`check`."""

	def __init__(
		self,
		addresses: Iterable[AddressRecord],
		zones: Iterable[Zone],
		plans: Iterable[Plan] = (),
		promotions: Iterable[Promotion] = (),
		*,
		install_fee: Decimal | int | str = 0,
		lead_days: int = 0,
		score_cutoff: float = SCORE_CUTOFF,
		tie_margin: float = TIE_MARGIN,
		radius_m: float = RADIUS_M,
	):
		self.plans = tuple(plans)
		self.promotions = tuple(promotions)
		self.install_fee = money(install_fee)
		self.lead_days = lead_days
		self.score_cutoff = score_cutoff
		self.tie_margin = tie_margin
		self.radius_m = radius_m
		self.zones: dict[str, Zone] = {}
		self._index_zones(zones)
		self.addresses: tuple[AddressRecord, ...] = tuple(addresses)
		self._index_addresses()

	# --- index ---------------------------------------------------------------------------------

	def _index_zones(self, zones: Iterable[Zone]) -> None:
		codes = {plan.item_code for plan in self.plans}
		for zone in zones:
			if zone.id in self.zones:
				raise InvalidInput("Zone {0} is defined twice", zone.id)
			for item_code in zone.prices or ():
				if item_code not in codes:
					raise InvalidInput(
						"Zone {0} prices plan {1}, which is not in the catalogue", zone.id, item_code
					)
			self.zones[zone.id] = zone
		for promo in self.promotions:
			for item_code in promo.item_codes:
				if item_code not in codes:
					raise InvalidInput(
						"Promotion {0} names plan {1}, which is not in the catalogue", promo.code, item_code
					)
		self._zone_list = [z for z in self.zones.values() if z.geometry is not None]
		for zone in self._zone_list:
			shapely.prepare(zone.geometry)
		# areas rounded (1e-12 square degree, about 0.01 m²): equal squares written with other coordinates tie
		by_area = sorted(self._zone_list, key=lambda z: (round(z.geometry.area, 12), z.id))
		self._zone_rank = {z.id: rank for rank, z in enumerate(by_area)}
		self._zone_tree = shapely.STRtree([z.geometry for z in self._zone_list]) if self._zone_list else None

	def _index_addresses(self) -> None:
		self._towns: dict[str, _Town] = {}
		self._streets: dict[tuple[str, str, str | None, str | None], _Street] = {}
		self._postal_towns: dict[str, list[str]] = {}
		everywhere: dict[str, list[_Street]] = {}
		postal_names: dict[tuple[str, str], dict[str, None]] = {}
		located: list[AddressRecord] = []
		for record in self.addresses:
			if record.zone not in self.zones:
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
			return _failed(NO_CIVIC_NUMBER, "The address has no civic number")
		street = address.street
		if street is None:
			return _failed(NOT_IN_FOOTPRINT, "The address names no street")
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
				return _failed(
					NOT_IN_FOOTPRINT,
					"No served address at civic number {0} on {1}",
					address.civic,
					street.display,
				)
			return _failed(NOT_IN_FOOTPRINT, "No served street matches {0}", street.display)
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
			return _failed(NOT_IN_FOOTPRINT, "{0} is not a served municipality", address.municipality)
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

	def zones_at(self, lat: float, lon: float) -> list[Zone]:
		"""The zones containing the point (edges included), the one it belongs to first (see the module docstring)."""
		if self._zone_tree is None:
			return []
		point = shapely.Point(lon, lat)
		zones = [self._zone_list[int(i)] for i in self._zone_tree.query(point)]
		inside = [z for z in zones if z.geometry.covers(point)]
		return sorted(inside, key=lambda z: (not z.served, self._zone_rank[z.id]))

	def zone_at(self, lat: float, lon: float) -> Zone | None:
		zones = self.zones_at(lat, lon)
		return zones[0] if zones else None

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

	# --- the answer ----------------------------------------------------------------------------

	def check(
		self,
		address_text: str | None = None,
		lat: float | None = None,
		lon: float | None = None,
		*,
		today: date,
		capacity: Capacity = None,
		promotion_uses: Mapping[str, int] | None = None,
	) -> CheckResult:
		"""Serviceability, plans with today's prices, install fee and earliest date for an address and/or a position.

		``capacity``: dispatch's first free installation day (one date, zone id → date,
		or a function of the zone id); ``promotion_uses``: promotion code → uses so far.
		"""
		text = (address_text or "").strip()
		position = self._position(lat, lon)
		if not text and position is None:
			raise InvalidInput("Give an address or a position (latitude and longitude)")
		address = self.normalise(text) if text else None
		found = Match()
		if address is not None:
			found = self.match(address)
			if found.candidates and position is not None:
				found = self._by_position(found, *position)
		elif position is not None:
			near = self.nearest(*position)
			if near:
				found = Match(record=near[0], how="position")

		def answer(zone: Zone, connection: str, **extra: Any) -> CheckResult:
			return self._answer(
				zone,
				connection,
				address=address,
				today=today,
				capacity=capacity,
				uses=promotion_uses,
				**extra,
			)

		if found.record is not None:
			record = found.record
			return answer(
				self.zones[record.zone],
				record.connection_type,
				record=record,
				how=found.how,
				score=found.score,
				message=("{0} is served ({1})", (record.label, record.connection_type)),
			)
		if found.reason == AMBIGUOUS or position is None:
			reason = found.reason or NOT_IN_FOOTPRINT
			return CheckResult(
				False, reason, found.message, found.params, address=address, candidates=found.candidates
			)
		zone = self.zone_at(*position)
		if zone is None:
			if address is not None and found.message:
				return CheckResult(False, NOT_IN_FOOTPRINT, found.message, found.params, address=address)
			return CheckResult(
				False, NOT_IN_FOOTPRINT, "The position is outside every served zone", (), address=address
			)
		if address is not None:
			message = (
				"{0} is not a served address, but its position is in served zone {1}",
				(address.label, zone.name),
			)
		else:
			message = ("The position is in served zone {0}", (zone.name,))
		return answer(zone, zone.connection_type, reason=IN_SERVED_ZONE, message=message)

	def _answer(
		self,
		zone: Zone,
		connection: str,
		*,
		address: NormalisedAddress | None,
		today: date,
		capacity: Capacity,
		uses: Mapping[str, int] | None,
		message: tuple[str, tuple[Any, ...]],
		reason: str = SERVED,
		record: AddressRecord | None = None,
		how: str | None = None,
		score: float | None = None,
	) -> CheckResult:
		common = {
			"address": address,
			"record": record,
			"how": how,
			"score": score,
			"zone": zone,
			"connection_type": connection,
		}
		if not zone.served:
			return CheckResult(False, ZONE_NOT_SERVED, "Zone {0} is not served yet", (zone.name,), **common)
		offers = plan_offers(
			self.plans,
			zone.prices,
			zone=zone.id,
			connection=connection,
			promotions=self.promotions,
			today=today,
			uses=uses,
		)
		if not offers:
			return CheckResult(
				False,
				ZONE_NOT_SERVED,
				"No plan is offered in zone {0} for {1}",
				(zone.name, connection),
				**common,
			)
		lead = self.lead_days if zone.lead_days is None else zone.lead_days
		return CheckResult(
			True,
			reason,
			message[0],
			message[1],
			plans=tuple(offers),
			install_fee=self.install_fee if zone.install_fee is None else money(zone.install_fee),
			earliest_install_date=earliest_install_date(today, zone.id, lead_days=lead, capacity=capacity),
			**common,
		)

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

	@staticmethod
	def _position(lat: Any, lon: Any) -> tuple[float, float] | None:
		if lat in (None, "") and lon in (None, ""):
			return None
		if lat in (None, "") or lon in (None, ""):
			raise InvalidInput("A position needs both a latitude and a longitude")
		try:
			lat_f, lon_f = float(lat), float(lon)
		except (TypeError, ValueError):
			raise InvalidInput("{0}, {1} is not a position", lat, lon)
		if not (-90 <= lat_f <= 90 and -180 <= lon_f <= 180):
			raise InvalidInput("{0}, {1} is not a position", lat, lon)
		return lat_f, lon_f
