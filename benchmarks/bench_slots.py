"""Benchmark of suggested slots: latency, and travel cost against a full routing solver.

Run from the repository root::

	.venv/bin/python benchmarks/bench_slots.py [--seed 7] [--techs 50] [--jobs 300] [--held-out 40]

Needs OR-Tools (``pip install "ortools>=9.10,<10"``); the app and its tests do not.

Instance (seeded, reproducible): one working day, Tuesday 2026-11-24, around
the head office in Sainte-Clotilde, Quebec (45.16, -73.68), every place within
50 km: 75 % of places in the towns of the area (Saint-Rémi, Napierville,
Châteauguay, Ormstown, Hemmingford...; Gaussian spread of ~1.5 km), 25 %
scattered in the countryside. 50 technicians with a home base, skills with
levels (fibre for all, TV, VoIP, business), a regular shift (08:00-16:30 or
07:00-15:30), for some an Extra shift of two hours after it, for some an
On-Call shift from a weekly RRULE (never used for these jobs). Jobs: Installation
(90-120 min, fibre ≥ 2), Repair (60, fibre ≥ 1), Maintenance (45), Removal (30),
TV (45, tv ≥ 1), VoIP (30, voip ≥ 1), Business (90, business ≥ 1 + fibre ≥ 2);
a customer window AM (08:00-12:00), PM (12:00-16:30) or none (the day).
Travel: GeodesicTravel(road_factor=1.3, speed_kmh=60) rounded up to whole
seconds, the same integer matrix for our suggestions and for the solver.

1. The day already planned: OR-Tools routing (PARALLEL_CHEAPEST_INSERTION, then Guided
   Local Search for ``--base-seconds``) plans the 300 jobs: a vehicle per
   technician from home back home, skills as allowed vehicles, customer windows
   and shifts as time constraints, the drive from home to the first job as
   commuting outside the shift (the same rules as core/dispatch/eligibility.py),
   Extra time as a soft bound (1.5 × the travel weight per second, as in our
   cost). Jobs it cannot fit are left out of the instance. Every planned job is
   checked with ``eligibility.problems``.

2. Latency: ``suggest_slots`` (default weights, limit 5) for every held-out job
   and for every planned job (moving it), against the 300 planned jobs; median,
   p95 and max wall time (one core, no caching between calls). Also over a 5-day horizon with the day repeated
   (1500 planned jobs).

3. Travel-cost gap, defined on the same instance and the same travel matrix:
   - held-out jobs H (``--held-out``, generated like the others) are inserted
     one at a time, each at our best suggestion, planned jobs never moved
     (what a dispatcher does with the dialog): plan P_ours, serving base + H'
     (H' = the new jobs that found a slot), total route travel T_ours (home →
     jobs → home per technician, seconds);
   - the solver re-optimises the same jobs, base + H', every one mandatory and
     movable (order, technician, time), starting from P_ours (so it is never
     worse on its own objective), for ``--reopt-seconds``: travel T_solver;
   - T_base is the travel of the planned day before H, and T_base' the
     solver's re-optimisation of that day alone for the same time (the solver
     keeps improving a day it already planned; not counting that as the cost
     of H keeps the marginal comparison fair).
   Reported, for the default weights (which also weigh lateness, overtime and
   skill surplus) and for travel-only weights:
   - total gap = (T_ours − T_solver) / T_solver, same jobs served;
   - marginal travel of H': ours T_ours − T_base, solver T_solver −
     min(T_base, T_base'), and their relative gap;
   - how many of H found a slot without moving planned jobs, and the mean
     detour of a held-out job inserted alone.
   With travel-only weights our best suggestion is the least-detour insertion
   (tests/core/dispatch/test_slots.py checks it against a brute force), so the
   gap measures what moving already planned jobs is worth. Solver figures are
   what Guided Local Search reaches in its time limit, so they vary by a few
   percent with the limits and the machine.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gigafibre_fsm.core.dispatch.eligibility import problems, shifts_from_rule
from gigafibre_fsm.core.dispatch.models import Job, Point, Shift, SkillRequirement, Technician
from gigafibre_fsm.core.dispatch.slots import CostWeights, suggest_slots
from gigafibre_fsm.core.dispatch.travel import GeodesicTravel, haversine_km

HQ = Point(45.16, -73.68)
RADIUS_KM = 50.0
DAY = datetime(2026, 11, 24)
NOW = DAY.replace(hour=6)
TOWNS = [  # (lat, lon, weight): the towns around Sainte-Clotilde
	(45.160, -73.680, 3),  # Sainte-Clotilde
	(45.263, -73.617, 5),  # Saint-Rémi
	(45.186, -73.405, 3),  # Napierville
	(45.230, -73.570, 2),  # Saint-Michel
	(45.246, -73.800, 3),  # Sainte-Martine
	(45.360, -73.750, 8),  # Châteauguay
	(45.318, -73.748, 3),  # Mercier
	(45.119, -73.997, 2),  # Ormstown
	(45.051, -73.589, 2),  # Hemmingford
	(45.300, -73.680, 2),  # Saint-Isidore
	(45.315, -73.873, 3),  # Beauharnois
	(45.158, -73.510, 1),  # Sherrington
	(45.085, -74.170, 2),  # Huntingdon
	(45.210, -73.470, 1),  # Saint-Édouard
]
JOB_TYPES = [  # (name, weight, durations in minutes, required skills)
	("Installation", 30, (90, 120), (("fibre", 2),)),
	("Repair", 25, (60,), (("fibre", 1),)),
	("Maintenance", 15, (45,), ()),
	("Removal", 10, (30,), ()),
	("TV", 8, (45,), (("tv", 1),)),
	("VoIP", 7, (30,), (("voip", 1),)),
	("Business", 5, (90,), (("business", 1), ("fibre", 2))),
]
DISJUNCTION_PENALTY = 10_000_000


class CeilTravel:
	"""Geodesic travel rounded up to whole seconds: the integer matrix the solver uses too."""

	def __init__(self):
		self.geo = GeodesicTravel(road_factor=1.3, speed_kmh=60)

	def seconds(self, a, b):
		return float(math.ceil(self.geo.seconds(a, b)))


TRAVEL = CeilTravel()


def random_place(rng: random.Random) -> Point:
	while True:
		if rng.random() < 0.75:
			lat, lon, _ = rng.choices(TOWNS, weights=[t[2] for t in TOWNS])[0]
			point = Point(lat + rng.gauss(0, 0.0135), lon + rng.gauss(0, 0.019))
		else:
			r, angle = RADIUS_KM * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
			point = Point(
				HQ.lat + r * math.cos(angle) / 111.2, HQ.lon + r * math.sin(angle) / (111.2 * math.cos(0.788))
			)
		if haversine_km(HQ, point) <= RADIUS_KM:
			return point


def at(hour: float, day: int = 0) -> datetime:
	return DAY + timedelta(days=day, hours=hour)


def make_technicians(rng: random.Random, count: int, days: int = 1) -> list[Technician]:
	techs = []
	for n in range(count):
		begin = 7 if n % 5 == 0 else 8
		shifts = []
		for day in range(days):
			shifts.append(Shift(at(begin, day), at(begin + 8.5, day)))
			if n % 4 == 1:
				shifts.append(Shift(at(begin + 8.5, day), at(begin + 10.5, day), "Extra"))
		if n % 6 == 2:  # on call one week in six, 16:30 → 08:00 (not worked time)
			shifts += shifts_from_rule(
				"FREQ=DAILY",
				at(16.5),
				timedelta(hours=15.5),
				at(0),
				at(0, days),
				kind="On-Call",
			)
		skills = {"fibre": rng.choice([1, 2, 2, 3])}
		for skill, share in (("tv", 0.6), ("voip", 0.5), ("business", 0.2)):
			if rng.random() < share:
				skills[skill] = rng.randint(1, 2)
		techs.append(Technician(f"TECH-{n:02d}", skills, tuple(shifts), home=random_place(rng)))
	return techs


def make_jobs(rng: random.Random, count: int, prefix: str) -> list[Job]:
	jobs = []
	for n in range(count):
		name, _, durations, skills = rng.choices(JOB_TYPES, weights=[t[1] for t in JOB_TYPES])[0]
		window = rng.choices(((8, 12), (12, 16.5), None), weights=(4, 4, 2))[0]
		jobs.append(
			Job(
				f"{prefix}-{n:03d}",
				timedelta(minutes=rng.choice(durations)),
				random_place(rng),
				tuple(SkillRequirement(s, lvl) for s, lvl in skills),
				window_start=at(window[0]) if window else None,
				window_end=at(window[1]) if window else None,
			)
		)
	return jobs


# --- the OR-Tools model ---------------------------------------------------------------------------


def seconds_of_day(value: datetime) -> int:
	return int((value - DAY).total_seconds())


def solve(techs, jobs, seconds: float, initial: dict[str, list[str]] | None = None, *, optional: bool = True):
	"""Plan ``jobs`` on ``techs`` with OR-Tools; returns ({tech: [job ids in order]}, {job: start}).

	``optional``: a job may be left out (at a large penalty); otherwise every job must be served.
	"""
	from ortools.constraint_solver import pywrapcp, routing_enums_pb2

	vehicles = len(techs)
	places = [t.home for t in techs] + [j.location for j in jobs]
	service = [0] * vehicles + [int(j.duration.total_seconds()) for j in jobs]
	travel = [[int(TRAVEL.seconds(a, b)) for b in places] for a in places]
	# time: service + travel between jobs; home legs are commuting, outside the shift
	transit = [
		[service[i] + (travel[i][k] if i >= vehicles and k >= vehicles else 0) for k in range(len(places))]
		for i in range(len(places))
	]
	cost = [[2 * t for t in row] for row in travel]  # ×2 so that overtime can weigh 1.5× (3 per second)

	manager = pywrapcp.RoutingIndexManager(
		len(places), vehicles, list(range(vehicles)), list(range(vehicles))
	)
	routing = pywrapcp.RoutingModel(manager)
	routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitMatrix(cost))
	routing.AddDimension(routing.RegisterTransitMatrix(transit), 24 * 3600, 48 * 3600, False, "time")
	dim = routing.GetDimensionOrDie("time")
	for v, tech in enumerate(techs):
		worked = [s for s in tech.shifts if s.worked and s.start.date() == DAY.date()]
		regular_end = max(seconds_of_day(s.end) for s in worked if s.kind == "Regular")
		dim.CumulVar(routing.Start(v)).SetRange(
			min(seconds_of_day(s.start) for s in worked), max(seconds_of_day(s.end) for s in worked)
		)
		dim.CumulVar(routing.End(v)).SetRange(0, max(seconds_of_day(s.end) for s in worked))
		dim.SetCumulVarSoftUpperBound(routing.End(v), regular_end, 3)
		routing.AddVariableMinimizedByFinalizer(dim.CumulVar(routing.End(v)))
	for n, job in enumerate(jobs):
		index = manager.NodeToIndex(vehicles + n)
		lo = seconds_of_day(job.window_start or NOW)
		hi = seconds_of_day(job.window_end - job.duration) if job.window_end else 24 * 3600
		dim.CumulVar(index).SetRange(max(lo, seconds_of_day(NOW)), hi)
		allowed = [
			v
			for v, t in enumerate(techs)
			if all(t.skills.get(r.skill, 0) >= r.min_level for r in job.required_skills)
		]
		# skills: the allowed vehicles (-1 = left out); SetAllowedVehiclesForIndex rejects lists in 9.15
		routing.VehicleVar(index).SetValues([-1, *allowed] if optional else allowed)
		if optional:
			routing.AddDisjunction([index], DISJUNCTION_PENALTY)
		routing.AddVariableMinimizedByFinalizer(dim.CumulVar(index))

	params = pywrapcp.DefaultRoutingSearchParameters()
	params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
	params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
	params.time_limit.FromMilliseconds(int(seconds * 1000))
	solution = None
	if initial is not None:
		node = {j.id: vehicles + n for n, j in enumerate(jobs)}
		routes = [[manager.NodeToIndex(node[j]) for j in initial.get(t.id, [])] for t in techs]
		start = routing.ReadAssignmentFromRoutes(routes, True)
		if start is None:
			print("  (the initial plan is not feasible for the solver model: solving from scratch)")
		else:
			solution = routing.SolveFromAssignmentWithParameters(start, params)
	if solution is None:
		solution = routing.SolveWithParameters(params)
	if solution is None:
		raise SystemExit("OR-Tools found no solution")
	plan, starts = {}, {}
	for v, tech in enumerate(techs):
		index = routing.Start(v)
		order = []
		index = solution.Value(routing.NextVar(index))
		while not routing.IsEnd(index):
			job = jobs[manager.IndexToNode(index) - vehicles]
			order.append(job.id)
			starts[job.id] = DAY + timedelta(seconds=solution.Min(dim.CumulVar(index)))
			index = solution.Value(routing.NextVar(index))
		plan[tech.id] = order
	return plan, starts


# --- measuring ------------------------------------------------------------------------------------


def route_travel(techs, planned) -> float:
	"""Total driving of a plan: home → jobs → home, per technician and day, in seconds."""
	home = {t.id: t.home for t in techs}
	days = defaultdict(list)
	for job in planned:
		days[job.technician, job.start.date()].append(job)
	total = 0.0
	for (tech, _), jobs in days.items():
		jobs.sort(key=lambda j: j.start)
		stops = [home[tech], *(j.location for j in jobs), home[tech]]
		total += sum(TRAVEL.seconds(a, b) for a, b in pairwise(stops))
	return total


def placed(job: Job, technician: str, start: datetime) -> Job:
	return Job(
		job.id,
		job.duration,
		job.location,
		job.required_skills,
		job.window_start,
		job.window_end,
		technician=technician,
		start=start,
		status="Assigned",
	)


def percentile(values, share):
	ordered = sorted(values)
	return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def insert_all(techs, planned, jobs, weights):
	plan = list(planned)
	missing = 0
	for job in jobs:
		best = suggest_slots(job, techs, plan, now=NOW, until=at(24), travel=TRAVEL, weights=weights, limit=1)
		if not best:
			missing += 1
			continue
		plan.append(placed(job, best[0].technician, best[0].start))
	return plan, missing


def realise(solved, jobs):
	plan, starts = solved
	by_id = {j.id: j for j in jobs}
	return [placed(by_id[j], tech, starts[j]) for tech, order in plan.items() for j in order]


def main() -> None:
	parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	parser.add_argument("--seed", type=int, default=7)
	parser.add_argument("--techs", type=int, default=50)
	parser.add_argument("--jobs", type=int, default=300)
	parser.add_argument("--held-out", type=int, default=40)
	parser.add_argument("--base-seconds", type=float, default=25)
	parser.add_argument("--reopt-seconds", type=float, default=15)
	args = parser.parse_args()
	try:
		import ortools
	except ImportError:
		raise SystemExit('This benchmark needs OR-Tools: .venv/bin/pip install "ortools>=9.10,<10"')

	rng = random.Random(args.seed)
	techs = make_technicians(rng, args.techs)
	jobs = make_jobs(rng, args.jobs, "JOB")
	held_out = make_jobs(rng, args.held_out, "NEW")
	print(f"Instance: seed {args.seed}, {len(techs)} technicians, {len(jobs)} jobs on {DAY:%Y-%m-%d}")
	print(
		f"Solver: OR-Tools {ortools.__version__} routing (PARALLEL_CHEAPEST_INSERTION + GUIDED_LOCAL_SEARCH)"
	)

	began = time.perf_counter()
	plan, starts = solve(techs, jobs, args.base_seconds)
	by_id = {j.id: j for j in jobs}
	planned = [placed(by_id[j], tech, starts[j]) for tech, order in plan.items() for j in order]
	dropped = len(jobs) - len(planned)
	tech_by_id = {t.id: t for t in techs}
	bad = [
		j.id
		for j in planned
		if problems(j, tech_by_id[j.technician], j.start, planned, travel=TRAVEL, now=NOW)
	]
	t_base = route_travel(techs, planned)
	busy = sum(j.duration.total_seconds() for j in planned) / 3600
	print(
		f"Planned day: {len(planned)} jobs placed by the solver in {time.perf_counter() - began:.1f} s "
		f"({dropped} left out), {busy:.0f} h of work, travel {t_base / 3600:.1f} h; "
		f"ineligible by our rules: {len(bad)}"
	)

	# latency ------------------------------------------------------------------------------------
	timings = []
	for job in [*held_out, *planned]:
		began = time.perf_counter()
		suggest_slots(job, techs, planned, now=NOW, until=at(24), limit=5)
		timings.append((time.perf_counter() - began) * 1000)
	print(
		f"Latency, {len(techs)} technicians x {len(planned)} planned jobs, {len(timings)} calls: "
		f"median {statistics.median(timings):.2f} ms, p95 {percentile(timings, 0.95):.2f} ms, "
		f"max {max(timings):.2f} ms"
	)
	week_techs = make_technicians(random.Random(args.seed), args.techs, days=5)
	week = [placed(j, j.technician, j.start + timedelta(days=d)) for d in range(5) for j in planned]
	week = [
		Job(f"{j.id}-{n}", j.duration, j.location, technician=j.technician, start=j.start)
		for n, j in enumerate(week)
	]
	timings_week = []
	for job in held_out:
		began = time.perf_counter()
		suggest_slots(job, week_techs, week, now=NOW, until=at(0, 5), limit=5)
		timings_week.append((time.perf_counter() - began) * 1000)
	print(
		f"Latency, 5-day horizon, {len(week)} planned jobs, {len(timings_week)} calls: "
		f"median {statistics.median(timings_week):.2f} ms, p95 {percentile(timings_week, 0.95):.2f} ms"
	)

	# travel-cost gap ----------------------------------------------------------------------------
	travel_only = CostWeights(lateness_per_minute=0, overtime_per_minute=0, skill_surplus_per_level=0)
	began = time.perf_counter()
	base_order = defaultdict(list)
	for job in sorted(planned, key=lambda j: j.start):
		base_order[job.technician].append(job.id)
	base_jobs = [by_id[j.id] for j in planned]
	reopt_base = realise(solve(techs, base_jobs, args.reopt_seconds, base_order, optional=False), base_jobs)
	t_base_reopt = route_travel(techs, reopt_base)
	print(
		f"Solver re-optimisation of the planned day alone ({time.perf_counter() - began:.1f} s): "
		f"travel {t_base / 3600:.2f} h → {t_base_reopt / 3600:.2f} h"
	)
	new_by_id = {j.id: j for j in held_out}
	for label, weights in (("default", None), ("travel-only", travel_only)):
		alone = []
		for job in held_out:
			best = suggest_slots(
				job, techs, planned, now=NOW, until=at(24), travel=TRAVEL, weights=weights, limit=1
			)
			if best:
				alone.append(best[0].travel_added.total_seconds())
		ours, missing = insert_all(techs, planned, held_out, weights)
		t_ours = route_travel(techs, ours)
		served = [*base_jobs, *(new_by_id[j.id] for j in ours if j.id in new_by_id)]
		order = defaultdict(list)
		for job in sorted(ours, key=lambda j: j.start):
			order[job.technician].append(job.id)
		began = time.perf_counter()
		reopt = realise(solve(techs, served, args.reopt_seconds, order, optional=False), served)
		t_solver = route_travel(techs, reopt)
		assert len(reopt) == len(served) == len(ours)
		marginal_ours, marginal_solver = t_ours - t_base, t_solver - min(t_base, t_base_reopt)
		print(
			f"{label} weights: our suggestions placed {len(served) - len(base_jobs)}/{len(held_out)} new jobs "
			f"without moving planned ones (mean detour of one inserted alone {statistics.mean(alone) / 60:.1f} min)"
		)
		print(
			f"  same {len(served)} jobs: ours {t_ours / 3600:.2f} h, solver {t_solver / 3600:.2f} h "
			f"({time.perf_counter() - began:.1f} s) → total travel gap {100 * (t_ours - t_solver) / t_solver:+.2f} %"
		)
		print(
			f"  marginal travel of the new jobs: ours {marginal_ours / 60:.0f} min, solver {marginal_solver / 60:.0f} min"
			+ (
				f" → marginal gap {100 * (marginal_ours - marginal_solver) / marginal_solver:+.0f} %"
				if marginal_solver > 0
				else ""
			)
		)


if __name__ == "__main__":
	main()
