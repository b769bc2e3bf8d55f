"""Service Address rows: one typed in the desk (the Service Address form), or many from the
address CSV and the zone GeoJSON in bulk (:func:`import_footprint`, behind
``bench --site <site> gigafibre-import-footprint``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import frappe
from frappe import _
from frappe.utils import now

from gigafibre_fsm.core.customers.address import normalise_postal_code, parse_street
from gigafibre_fsm.core.customers.loaders import parse_addresses, parse_zones
from gigafibre_fsm.core.customers.pricing import connection_type, money
from gigafibre_fsm.core.customers.served import AddressRecord, Zone
from gigafibre_fsm.customers.footprint import invalidate
from gigafibre_fsm.customers.footprint_build import ADDRESS, IN_CHUNK, ZONE, child_rows, chunks
from gigafibre_fsm.exceptions import GigafibreValidationError, core_errors

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
INSERT_CHUNK = 2_000  # rows per INSERT
UPDATE_CHUNK = 200  # rows per UPDATE ... CASE
SAVEPOINT = "gigafibre_footprint_import"


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
	for chunk in chunks(codes, IN_CHUNK):
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
	for chunk in chunks(wanted, IN_CHUNK):
		known.update(frappe.get_all(ZONE, filters={"name": ["in", chunk]}, pluck="name"))
	for record in records:
		if record.zone not in known:
			frappe.throw(
				_("Line {0}: unknown zone {1}").format(record.line, record.zone), GigafibreValidationError
			)


def _skip_unknown_locations(records: list[AddressRecord]) -> tuple[list[AddressRecord], list[dict]]:
	wanted = sorted({r.service_location for r in records if r.service_location})
	known = set()
	for chunk in chunks(wanted, IN_CHUNK):
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
	plan_rows = child_rows("Service Zone Plan", ZONE, ("item_code", "price"))
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
	for chunk in chunks(inserts, INSERT_CHUNK):
		frappe.db.bulk_insert(ADDRESS, columns, chunk)
		done += len(chunk)
		if progress:
			progress(_("Importing addresses"), done, total)
	for chunk in chunks(list(updates.items()), UPDATE_CHUNK):
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
