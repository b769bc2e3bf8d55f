"""A small footprint around Sainte-Clotilde, built from CSV and GeoJSON text like the real sources.

Zones (lon/lat squares; 0.04° is about 3 km by 4.4 km here):
	Z1 Sainte-Clotilde centre  FTTH   lon -73.70..-73.66, lat 45.14..45.18  zone prices
	Z2 Sainte-Clotilde est     FTTH   lon -73.66..-73.62, lat 45.14..45.18  whole catalogue, shares an edge with Z1
	Z3 Village                 FTTB   lon -73.69..-73.68, lat 45.15..45.16  inside Z1 (smaller)
	Z4 Napierville             FTTH   not served yet
	Z5 Rang Double             DSL    offers only FIB-1000, which DSL cannot carry
"""

from __future__ import annotations

import json
from datetime import date

from gigafibre_fsm.core.customers.footprint import Footprint
from gigafibre_fsm.core.customers.loaders import load_footprint
from gigafibre_fsm.core.customers.pricing import Plan, Promotion

HEADER = "civic_number,unit,street,municipality,postal_code,lat,lon,zone,connection_type,service_location"
ROWS = [
	"100,,rue Principale,Sainte-Clotilde,J0L 1W0,45.1600,-73.6800,Z1,FTTH,LOC-00100",
	"123,,rue Principale,Sainte-Clotilde,J0L 1W0,45.1610,-73.6800,Z1,FTTH,LOC-00123",
	"125,,rue Principale,Sainte-Clotilde,J0L 1W0,45.1620,-73.6800,Z1,FTTH,LOC-00125",
	"123,,chemin Principal,Sainte-Clotilde,J0L 1W0,45.1700,-73.6900,Z1,FTTH,LOC-10123",
	"200,,chemin Principal,Sainte-Clotilde,J0L 1W0,45.1710,-73.6900,Z1,FTTH,LOC-10200",
	"10,,rue Saint-Jean,Sainte-Clotilde,J0L 1W0,45.1500,-73.6950,Z1,FTTH,LOC-00010",
	"12,1,rue Saint-Jean,Sainte-Clotilde,J0L 1W0,45.1501,-73.6951,Z1,FTTB,LOC-00012-1",
	"12,2,rue Saint-Jean,Sainte-Clotilde,J0L 1W0,45.1501,-73.6951,Z1,FTTB,LOC-00012-2",
	"300,,boul. Sainte-Marie Est,Sainte-Clotilde,J0L 1W0,45.1650,-73.6700,Z1,FTTH,LOC-00300",
	"5,,rue de l'Église,Sainte-Clotilde,J0L 1W0,45.1550,-73.6850,Z3,FTTB,LOC-00005",
	"15,,rue des Érables,Sainte-Clotilde,J0L 1W0,45.1580,-73.6750,Z1,FTTH,LOC-00015",
	"40,,rue Marcil,Sainte-Clotilde,J0L 1W0,45.1450,-73.6900,Z1,FTTH,LOC-00040",
	"1500,,montée Bélanger,Sainte-Clotilde,J0L 1W0,45.1600,-73.6400,Z2,FTTH,LOC-01500",
	"123,,rue Principale,Saint-Rémi,J0L 2L0,45.2630,-73.6170,Z2,FTTH,LOC-20123",
	"10,,rue de l'Église,Napierville,J0J 1L0,45.1860,-73.4050,Z4,FTTH,LOC-30010",
	"800,,rang Double,Saint-Urbain-Premier,J0S 1Y0,45.2200,-73.7300,Z5,DSL,LOC-40800",
]
ADDRESSES_CSV = "\n".join([HEADER, *ROWS]) + "\n"


def square(west: float, south: float, east: float, north: float) -> dict:
	ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
	return {"type": "Polygon", "coordinates": [ring]}


def feature(zone: str, name: str, kind: str, geometry: dict, **props) -> dict:
	return {
		"type": "Feature",
		"properties": {"zone": zone, "name": name, "connection_type": kind, **props},
		"geometry": geometry,
	}


ZONES = {
	"type": "FeatureCollection",
	"features": [
		feature(
			"Z1",
			"Sainte-Clotilde centre",
			"FTTH",
			square(-73.70, 45.14, -73.66, 45.18),
			plans={"FIB-100": 44.95, "FIB-500": None, "FIB-1000": None},
			install_fee=99,
		),
		feature("Z2", "Sainte-Clotilde est", "FTTH", square(-73.66, 45.14, -73.62, 45.18), lead_days=5),
		feature("Z3", "Village", "FTTB", square(-73.69, 45.15, -73.68, 45.16), plans=["FIB-100", "FIB-500"]),
		feature("Z4", "Napierville", "FTTH", square(-73.42, 45.17, -73.38, 45.21), served=False),
		feature("Z5", "Rang Double", "DSL", square(-73.76, 45.20, -73.72, 45.24), plans=["FIB-1000"]),
	],
}
ZONES_GEOJSON = json.dumps(ZONES)

PLANS = (
	Plan("FIB-100", "Fibre 100", "49.95", 100, 20),
	Plan("FIB-500", "Fibre 500", "69.95", 500, 100),
	Plan("FIB-1000", "Fibre 1000", "89.95", 1000, 500, frozenset({"FTTH", "FTTB"})),
	Plan("DSL-25", "DSL 25", "39.95", 25, 5, frozenset({"DSL"})),
)
BLACK_FRIDAY = Promotion(
	"BF2026",
	date(2026, 11, 27),
	date(2026, 12, 1),
	limit=100,
	price="39.95",
	item_codes=frozenset({"FIB-500"}),
)
EST_TEN_OFF = Promotion("EST10", date(2026, 1, 1), date(2026, 12, 31), discount="10", zones=frozenset({"Z2"}))
PROMOTIONS = (BLACK_FRIDAY, EST_TEN_OFF)

TODAY = date(2026, 11, 26)  # a Thursday, the day before the Black Friday promotion


def make_footprint(**options) -> Footprint:
	options.setdefault("install_fee", 149)
	options.setdefault("lead_days", 2)
	return load_footprint(ADDRESSES_CSV, ZONES_GEOJSON, PLANS, PROMOTIONS, **options)
