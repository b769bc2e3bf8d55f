"""Plans, zone prices, promotions and the earliest installation date.

- A :class:`Plan` is a catalogue value (item code, name, monthly price, speeds); a
  zone offers some plans, each at the zone's price or the catalogue price.
- A :class:`Promotion` is active on ``today`` when ``start <= today <= end`` (both
  days included) and, if it has a ``limit`` (the most uses allowed), fewer uses than
  the limit were counted. The caller counts the uses (e.g. subscriptions that carry
  the promotion code) and passes them; nothing here reserves a use. It sets a
  promotional monthly ``price`` or takes a ``discount`` off the zone price (never
  below 0), for some plans and zones (empty: all). When several apply to a plan,
  the lowest price wins, then the earliest end, then the code.
- The earliest installation date is the later of: ``today + lead_days`` moved to the
  next Monday when it falls on a weekend, and the first free day dispatch reports
  for the zone (``capacity``: one date for every zone, a mapping zone id → date, or a
  function zone id → date; None or a missing zone: no constraint).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeAlias

from gigafibre_fsm.core.errors import InvalidInput

__all__ = [
	"CONNECTION_TYPES",
	"Capacity",
	"Plan",
	"PlanOffer",
	"Promotion",
	"best_promotion",
	"connection_type",
	"earliest_install_date",
	"money",
	"plan_offers",
]

CONNECTION_TYPES = ("FTTH", "FTTB", "Cable", "DSL")
_CONNECTION_TYPES = {kind.casefold(): kind for kind in CONNECTION_TYPES}
CENT = Decimal("0.01")

Capacity: TypeAlias = date | Mapping[str, date | None] | Callable[[str], date | None] | None


def connection_type(value: str) -> str:
	"""The canonical connection type (FTTH, FTTB, Cable, DSL), whatever the case."""
	found = _CONNECTION_TYPES.get(str(value or "").strip().casefold())
	if not found:
		raise InvalidInput("Unknown connection type {0} (FTTH, FTTB, Cable or DSL)", value)
	return found


def money(value: Any) -> Decimal:
	"""An amount in dollars, to the cent; refuses what is not a number of 0 or more."""
	try:
		amount = Decimal(str(value).strip()).quantize(CENT, rounding=ROUND_HALF_UP)
	except ArithmeticError:
		raise InvalidInput("{0} is not an amount", value)
	if not amount.is_finite() or amount < 0:
		raise InvalidInput("{0} is not an amount", value)
	return amount


@dataclass(frozen=True, slots=True)
class Plan:
	"""A plan of the catalogue; ``connection_types`` empty means every connection type."""

	item_code: str
	name: str
	monthly_price: Decimal
	down_mbps: int
	up_mbps: int
	connection_types: frozenset[str] = frozenset()

	def __post_init__(self) -> None:
		if not self.item_code:
			raise InvalidInput("A plan needs an item code")
		object.__setattr__(self, "monthly_price", money(self.monthly_price))
		object.__setattr__(self, "connection_types", frozenset(map(connection_type, self.connection_types)))


@dataclass(frozen=True, slots=True)
class Promotion:
	"""A promotional price (``price``) or amount off (``discount``) from ``start`` to ``end``, at most ``limit`` uses."""

	code: str
	start: date
	end: date
	limit: int | None = None
	price: Decimal | None = None
	discount: Decimal | None = None
	months: int | None = None  # how long the customer keeps the promotional price (shown, not applied)
	item_codes: frozenset[str] = field(default_factory=frozenset)
	zones: frozenset[str] = field(default_factory=frozenset)
	title: str = ""

	def __post_init__(self) -> None:
		if not self.code:
			raise InvalidInput("A promotion needs a code")
		if self.end < self.start:
			raise InvalidInput("Promotion {0} ends before it starts", self.code)
		if self.limit is not None and self.limit < 0:
			raise InvalidInput("The use limit of promotion {0} cannot be negative", self.code)
		if (self.price is None) == (self.discount is None):
			raise InvalidInput("Promotion {0} needs either a price or a discount", self.code)
		for name in ("price", "discount"):
			if getattr(self, name) is not None:
				object.__setattr__(self, name, money(getattr(self, name)))
		object.__setattr__(self, "item_codes", frozenset(self.item_codes))
		object.__setattr__(self, "zones", frozenset(self.zones))

	def is_active(self, today: date, uses: int = 0) -> bool:
		"""Started, not ended (both days included) and used fewer times than its limit."""
		return self.start <= today <= self.end and (self.limit is None or uses < self.limit)

	def applies_to(self, item_code: str, zone: str | None) -> bool:
		return (not self.item_codes or item_code in self.item_codes) and (
			not self.zones or (zone is not None and zone in self.zones)
		)

	def apply(self, regular: Decimal) -> Decimal:
		if self.price is not None:
			return min(self.price, regular)
		return max(regular - (self.discount or Decimal(0)), Decimal("0.00"))


@dataclass(frozen=True, slots=True)
class PlanOffer:
	"""A plan as offered at one address today: zone price, today's price, the promotion that sets it."""

	item_code: str
	name: str
	down_mbps: int
	up_mbps: int
	regular_price: Decimal
	price: Decimal
	promotion: Promotion | None

	def to_dict(self) -> dict[str, Any]:
		promo = self.promotion
		return {
			"item_code": self.item_code,
			"name": self.name,
			"down_mbps": self.down_mbps,
			"up_mbps": self.up_mbps,
			"regular_price": float(self.regular_price),
			"price": float(self.price),
			"promotion": None
			if promo is None
			else {
				"code": promo.code,
				"title": promo.title,
				"start": promo.start.isoformat(),
				"end": promo.end.isoformat(),
				"months": promo.months,
			},
		}


def best_promotion(
	promotions: Iterable[Promotion],
	item_code: str,
	zone: str | None,
	regular: Decimal,
	*,
	today: date,
	uses: Mapping[str, int] | None = None,
) -> Promotion | None:
	"""The active promotion giving ``item_code`` its lowest price in ``zone`` (see the module docstring)."""
	uses = uses or {}
	found = [
		p
		for p in promotions
		if p.applies_to(item_code, zone) and p.is_active(today, int(uses.get(p.code, 0) or 0))
	]
	if not found:
		return None
	return min(found, key=lambda p: (p.apply(regular), p.end, p.code))


def plan_offers(
	plans: Iterable[Plan],
	zone_prices: Mapping[str, Decimal | None] | None,
	*,
	zone: str | None,
	connection: str | None,
	promotions: Iterable[Promotion] = (),
	today: date,
	uses: Mapping[str, int] | None = None,
) -> list[PlanOffer]:
	"""The plans a zone offers for ``connection``, with today's prices, in catalogue order.

	``zone_prices`` maps item code → the zone's monthly price (None: the catalogue
	price); None instead of a mapping offers the whole catalogue at catalogue prices.
	"""
	promotions = tuple(promotions)
	offers = []
	for plan in plans:
		if zone_prices is not None and plan.item_code not in zone_prices:
			continue
		if plan.connection_types and connection not in plan.connection_types:
			continue
		zone_price = zone_prices.get(plan.item_code) if zone_prices is not None else None
		regular = plan.monthly_price if zone_price is None else money(zone_price)
		promo = best_promotion(promotions, plan.item_code, zone, regular, today=today, uses=uses)
		price = promo.apply(regular) if promo else regular
		offers.append(
			PlanOffer(plan.item_code, plan.name, plan.down_mbps, plan.up_mbps, regular, price, promo)
		)
	return offers


def earliest_install_date(today: date, zone: str, *, lead_days: int = 0, capacity: Capacity = None) -> date:
	"""The later of ``today + lead_days`` (a weekend moved to Monday) and dispatch's first free day for ``zone``."""
	if lead_days < 0:
		raise InvalidInput("The installation lead time cannot be negative")
	floor = today + timedelta(days=lead_days)
	if floor.weekday() >= 5:
		floor += timedelta(days=7 - floor.weekday())
	if capacity is None:
		free = None
	elif isinstance(capacity, date):
		free = capacity
	elif isinstance(capacity, Mapping):
		free = capacity.get(zone)
	else:
		free = capacity(zone)
	if isinstance(free, datetime):
		free = free.date()
	return max(floor, free) if free else floor
