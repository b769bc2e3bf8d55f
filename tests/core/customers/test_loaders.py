import copy
import csv
import io
import json
from decimal import Decimal

import pytest

from gigafibre_fsm.core.customers.loaders import parse_addresses, parse_zones
from gigafibre_fsm.core.errors import InvalidInput
from tests.core.customers.factory import ADDRESSES_CSV, HEADER, ROWS, ZONES, ZONES_GEOJSON, square

GOOD = "100,,rue Principale,Sainte-Clotilde,J0L 1W0,45.16,-73.68,Z1,FTTH,LOC-00100"


def csv_text(*rows, header=HEADER):
	return "\n".join([header, *rows]) + "\n"


def test_addresses_from_csv_text():
	records = parse_addresses(ADDRESSES_CSV)
	assert len(records) == len(ROWS)
	first = records[0]
	assert (first.civic, first.street.display, first.municipality, first.postal_code) == (
		"100",
		"rue Principale",
		"Sainte-Clotilde",
		"J0L 1W0",
	)
	assert (first.lat, first.lon, first.zone, first.connection_type, first.service_location, first.line) == (
		45.16,
		-73.68,
		"Z1",
		"FTTH",
		"LOC-00100",
		2,
	)
	marie = next(r for r in records if r.service_location == "LOC-00300")
	assert (marie.street.type, marie.street.name, marie.street.direction) == (
		"boulevard",
		"Sainte-Marie",
		"Est",
	)
	assert next(r for r in records if r.service_location == "LOC-00012-2").unit == "2"


def test_addresses_from_rows_with_french_headers_and_semicolons():
	text = "\ufeffNuméro civique;Rue;Ville;Code postal;Zone;Type de connexion;Autre\n12-a;r. St-Jean;Ste-Clotilde;j0l1w0;Z1;ftth;x\n"
	(record,) = parse_addresses(text)
	assert (record.civic, record.street.display, record.postal_code, record.connection_type) == (
		"12A",
		"rue Saint-Jean",
		"J0L 1W0",
		"FTTH",
	)
	assert (record.lat, record.lon, record.service_location, record.municipality_key) == (
		None,
		None,
		None,
		"saint clotilde",
	)
	rows = list(csv.DictReader(io.StringIO(ADDRESSES_CSV)))
	assert [r.service_location for r in parse_addresses(rows)] == [
		r.service_location for r in parse_addresses(ADDRESSES_CSV)
	]


def test_blank_lines_are_skipped():
	assert len(parse_addresses(csv_text(GOOD, ",,,,,,,,,", ""))) == 1


@pytest.mark.parametrize(
	("row", "message"),
	[
		("abc,,rue A,Ville,,,,Z1,FTTH,", "Line 3: abc is not a civic number"),
		(",,rue A,Ville,,,,Z1,FTTH,", "Line 3: the civic number is missing"),
		("1,,rue A,Ville,D0L 1W0,,,Z1,FTTH,", "Line 3: D0L 1W0 is not a valid Canadian postal code"),
		("1,,rue A,Ville,,,,Z1,Fibre,", "Line 3: unknown connection type Fibre"),
		("1,,-,Ville,,,,Z1,FTTH,", "Line 3: - is not a street name"),
		("1,,rue A,Ville,,45.1,,Z1,FTTH,", "Line 3: give both lat and lon, or neither"),
		("1,,rue A,Ville,,north,-73,Z1,FTTH,", "Line 3: north, -73 is not a position"),
		("1,,rue A,Ville,,145,-73,Z1,FTTH,", "Line 3: 145, -73 is not a position"),
		("1,,rue A,,,,,Z1,FTTH,", "Line 3: the municipality is missing"),
		("100,,r. Principale,Ste-Clotilde,,,,Z1,FTTH,", "Line 3 repeats the address on line 2"),
	],
)
def test_bad_address_lines_are_named(row, message):
	with pytest.raises(InvalidInput) as raised:
		parse_addresses(csv_text(GOOD, row))
	assert str(raised.value).startswith(message)
	assert raised.value.params[0] == 3


def test_errors_carry_a_literal_template_and_its_values():
	with pytest.raises(InvalidInput) as raised:
		parse_addresses(csv_text(GOOD, "1,,rue A,Ville,,,,Z1,Fibre,"))
	assert raised.value.template == "Line {0}: unknown connection type {1} (FTTH, FTTB, Cable or DSL)"
	assert raised.value.params == (3, "Fibre")


def test_a_missing_column_is_named():
	with pytest.raises(InvalidInput, match="no zone column"):
		parse_addresses("civic_number,street,municipality,connection_type\n1,rue A,Ville,FTTH\n")


def test_zones_from_geojson():
	zones = {z.id: z for z in parse_zones(ZONES_GEOJSON)}
	assert list(zones) == ["Z1", "Z2", "Z3", "Z4", "Z5"]
	z1 = zones["Z1"]
	assert (z1.name, z1.connection_type, z1.served, z1.install_fee, z1.lead_days) == (
		"Sainte-Clotilde centre",
		"FTTH",
		True,
		Decimal("99.00"),
		None,
	)
	assert z1.prices == {"FIB-100": Decimal("44.95"), "FIB-500": None, "FIB-1000": None}
	assert zones["Z2"].prices is None and zones["Z2"].lead_days == 5
	assert zones["Z3"].prices == {"FIB-100": None, "FIB-500": None}
	assert zones["Z4"].served is False
	assert z1.geometry.geom_type == "Polygon" and z1.geometry.bounds == (-73.70, 45.14, -73.66, 45.18)
	# a decoded object works too, and a feature id stands for a missing zone property
	data = {"type": "FeatureCollection", "features": [copy.deepcopy(ZONES["features"][0])]}
	del data["features"][0]["properties"]["zone"]
	data["features"][0]["id"] = 42
	assert parse_zones(data)[0].id == "42"


def zones_with(**changes):
	data = copy.deepcopy(ZONES)
	feature = data["features"][1]
	for key, value in changes.items():
		if key == "geometry":
			feature["geometry"] = value
		else:
			feature["properties"][key] = value
	return json.dumps(data)


@pytest.mark.parametrize(
	("text", "message"),
	[
		('{"type": "FeatureCollection",\n "features": [}', "not valid JSON (line 2"),
		('{"type": "Feature"}', "must be a GeoJSON FeatureCollection"),
		(zones_with(connection_type="Fibre"), "Zone feature 2 (Z2): unknown connection type Fibre"),
		(zones_with(connection_type=None), "Zone feature 2 (Z2): unknown connection type None"),
		(zones_with(zone="Z1"), "Zone feature 2: zone Z1 is already defined by feature 1"),
		(
			zones_with(geometry={"type": "Point", "coordinates": [-73.6, 45.1]}),
			"must be a Polygon or a MultiPolygon",
		),
		(
			zones_with(
				geometry={"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
			),
			"Zone feature 2 (Z2): the polygon is not valid (Self-intersection",
		),
		(zones_with(geometry={"type": "Polygon", "coordinates": [[[0, 0]]]}), "the geometry cannot be read"),
		(zones_with(served="yes"), "served must be true or false"),
		(zones_with(lead_days=-1), "lead_days must be a whole number"),
		(zones_with(install_fee="free"), "Zone feature 2 (Z2): the install fee free is not an amount"),
		(zones_with(plans="FIB-100"), "plans must be a list of item codes"),
		(
			zones_with(plans={"FIB-100": -5}),
			"Zone feature 2 (Z2): the price -5 of plan FIB-100 is not an amount",
		),
	],
)
def test_bad_zones_are_named(text, message):
	with pytest.raises(InvalidInput) as raised:
		parse_zones(text)
	assert message in str(raised.value)


def test_a_multipolygon_zone():
	data = {
		"type": "FeatureCollection",
		"features": [
			{
				"type": "Feature",
				"properties": {"zone": "M", "connection_type": "Cable"},
				"geometry": {
					"type": "MultiPolygon",
					"coordinates": [square(0, 0, 1, 1)["coordinates"], square(2, 0, 3, 1)["coordinates"]],
				},
			}
		],
	}
	(zone,) = parse_zones(data)
	assert (zone.id, zone.name, zone.connection_type, zone.geometry.geom_type) == (
		"M",
		"M",
		"Cable",
		"MultiPolygon",
	)
