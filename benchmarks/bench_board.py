"""The dispatch board with 50 technicians: server time of get_board and time to interactive.

    cd ~/frappe-bench/sites && ../env/bin/python /path/to/repo/benchmarks/bench_board.py test_site \
        [--technicians 50] [--customers 60] [--repeat 20]

Run after `bench build --app gigafibre_fsm`. Loads the demo ISP (``gigafibre-demo``; with 50
technicians a week holds about 700 jobs, a day about 150) unless one is loaded, then:
``get_board`` called in-process for a day (today, or the demo week's Friday on a weekend) and for the week (median and p95 of ``--repeat``
calls, with the number of jobs), and the page in Chromium (Playwright, /usr/bin/chromium) as a
dispatcher: from navigation to the first job block drawn, for the day and the week views
(median of 3, after a first warm-up load). Removes the demo it loaded.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def main() -> int:
	parser = argparse.ArgumentParser()
	parser.add_argument("site")
	parser.add_argument("--technicians", type=int, default=50)
	parser.add_argument("--customers", type=int, default=60)
	parser.add_argument("--repeat", type=int, default=20)
	args = parser.parse_args()

	import frappe

	frappe.init(site=args.site, sites_path=".")
	frappe.connect()
	frappe.set_user("Administrator")
	from frappe.utils import add_days, getdate
	from frappe.utils.password import update_password

	from gigafibre_fsm.dispatch import planning
	from gigafibre_fsm.gigafibre_integrations import demo
	from gigafibre_fsm.gigafibre_integrations.tests.desk_browser import serve_desk
	from gigafibre_fsm.test_utils import make_user
	from gigafibre_fsm.testing_http import launch_chromium

	own = not demo.read_manifest()
	if own:
		started = time.perf_counter()
		demo.load(customers=args.customers, technicians=args.technicians, force=True)
		frappe.db.commit()
		print(f"demo loaded in {time.perf_counter() - started:.1f} s")
	try:
		today = getdate()
		monday = add_days(today, -today.weekday())
		day = today if today.weekday() < 5 else add_days(monday, 4)  # the demo's jobs are Monday-Friday
		ranges = {
			"day": (f"{day} 00:00:00", f"{add_days(day, 1)} 00:00:00"),
			"week": (f"{monday} 00:00:00", f"{add_days(monday, 7)} 00:00:00"),
		}
		for name, (start, end) in ranges.items():
			times = []
			for _ in range(args.repeat):
				t = time.perf_counter()
				board = planning.board(start, end)
				times.append((time.perf_counter() - t) * 1000)
			times.sort()
			print(
				f"get_board {name}: {len(board['technicians'])} technicians, {len(board['jobs'])} jobs, "
				f"median {statistics.median(times):.0f} ms, p95 {times[int(len(times) * 0.95) - 1]:.0f} ms"
			)
		user = make_user(["Dispatcher"])
		update_password(user.name, "Bench-Board-2026!")
		frappe.db.commit()
		from playwright.sync_api import sync_playwright

		with serve_desk(args.site) as base, sync_playwright() as pw:
			browser = launch_chromium(pw)
			context = browser.new_context(viewport={"width": 1600, "height": 1000})
			context.request.post(
				f"{base}/api/method/login",
				form={"usr": user.name, "pwd": "Bench-Board-2026!"},
				timeout=120_000,
			)
			page = context.new_page()
			for view in ("day", "week"):
				page.goto(f"{base}/app", wait_until="domcontentloaded", timeout=120_000)
				page.evaluate(f"localStorage.setItem('gf_board_view', '{view}')")
				samples = []
				for i in range(4):
					t = time.perf_counter()
					page.goto(f"{base}/app/dispatch-board?date={day}", wait_until="commit", timeout=120_000)
					page.locator('[data-testid="job"]').first.wait_for(state="visible", timeout=120_000)
					if i:  # the first load warms the server and the browser cache
						samples.append(time.perf_counter() - t)
				blocks = page.locator('[data-testid="job"]').count()
				print(
					f"board {view} in the browser: {blocks} job blocks, interactive in "
					f"median {statistics.median(samples):.2f} s (of {', '.join(f'{s:.2f}' for s in samples)})"
				)
			browser.close()
		frappe.delete_doc("User", user.name, force=True, ignore_permissions=True)
		frappe.db.commit()
	finally:
		if own:
			demo.remove()
			frappe.db.commit()
		frappe.destroy()
	return 0


if __name__ == "__main__":
	sys.path.insert(0, os.getcwd())
	sys.exit(main())
