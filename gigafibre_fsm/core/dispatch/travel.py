"""Travel time between two places, behind a protocol a routing engine can replace.

The default model is geodesic: the great-circle (haversine) distance on a sphere
of radius 6371.0088 km (the IUGG mean Earth radius), times a road factor (roads
are longer than the straight line: 1.3 is the usual figure for a rural and
suburban grid such as the Montérégie), driven at a constant average speed
(60 km/h by default: rural routes at 80-90 km/h, village streets at 40-50 km/h).

A routing engine (OSRM, Valhalla, GraphHopper...) can replace it: anything with
a ``seconds(a, b)`` method satisfies :class:`TravelModel`. Unknown places (None)
cost nothing, so a job without coordinates is planned on time alone.
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

from gigafibre_fsm.core.dispatch.models import Point
from gigafibre_fsm.core.errors import InvalidInput

EARTH_RADIUS_KM = 6371.0088


@runtime_checkable
class TravelModel(Protocol):
	def seconds(self, a: Point | None, b: Point | None) -> float:
		"""Driving time from ``a`` to ``b`` in seconds (0 when either is unknown)."""
		...


def haversine_km(a: Point, b: Point) -> float:
	"""Great-circle distance between two points, in kilometres."""
	lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
	dlat = lat2 - lat1
	dlon = math.radians(b.lon - a.lon)
	h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
	return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


class GeodesicTravel:
	"""Haversine distance × ``road_factor`` at ``speed_kmh``."""

	__slots__ = ("_seconds_per_km", "road_factor", "speed_kmh")

	def __init__(self, road_factor: float = 1.3, speed_kmh: float = 60.0):
		if road_factor < 1:
			raise InvalidInput("The road factor cannot be below 1")
		if speed_kmh <= 0:
			raise InvalidInput("The average speed must be positive")
		self.road_factor = road_factor
		self.speed_kmh = speed_kmh
		self._seconds_per_km = road_factor * 3600.0 / speed_kmh

	def km(self, a: Point | None, b: Point | None) -> float:
		"""Estimated road distance in kilometres."""
		if a is None or b is None:
			return 0.0
		return haversine_km(a, b) * self.road_factor

	def seconds(self, a: Point | None, b: Point | None) -> float:
		if a is None or b is None or a == b:
			return 0.0
		return haversine_km(a, b) * self._seconds_per_km

	def __repr__(self) -> str:
		return f"GeodesicTravel(road_factor={self.road_factor}, speed_kmh={self.speed_kmh})"
