"""Reading the footprint's sources: the served addresses (CSV) and the zones (GeoJSON).

The Frappe layer reads the files and passes their text (or rows it already has);
bad input raises :class:`~gigafibre_fsm.core.errors.InvalidInput` naming the line
of the CSV (the header is line 1) or the feature of the GeoJSON (1-based, with its
zone id when it has one).

Address columns (header names are matched without case, accents or punctuation; a
few French and English aliases are accepted; other columns are ignored):
``civic_number``, ``street``, ``municipality``, ``zone``, ``connection_type``
(FTTH, FTTB, Cable, DSL) are required; ``unit``, ``postal_code``, ``lat``, ``lon``,
``service_location`` are optional (lat and lon together or not at all). Comma or
semicolon separated.

Zone features: a Polygon or MultiPolygon in lon/lat (GeoJSON order) with properties
``zone`` (or ``zone_id``, ``id``, or the feature's ``id``), ``name`` (default: the
id), ``connection_type``, and optionally ``served`` (default true), ``install_fee``,
``lead_days`` and ``plans``: a list of item codes (catalogue prices) or an object
item code → monthly price (null: the catalogue price); absent: the whole catalogue.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.validation import explain_validity

from gigafibre_fsm.core.customers.address import fold, normalise_postal_code, parse_street
from gigafibre_fsm.core.customers.footprint import Footprint
from gigafibre_fsm.core.customers.pricing import Plan, Promotion, connection_type, money
from gigafibre_fsm.core.customers.served import AddressRecord, Zone
from gigafibre_fsm.core.errors import InvalidInput

__all__ = ["ADDRESS_COLUMNS", "load_footprint", "parse_addresses", "parse_zones"]

ADDRESS_COLUMNS = {
	"civic_number": ("civic number", "civic", "civic no", "numero civique", "no civique", "numero", "number"),
	"unit": ("unit", "apartment", "appartement", "app", "apt"),
	"street": ("street", "rue", "street name"),
	"municipality": ("municipality", "city", "ville", "municipalite", "town"),
	"postal_code": ("postal code", "code postal", "postal", "zip"),
	"lat": ("lat", "latitude"),
	"lon": ("lon", "lng", "long", "longitude"),
	"zone": ("zone", "zone id"),
	"connection_type": ("connection type", "connection", "type connexion", "type de connexion"),
	"service_location": ("service location", "service location id", "location"),
}
_REQUIRED = ("civic_number", "street", "municipality", "zone", "connection_type")
_HEADER = {alias: column for column, aliases in ADDRESS_COLUMNS.items() for alias in aliases}
_CIVIC = re.compile(r"^(\d+)\s*-?\s*([A-Za-z]?)$")


def _column(header: str) -> str | None:
	return _HEADER.get(fold(header or "").replace("_", " "))


def parse_addresses(source: str | Iterable[Mapping[str, Any]]) -> list[AddressRecord]:
	"""The served addresses from CSV text, or from rows already read (mappings, header names as keys)."""
	if isinstance(source, str):
		text = source.lstrip("\ufeff")
		first = text.split("\n", 1)[0]
		delimiter = ";" if first.count(";") > first.count(",") else ","
		reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
		rows: Iterable[tuple[int, Mapping[str, Any]]] = ((reader.line_num, row) for row in reader)
		header = reader.fieldnames or []
	else:
		listed = list(source)
		rows = ((n + 2, row) for n, row in enumerate(listed))
		header = list(listed[0]) if listed else []
	columns: dict[str, str] = {}
	for name in header:
		column = _column(name)
		if column and column not in columns:
			columns[column] = name
	for column in _REQUIRED:
		if column not in columns:
			raise InvalidInput("The address file has no {0} column", column)

	records: list[AddressRecord] = []
	seen: dict[tuple[str, ...], int] = {}
	for line, row in rows:
		values = {column: str(row.get(name) or "").strip() for column, name in columns.items()}
		if not any(values.values()):
			continue
		record = _address(line, values)
		key = (
			record.municipality_key,
			record.street.key,
			record.street.type or "",
			record.street.direction or "",
			record.civic,
			(record.unit or "").casefold(),
		)
		if key in seen:
			raise InvalidInput("Line {0} repeats the address on line {1}", line, seen[key])
		seen[key] = line
		records.append(record)
	return records


def _address(line: int, values: dict[str, str]) -> AddressRecord:
	for column in _REQUIRED:
		if not values.get(column):
			raise InvalidInput("Line {0}: the {1} is missing", line, column.replace("_", " "))
	civic = _CIVIC.match(values["civic_number"])
	if not civic:
		raise InvalidInput("Line {0}: {1} is not a civic number", line, values["civic_number"])
	try:
		street = parse_street(values["street"])
	except InvalidInput:
		raise InvalidInput("Line {0}: {1} is not a street name", line, values["street"])
	try:
		kind = connection_type(values["connection_type"])
	except InvalidInput:
		raise InvalidInput(
			"Line {0}: unknown connection type {1} (FTTH, FTTB, Cable or DSL)",
			line,
			values["connection_type"],
		)
	try:
		postal = normalise_postal_code(values["postal_code"]) if values.get("postal_code") else None
	except InvalidInput:
		raise InvalidInput(
			"Line {0}: {1} is not a valid Canadian postal code (A1A 1A1)", line, values["postal_code"]
		)
	lat, lon = values.get("lat") or "", values.get("lon") or ""
	if bool(lat) != bool(lon):
		raise InvalidInput("Line {0}: give both lat and lon, or neither", line)
	lat_f = lon_f = None
	if lat:
		try:
			lat_f, lon_f = float(lat), float(lon)
		except ValueError:
			raise InvalidInput("Line {0}: {1}, {2} is not a position", line, lat, lon)
		if not (-90 <= lat_f <= 90 and -180 <= lon_f <= 180):
			raise InvalidInput("Line {0}: {1}, {2} is not a position", line, lat, lon)
	return AddressRecord(
		civic=civic.group(1) + civic.group(2).upper(),
		street=street,
		municipality=" ".join(values["municipality"].split()),
		zone=values["zone"],
		connection_type=kind,
		postal_code=postal,
		lat=lat_f,
		lon=lon_f,
		service_location=values.get("service_location") or None,
		unit=values.get("unit") or None,
		line=line,
	)


def parse_zones(source: str | Mapping[str, Any]) -> list[Zone]:
	"""The zones of a GeoJSON FeatureCollection (text, or the decoded object)."""
	if isinstance(source, str):
		try:
			data = json.loads(source)
		except json.JSONDecodeError as e:
			raise InvalidInput("The zone file is not valid JSON (line {0}: {1})", e.lineno, e.msg)
	else:
		data = source
	if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
		raise InvalidInput("The zone file must be a GeoJSON FeatureCollection")
	features = data.get("features")
	if not isinstance(features, list):
		raise InvalidInput("The zone file must be a GeoJSON FeatureCollection")
	zones, seen = [], {}
	for n, feature in enumerate(features, 1):
		zone = _zone(n, feature)
		if zone.id in seen:
			raise InvalidInput(
				"Zone feature {0}: zone {1} is already defined by feature {2}", n, zone.id, seen[zone.id]
			)
		seen[zone.id] = n
		zones.append(zone)
	return zones


def _zone(n: int, feature: Any) -> Zone:
	if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
		raise InvalidInput("Zone feature {0} is not a GeoJSON Feature", n)
	props = feature.get("properties") or {}
	if not isinstance(props, Mapping):
		raise InvalidInput("Zone feature {0}: its properties must be an object", n)
	raw_id = next(
		(props[k] for k in ("zone", "zone_id", "id") if props.get(k) not in (None, "")), feature.get("id")
	)
	if raw_id in (None, ""):
		raise InvalidInput("Zone feature {0} has no zone id", n)
	zone_id = str(raw_id).strip()
	where = f"{n} ({zone_id})"
	try:
		kind = connection_type(props.get("connection_type"))
	except InvalidInput:
		raise InvalidInput(
			"Zone feature {0}: unknown connection type {1} (FTTH, FTTB, Cable or DSL)",
			where,
			props.get("connection_type"),
		)
	try:
		geometry = shape(feature.get("geometry") or {})
	except Exception as e:  # shapely's own errors for malformed coordinates
		raise InvalidInput("Zone feature {0}: the geometry cannot be read ({1})", where, str(e))
	if geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
		raise InvalidInput("Zone feature {0}: the geometry must be a Polygon or a MultiPolygon", where)
	if not shapely.is_valid(geometry):
		raise InvalidInput(
			"Zone feature {0}: the polygon is not valid ({1})", where, explain_validity(geometry)
		)

	served = props.get("served", True)
	if not isinstance(served, bool):
		raise InvalidInput("Zone feature {0}: served must be true or false", where)
	lead_days = props.get("lead_days")
	if lead_days is not None and (
		isinstance(lead_days, bool) or not isinstance(lead_days, int) or lead_days < 0
	):
		raise InvalidInput("Zone feature {0}: lead_days must be a whole number of 0 or more", where)
	fee = props.get("install_fee")
	try:
		install_fee = None if fee in (None, "") else money(fee)
	except InvalidInput:
		raise InvalidInput("Zone feature {0}: the install fee {1} is not an amount", where, fee)
	prices = _prices(where, props.get("plans"))
	return Zone(
		id=zone_id,
		name=str(props.get("name") or zone_id).strip(),
		connection_type=kind,
		geometry=geometry,
		served=served,
		prices=prices,
		install_fee=install_fee,
		lead_days=lead_days,
	)


def _prices(where: str, plans: Any) -> dict[str, Decimal | None] | None:
	if plans is None:
		return None
	if isinstance(plans, list) and all(isinstance(code, str) and code for code in plans):
		return dict.fromkeys(plans)
	if not isinstance(plans, Mapping):
		raise InvalidInput(
			"Zone feature {0}: plans must be a list of item codes or an object of item code to price", where
		)
	prices: dict[str, Decimal | None] = {}
	for code, price in plans.items():
		try:
			prices[str(code)] = None if price is None else money(price)
		except InvalidInput:
			raise InvalidInput(
				"Zone feature {0}: the price {1} of plan {2} is not an amount", where, price, code
			)
	return prices


def load_footprint(
	addresses: str | Iterable[Mapping[str, Any]],
	zones: str | Mapping[str, Any],
	plans: Iterable[Plan] = (),
	promotions: Iterable[Promotion] = (),
	**options: Any,
) -> Footprint:
	"""Parse both sources and index them: ``Footprint(parse_addresses(...), parse_zones(...), ...)``."""
	return Footprint(parse_addresses(addresses), parse_zones(zones), plans, promotions, **options)
