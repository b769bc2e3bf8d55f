"""What the footprint is made of and what it answers: served addresses, zones, matches, results.

Reason codes of :class:`CheckResult` (messages are English templates with params):

	served            an address of the footprint, in a served zone offering plans
	in_served_zone    not an address of the footprint (or none given), but the
	                  position lies in a served zone: serviceable, to confirm on site
	not_in_footprint  no served address matches, or the position is outside every zone
	zone_not_served   the zone is marked not served, or offers no plan for the connection
	no_civic_number   the address has no civic number (and no position was given)
	ambiguous         several served addresses match about equally; see ``candidates``

"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from gigafibre_fsm.core.customers.address import NormalisedAddress, Street, name_key
from gigafibre_fsm.core.customers.pricing import PlanOffer

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
	"Match",
	"Zone",
	"failed",
]

SERVED = "served"
IN_SERVED_ZONE = "in_served_zone"
NOT_IN_FOOTPRINT = "not_in_footprint"
ZONE_NOT_SERVED = "zone_not_served"
NO_CIVIC_NUMBER = "no_civic_number"
AMBIGUOUS = "ambiguous"


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


def failed(reason: str, message: str, *params: Any) -> Match:
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
