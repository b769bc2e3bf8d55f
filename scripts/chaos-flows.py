#!/usr/bin/env python
"""Chaos test of the flow engine: nothing lost, nothing done twice, nothing stuck.

From the bench's sites directory, once the app is installed or migrated on the site
(scripts/bench-tests.sh does it), while no test run uses the site:

    cd ~/frappe-bench/sites && ../env/bin/python \\
        /path/to/repo/scripts/chaos-flows.py <site> --runs 1000 --workers 3 --kill-every 2

Starts a counting webhook peer and FakeTwilio (fake peers on loopback), real RQ workers
of the site and two tickers; SIGKILLs work-horses and whole workers at random while the
runs execute; waits for every run to end; prints the figures as JSON; deletes its data.
Exits 1 if a completed step's side effect was lost, a step attempt was delivered twice
or a run is stuck. The harness is gigafibre_fsm.flows.chaos (see its docstring).
"""

import argparse
import json
import sys


def main() -> int:
	p = argparse.ArgumentParser(description="Chaos test of the flow engine")
	p.add_argument("site")
	p.add_argument("--runs", type=int, default=1000)
	p.add_argument("--workers", type=int, default=3)
	p.add_argument("--kill-every", type=float, default=2.0, help="seconds between kills (jittered)")
	p.add_argument("--timeout", type=float, default=1800, help="seconds to wait for every run to end")
	p.add_argument("--lock-seconds", type=int, default=6, help="run lock TTL (site config, restored)")
	p.add_argument("--stall-seconds", type=int, default=10, help="stall threshold (site config, restored)")
	p.add_argument("--wait-minutes", type=int, default=1, help="the template's wait step (0: none)")
	p.add_argument("--tick-every", type=float, default=1.0)
	p.add_argument("--queue", default="long", help="queue of the advance jobs during the chaos")
	p.add_argument("--seed", type=int)
	p.add_argument("--keep", action="store_true", help="keep the runs and template")
	args = p.parse_args()

	import random

	import frappe

	random.seed(args.seed)
	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	frappe.set_user("Administrator")
	from gigafibre_fsm.flows.chaos import run_chaos

	try:
		figures = run_chaos(
			runs=args.runs,
			workers=args.workers,
			kill_every=args.kill_every,
			timeout=args.timeout,
			lock_seconds=args.lock_seconds,
			stall_seconds=args.stall_seconds,
			wait_minutes=args.wait_minutes,
			tick_every=args.tick_every,
			queue=args.queue,
			keep=args.keep,
			log=lambda m: print(m, flush=True),
		)
	finally:
		frappe.destroy()
	print(json.dumps(figures, indent=1, sort_keys=True), flush=True)
	bad = figures.get("lost", 1) + figures.get("stuck", 1) + figures.get("duplicates", 1)
	print("CHAOS " + ("FAILED" if bad else "PASSED"), flush=True)
	return 1 if bad else 0


if __name__ == "__main__":
	sys.exit(main())
