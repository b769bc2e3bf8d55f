"""The public pages under a burst: wrk against the site served by gunicorn.

    cd ~/frappe-bench/sites && ../env/bin/python /path/to/repo/benchmarks/load_public_pages.py test_site \
        [--connections 200] [--duration 60] [--workers N]

The app must be installed on the site; it needs ``wrk`` (Debian package). Serves the site with
gunicorn as production does (``--workers`` defaults to the bench's ``gunicorn_workers``), makes
a technician with jobs, a residential contract with a signing link, an account link and a device, then for each
public page and its API call runs ``wrk -c <connections> -d <duration>`` from this machine
(one address: the per-IP rate limits answer 429 as designed once spent). Prints, per scenario,
requests/s, latency p50/p95/p99 and the answers by status, and the gunicorn workers' memory
(RSS) before and after; exits non-zero on any 5xx or socket error. Deletes what it made.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime

LUA = r"""
counts = {}  -- a global: done() reads each thread's copy with thread:get
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {} end
function response(status, headers, body) counts[status] = (counts[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts") or {}) do total[k] = (total[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, '"' .. k .. '":' .. v) end
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.2f,"p50":%.1f,"p95":%.1f,"p99":%.1f,"max":%.1f,'
      .. '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"status":{%s}}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, table.concat(parts, ",")))
end
"""


def lua_for(method: str, body: dict | None) -> str:
	head = ""
	if method == "POST":
		head = (
			'wrk.method = "POST"\n'
			'wrk.headers["Content-Type"] = "application/json"\n'
			f"wrk.body = {json.dumps(json.dumps(body or {}))}\n"
		)
	return head + LUA


def worker_rss_mb(master_pid: int) -> list[float]:
	import psutil

	return sorted(
		round(child.memory_info().rss / 2**20, 1) for child in psutil.Process(master_pid).children()
	)


def gunicorn_master(base: str) -> int:
	"""The pid of the gunicorn master serving ``base`` (http://127.0.0.1:<port>)."""
	import psutil

	port = int(base.rsplit(":", 1)[1])
	listener = psutil.Process(
		next(
			c.pid
			for c in psutil.net_connections("tcp")
			if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid
		)
	)
	# the workers share the master's listening socket: climb to the master
	while listener.parent() and "gunicorn" in " ".join(listener.parent().cmdline()):
		listener = listener.parent()
	return listener.pid


def arrange() -> tuple[list[tuple[str, str, str, dict | None]], callable]:
	"""Records the pages need, committed; returns the scenarios and a cleanup."""
	import frappe

	from gigafibre_fsm.core import contract_tokens
	from gigafibre_fsm.customers import account
	from gigafibre_fsm.dispatch import links
	from gigafibre_fsm.settings import get_settings
	from gigafibre_fsm.test_utils import make_contract, make_customer, make_job, make_technician

	tech = make_technician()
	jobs = [make_job(technician=tech.name, status="Assigned").name for _ in range(5)]
	customer = make_customer()
	contract = make_contract(customer=customer.name)
	issued = contract_tokens.issue(get_settings().token_secret, contract.name, now=datetime.now(UTC))
	frappe.db.set_value("Service Contract", contract.name, {"signing_jti": issued.jti, "status": "Envoyé"})
	frappe.db.commit()
	t_token = links.issue(tech.name)
	a_token = account.issue(customer.name)
	mac = "AA:BB:CC:00:11:22"
	api = "/api/method/gigafibre_fsm.api."
	scenarios = [
		("technician page", "GET", f"/t/{t_token}", None),
		("technician get_jobs", "POST", f"{api}technician.get_jobs", {"token": t_token}),
		("QR page", "GET", f"/q/{mac}", None),
		("QR verify_code", "POST", f"{api}qr.verify_code", {"mac": mac, "code": "000000"}),
		("contract page", "GET", f"/c/{issued.token}", None),
		("contract get_contract", "POST", f"{api}customers.get_contract", {"token": issued.token}),
		("account page", "GET", f"/compte/{a_token}", None),
		(
			"account send_account_link",
			"POST",
			f"{api}billing.send_account_link",
			{"identifier": "nobody@example.com"},
		),
	]

	def cleanup():
		for job in jobs:
			frappe.delete_doc("Dispatch Job", job, force=True, ignore_permissions=True)
		frappe.delete_doc("Technician", tech.name, force=True, ignore_permissions=True)
		frappe.delete_doc("Service Contract", contract.name, force=True, ignore_permissions=True)
		frappe.delete_doc("Customer", customer.name, force=True, ignore_permissions=True)
		frappe.db.commit()
		frappe.cache.delete_keys("rl:")

	return scenarios, cleanup


def main() -> int:
	parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	parser.add_argument("site")
	parser.add_argument("--connections", type=int, default=200)
	parser.add_argument("--duration", type=int, default=60, help="seconds per scenario")
	parser.add_argument("--threads", type=int, default=2)
	parser.add_argument("--workers", type=int, default=None)
	parser.add_argument("--only", default=None, help="run the scenarios whose name contains this")
	args = parser.parse_args()
	if not shutil.which("wrk"):
		print("wrk is missing: apt-get install wrk", file=sys.stderr)
		return 2

	import frappe

	frappe.init(site=args.site, sites_path=os.getcwd())
	frappe.connect()
	from gigafibre_fsm.testing_http import serve_gunicorn

	workers = args.workers or int(frappe.get_conf().get("gunicorn_workers") or 4)
	scenarios, cleanup = arrange()
	frappe.cache.delete_keys("rl:")
	failures = 0
	try:
		with serve_gunicorn(workers=workers) as base:
			master = gunicorn_master(base)
			print(
				f"site {args.site} ({frappe.conf.db_type or 'mariadb'}), gunicorn -w {workers}, "
				f"wrk -c {args.connections} -t {args.threads} -d {args.duration}s per scenario"
			)
			print(f"worker RSS MB at start: {worker_rss_mb(master)}")
			for name, method, path, body in scenarios:
				if args.only and args.only not in name:
					continue
				with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
					f.write(lua_for(method, body))
				out = subprocess.run(
					[
						"wrk",
						"-c",
						str(args.connections),
						"-t",
						str(args.threads),
						"-d",
						f"{args.duration}s",
						"--timeout",
						"30s",
						"-s",
						f.name,
						"-H",
						f"X-Frappe-Site-Name: {args.site}",
						base + path,
					],
					capture_output=True,
					text=True,
					check=False,
				)
				os.unlink(f.name)
				found = re.search(r"^RESULT (.*)$", out.stdout, re.M)
				if not found:
					print(f"{name}: wrk failed: {out.stdout}{out.stderr}")
					failures += 1
					continue
				r = json.loads(found.group(1))
				fives = sum(n for status, n in r["status"].items() if status.startswith("5"))
				errors = r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]
				failures += bool(fives or errors)
				print(
					f"{name:24} {r['requests'] / r['seconds']:8.1f} req/s  p50 {r['p50']:7.1f} ms  "
					f"p95 {r['p95']:7.1f} ms  p99 {r['p99']:7.1f} ms  max {r['max']:7.1f} ms  "
					f"status {dict(sorted(r['status'].items()))}  5xx {fives}  socket errors {errors}  "
					f"RSS MB {worker_rss_mb(master)}"
				)
				frappe.cache.delete_keys("rl:")  # each scenario starts with the allowance unspent
	finally:
		cleanup()
		frappe.destroy()
	print("FAILED" if failures else "OK: no 5xx, no socket error")
	return 1 if failures else 0


if __name__ == "__main__":
	sys.exit(main())
