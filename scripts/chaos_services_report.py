"""The figures of scripts/chaos-services.py: answers per phase, jobs per phase from the
workers' logs, flow runs against the peers, inbound SMS stored once; and the clean-up."""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from pathlib import Path

import frappe

from gigafibre_fsm.flows import chaos


def report(h, client, hook, twilio, template: str, child_out: dict, pool) -> dict:
	"""The figures, and ``problems``: what makes the run fail."""

	args = h.args
	problems: list[str] = []
	webhooks: dict[str, dict] = {}
	by_phase = defaultdict(list)
	for a in client.answers:
		by_phase[a["phase"]].append(a)
	for phase, answers in by_phase.items():
		codes = Counter(str(a["status"]) for a in answers)
		leaks = [a["body"] for a in answers if a["leak"]]
		unclean = [a for a in answers if a["status"] != 200 and not 500 <= a["status"] < 600]
		webhooks[phase] = {
			"answers": dict(codes),
			"slowest_s": round(max(a["s"] for a in answers), 1),
			"tracebacks": len(leaks),
			"traceback_example": leaks[0][:300] if leaks else None,
			"not_clean": len(unclean),
			"not_clean_examples": [f"{a['status']}: {a['body'][:120]}" for a in unclean[:3]],
			"example_by_status": {str(a["status"]): a["body"][:160] for a in answers if a["status"] != 200},
		}
		if leaks:
			problems.append(f"traceback in {len(leaks)} answers ({phase})")
		if codes.get("-1"):
			problems.append(f"{codes['-1']} answers slower than the request timeout ({phase})")
		if unclean:
			problems.append(f"{len(unclean)} answers neither 200 nor 5xx ({phase})")
	jobs: dict[str, dict] = {}
	for role, lines in child_out.items():
		errors = Counter()
		for x in lines:
			if "error" in x:
				errors[(h.phase_at(x["t"]), x["error"][:90])] += 1
		done = next((x for x in lines if x.get("done")), {})
		jobs[role] = {
			"steps_ok": done.get("ok"),
			"items": done.get("items"),
			"errors": {f"{ph}: {e}": n for (ph, e), n in errors.most_common(12)},
		}
	worker_exits = Counter(e["phase"] for e in h.events if "worker_exit" in e)
	flows = chaos.check(template, hook, twilio)
	for key in ("lost", "stuck", "duplicates"):
		if flows[key]:
			problems.append(f"{flows[key]} {key} flow steps/runs")
	if not flows["completed"]:
		problems.append("no run completed")
	stored = stored_sms(list(client.sent))
	not_once = {sid: n for sid, n in stored["count"].items() if n != 1}
	missing = [sid for sid in client.sent if sid not in stored["count"]]
	if not_once or missing:
		problems.append(f"{len(missing)} SMS not stored, {len(not_once)} stored more than once")
	if stored["half_written"]:
		problems.append(f"{len(stored['half_written'])} SMS half written")
	failed_jobs = worker_jobs(h.logdir, h.phase_at)
	return {
		"site": frappe.local.site,
		"db": frappe.conf.db_type or "mariadb",
		"outage_s": args.outage,
		"phases": [p for _, p in h.phases],
		"events": [e for e in h.events if "first_200_s" in e],
		"webhooks": webhooks,
		"webhooks_sent": len(client.sent),
		"webhooks_retried": sum(1 for a in client.answers if a["retry"]),
		"sms_stored_once": len(client.sent) - len(not_once) - len(missing),
		"sms_not_stored": missing[:10],
		"sms_stored_twice": dict(list(not_once.items())[:10]),
		"sms_half_written": stored["half_written"][:10],
		"sms_half_written_answers": [
			[(a["phase"], a["status"]) for a in client.answers if a["sid"] == h.split()[1]]
			for h in stored["half_written"][:10]
		],
		"worker_exits_by_phase": dict(worker_exits),
		"workers_started": pool.started,
		"worker_jobs": failed_jobs,
		"children": jobs,
		"flows": {k: v for k, v in flows.items() if not k.endswith("examples")},
		"logs": str(h.logdir),
		"problems": problems,
	}


def worker_jobs(logdir: Path, phase_at) -> dict:
	"""The jobs the workers ran, per phase of their start and kind (scheduled job method or
	flow advance), ok or not: a worker runs one job at a time, so a start line not followed
	by RQ's "Job OK" line of that job (before the next start) failed or was cut off."""
	start = re.compile(r"^(\S+ \S+),\d+ .*execute_job\((.*)\((\S+?)\)$")
	job_type = re.compile(r"'job_type': '([^']+)'")
	method = re.compile(r"method='([^']+)'")
	counts: dict[str, Counter] = defaultdict(Counter)
	redis_waits = 0

	def close(job):
		if job:
			kind = job[3].rsplit(".", 1)[-1]
			counts[phase_at(job[0])][f"{kind} {'ok' if job[2] else 'not ok'}"] += 1

	for log in sorted(logdir.glob("worker-*.log")):
		job = None  # (started at, job id, ok)
		for line in log.read_text(errors="replace").splitlines():
			if m := start.match(line):
				close(job)
				kind = job_type.search(m.group(2)) or method.search(m.group(2))
				when = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S"))
				job = [when, m.group(3), False, kind.group(1) if kind else "?"]
			elif job and f"Job OK ({job[1]})" in line:
				job[2] = True
			elif "Could not connect to Redis" in line:
				redis_waits += 1
		close(job)
	return {"by_phase": {p: dict(c) for p, c in counts.items()}, "redis_reconnect_waits": redis_waits}


def stored_sms(sids: list[str]) -> dict:
	"""How many times each MessageSid was stored; a stored one without its reference (an
	unknown number's triage Issue, or the known customer) is half written."""
	count: Counter = Counter()
	half = []
	for i in range(0, len(sids), 200):
		for row in frappe.get_all(
			"Communication",
			{"message_id": ["in", sids[i : i + 200]], "communication_medium": "SMS"},
			["name", "message_id", "reference_doctype", "reference_name", "phone_no", "creation"],
		):
			count[row.message_id] += 1
			if not (row.reference_doctype and row.reference_name) or not frappe.db.exists(
				row.reference_doctype, row.reference_name
			):
				half.append(
					f"{row.name} {row.message_id} {row.phone_no} {row.creation} -> "
					f"{row.reference_doctype} {row.reference_name}"
				)
	return {"count": count, "half_written": half}


def delete_sms(client, known: str, customer) -> None:
	numbers = {p["From"] for p in client.sent.values()} | {known}
	issues = set()
	for row in frappe.get_all(
		"Communication",
		{"phone_no": ["in", list(numbers)]},
		["name", "reference_doctype", "reference_name"],
	):
		if row.reference_doctype == "Issue" and row.reference_name:
			issues.add(row.reference_name)
		frappe.delete_doc("Communication", row.name, force=True, ignore_permissions=True)
	for consent in frappe.get_all("SMS Consent", {"phone": ["in", list(numbers)]}, pluck="name"):
		frappe.delete_doc("SMS Consent", consent, force=True, ignore_permissions=True)
	for issue in issues:
		frappe.delete_doc("Issue", issue, force=True, ignore_permissions=True)
	frappe.delete_doc("Customer", customer.name, force=True, ignore_permissions=True)
