"""Outages: opened by Uptime-Kuma alerts or by an OLT sweep that sees a PON port go dark,
closed when the monitor is UP again (or the port is back), told to the customers affected.

- ``handle_kuma(event)``: one verified Uptime-Kuma notification → open, close or nothing
  (the rules: gigafibre_fsm.core.outages). Fast: a few queries and one small insert; the
  rest runs in ``process`` jobs queued after commit.
- One open outage per key (``kuma:<monitor id>``, ``pon:<OLT>:<port>``): the Outage's
  unique ``open_key`` holds the key while it is open, so two DOWN alerts racing insert one.
- ``process(outage, phase)`` (background): "started" opens the Issue, lists the affected
  customers (Outage Customer rows: the customers whose active equipment hangs on the
  outage's OLT and PON port), fires ``on_outage_started`` on the Outage and on each
  affected Customer (occurrence: the outage, so once per customer and outage);
  "resolved" resolves the Issue and fires ``on_outage_resolved`` likewise, only to the
  customers told at the start. Both are safe to run twice.
- ``apply_sweep(...)``: the OLT sweep's alarms of one OLT; many ONTs of one PON port in
  alarm at once are one outage for the port, not one Issue per ONT.
- What the phone menu and the QR page tell a customer: gigafibre_fsm.network.outage_notice.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import frappe
from frappe import _
from frappe.utils import get_datetime, get_system_timezone, now_datetime

from gigafibre_fsm.core import outages as rules

OUTAGE = "Outage"
OUTAGE_CUSTOMER = "Outage Customer"
EQP = "Service Equipment"
EVENT_STARTED = "on_outage_started"
EVENT_RESOLVED = "on_outage_resolved"
REALTIME = "gigafibre_fsm:outage"
COMMIT_EVERY = 200
LOG = "gigafibre_fsm.outages"


# -- settings -------------------------------------------------------------------------


def monitor_rows() -> list[dict]:
	doc = frappe.get_cached_doc("Gigafibre Settings")
	return [
		{
			"monitor": r.monitor,
			"network_element": r.network_element,
			"pon_port": (r.pon_port or "").strip() or None,
			"service": r.service,
		}
		for r in doc.get("uptime_kuma_monitors") or []
	]


def pon_thresholds() -> tuple[int, float]:
	doc = frappe.get_cached_doc("Gigafibre Settings")
	min_onts = int(doc.get("pon_outage_min_onts") or rules.PON_MIN_ONTS)
	share = float(doc.get("pon_outage_min_share") or rules.PON_MIN_SHARE * 100) / 100
	return max(1, min_onts), min(max(share, 0.01), 1.0)


# -- state ----------------------------------------------------------------------------


def state_for(key: str) -> rules.OutageState:
	open_row = frappe.db.get_value(OUTAGE, {"open_key": key}, ["name", "started"], as_dict=True)
	last = frappe.get_all(
		OUTAGE,
		filters={"outage_key": key, "status": "Resolved"},
		fields=["resolved"],
		order_by="resolved desc",
		limit_page_length=1,
	)
	return rules.OutageState(
		open_name=open_row.name if open_row else None,
		open_started=get_datetime(open_row.started) if open_row else None,
		last_resolved=get_datetime(last[0].resolved) if last and last[0].resolved else None,
	)


def site_time(utc_naive: datetime | None) -> datetime:
	"""A UTC time from a sender as the site's local time (how Frappe stores datetimes)."""
	if utc_naive is None:
		return now_datetime()
	return rules.to_site_time(utc_naive, get_system_timezone())


def handle_kuma(event: rules.KumaEvent) -> dict:
	"""Act on one authenticated Uptime-Kuma notification."""
	if event.is_test:
		return {"ok": True, "action": "test"}
	at = site_time(event.time)
	state = state_for(event.key)
	decision = rules.decide(state, event.status, at)
	answer = {"ok": True, "action": decision.action, "reason": decision.reason}
	if decision.action == rules.OPEN:
		row = rules.match_monitor(monitor_rows(), event) or {}
		name = open_outage(
			key=event.key,
			title=_("Monitor {0} down").format(event.monitor_name or event.monitor_id),
			source="Uptime-Kuma",
			started=at,
			monitor=event.monitor_name,
			monitor_id=event.monitor_id,
			network_element=row.get("network_element"),
			pon_port=row.get("pon_port"),
			service=row.get("service"),
			detail=event.message,
		)
		answer["outage"] = name
	elif decision.reason == "already_open":
		count_beat(state.open_name, event.message)
		answer["outage"] = state.open_name
	elif decision.action == rules.CLOSE:
		resolve_outage(state.open_name, at, event.message)
		answer.update({"outage": state.open_name, "duration": decision.duration_seconds})
	return answer


def open_outage(*, key: str, title: str, source: str, started, detail: str = "", **values) -> str:
	"""Insert the open outage of ``key``, or return the one already open (a racing insert)."""
	doc = frappe.new_doc(OUTAGE)
	doc.update(
		{
			"title": title[:140],
			"status": "Open",
			"source": source,
			"started": started,
			"outage_key": key,
			"detail": (detail or "")[:500],
			"down_beats": 1,
			**{k: v for k, v in values.items() if v not in (None, "")},
		}
	)
	doc.flags.ignore_permissions = True
	frappe.db.savepoint("gigafibre_outage_insert")
	try:
		doc.insert()
	except (frappe.UniqueValidationError, frappe.DuplicateEntryError):
		frappe.db.rollback(save_point="gigafibre_outage_insert")
		frappe.clear_messages()
		existing = frappe.db.get_value(OUTAGE, {"open_key": key}, "name")
		if not existing:
			raise
		count_beat(existing, detail)
		return existing
	return doc.name


def count_beat(name: str, detail: str | None = None) -> None:
	"""One more DOWN alert for an open outage (an atomic increment; nothing else changes)."""
	table = frappe.qb.DocType(OUTAGE)
	query = frappe.qb.update(table).set(table.down_beats, table.down_beats + 1).where(table.name == name)
	if detail:
		query = query.set(table.detail, detail[:500])
	query.run()


def resolve_outage(name: str, at, detail: str | None = None) -> bool:
	"""Close an open outage at ``at`` (its duration computed on save); False if already closed."""
	doc = frappe.get_doc(OUTAGE, name, for_update=True)
	if doc.status != "Open":
		return False
	doc.status = "Resolved"
	doc.resolved = max(get_datetime(at), get_datetime(doc.started))
	if detail:
		doc.detail = detail[:500]
	doc.flags.ignore_permissions = True
	doc.save()
	return True


def after_change(doc) -> None:
	"""Outage.on_update: queue the fan-out of a new open outage or of one just resolved
	(from a webhook, a sweep or the desk alike), and publish the change."""
	before = doc.get_doc_before_save()
	if doc.status == "Open" and (before is None or before.status != "Open"):
		enqueue_process(doc.name, "started")
	elif doc.status == "Resolved" and before is not None and before.status != "Resolved":
		enqueue_process(doc.name, "resolved")
	frappe.publish_realtime(
		REALTIME,
		{"outage": doc.name, "status": doc.status, "affected_customers": doc.affected_customers},
		doctype=OUTAGE,
		docname=doc.name,
		after_commit=True,
	)


def enqueue_process(name: str, phase: str) -> None:
	frappe.enqueue(
		"gigafibre_fsm.network.outages.process",
		queue="long",
		timeout=3600,
		job_id=f"gigafibre_fsm:outage:{name}:{phase}",
		deduplicate=True,
		enqueue_after_commit=True,
		outage=name,
		phase=phase,
	)


# -- the fan-out (background) ---------------------------------------------------------------


def process(outage: str, phase: str) -> dict:
	"""Job entry: the heavy part of an outage's start or end. Commits as it goes."""
	if frappe.session.user == "Guest":  # queued by the webhook: the work is the system's
		frappe.set_user("Administrator")
	if not frappe.db.exists(OUTAGE, outage):
		return {"skipped": "no such outage"}
	if phase == "started":
		return _started(outage)
	if phase == "resolved":
		return _resolved(outage)
	raise ValueError(phase)


def _started(name: str) -> dict:
	doc = frappe.get_doc(OUTAGE, name)
	if not doc.issue:
		issue = _open_issue(doc)
		frappe.db.set_value(OUTAGE, name, "issue", issue, update_modified=False)
	if not doc.customers_listed:
		count = list_affected_customers(doc)
		frappe.db.set_value(
			OUTAGE, name, {"affected_customers": count, "customers_listed": 1}, update_modified=False
		)
	frappe.db.commit()
	doc = frappe.get_doc(OUTAGE, name)
	from gigafibre_fsm.flows import fire

	fire(EVENT_STARTED, doc)
	told = 0
	if doc.status == "Open" and not doc.notified_started:
		told = _fire_customers(doc, EVENT_STARTED)
		frappe.db.set_value(OUTAGE, name, "notified_started", 1, update_modified=False)
	frappe.db.commit()
	return {"outage": name, "affected": doc.affected_customers, "runs": told}


def _resolved(name: str) -> dict:
	doc = frappe.get_doc(OUTAGE, name)
	if doc.issue:
		_resolve_issue(doc)
	from gigafibre_fsm.flows import fire

	fire(EVENT_RESOLVED, doc)
	told = 0
	if doc.notified_started and not doc.notified_resolved:
		told = _fire_customers(doc, EVENT_RESOLVED)
		frappe.db.set_value(OUTAGE, name, "notified_resolved", 1, update_modified=False)
	frappe.db.commit()
	return {"outage": name, "runs": told}


def _fire_customers(doc, event: str) -> int:
	"""Fire ``event`` on each affected Customer once for this outage (trigger keys dedupe a
	rerun); nothing loads when no enabled template listens."""
	from gigafibre_fsm.flows import fire, trigger_map

	if not trigger_map().get(f"Customer|{event}"):
		return 0
	runs = 0
	customers = frappe.get_all(
		OUTAGE_CUSTOMER,
		filters={"outage": doc.name},
		pluck="customer",
		order_by="customer",
		limit_page_length=0,
	)
	for i, customer in enumerate(customers, 1):
		if frappe.db.exists("Customer", customer):
			runs += len(fire(event, frappe.get_doc("Customer", customer), occurrence=doc.name))
		if i % COMMIT_EVERY == 0:
			frappe.db.commit()
	return runs


def affected_rows(network_element: str | None, pon_port: str | None) -> list[dict]:
	"""One row per customer whose equipment (not returned) hangs on the OLT and PON port."""
	if not network_element:
		return []
	filters = {"olt": network_element, "customer": ["is", "set"], "status": ["!=", "Returned"]}
	if pon_port:
		filters["pon_port"] = pon_port
	rows = frappe.get_all(
		EQP,
		filters=filters,
		fields=["name", "customer", "service_location"],
		order_by="name",
		limit_page_length=0,
	)
	seen, out = set(), []
	for r in rows:
		if r.customer not in seen:
			seen.add(r.customer)
			out.append(r)
	return out


def list_affected_customers(doc) -> int:
	rows = affected_rows(doc.network_element, doc.pon_port)
	if rows:
		now = now_datetime()
		user = frappe.session.user
		frappe.db.bulk_insert(
			OUTAGE_CUSTOMER,
			[
				"name",
				"creation",
				"modified",
				"modified_by",
				"owner",
				"docstatus",
				"idx",
				"outage",
				"customer",
				"service_location",
				"equipment",
			],
			[
				(
					_row_name(doc.name, r.customer),
					now,
					now,
					user,
					user,
					0,
					0,
					doc.name,
					r.customer,
					r.service_location,
					r.name,
				)
				for r in rows
			],
			ignore_duplicates=True,
		)
	return frappe.db.count(OUTAGE_CUSTOMER, {"outage": doc.name})


def _row_name(outage: str, customer: str) -> str:
	return hashlib.sha1(f"{outage}\x1f{customer}".encode()).hexdigest()[:20]


def _open_issue(doc) -> str:
	issue = frappe.new_doc("Issue")
	issue.subject = _("Outage {0}: {1}").format(doc.name, doc.title)[:140]
	scope = ", ".join(str(v) for v in (doc.network_element, doc.pon_port, doc.service, doc.monitor) if v)
	issue.description = _("Outage {0} since {1} ({2}). Last alert: {3}").format(
		doc.name, doc.started, scope or "-", doc.detail or "-"
	)
	if frappe.db.exists("Issue Priority", "High"):
		issue.priority = "High"
	issue.flags.ignore_permissions = True
	issue.flags.ignore_mandatory = True
	issue.insert()
	return issue.name


def _resolve_issue(doc) -> None:
	issue = frappe.get_doc("Issue", doc.issue)
	if issue.status in ("Resolved", "Closed"):
		return
	issue.status = "Resolved"
	if issue.meta.has_field("resolution_details") and not issue.get("resolution_details"):
		issue.resolution_details = _("Outage {0} ended at {1} after {2}.").format(
			doc.name, doc.resolved, rules.describe_duration(int(doc.duration or 0))
		)
	issue.flags.ignore_permissions = True
	issue.flags.ignore_mandatory = True
	issue.save()


# -- the OLT sweep ----------------------------------------------------------------------------


def apply_sweep(olt: str, alarms: list[tuple[dict, str]], known: dict[str, int], ok: bool) -> set[str]:
	"""One OLT's sweep: ports where many ONTs alarm become (or stay) one outage; open sweep
	outages of ports that are back are resolved. Returns the equipment names whose alarm the
	port outage covers (the caller raises no Issue for those)."""
	min_onts, min_share = pon_thresholds()
	verdicts = rules.pon_outages(
		(row["pon_port"] for row, _status in alarms), known, min_onts=min_onts, min_share=min_share
	)
	covered = set()
	now = now_datetime()
	whole_olt_out = frappe.db.exists(
		OUTAGE, {"status": "Open", "network_element": olt, "pon_port": ["is", "not set"]}
	)
	for port, verdict in verdicts.items():
		covered |= {row["name"] for row, _status in alarms if row["pon_port"] == port}
		if whole_olt_out:
			continue  # the OLT's own outage already covers the port
		key = f"pon:{olt}:{port}"
		if frappe.db.exists(OUTAGE, {"open_key": key}):
			frappe.db.set_value(
				OUTAGE, {"open_key": key}, "alarming_onts", verdict.alarming, update_modified=False
			)
			continue
		open_outage(
			key=key,
			title=_("PON port {0} of {1}: {2} of {3} ONTs in alarm").format(
				port, olt, verdict.alarming, verdict.known
			),
			source="OLT Sweep",
			started=now,
			network_element=olt,
			pon_port=port,
			alarming_onts=verdict.alarming,
			detail=_("{0} of {1} ONTs in alarm at the OLT sweep").format(verdict.alarming, verdict.known),
		)
	if ok:
		for name, port in frappe.get_all(
			OUTAGE,
			filters={"status": "Open", "source": "OLT Sweep", "network_element": olt},
			fields=["name", "pon_port"],
			as_list=True,
		):
			if port not in verdicts:
				resolve_outage(name, now, _("The ONTs of the port answer again"))
	return covered
