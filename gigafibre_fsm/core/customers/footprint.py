"""The footprint: served addresses and zones, indexed once; :meth:`Footprint.check` answers.

The addresses are matched by the address index (matching.py: an address written by hand, or the
nearest one to a position); the zones are indexed here, an STRtree over their polygons
(prepared). A position with no served address near it falls in the zone containing it. Zones: a
point on a zone's edge is inside it. A point in several zones (overlapping polygons, or exactly on
a shared edge) belongs to the served one with the smallest area, then the lowest zone id.

The answer is a :class:`CheckResult` (served.py lists its reason codes). Plans, prices, the install
fee and the earliest installation date are given only when serviceable (see pricing.py for
promotions and dispatch capacity).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import shapely

from gigafibre_fsm.core.customers.address import NormalisedAddress
from gigafibre_fsm.core.customers.matching import RADIUS_M, SCORE_CUTOFF, TIE_MARGIN, AddressIndex
from gigafibre_fsm.core.customers.pricing import (
	Capacity,
	Plan,
	Promotion,
	earliest_install_date,
	money,
	plan_offers,
)
from gigafibre_fsm.core.customers.served import (
	AMBIGUOUS,
	IN_SERVED_ZONE,
	NOT_IN_FOOTPRINT,
	SERVED,
	ZONE_NOT_SERVED,
	AddressRecord,
	CheckResult,
	Match,
	Zone,
)
from gigafibre_fsm.core.errors import InvalidInput

__all__ = ["Footprint"]


class Footprint(AddressIndex):
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
		self.zones: dict[str, Zone] = {}
		self._index_zones(zones)
		super().__init__(
			addresses, self.zones, score_cutoff=score_cutoff, tie_margin=tie_margin, radius_m=radius_m
		)

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
