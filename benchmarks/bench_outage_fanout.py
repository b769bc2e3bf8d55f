"""Outage fan-out for one OLT with N affected customers, in a real bench.

Run with the bench's Python from its sites folder:

    cd ~/frappe-bench/sites && ../env/bin/python /path/to/repo/benchmarks/bench_outage_fanout.py test_site [N] [--no-sms]

It generates one OLT (disabled: no sweep touches it), N customers with a mobile number and
one ONT each on that OLT (16 PON ports; bulk inserts), maps an Uptime-Kuma monitor to the
OLT and points Twilio at a fake Twilio peer in this process. Then it times, as the
production path runs them:

1. the webhook's work for a DOWN alert (``handle_kuma``: decide, insert the Outage, queue
   the job) and for two more DOWN alerts (nothing new);
2. the "started" job (``outages.process``): the Issue, listing the affected customers
   (one query, a bulk insert), ``on_outage_started`` on the Outage and on each customer
   (one Flow Run per customer, their advance jobs queued after commit);
3. unless ``--no-sms``: every run advanced in this one process (what the RQ workers share
   between them), each sending its SMS to the fake Twilio;
4. the UP alert, the "resolved" job and its runs likewise.

It prints each time and the SMS counts, then deletes what it made (customers, equipment,
outage, issue, runs and their queued jobs) and puts the settings back.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta


def main(site: str, n: int, sms: bool) -> None:
	import frappe

	frappe.init(site=site)
	frappe.connect()
	frappe.set_user("Administrator")
	from frappe.utils import now_datetime
	from frappe.utils.background_jobs import create_job_id, get_queue
	from rq.job import Job

	from gigafibre_fsm.core import outages as rules
	from gigafibre_fsm.fakepeers.twilio import FakeTwilio
	from gigafibre_fsm.flows import runtime
	from gigafibre_fsm.network import outages

	tag = f"BENCH{frappe.generate_hash(length=6).upper()}"
	twilio = FakeTwilio().start()
	settings = frappe.get_doc("Gigafibre Settings")
	saved = {
		"twilio_account_sid": settings.twilio_account_sid,
		"twilio_from_number": settings.twilio_from_number,
		"twilio_api_base": settings.twilio_api_base,
		"twilio_auth_token": settings.get_password("twilio_auth_token", raise_exception=False) or "",
	}
	monitor_id = str(int(time.time()))
	olt = f"{tag}-OLT"
	runs: list[str] = []
	outage = None
	try:
		frappe.get_doc(
			{
				"doctype": "Network Element",
				"element_name": olt,
				"vendor_profile": "zte_c300",
				"enabled": 0,
				"host": "127.0.0.1",
				"snmp_community": "public",
			}
		).insert()
		settings.update(
			{
				"twilio_account_sid": twilio.account_sid,
				"twilio_auth_token": twilio.auth_token,
				"twilio_from_number": "+14505550100",
				"twilio_api_base": twilio.url,
			}
		)
		settings.append("uptime_kuma_monitors", {"monitor": monitor_id, "network_element": olt})
		settings.save()
		started = time.perf_counter()
		generate(frappe, tag, olt, n, now_datetime())
		frappe.db.commit()
		print(f"generated {n} customers with an ONT each on {olt} in {time.perf_counter() - started:.1f} s")

		t0 = datetime.utcnow().replace(microsecond=0) - timedelta(minutes=30)

		def beat(status: int, at: datetime) -> dict:
			body = {
				"heartbeat": {
					"monitorID": int(monitor_id),
					"status": status,
					"time": f"{at:%Y-%m-%d %H:%M:%S}.000",
				},
				"monitor": {"id": int(monitor_id), "name": olt},
				"msg": "bench",
			}
			event = rules.parse_kuma(rules.load_body(json.dumps(body)))
			began = time.perf_counter()
			answer = outages.handle_kuma(event)
			frappe.db.commit()
			answer["ms"] = (time.perf_counter() - began) * 1000
			return answer

		first = beat(0, t0)
		outage = first["outage"]
		more = [beat(0, t0 + timedelta(minutes=i)) for i in (1, 2)]
		again = ", ".join("{:.0f} ms ({})".format(m["ms"], m["reason"]) for m in more)
		print(f"webhook DOWN: opened {outage} in {first['ms']:.0f} ms; two more DOWN: {again}")

		began = time.perf_counter()
		result = outages.process(outage, "started")
		frappe.db.commit()
		started_s = time.perf_counter() - began
		runs = frappe.get_all(
			"Flow Run",
			filters={
				"trigger_event": "on_outage_started",
				"reference_doctype": "Customer",
				"reference_name": ["like", f"{tag}-%"],
			},
			pluck="name",
			limit_page_length=0,
		)
		print(
			f"started job: {result['affected']} customers listed, {len(runs)} flow runs started in "
			f"{started_s:.1f} s ({len(runs) / started_s:,.0f} runs/s)"
		)
		if sms:
			advance(frappe, runtime, runs, twilio, "start")

		up = beat(1, t0 + timedelta(minutes=30))
		print(f"webhook UP: {up['action']} after {up['duration']} s in {up['ms']:.0f} ms")
		began = time.perf_counter()
		result = outages.process(outage, "resolved")
		frappe.db.commit()
		resolved_s = time.perf_counter() - began
		end_runs = frappe.get_all(
			"Flow Run",
			filters={
				"trigger_event": "on_outage_resolved",
				"reference_doctype": "Customer",
				"reference_name": ["like", f"{tag}-%"],
			},
			pluck="name",
			limit_page_length=0,
		)
		runs += end_runs
		print(f"resolved job: {len(end_runs)} flow runs started in {resolved_s:.1f} s")
		if sms:
			advance(frappe, runtime, end_runs, twilio, "end")
	finally:
		cleanup(frappe, tag, olt, outage, runs, saved, monitor_id)
		conn = get_queue("default").connection
		for run in runs:
			try:
				Job.fetch(create_job_id(f"gigafibre_fsm:flow_run:{run}"), connection=conn).delete()
			except Exception:
				pass
		for phase in ("started", "resolved"):
			try:
				Job.fetch(create_job_id(f"gigafibre_fsm:outage:{outage}:{phase}"), connection=conn).delete()
			except Exception:
				pass
		twilio.stop()
		frappe.destroy()


def generate(frappe, tag: str, olt: str, n: int, now) -> None:
	group = frappe.db.get_value("Customer Group", {"is_group": 0}, "name")
	territory = frappe.db.get_value("Territory", {"is_group": 0}, "name")
	meta = ["creation", "modified", "owner", "modified_by", "docstatus"]
	stamp = [now, now, "Administrator", "Administrator", 0]
	frappe.db.bulk_insert(
		"Customer",
		["name", "customer_name", "customer_type", "customer_group", "territory", "cell_phone", *meta],
		[
			(
				f"{tag}-{i:05d}",
				f"{tag} {i}",
				"Individual",
				group,
				territory,
				f"+1819{5550000 + i:07d}",
				*stamp,
			)
			for i in range(n)
		],
	)
	frappe.db.bulk_insert(
		"Service Equipment",
		["name", "equipment_type", "status", "serial_no", "customer", "olt", "pon_port", "ont_id", *meta],
		[
			(
				f"{tag}-EQP-{i:05d}",
				"ONT",
				"Active",
				f"{tag}SN{i:05d}",
				f"{tag}-{i:05d}",
				olt,
				f"1/1/{1 + i % 16}",
				1 + i // 16,
				*stamp,
			)
			for i in range(n)
		],
	)


def advance(frappe, runtime, runs: list[str], twilio, label: str) -> None:
	before = len(twilio.sent)
	began = time.perf_counter()
	statuses: dict[str, int] = {}
	for run in runs:
		status = runtime.advance_run(run)
		statuses[status] = statuses.get(status, 0) + 1
	elapsed = time.perf_counter() - began
	sent = len(twilio.sent) - before
	print(
		f"{label} SMS: {len(runs)} runs advanced in one process in {elapsed:.1f} s "
		f"({len(runs) / elapsed:,.1f} runs/s), {sent} SMS sent, statuses {statuses}"
	)


def cleanup(frappe, tag, olt, outage, runs, saved, monitor_id) -> None:
	frappe.db.rollback()
	if runs:
		for i in range(0, len(runs), 500):
			chunk = runs[i : i + 500]
			frappe.db.delete("Flow Run Step", {"parent": ["in", chunk]})
			frappe.db.delete("Flow Run", {"name": ["in", chunk]})
	if outage:
		issue = frappe.db.get_value("Outage", outage, "issue")
		frappe.db.delete("Outage Customer", {"outage": outage})
		frappe.db.delete("Outage", {"name": outage})
		if issue:
			frappe.delete_doc("Issue", issue, force=True, ignore_permissions=True)
	frappe.db.delete("Service Equipment", {"name": ["like", f"{tag}-EQP-%"]})
	frappe.db.delete("Customer", {"name": ["like", f"{tag}-%"]})
	frappe.db.delete("Network Element", {"name": olt})
	settings = frappe.get_doc("Gigafibre Settings")
	settings.update(saved)
	settings.set(
		"uptime_kuma_monitors", [r for r in settings.uptime_kuma_monitors if r.monitor != monitor_id]
	)
	settings.save()
	frappe.db.commit()


if __name__ == "__main__":
	args = [a for a in sys.argv[1:] if not a.startswith("--")]
	main(
		args[0] if args else "test_site", int(args[1]) if len(args) > 1 else 2000, "--no-sms" not in sys.argv
	)
