"""Benchmark of serviceability by address: load time of a footprint and latency of ``Footprint.check``.

Run from the repository root::

	.venv/bin/python benchmarks/bench_check_address.py [--seed 7] [--addresses 50000] [--queries 2000]

Instance (seeded, reproducible): 200 zones, a 20 x 10 grid of 0.02° squares
(about 1.6 km x 2.2 km) around Sainte-Clotilde, Quebec (45.16, -73.68), mostly
FTTH, some FTTB, Cable and DSL, 5 % not served, each with its own prices for
part of a 6-plan catalogue; 100 municipalities (Sainte-Clotilde, Saint-Rémi,
Napierville... then generated Saint-/Sainte- names) each centred in the grid with
1 to 3 postal codes and 25 streets drawn from a pool of common Quebec street
names and types (so one town may hold "rue Principale" and "chemin Principal");
50,000 civic addresses spread around the town centres, each in the zone under it.
The sources are generated as CSV and GeoJSON text, as the Frappe layer would pass
them.

Measured:
- load: ``parse_addresses`` (CSV text), ``parse_zones`` (GeoJSON text) and
  ``Footprint(...)`` (the index), in seconds;
- check: 2,000 queries after 200 warm-up ones, one call each, wall time in ms
  (p50, p95, p99, max): 40 % exact addresses written in varied ways (commas or not,
  St/Ste, abbreviated types, postal code in any case), 25 % with a typo in the
  street name, 20 % positions (near an address, or anywhere in the grid), 15 %
  unknown (a street that does not exist, a civic number that does not, an
  unserved municipality, a position outside every zone). Target: p95 <= 20 ms;
- quality: for exact and typo queries, whether the address found is the one meant
  (right / wrong / none), and the reason codes of all answers.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gigafibre_fsm.core.customers.footprint import Footprint
from gigafibre_fsm.core.customers.loaders import parse_addresses, parse_zones
from gigafibre_fsm.core.customers.pricing import Plan, Promotion

CENTRE = (45.16, -73.68)
COLUMNS, ROWS, CELL = 20, 10, 0.02
WEST, SOUTH = CENTRE[1] - COLUMNS * CELL / 2, CENTRE[0] - ROWS * CELL / 2
TODAY = date(2026, 11, 28)
TOWNS = [
	"Sainte-Clotilde",
	"Saint-Rémi",
	"Napierville",
	"Saint-Michel",
	"Sainte-Martine",
	"Mercier",
	"Saint-Isidore",
	"Sherrington",
	"Hemmingford",
	"Saint-Édouard",
	"Saint-Patrice-de-Sherrington",
	"Saint-Jacques-le-Mineur",
	"Saint-Urbain-Premier",
	"Howick",
]
SAINTS = "Alexis Anicet Benoît Bernard Blaise Chrysostome Constant Cyprien Damase Denis Étienne Félix Georges Hubert Ignace Jérôme Joachim Lazare Louis Luc Marcel Mathieu Norbert Ours Paul Pie Polycarpe Robert Roch Sébastien Simon Stanislas Télesphore Thomas Valentin Zotique".split()
SAINTES = "Agathe Angèle Anne Barbe Brigide Catherine Cécile Claire Geneviève Hélène Julie Justine Madeleine Marguerite Marthe Monique Perpétue Rosalie Sabine Sophie Thérèse Victoire".split()
STREET_NAMES = [
	"Principale",
	"Principal",
	"Saint-Jean",
	"Saint-Joseph",
	"Sainte-Marie",
	"de l'Église",
	"des Érables",
	"du Lac",
	"Notre-Dame",
	"des Pins",
	"du Moulin",
	"de la Gare",
	"du Parc",
	"des Cèdres",
	"Champlain",
	"Laurier",
	"Dupont",
	"Sainte-Anne",
	"des Ormes",
	"de la Rivière",
	"Bélanger",
	"Lapierre",
	"Saint-Pierre",
	"des Bouleaux",
	"Jacques-Cartier",
	"Frontenac",
	"Industrielle",
	"du Sanctuaire",
	"de la Montagne",
	"Beauce",
	"Charlebois",
	"Bourgeois",
	"des Peupliers",
	"Sainte-Catherine",
	"Saint-Laurent",
	"du Boisé",
	"des Mésanges",
	"des Hirondelles",
	"Marcil",
	"Riendeau",
]
TYPES = [
	("rue", 10),
	("chemin", 4),
	("boulevard", 1),
	("avenue", 2),
	("rang", 3),
	("montée", 2),
	("place", 1),
]
WRITTEN_TYPES = {
	"rue": ["rue", "r.", "Rue"],
	"chemin": ["chemin", "ch.", "Chemin"],
	"boulevard": ["boul.", "bd", "boulevard"],
	"avenue": ["av.", "avenue"],
	"rang": ["rang", "rg"],
	"montée": ["montée", "mtée"],
	"place": ["place", "pl."],
}
KINDS = [("FTTH", 80), ("FTTB", 10), ("Cable", 6), ("DSL", 4)]
PLANS = [
	Plan("FIB-100", "Fibre 100", "49.95", 100, 20, frozenset({"FTTH", "FTTB"})),
	Plan("FIB-500", "Fibre 500", "69.95", 500, 100, frozenset({"FTTH", "FTTB"})),
	Plan("FIB-1000", "Fibre 1000", "89.95", 1000, 500, frozenset({"FTTH"})),
	Plan("CAB-120", "Câble 120", "59.95", 120, 10, frozenset({"Cable"})),
	Plan("DSL-25", "DSL 25", "39.95", 25, 5, frozenset({"DSL"})),
	Plan("TV-BASE", "Télé de base", "24.95", 0, 0),
]
PROMOTIONS = [
	Promotion(
		"BF2026",
		date(2026, 11, 27),
		date(2026, 12, 1),
		limit=500,
		price="39.95",
		item_codes=frozenset({"FIB-500"}),
	),
	Promotion("RENTREE", date(2026, 8, 15), date(2026, 12, 31), discount="5"),
]


def municipality_names(count: int) -> list[str]:
	names = list(TOWNS)
	for saint in SAINTS:
		names.append(f"Saint-{saint}")
	for sainte in SAINTES:
		names.append(f"Sainte-{sainte}")
	for prefix in ("Lac", "Mont", "Rivière", "Pointe", "Val"):
		names += [f"{prefix}-{s}" for s in SAINTS[:10]]
	return list(dict.fromkeys(names))[:count]


def postal_code(rng: random.Random) -> str:
	letters = "ABCEGHJKLMNPRSTVWXYZ"
	return f"J{rng.randint(0, 9)}{rng.choice(letters)} {rng.randint(0, 9)}{rng.choice(letters)}{rng.randint(0, 9)}"


def cell_of(lat: float, lon: float) -> tuple[int, int] | None:
	col, row = int((lon - WEST) / CELL), int((lat - SOUTH) / CELL)
	return (col, row) if 0 <= col < COLUMNS and 0 <= row < ROWS else None


def make_zones(rng: random.Random) -> tuple[str, dict[tuple[int, int], str]]:
	features, ids = [], {}
	for row in range(ROWS):
		for col in range(COLUMNS):
			zone = f"Z{row * COLUMNS + col + 1:03d}"
			ids[(col, row)] = zone
			west, south = WEST + col * CELL, SOUTH + row * CELL
			ring = [
				[west, south],
				[west + CELL, south],
				[west + CELL, south + CELL],
				[west, south + CELL],
				[west, south],
			]
			kind = rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]
			plans = {p.item_code: round(float(p.monthly_price) - rng.choice((0, 0, 5, 10)), 2) for p in PLANS}
			features.append(
				{
					"type": "Feature",
					"properties": {
						"zone": zone,
						"name": f"Zone {zone}",
						"connection_type": kind,
						"served": rng.random() > 0.05,
						"install_fee": rng.choice((0, 99, 149)),
						"lead_days": rng.choice((1, 2, 3, 5)),
						"plans": plans,
					},
					"geometry": {"type": "Polygon", "coordinates": [ring]},
				}
			)
	return json.dumps({"type": "FeatureCollection", "features": features}), ids


def make_addresses(
	rng: random.Random, count: int, towns: list[str], zones: dict[tuple[int, int], str]
) -> str:
	lines = ["civic_number,street,municipality,postal_code,lat,lon,zone,connection_type,service_location"]
	per_town = count // len(towns)
	n = 0
	for t, town in enumerate(towns):
		centre = (
			SOUTH + rng.uniform(0.02, ROWS * CELL - 0.02),
			WEST + rng.uniform(0.02, COLUMNS * CELL - 0.02),
		)
		postals = [postal_code(rng) for _ in range(rng.randint(1, 3))]
		streets = set()
		while len(streets) < 25:
			kind = rng.choices([k for k, _ in TYPES], weights=[w for _, w in TYPES])[0]
			streets.add((kind, rng.choice(STREET_NAMES)))
		streets = sorted(streets)
		quota = per_town + (count - per_town * len(towns) if t == len(towns) - 1 else 0)
		civics = {s: rng.randrange(1, 40) for s in streets}
		for _ in range(quota):
			street = rng.choice(streets)
			civics[street] += rng.choice((2, 2, 4, 10))
			while True:
				lat, lon = centre[0] + rng.gauss(0, 0.008), centre[1] + rng.gauss(0, 0.011)
				if cell_of(lat, lon):
					break
			kind = rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]
			n += 1
			written = f"{rng.choice(WRITTEN_TYPES[street[0]])} {street[1]}"
			lines.append(
				f'{civics[street]},"{written}",{town},{rng.choice(postals)},{lat:.6f},{lon:.6f},'
				f"{zones[cell_of(lat, lon)]},{kind},LOC-{n:05d}"
			)
	return "\n".join(lines) + "\n"


def typo(rng: random.Random, word: str) -> str:
	letters = [i for i, c in enumerate(word) if c.isalpha()]
	i = rng.choice(letters[1:-1] or letters)
	action = rng.choice(("drop", "swap", "double"))
	if action == "drop":
		return word[:i] + word[i + 1 :]
	if action == "swap" and i + 1 < len(word):
		return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
	return word[:i] + word[i] + word[i:]


def abbreviate(town: str, rng: random.Random) -> str:
	if rng.random() < 0.5:
		town = town.replace("Sainte-", "Ste-").replace("Saint-", "St-")
	return town if rng.random() < 0.7 else town.upper()


def make_queries(rng: random.Random, footprint: Footprint, count: int) -> list[dict]:
	records = footprint.addresses
	queries = []
	for _ in range(count):
		r = rng.choice(records)
		roll = rng.random()
		if roll < 0.40:
			street = r.street.display
			fmt = rng.randrange(4)
			if fmt == 0:
				text = f"{r.civic}, {street}, {r.municipality} QC {r.postal_code}"
			elif fmt == 1:
				text = f"{r.civic} {street} {abbreviate(r.municipality, rng)}"
			elif fmt == 2:
				text = f"{r.civic} {street}, {abbreviate(r.municipality, rng)}, {r.postal_code.replace(' ', '').lower()}"
			else:
				text = f"app {rng.randint(1, 6)}, {r.civic} {street}, {r.municipality}"
			queries.append({"kind": "exact", "text": text, "expect": r.service_location})
		elif roll < 0.65:
			name = typo(rng, r.street.name) if len(r.street.name) >= 6 else r.street.name
			queries.append(
				{
					"kind": "typo",
					"text": f"{r.civic} {r.street.type} {name}, {abbreviate(r.municipality, rng)}",
					"expect": r.service_location,
				}
			)
		elif roll < 0.85:
			if rng.random() < 0.5:
				queries.append(
					{
						"kind": "position",
						"lat": r.lat + rng.gauss(0, 0.0001),
						"lon": r.lon + rng.gauss(0, 0.0001),
					}
				)
			else:
				queries.append(
					{
						"kind": "position",
						"lat": SOUTH + rng.random() * ROWS * CELL,
						"lon": WEST + rng.random() * COLUMNS * CELL,
					}
				)
		else:
			what = rng.randrange(4)
			if what == 0:
				text = f"{r.civic} rue des Inexistants, {r.municipality}"
			elif what == 1:
				text = f"{90000 + rng.randrange(9999)} {r.street.display}, {r.municipality}"
			elif what == 2:
				text = f"{r.civic} {r.street.display}, Trois-Rivières"
			else:
				queries.append({"kind": "unknown", "lat": 46.5 + rng.random(), "lon": -72.0 - rng.random()})
				continue
			queries.append({"kind": "unknown", "text": text})
	return queries


def run(footprint: Footprint, query: dict):
	return footprint.check(query.get("text"), query.get("lat"), query.get("lon"), today=TODAY)


def percentile(values: list[float], p: float) -> float:
	ordered = sorted(values)
	return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
	parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	parser.add_argument("--seed", type=int, default=7)
	parser.add_argument("--addresses", type=int, default=50_000)
	parser.add_argument("--municipalities", type=int, default=100)
	parser.add_argument("--queries", type=int, default=2_000)
	parser.add_argument("--warm-up", type=int, default=200)
	args = parser.parse_args()

	rng = random.Random(args.seed)
	towns = municipality_names(args.municipalities)
	zones_text, zone_ids = make_zones(rng)
	addresses_text = make_addresses(rng, args.addresses, towns, zone_ids)

	started = time.perf_counter()
	records = parse_addresses(addresses_text)
	parsed_addresses = time.perf_counter()
	zones = parse_zones(zones_text)
	parsed_zones = time.perf_counter()
	footprint = Footprint(records, zones, PLANS, PROMOTIONS, install_fee=149, lead_days=2)
	indexed = time.perf_counter()
	load = indexed - started
	print(
		f"Footprint: seed {args.seed}, {len(records):,} addresses, {len(zones)} zones, "
		f"{len(footprint.municipalities)} municipalities, {len(addresses_text) / 1e6:.1f} MB CSV + "
		f"{len(zones_text) / 1e6:.1f} MB GeoJSON"
	)
	print(
		f"Load: {load:.2f} s (parse addresses {parsed_addresses - started:.2f} s, parse zones "
		f"{parsed_zones - parsed_addresses:.2f} s, index {indexed - parsed_zones:.2f} s)"
	)

	queries = make_queries(rng, footprint, args.warm_up + args.queries)
	for query in queries[: args.warm_up]:
		run(footprint, query)
	timings: dict[str, list[float]] = {}
	reasons: Counter[tuple[str, str]] = Counter()
	found: Counter[tuple[str, str]] = Counter()
	for query in queries[args.warm_up :]:
		t0 = time.perf_counter()
		result = run(footprint, query)
		elapsed = (time.perf_counter() - t0) * 1000
		timings.setdefault(query["kind"], []).append(elapsed)
		reasons[(query["kind"], result.reason)] += 1
		if "expect" in query:
			outcome = (
				"right"
				if result.service_location == query["expect"]
				else "wrong"
				if result.record
				else "none"
			)
			found[(query["kind"], outcome)] += 1
	every = [t for values in timings.values() for t in values]

	print(f"\ncheck, {len(every)} queries after {args.warm_up} warm-up (ms):")
	print(f"{'queries':<10} {'n':>5} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}")
	for kind, values in [*sorted(timings.items()), ("all", every)]:
		print(
			f"{kind:<10} {len(values):>5} {statistics.median(values):>7.2f} {percentile(values, 95):>7.2f} "
			f"{percentile(values, 99):>7.2f} {max(values):>7.2f}"
		)
	print("\nanswers:", ", ".join(f"{k}/{r} {n}" for (k, r), n in sorted(reasons.items())))
	print(
		"address found (right / wrong / none):",
		", ".join(
			f"{k} {found[(k, 'right')]} / {found[(k, 'wrong')]} / {found[(k, 'none')]}"
			for k in ("exact", "typo")
		),
	)
	p95 = percentile(every, 95)
	print(f"\np95 {p95:.2f} ms: {'within' if p95 <= 20 else 'OVER'} the 20 ms target")


if __name__ == "__main__":
	main()
