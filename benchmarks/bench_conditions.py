"""Evaluations per second of flow conditions (the seeded templates' own and a few realistic
others): ``evaluate`` vs raw ``jsonLogic``.

Run from the repo root: ``.venv/bin/python benchmarks/bench_conditions.py``.

``evaluate`` adds the allow-list walk and error wrapping on top of the library.
Importing gigafibre_fsm.core.conditions registers the domain operators and the
JavaScript ``==`` in the library itself, so the raw column uses them too.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from json_logic import jsonLogic

from gigafibre_fsm.core.conditions import evaluate
from gigafibre_fsm.core.flows.seeds import SEEDS

DATA = {
	"now": "2026-11-25 10:00:00",
	"doc": {
		"name": "CTR-0042",
		"contract_type": "Residential",
		"monthly_price": 49.95,
		"status": "Signé",
		"signed_on": "2026-11-18 14:30:00",
		"postal_code": "J7A 1B2",
		"email": "",
		"items": [{"item_code": "FIB-500", "qty": 1}, {"item_code": "MODEM", "qty": 1}],
		"issue_type": "Repair",
	},
	"customer": {
		"mobile": "+15145550123",
		"cell_phone": "+15145550123",
		"balance": 120.0,
		"days_overdue": 35,
	},
	"steps": {"s3": {"approved": True}},
}

CONDITIONS = {
	"residential and priced": {
		"and": [
			{"==": [{"var": "doc.contract_type"}, "Residential"]},
			{">": [{"var": "doc.monthly_price"}, 0]},
		]
	},
	"status in_list": {"in_list": [{"var": "doc.status"}, ["Signé", "Actif"]]},
	"signed 7+ days ago": {">=": [{"date_diff": [{"var": "doc.signed_on"}, {"var": "now"}, "days"]}, 7]},
	"overdue reminder": {
		"and": [
			{">": [{"var": "customer.balance"}, 0]},
			{">=": [{"var": "customer.days_overdue"}, 30]},
			{"!": {"blank": {"var": "customer.mobile"}}},
		]
	},
	"install region + items": {
		"and": [
			{"starts_with": [{"var": "doc.postal_code"}, ["J7A", "J7B", "J7C"]]},
			{"some": [{"var": "doc.items"}, {"==": [{"var": "item_code"}, "MODEM"]}]},
			{"missing_some": [1, ["doc.email", "customer.mobile"]]},
		]
	},
}

# The conditions the seeded system templates actually use (trigger and step conditions).
for _seed in SEEDS:
	if _seed.get("trigger_condition"):
		CONDITIONS[f"seed {_seed['seed_key']}"] = _seed["trigger_condition"]
	for _step in _seed["steps"]:
		if _step.get("condition"):
			CONDITIONS[f"seed {_seed['seed_key']}.{_step['step_id']}"] = _step["condition"]

SECONDS_PER_RUN = 0.3
RUNS = 3  # the best of a few short runs hides noise from other processes


def rate(function, rule) -> float:
	"""Evaluations per second: the best of RUNS runs of about SECONDS_PER_RUN seconds."""
	best = 0.0
	for _ in range(RUNS):
		count, started = 0, time.perf_counter()
		while True:
			for _ in range(200):
				function(rule, DATA)
			count += 200
			elapsed = time.perf_counter() - started
			if elapsed >= SECONDS_PER_RUN:
				break
		best = max(best, count / elapsed)
	return best


def main() -> None:
	for rule in CONDITIONS.values():
		assert evaluate(rule, DATA) == jsonLogic(rule, DATA)
	print(f"{'condition':<40} {'evaluate/s':>12} {'jsonLogic/s':>12} {'overhead':>9}")
	for name, rule in CONDITIONS.items():
		ours, raw = rate(evaluate, rule), rate(jsonLogic, rule)
		print(f"{name:<40} {ours:>12,.0f} {raw:>12,.0f} {raw / ours - 1:>8.0%}")


if __name__ == "__main__":
	main()
