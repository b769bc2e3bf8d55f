"""Serviceability and prices by address, from the database.

The rules are pure (``gigafibre_fsm.core.customers``); this service:

- builds the core :class:`Footprint` from Service Zone (and its Service Zone Plan rows),
  Service Address, Service Promotion and the plans' Items and Item Prices, with a few
  plain-column queries (one for all the addresses, however many);
- keeps it per worker process and site, keyed by a version number in Redis
  (``gigafibre_fsm:footprint_version``) that every change of those records bumps once
  committed (the app's controllers call :func:`invalidate`; Item and Item Price reach
  it through ``doc_events``), and by the day (Item Price validity dates);
- answers :func:`check` (address text and/or position) with translated messages;
- imports the address CSV and the zone GeoJSON in bulk (:func:`import_footprint`,
  behind ``bench --site <site> gigafibre-import-footprint``).

Plans are Items: an enabled Item with a download speed (``gigafibre_down_mbps``, a
Custom Field) is a plan of the catalogue, and so is any Item a zone or a promotion
names. Its monthly price is its Item Price on the selling price list of Selling
Settings ("Standard Selling" when none is set): a price for no customer nor supplier,
valid today, the latest ``valid_from`` winning. A zone with Service Zone Plan rows
offers those plans (a row's price, when not 0, replaces the catalogue price); a zone
without rows offers every plan that has a download speed and a price. A plan with no
price is offered only where a zone row gives one.

Zone and address numbers 0 stand for "not set" (Frappe stores Int, Float and
Currency as NOT NULL 0): a position (0, 0) is no position, a zone row price 0 is the
catalogue price, a promotion use limit 0 is no limit.

The earliest installation date is the zone's lead days only (a weekend moves it to
Monday): dispatch's free capacity per zone is not consulted.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import frappe
import shapely
from frappe import _
from frappe.query_builder.functions import IfNull
from frappe.utils import getdate, now
from shapely.geometry import shape

from gigafibre_fsm.core.customers.address import Street, name_key, normalise_postal_code, parse_street
from gigafibre_fsm.core.customers.footprint import Footprint
from gigafibre_fsm.core.customers.loaders import parse_addresses, parse_zones
from gigafibre_fsm.core.customers.pricing import Plan, Promotion, connection_type, money
from gigafibre_fsm.core.customers.served import AddressRecord, Zone
from gigafibre_fsm.core.errors import InvalidInput
from gigafibre_fsm.exceptions import GigafibreValidationError, core_errors
from gigafibre_fsm.permissions import CUSTOMER_SERVICE, has_any_role

VERSION_KEY = "gigafibre_fsm:footprint_version"
DEFAULT_PRICE_LIST = "Standard Selling"
# Who sees the customer of a served address (FSM Manager and System Manager always do).
CUSTOMER_READERS = (CUSTOMER_SERVICE,)

ADDRESS = "Service Address"
ZONE = "Service Zone"
PROMOTION = "Service Promotion"

# The Service Address columns an import writes, in this order (match_key apart).
ADDRESS_FIELDS = (
	"civic",
	"unit",
	"street",
	"street_name",
	"street_type",
	"street_direction",
	"municipality",
	"postal_code",
	"latitude",
	"longitude",
	"zone",
	"connection_type",
	"service_location",
	"address_label",
)
_FLOAT_FIELDS = frozenset({"latitude", "longitude"})
DATA_LENGTH = 140  # Frappe's varchar for Data and Link fields
LABEL_LENGTH = 255  # address_label and match_key
IN_CHUNK = 5_000  # names per IN (...) query
INSERT_CHUNK = 2_000  # rows per INSERT
UPDATE_CHUNK = 200  # rows per UPDATE ... CASE
SAVEPOINT = "gigafibre_footprint_import"

_footprints: dict[str, tuple[tuple[Any, date], Footprint]] = {}
_lock = threading.Lock()


# --- cache ----------------------------------------------------------------------------------------


def current_version() -> Any:
	"""The footprint version in Redis; a new one when Redis has none (first use, cache cleared)."""
	version = frappe.cache.get_value(VERSION_KEY)
	if version is None:
		version = bump_version()
	return version


def bump_version() -> int:
	"""Give the footprint a new version: every worker rebuilds it at its next check."""
	version = time.time_ns()
	frappe.cache.set_value(VERSION_KEY, version)
	return version


def forget_local() -> None:
	"""Drop this process's footprint of the current site (it is rebuilt at the next check)."""
	_footprints.pop(getattr(frappe.local, "site", None) or "", None)


def invalidate(doc=None, method=None, *args) -> None:
	"""A zone, address, promotion, plan or price changed.

	This process forgets its footprint now (its next check sees its own uncommitted
	change); every process rebuilds once the change is committed (a new version in
	Redis, after commit, so no worker caches the state before the commit under the new
	version); after a rollback this process forgets what it built from the undone change.
	"""
	forget_local()
	frappe.db.after_commit.add(bump_version)
	frappe.db.after_rollback.add(forget_local)


def get_footprint(today: date | None = None) -> Footprint:
	"""The site's footprint, built at most once per version and day in each process."""
	today = today or getdate()
	site = frappe.local.site
	key = (current_version(), today)
	cached = _footprints.get(site)
	if cached and cached[0] == key:
		return cached[1]
	with _lock:
		cached = _footprints.get(site)
		if cached and cached[0] == key:
			return cached[1]
		footprint = build_footprint(today)
		_footprints[site] = (key, footprint)
		return footprint


# --- doc_events on ERPNext doctypes (see hooks.py) -----------------------------------------------

_PLAN_ITEM_FIELDS = ("item_name", "disabled", "gigafibre_down_mbps", "gigafibre_up_mbps")


def on_item_change(doc, method=None, *args) -> None:
	"""Item on_update / on_trash / after_rename: only plans matter."""
	if method == "after_rename":
		invalidate()
		return
	before = doc.get_doc_before_save() if method == "on_update" else None
	if method == "on_update" and before is not None:
		if not any(doc.has_value_changed(f) for f in _PLAN_ITEM_FIELDS):
			return
	if doc.get("gigafibre_down_mbps") or (before and before.get("gigafibre_down_mbps")) or _named(doc.name):
		invalidate()


def on_item_price_change(doc, method=None, *args) -> None:
	"""Item Price on_update / on_trash: prices of plans on the plans' price list."""
	before = doc.get_doc_before_save() if method == "on_update" else None
	price_list = plan_price_list()
	lists = {doc.price_list, before.price_list if before else None}
	if price_list in lists and _is_plan(doc.item_code):
		invalidate()


def on_selling_settings_change(doc, method=None, *args) -> None:
	"""Selling Settings on_update: the plans' price list may have changed."""
	if doc.has_value_changed("selling_price_list"):
		invalidate()


def _named(item_code: str) -> bool:
	"""Whether a zone or a promotion names this Item."""
	return bool(
		frappe.db.exists("Service Zone Plan", {"item_code": item_code})
		or frappe.db.exists("Service Promotion Item", {"item_code": item_code})
	)


def _is_plan(item_code: str) -> bool:
	if not item_code:
		return False
	return bool(frappe.db.get_value("Item", item_code, "gigafibre_down_mbps")) or _named(item_code)


# --- building the footprint from the database -----------------------------------------------------


def plan_price_list() -> str:
	"""The price list of the plans' monthly prices: Selling Settings' selling price list."""
	return frappe.db.get_single_value("Selling Settings", "selling_price_list") or DEFAULT_PRICE_LIST


def build_footprint(today: date) -> Footprint:
	"""Zones, addresses, plans and promotions from the database, indexed by the core."""
	zone_rows = frappe.get_all(
		ZONE,
		fields=["name", "zone_name", "connection_type", "served", "geometry", "install_fee", "lead_days"],
		order_by="name asc",
	)
	zone_plans = _child_rows("Service Zone Plan", ZONE, ("item_code", "price"))
	promo_rows = frappe.get_all(
		PROMOTION,
		filters={"enabled": 1},
		fields=[
			"name",
			"title",
			"start_date",
			"end_date",
			"use_limit",
			"rate_or_discount",
			"price",
			"discount",
			"months",
		],
	)
	promo_items = _child_rows("Service Promotion Item", PROMOTION, ("item_code",))
	promo_zones = _child_rows("Service Promotion Zone", PROMOTION, ("zone",))

	named = {row[0] for rows in zone_plans.values() for row in rows}
	named |= {row[0] for rows in promo_items.values() for row in rows}
	plans, priced, speeds = _plans(named, today)

	zones = [_zone(row, zone_plans.get(row.name), plans, priced, speeds) for row in zone_rows]
	known = {zone.id for zone in zones}
	promotions = []
	for row in promo_rows:
		promo = _promotion(row, promo_items.get(row.name, ()), promo_zones.get(row.name, ()), plans)
		if promo is not None:
			promotions.append(promo)
	with core_errors():
		return Footprint(_address_records(known), zones, plans.values(), promotions)


def _child_rows(doctype: str, parenttype: str, fields: tuple[str, ...]) -> dict[str, list[tuple]]:
	"""parent → its rows' ``fields``, in row order."""
	table = frappe.qb.DocType(doctype)
	query = (
		frappe.qb.from_(table)
		.select(table.parent, *(table[f] for f in fields))
		.where(table.parenttype == parenttype)
		.orderby(table.parent)
		.orderby(table.idx)
	)
	rows: dict[str, list[tuple]] = {}
	for parent, *values in query.run():
		rows.setdefault(parent, []).append(tuple(values))
	return rows


def _plans(named: set[str], today: date) -> tuple[dict[str, Plan], set[str], set[str]]:
	"""The catalogue: item code → Plan, the codes that have a price, the codes that have a speed."""
	item = frappe.qb.DocType("Item")
	query = frappe.qb.from_(item).select(
		item.name, item.item_name, item.gigafibre_down_mbps, item.gigafibre_up_mbps
	)
	query = query.where(item.disabled == 0)
	if named:
		query = query.where((item.gigafibre_down_mbps > 0) | item.name.isin(sorted(named)))
	else:
		query = query.where(item.gigafibre_down_mbps > 0)
	items = query.orderby(item.gigafibre_down_mbps).orderby(item.name).run()  # slowest plan first
	prices = _prices([row[0] for row in items], today)
	plans, speeds = {}, set()
	for code, item_name, down, up in items:
		plans[code] = Plan(
			code, item_name or code, prices.get(code, Decimal(0)), int(down or 0), int(up or 0)
		)
		if down:
			speeds.add(code)
	return plans, set(prices), speeds


def _prices(codes: list[str], today: date) -> dict[str, Decimal]:
	"""Item code → its monthly price on the plans' price list today (see the module docstring)."""
	if not codes:
		return {}
	price = frappe.qb.DocType("Item Price")
	found: dict[str, tuple[date, Decimal]] = {}
	for chunk in _chunks(codes, IN_CHUNK):
		rows = (
			frappe.qb.from_(price)
			.select(price.item_code, price.price_list_rate, price.valid_from)
			.where(price.price_list == plan_price_list())
			.where(price.item_code.isin(chunk))
			.where(IfNull(price.customer, "") == "")
			.where(IfNull(price.supplier, "") == "")
			.where(price.valid_from.isnull() | (price.valid_from <= today))
			.where(price.valid_upto.isnull() | (price.valid_upto >= today))
		).run()
		for code, rate, valid_from in rows:
			since = getdate(valid_from) if valid_from else date.min
			if code not in found or since >= found[code][0]:
				found[code] = (since, money(rate or 0))
	return {code: amount for code, (_since, amount) in found.items()}


def _zone(row, rows: list[tuple] | None, plans: dict[str, Plan], priced: set[str], speeds: set[str]) -> Zone:
	"""A core Zone; its prices resolved here, so a plan without a price is never offered at 0."""
	if rows:
		prices = {
			code: (money(price) if price else None)
			for code, price in rows
			if code in plans and (price or code in priced)
		}
	else:
		prices = {code: None for code in plans if code in priced and code in speeds}
	return Zone(
		id=row.name,
		name=row.zone_name or row.name,
		connection_type=row.connection_type,
		geometry=_geometry(row.name, row.geometry),
		served=bool(row.served),
		prices=prices,
		install_fee=money(row.install_fee or 0),
		lead_days=int(row.lead_days or 0),
	)


def _geometry(zone: str, text: str | None):
	"""The zone's polygon, or None (a zone known only by its addresses) when it has none or a broken one."""
	if not text:
		return None
	try:
		geometry = shape(json.loads(text))
	except Exception:  # malformed JSON or coordinates: the zone still serves its addresses
		geometry = None
	if (
		geometry is None
		or geometry.geom_type not in ("Polygon", "MultiPolygon")
		or not shapely.is_valid(geometry)
	):
		frappe.logger("gigafibre_fsm").warning({"event": "footprint_bad_geometry", "zone": zone})
		return None
	return geometry


def _promotion(
	row, items: Iterable[tuple], zones: Iterable[tuple], plans: dict[str, Plan]
) -> Promotion | None:
	"""A core Promotion; None when it names only plans that are no longer offered (disabled Items)."""
	named = {code for (code,) in items}
	codes = named & set(plans)
	if named and not codes:
		return None
	try:
		return promotion_values(
			code=row.name,
			title=row.title,
			start_date=row.start_date,
			end_date=row.end_date,
			use_limit=row.use_limit,
			rate_or_discount=row.rate_or_discount,
			price=row.price,
			discount=row.discount,
			months=row.months,
			item_codes=codes,
			zones={zone for (zone,) in zones},
		)
	except InvalidInput:
		frappe.logger("gigafibre_fsm").warning({"event": "footprint_bad_promotion", "promotion": row.name})
		return None


def promotion_values(
	*,
	code: str,
	title: str | None,
	start_date: Any,
	end_date: Any,
	use_limit: int | None,
	rate_or_discount: str | None,
	price: Any,
	discount: Any,
	months: int | None,
	item_codes: Iterable[str] = (),
	zones: Iterable[str] = (),
) -> Promotion:
	"""The core Promotion of a Service Promotion's values (raises InvalidInput)."""
	if not start_date or not end_date:
		raise InvalidInput("Promotion {0} needs a start date and an end date", code)
	is_discount = rate_or_discount == "Discount"
	return Promotion(
		code=code,
		start=getdate(start_date),
		end=getdate(end_date),
		limit=int(use_limit) if use_limit else None,
		price=None if is_discount else (price or 0),
		discount=(discount or 0) if is_discount else None,
		months=int(months) if months else None,
		item_codes=frozenset(item_codes),
		zones=frozenset(zones),
		title=title or "",
	)


def _address_records(zones: set[str]) -> list[AddressRecord]:
	"""Every Service Address as a core record: one query of plain columns."""
	table = frappe.qb.DocType(ADDRESS)
	rows = (
		frappe.qb.from_(table).select(
			table.civic,
			table.unit,
			table.street_name,
			table.street_type,
			table.street_direction,
			table.municipality,
			table.zone,
			table.connection_type,
			table.postal_code,
			table.latitude,
			table.longitude,
			table.service_location,
		)
	).run()
	streets: dict[tuple, Street] = {}
	records = []
	for civic, unit, name, kind, direction, town, zone, kind_of_line, postal, lat, lon, location in rows:
		if zone not in zones or not name or not civic:
			continue
		street = streets.get((name, kind, direction))
		if street is None:
			street = streets[(name, kind, direction)] = Street(
				name, kind or None, direction or None, name_key(name), name_key(name, particles=True)
			)
		lat, lon = float(lat or 0), float(lon or 0)
		located = bool(lat or lon)
		records.append(
			AddressRecord(
				civic=civic,
				street=street,
				municipality=town or "",
				zone=zone,
				connection_type=kind_of_line,
				postal_code=postal or None,
				lat=lat if located else None,
				lon=lon if located else None,
				service_location=location or None,
				unit=unit or None,
			)
		)
	return records


# --- addresses, one at a time (the Service Address form) -----------------------------------------

_CIVIC = re.compile(r"^(\d+)\s*-?\s*([A-Za-z]?)$")  # as the address CSV reads it (core loaders)


def address_record(
	*,
	civic: str | None,
	street: str | None,
	municipality: str | None,
	zone: str | None,
	connection: str | None,
	unit: str | None = None,
	postal_code: str | None = None,
	lat: float | None = None,
	lon: float | None = None,
	service_location: str | None = None,
) -> AddressRecord:
	"""A served address typed in the desk, read as the CSV import reads it (raises with a translated message)."""
	found = _CIVIC.match((civic or "").strip())
	if not found:
		frappe.throw(_("{0} is not a civic number").format(civic or ""), GigafibreValidationError)
	lat, lon = float(lat or 0), float(lon or 0)
	if not -90 <= lat <= 90:
		frappe.throw(_("Latitude must be between -90 and 90"), GigafibreValidationError)
	if not -180 <= lon <= 180:
		frappe.throw(_("Longitude must be between -180 and 180"), GigafibreValidationError)
	with core_errors():
		parsed = parse_street(" ".join((street or "").split()))
		kind = connection_type(connection)
		postal = normalise_postal_code(postal_code) if (postal_code or "").strip() else None
	located = bool(lat or lon)
	return AddressRecord(
		civic=found.group(1) + found.group(2).upper(),
		street=parsed,
		municipality=" ".join((municipality or "").split()),
		zone=zone or "",
		connection_type=kind,
		postal_code=postal,
		lat=lat if located else None,
		lon=lon if located else None,
		service_location=service_location or None,
		unit=(unit or "").strip() or None,
	)


def match_key(record: AddressRecord) -> str:
	"""The address's identity (municipality, street, type, direction, civic, unit), as the CSV loader
	tells repeated lines apart: a re-import updates the row of the same key."""
	street = record.street
	key = "|".join(
		(
			record.municipality_key,
			street.key,
			street.type or "",
			street.direction or "",
			record.civic,
			(record.unit or "").casefold(),
		)
	)
	if len(key) > LABEL_LENGTH:
		key = f"{key[:200]}#{hashlib.sha1(key.encode()).hexdigest()}"
	return key


def address_values(record: AddressRecord) -> dict[str, Any]:
	"""The Service Address fields of a core record."""
	street = record.street
	return {
		"civic": record.civic,
		"unit": record.unit,
		"street": street.display,
		"street_name": street.name,
		"street_type": street.type,
		"street_direction": street.direction,
		"municipality": record.municipality,
		"postal_code": record.postal_code,
		"latitude": record.lat or 0.0,
		"longitude": record.lon or 0.0,
		"zone": record.zone,
		"connection_type": record.connection_type,
		"service_location": record.service_location,
		"address_label": record.label[:LABEL_LENGTH],
	}


# --- the check ------------------------------------------------------------------------------------


def check(address: str | None = None, lat: Any = None, lon: Any = None) -> dict[str, Any]:
	"""Serviceability, plans with today's prices, install fee and earliest date (``CheckResult.to_dict()``).

	``message`` is translated; ``customer`` / ``customer_name`` (of the matched address's
	Service Location) only for Customer Service, FSM Manager and System Manager, else None.
	"""
	today = getdate()
	footprint = get_footprint(today)
	with core_errors():
		result = footprint.check(address, lat, lon, today=today, promotion_uses=promotion_uses())
	answer = result.to_dict()
	answer["message"] = _(result.message).format(*result.params) if result.params else _(result.message)
	answer["customer"] = answer["customer_name"] = None
	if result.service_location and has_any_role(CUSTOMER_READERS):
		customer = frappe.db.get_value("Service Location", result.service_location, "customer")
		if customer:
			answer["customer"] = customer
			answer["customer_name"] = frappe.db.get_value("Customer", customer, "customer_name")
	return answer


def promotion_uses() -> dict[str, int]:
	"""Promotion code → uses so far, read at every check (uses change without a new footprint)."""
	return {
		name: int(uses or 0)
		for name, uses in frappe.get_all(
			PROMOTION, filters={"uses": [">", 0]}, fields=["name", "uses"], as_list=True
		)
	}


def record_promotion_use(code: str) -> bool:
	"""Count one use of a promotion (a sale that carries it), unless its limit is reached.

	The promotion row is read with a locking read, so two sales cannot both take the last use.
	"""
	row = frappe.db.get_value(PROMOTION, code, ["uses", "use_limit"], as_dict=True, for_update=True)
	if row is None:
		frappe.throw(_("{0} {1} not found").format(_(PROMOTION), code), frappe.DoesNotExistError)
	uses, limit = int(row.uses or 0), int(row.use_limit or 0)
	if limit and uses >= limit:
		return False
	frappe.db.set_value(PROMOTION, code, "uses", uses + 1, update_modified=False)
	return True


# --- the import -----------------------------------------------------------------------------------

Progress = Callable[[str, int, int], None]


def import_footprint(
	addresses: str | None = None,
	zones: str | None = None,
	*,
	dry_run: bool = False,
	progress: Progress | None = None,
) -> dict[str, Any]:
	"""Upsert the zones of a GeoJSON text and the served addresses of a CSV text.

	Both are parsed whole first (an error names its line or feature and nothing is
	written); zones are matched by zone id, addresses by :func:`match_key`. A line whose
	Service Location does not exist is skipped and reported. Addresses go in with bulk
	inserts and updates; everything is written under a savepoint, undone whole on an
	error. The caller commits (the bench command does, unless ``dry_run``: then nothing
	is written at all). Returns the report (counts and skipped lines).
	"""
	if not (addresses or "").strip() and not (zones or "").strip():
		frappe.throw(_("Give an address file, a zone file or both"), GigafibreValidationError)
	with core_errors():
		zone_list = parse_zones(zones) if (zones or "").strip() else []
		records = parse_addresses(addresses) if (addresses or "").strip() else []
	geometries = [f.get("geometry") for f in json.loads(zones)["features"]] if zone_list else []
	_check_zone_plans(zone_list)
	_check_address_zones(records, {z.id for z in zone_list})
	records, skipped = _skip_unknown_locations(records)
	rows = [(record, match_key(record), address_values(record)) for record in records]
	_check_lengths(rows)

	report: dict[str, Any] = {"dry_run": bool(dry_run), "skipped": skipped}
	if not dry_run:
		frappe.db.savepoint(SAVEPOINT)
	try:
		report["zones"] = _upsert_zones(zone_list, geometries, dry_run)
		report["addresses"] = (
			_upsert_addresses(rows, dry_run, progress)
			if (addresses or "").strip()
			else {"created": 0, "updated": 0, "unchanged": 0, "not_in_file": 0}
		)
	except Exception:
		if not dry_run:
			frappe.db.rollback(save_point=SAVEPOINT)
		raise
	if not dry_run:
		frappe.db.release_savepoint(SAVEPOINT)
		invalidate()
	return report


def _check_zone_plans(zone_list: list[Zone]) -> None:
	codes = sorted({code for zone in zone_list for code in (zone.prices or ())})
	existing = set()
	for chunk in _chunks(codes, IN_CHUNK):
		existing.update(frappe.get_all("Item", filters={"name": ["in", chunk]}, pluck="name"))
	for zone in zone_list:
		for code in zone.prices or ():
			if code not in existing:
				frappe.throw(
					_("Zone {0} offers plan {1}, which is not an Item").format(zone.id, code),
					GigafibreValidationError,
				)


def _check_address_zones(records: list[AddressRecord], in_file: set[str]) -> None:
	wanted = sorted({r.zone for r in records} - in_file)
	known = set(in_file)
	for chunk in _chunks(wanted, IN_CHUNK):
		known.update(frappe.get_all(ZONE, filters={"name": ["in", chunk]}, pluck="name"))
	for record in records:
		if record.zone not in known:
			frappe.throw(
				_("Line {0}: unknown zone {1}").format(record.line, record.zone), GigafibreValidationError
			)


def _skip_unknown_locations(records: list[AddressRecord]) -> tuple[list[AddressRecord], list[dict]]:
	wanted = sorted({r.service_location for r in records if r.service_location})
	known = set()
	for chunk in _chunks(wanted, IN_CHUNK):
		known.update(frappe.get_all("Service Location", filters={"name": ["in", chunk]}, pluck="name"))
	kept, skipped = [], []
	for record in records:
		if record.service_location and record.service_location not in known:
			skipped.append(
				{
					"line": record.line,
					"reason": _("Service Location {0} does not exist").format(record.service_location),
				}
			)
		else:
			kept.append(record)
	return kept, skipped


_DATA_LABELS = {
	"civic": "Civic Number",
	"unit": "Unit",
	"street": "Street",
	"street_name": "Street Name",
	"municipality": "Municipality",
	"zone": "Zone",
	"service_location": "Service Location",
}


def _check_lengths(rows: list[tuple[AddressRecord, str, dict]]) -> None:
	"""Bulk inserts skip Frappe's length check: values longer than their column are refused here."""
	for record, _key, values in rows:
		for field, label in _DATA_LABELS.items():
			if len(values[field] or "") > DATA_LENGTH:
				frappe.throw(
					_("Line {0}: {1} is longer than {2} characters").format(
						record.line, _(label), DATA_LENGTH
					),
					GigafibreValidationError,
				)


def _zone_values(zone: Zone, geometry: Any) -> dict[str, Any]:
	return {
		"zone_name": zone.name,
		"connection_type": zone.connection_type,
		"served": int(zone.served),
		"install_fee": float(zone.install_fee or 0),
		"lead_days": int(zone.lead_days or 0),
		"geometry": json.dumps(geometry, separators=(",", ":")),
	}


def _zone_plan_rows(zone: Zone) -> list[tuple[str, float]]:
	return [(code, float(price or 0)) for code, price in (zone.prices or {}).items()]


def _upsert_zones(zone_list: list[Zone], geometries: list[Any], dry_run: bool) -> dict[str, int]:
	counts = {"created": 0, "updated": 0, "unchanged": 0}
	if not zone_list:
		return counts
	ids = [zone.id for zone in zone_list]
	existing = {
		row.name: row
		for row in frappe.get_all(
			ZONE,
			filters={"name": ["in", ids]},
			fields=["name", "zone_name", "connection_type", "served", "install_fee", "lead_days", "geometry"],
		)
	}
	plan_rows = _child_rows("Service Zone Plan", ZONE, ("item_code", "price"))
	for zone, geometry in zip(zone_list, geometries, strict=True):
		values = _zone_values(zone, geometry)
		rows = _zone_plan_rows(zone)
		old = existing.get(zone.id)
		if old is not None and _same_zone(old, values, plan_rows.get(zone.id, []), rows):
			counts["unchanged"] += 1
			continue
		counts["created" if old is None else "updated"] += 1
		if dry_run:
			continue
		doc = frappe.new_doc(ZONE) if old is None else frappe.get_doc(ZONE, zone.id)
		doc.update(values)
		doc.zone_id = zone.id
		doc.set("plans", [{"item_code": code, "price": price} for code, price in rows])
		doc.save(ignore_permissions=True)
	return counts


def _same_zone(old, values: dict[str, Any], old_rows: list[tuple], rows: list[tuple[str, float]]) -> bool:
	for field, value in values.items():
		current = old.get(field)
		if field == "geometry":
			try:
				if json.loads(current or "null") != json.loads(value):
					return False
			except ValueError:
				return False
		elif field == "install_fee":
			if money(current or 0) != money(value):
				return False
		elif field in ("served", "lead_days"):
			if int(current or 0) != value:
				return False
		elif (current or None) != (value or None):
			return False
	return [(code, money(price or 0)) for code, price in old_rows] == [
		(code, money(price)) for code, price in rows
	]


def _normal(field: str, value: Any) -> Any:
	"""A Service Address value as compared between the file and the database."""
	if field in _FLOAT_FIELDS:
		return round(float(value or 0), 6)
	return value or None


def _upsert_addresses(
	rows: list[tuple[AddressRecord, str, dict]], dry_run: bool, progress: Progress | None
) -> dict[str, int]:
	table = frappe.qb.DocType(ADDRESS)
	existing: dict[str, tuple[str, tuple]] = {}
	names: set[str] = set()
	for name, key, *values in (
		frappe.qb.from_(table).select(table.name, table.match_key, *(table[f] for f in ADDRESS_FIELDS)).run()
	):
		names.add(name)
		existing[key] = (name, tuple(_normal(f, v) for f, v in zip(ADDRESS_FIELDS, values, strict=True)))

	stamp, user = now(), frappe.session.user
	inserts: list[tuple] = []
	updates: dict[str, dict[str, Any]] = {}
	unchanged = 0
	seen = set()
	for _record, key, values in rows:
		seen.add(key)
		if key not in existing:
			name = _new_name(names)
			inserts.append((name, stamp, stamp, user, user, key, *(values[f] for f in ADDRESS_FIELDS)))
			continue
		name, old = existing[key]
		changed = {
			field: values[field]
			for field, before in zip(ADDRESS_FIELDS, old, strict=True)
			if _normal(field, values[field]) != before
		}
		if changed:
			updates[name] = changed
		else:
			unchanged += 1
	counts = {
		"created": len(inserts),
		"updated": len(updates),
		"unchanged": unchanged,
		"not_in_file": len(set(existing) - seen),
	}
	if dry_run:
		return counts

	columns = ["name", "creation", "modified", "owner", "modified_by", "match_key"]  # docstatus, idx: 0
	columns += list(ADDRESS_FIELDS)
	total = len(inserts) + len(updates)
	done = 0
	for chunk in _chunks(inserts, INSERT_CHUNK):
		frappe.db.bulk_insert(ADDRESS, columns, chunk)
		done += len(chunk)
		if progress:
			progress(_("Importing addresses"), done, total)
	for chunk in _chunks(list(updates.items()), UPDATE_CHUNK):
		frappe.db.bulk_update(ADDRESS, dict(chunk), chunk_size=UPDATE_CHUNK, modified=stamp, modified_by=user)
		done += len(chunk)
		if progress:
			progress(_("Importing addresses"), done, total)
	return counts


def _new_name(taken: set[str]) -> str:
	"""A random 10-character name, as Frappe's "hash" naming gives, unique among ``taken``."""
	while True:
		name = frappe.generate_hash(length=10)
		if name not in taken:
			taken.add(name)
			return name


def _chunks(values: list, size: int) -> Iterable[list]:
	for start in range(0, len(values), size):
		yield values[start : start + size]
