"""Flows under chaos at CI size: real RQ workers killed with SIGKILL, two tickers at once.

The same harness as scripts/chaos-flows.py (gigafibre_fsm.flows.chaos) with 24 runs and
2 workers: every run ends Completed or Failed, every completed side-effect step reached
its peer, no step attempt reached it twice, nothing is left Running.
"""

import frappe

from gigafibre_fsm.flows.chaos import run_chaos
from gigafibre_fsm.testing import IntegrationTestCase


class TestFlowChaos(IntegrationTestCase):
	def test_killed_workers_lose_nothing_and_do_nothing_twice(self):
		frappe.db.commit()
		figures = run_chaos(
			runs=24,
			workers=2,
			kill_every=1.5,
			max_kills=8,
			timeout=150,
			lock_seconds=3,
			stall_seconds=5,
			wait_minutes=0,
			tick_every=0.5,
			log=lambda m: None,
		)
		summary = {
			k: figures.get(k) for k in ("runs", "status", "kills", "lost", "stuck", "duplicates", "seconds")
		}
		print(f"flow chaos: {summary}")
		self.assertEqual(figures["runs"], 24)
		self.assertEqual(figures["stuck"], 0, figures)
		self.assertEqual(figures["completed"] + figures["failed"], 24, figures)
		self.assertEqual(figures["lost"], 0, figures)
		self.assertEqual(figures["duplicates"], 0, figures)
		self.assertGreater(figures["kills_total"], 0, figures)
		self.assertGreaterEqual(
			figures["completed_side_effect_steps"].get("webhook", 0), 2 * figures["completed"]
		)
