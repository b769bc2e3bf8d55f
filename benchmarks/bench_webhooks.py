"""Inbound SMS webhook latency under a burst, against the site served by gunicorn.

    cd ~/frappe-bench/sites && ../env/bin/python /path/to/repo/benchmarks/bench_webhooks.py test_site \\
        [--requests 200] [--concurrency 200] [--workers N]

Serves the site as production does (gunicorn, ``--workers`` defaults to the bench's
``gunicorn_workers``), points Gigafibre Settings' Twilio auth token at a throw-away one, then:
1. a warm-up and a sequential baseline (40 signed SMS, one at a time: the time the site spends
   on one, from the signature check to the answer, plus loopback HTTP);
2. the burst: ``--requests`` signed inbound SMS (half from a known customer, a quarter from
   unknown numbers that open triage Issues, a quarter from numbers sending STOP) plus one
   forged request in ten, all sent at once by ``--concurrency`` client threads.
It prints p50/p95/p99/max per kind and the answers by status, checks that every signed
message was stored exactly once and every forged one not at all, and exits non-zero when it
is not so or on any 5xx. Deletes what it made and restores the settings.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

PATH = "/api/method/gigafibre_fsm.api.webhooks.twilio_sms"


def pct(values: list[float], p: float) -> float:
	if not values:
		return float("nan")
	ordered = sorted(values)
	return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def summary(label: str, values: list[float]) -> str:
	if not values:
		return f"{label}: none"
	return (
		f"{label}: n={len(values)} p50={pct(values, 50):.0f} ms p95={pct(values, 95):.0f} ms "
		f"p99={pct(values, 99):.0f} ms max={max(values):.0f} ms mean={statistics.mean(values):.0f} ms"
	)


def main() -> int:
	parser = argparse.ArgumentParser()
	parser.add_argument("site")
	parser.add_argument("--requests", type=int, default=200)
	parser.add_argument("--concurrency", type=int, default=200)
	parser.add_argument("--workers", type=int, default=0)
	args = parser.parse_args()

	import frappe

	frappe.init(site=args.site, sites_path=os.getcwd())
	frappe.connect()
	frappe.set_user("Administrator")
	import requests

	from gigafibre_fsm.fakepeers.twilio import FakeTwilio
	from gigafibre_fsm.test_utils import make_customer, settings_for_update
	from gigafibre_fsm.testing_http import serve_gunicorn

	tag = frappe.generate_hash(length=6)
	twilio = FakeTwilio(auth_token=f"bench-{tag}")  # only its signing is used: not started
	settings = settings_for_update()
	before = {
		"twilio_auth_token": settings.get_password("twilio_auth_token", raise_exception=False) or "",
		"public_base_url": settings.public_base_url or "",
	}
	settings.twilio_auth_token = twilio.auth_token
	settings.public_base_url = ""
	settings.save()
	known = f"+1514{int.from_bytes(os.urandom(3), 'big') % 10**7:07d}"
	customer = make_customer(customer_name=f"BENCHSMS-{tag}", cell_phone=known)
	frappe.db.commit()

	numbers: set[str] = {known}
	sids: dict[str, str] = {}  # sid -> kind
	results: list[tuple[str, int, float]] = []
	lock = threading.Lock()
	workers = args.workers or int(frappe.get_conf().get("gunicorn_workers") or 4)

	def one(url: str, kind: str, i: int) -> None:
		if kind == "known":
			number, body = known, f"Bonjour {i}, mon internet est lent"
		else:
			number = f"+1819{int.from_bytes(os.urandom(3), 'big') % 10**7:07d}"
			body = "STOP" if kind == "stop" else f"Desservez-vous le rang {i}?"
		params = twilio.sms_params(number, body)
		params["SmsSid"] = params["MessageSid"] = params["SmsMessageSid"]
		headers = {
			"X-Twilio-Signature": "Zm9yZ2Vk" if kind == "forged" else twilio.sign(url, params),
			"X-Frappe-Site-Name": args.site,
		}
		started = time.perf_counter()
		try:
			status = requests.post(url, data=params, headers=headers, timeout=300).status_code
		except requests.RequestException:
			status = 0
		elapsed = (time.perf_counter() - started) * 1000
		with lock:
			numbers.add(number)
			sids[params["MessageSid"]] = kind
			results.append((kind, status, elapsed))

	ok = True
	try:
		with serve_gunicorn(workers=workers) as base:
			url = base + PATH
			for i in range(5):  # warm-up: imports, caches
				one(url, "known", -i)
			results.clear()
			for i in range(40):
				one(url, "known" if i % 2 else "unknown", 1000 + i)
			baseline = [ms for _, status, ms in results if status == 200]
			results.clear()
			kinds = []
			for i in range(args.requests):
				kinds.append("known" if i % 4 in (0, 1) else ("unknown" if i % 4 == 2 else "stop"))
				if i % 10 == 9:
					kinds.append("forged")
			gate = time.perf_counter()
			with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
				for i, kind in enumerate(kinds):
					pool.submit(one, url, kind, i)
			wall = time.perf_counter() - gate

		frappe.db.rollback()
		print(
			f"site {args.site} ({frappe.conf.db_type or 'mariadb'}), gunicorn -w {workers}, "
			f"{os.cpu_count()} CPUs; burst: {len(kinds)} requests by {args.concurrency} threads in {wall:.1f} s "
			f"({len(kinds) / wall:.0f} req/s)"
		)
		print(summary("sequential baseline (signed, 200)", baseline))
		by_status: dict[tuple[str, int], int] = {}
		for kind, status, _ in results:
			by_status[(kind, status)] = by_status.get((kind, status), 0) + 1
		print("answers:", ", ".join(f"{k} {s}: {n}" for (k, s), n in sorted(by_status.items())))
		signed = [ms for kind, status, ms in results if kind != "forged" and status == 200]
		print(summary("burst, signed SMS", signed))
		for kind in ("known", "unknown", "stop", "forged"):
			print(summary(f"  {kind}", [ms for k, _, ms in results if k == kind]))
		if any(status >= 500 or status == 0 for _, status, _ in results):
			ok = False
			print("FAIL: 5xx or socket errors")
		from frappe.query_builder.functions import Count

		comm = frappe.qb.DocType("Communication")
		stored = {
			r.message_id: r.n
			for r in (
				frappe.qb.from_(comm)
				.select(comm.message_id, Count("*").as_("n"))
				.where(comm.message_id.isin(list(sids)))
				.groupby(comm.message_id)
			).run(as_dict=True)
		}
		signed_sids = [sid for sid, kind in sids.items() if kind != "forged"]
		forged_sids = [sid for sid, kind in sids.items() if kind == "forged"]
		once = sum(1 for sid in signed_sids if stored.get(sid) == 1)
		forged_stored = sum(1 for sid in forged_sids if stored.get(sid))
		print(f"stored exactly once: {once} of {len(signed_sids)} signed; forged stored: {forged_stored}")
		if once != len(signed_sids) or forged_stored:
			ok = False
			print("FAIL: a message was stored a wrong number of times")
	finally:
		frappe.db.rollback()
		issues = set()
		for row in frappe.get_all(
			"Communication",
			filters={"phone_no": ["in", list(numbers)]},
			fields=["name", "reference_doctype", "reference_name"],
		):
			if row.reference_doctype == "Issue" and row.reference_name:
				issues.add(row.reference_name)
			frappe.delete_doc("Communication", row.name, force=True, ignore_permissions=True)
		for consent in frappe.get_all("SMS Consent", filters={"phone": ["in", list(numbers)]}, pluck="name"):
			frappe.delete_doc("SMS Consent", consent, force=True, ignore_permissions=True)
		for issue in issues:
			frappe.delete_doc("Issue", issue, force=True, ignore_permissions=True)
		frappe.delete_doc("Customer", customer.name, force=True, ignore_permissions=True)
		settings = settings_for_update()
		settings.update(before)
		settings.save()
		frappe.db.commit()
		frappe.destroy()
	return 0 if ok else 1


if __name__ == "__main__":
	sys.exit(main())
