"""The footprint built from the database: zones, served addresses, plans and promotions.

A few plain-column queries (one for all the addresses, however many) give the core
:class:`Footprint` (``gigafibre_fsm.core.customers``); ``customers.footprint`` keeps it per
process and answers the checks.

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
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import frappe
import shapely
from frappe.query_builder.functions import IfNull
from frappe.utils import getdate
from shapely.geometry import shape

from gigafibre_fsm.core.customers.address import Street, name_key
from gigafibre_fsm.core.customers.footprint import Footprint
from gigafibre_fsm.core.customers.pricing import Plan, Promotion, money
from gigafibre_fsm.core.customers.served import AddressRecord, Zone
from gigafibre_fsm.core.errors import InvalidInput
from gigafibre_fsm.exceptions import core_errors

DEFAULT_PRICE_LIST = "Standard Selling"
ADDRESS = "Service Address"
ZONE = "Service Zone"
PROMOTION = "Service Promotion"
IN_CHUNK = 5_000  # names per IN (...) query


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
	zone_plans = child_rows("Service Zone Plan", ZONE, ("item_code", "price"))
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
	promo_items = child_rows("Service Promotion Item", PROMOTION, ("item_code",))
	promo_zones = child_rows("Service Promotion Zone", PROMOTION, ("zone",))

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


def child_rows(doctype: str, parenttype: str, fields: tuple[str, ...]) -> dict[str, list[tuple]]:
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
	for chunk in chunks(codes, IN_CHUNK):
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


def chunks(values: list, size: int) -> Iterable[list]:
	for start in range(0, len(values), size):
		yield values[start : start + size]
