"""Network scheduler jobs: fleet refresh from the GenieACS NBI, OLT optical sweeps,
alarms, and the retention of Device Diagnostics.

The scheduler entries only enqueue deduplicated long jobs (the fleet refresh and the OLT
sweep split into page / chunk jobs, so more workers shorten them); never poll the
fleet through connection requests (the NBI's stored values are read, paged on
_lastInform from where the previous refresh stopped).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import frappe
from frappe import _
from frappe.utils import add_to_date, now_datetime

from gigafibre_fsm.connectors.genieacs import GenieACSClient
from gigafibre_fsm.core.diagnostics import FLEET_PROJECTION, fleet_reading
from gigafibre_fsm.network import outages
from gigafibre_fsm.network.bulk import update_rows
from gigafibre_fsm.network.diagnose import equipment_values
from gigafibre_fsm.settings import get_settings

SINCE_KEY = "gigafibre_fsm:fleet_refresh_since"
SILENT_AFTER = timedelta(minutes=30)  # six missed informs at the usual 5 minutes
RETENTION_DAYS = 90
OLT_CHUNK = 10  # OLTs per sweep job, read in parallel by one worker (benchmarks/bench_olt_scale.py)
WALK_PAGE = 5000  # ids per NBI request of the walk (a page job takes page_size of them)
# ids per `$in` query of a page job: the query travels in the URL, and GenieACS's NBI (Node's
# HTTP server, 16 KB of headers by default) refuses longer ones; 150 ids of ~35 characters,
# escaped, stay near 7 KB
NBI_IDS_PER_QUERY = 150


def _enqueue(method: str):
	frappe.enqueue(method, queue="long", timeout=1800, job_id=f"gigafibre_fsm:{method}", deduplicate=True)


def _enqueue_part(method: str, kind: str, keys: list[str], **kwargs):
	"""One part of a split pass on the long queue; its job id is derived from ``keys`` (the
	same part is never queued twice while it waits or runs)."""
	digest = hashlib.sha1("\x1f".join(keys).encode()).hexdigest()[:16]
	frappe.enqueue(
		f"gigafibre_fsm.network.jobs.{method}",
		queue="long",
		timeout=600,
		job_id=f"gigafibre_fsm:{kind}:{digest}",
		deduplicate=True,
		**kwargs,
	)


def schedule_fleet_refresh():
	_enqueue("gigafibre_fsm.network.jobs.refresh_fleet")


def schedule_olt_sweep():
	"""Lists the enabled OLTs and enqueues their chunk jobs (a light query, no SNMP here)."""
	sweep_olts()


def refresh_fleet(page_size: int = 500, *, inline: bool = False) -> dict:
	"""The fleet pass: walk the ids of the devices that informed since the last pass (a light
	projection, keyset-paged on ``_lastInform``, WALK_PAGE ids per NBI request) and give each
	page of ``page_size`` ids to a ``refresh_fleet_page`` job on the long queue, so more workers
	on more machines shorten the pass. A page job is idempotent (the same ids give the same
	writes; its job id is derived from them, deduplicated). ``inline`` runs the pages here, one
	after another."""
	settings = get_settings().genieacs
	if not settings.configured:
		return {"skipped": "GenieACS is not configured"}
	since = frappe.cache.get_value(SINCE_KEY)
	last = since
	totals: Counter = Counter()
	with GenieACSClient(settings) as client:
		walk = client.iter_pages(projection=["_lastInform"], page_size=max(page_size, WALK_PAGE), since=since)
		for walked in walk:
			last = walked.devices[-1].get("_lastInform") or last
			totals["seen"] += len(walked.devices)
			for start in range(0, len(walked.devices), page_size):
				ids = [doc["_id"] for doc in walked.devices[start : start + page_size]]
				totals["pages"] += 1
				if inline:
					totals.update(refresh_fleet_page(ids, client=client))
					frappe.db.commit()  # a long job: keep each page's work
				else:
					_enqueue_part("refresh_fleet_page", "fleet_page", ids, ids=ids)
	if last:
		frappe.cache.set_value(SINCE_KEY, last)
	totals["alarms"] += flag_silent_cpes()
	return {"seen": 0, "pages": 0, "updated": 0, **totals}


def refresh_fleet_page(ids: list[str], client: GenieACSClient | None = None) -> dict:
	"""One page of the fleet pass: NBI queries for the page's devices (the refresh's
	projection, NBI_IDS_PER_QUERY ids each), the normaliser's lean path (core.diagnostics.fleet_reading: the stored fields
	only, by the full normaliser's rules), a few UPDATEs for the page's equipment (bulk.update_rows),
	alarms where due."""
	if client is None:
		with GenieACSClient(get_settings().genieacs) as own:
			return refresh_fleet_page(ids, client=own)
	ids = list(ids)
	docs = []
	for start in range(0, len(ids), NBI_IDS_PER_QUERY):  # the NBI reads its query from the URL
		part = ids[start : start + NBI_IDS_PER_QUERY]
		docs += client.query_devices({"_id": {"$in": part}}, FLEET_PROJECTION, limit=len(part)).devices
	rows = page_equipment(ids=[d["_id"] for d in docs])
	# devices not linked yet: by their serial (CWMP serial or serial number), in a second query
	linked = {r.acs_device_id for r in rows}
	serials = {_serial(d) for d in docs if d["_id"] not in linked} - {""}
	if serials:
		known = {r.name for r in rows}
		more = page_equipment(serials=list(serials | {s.lower() for s in serials}))
		rows += [r for r in more if r.name not in known]
	by_id = {r.acs_device_id: r for r in rows if r.acs_device_id}
	by_serial = {(r.cwmp_serial or r.serial_no or "").upper(): r for r in rows}
	now = datetime.now(UTC)
	updates: dict[str, dict] = {}
	alarms = 0
	for doc in docs:
		serial = _serial(doc)
		row = by_id.get(doc["_id"]) or by_serial.get(serial)
		if not row:
			continue
		data = fleet_reading(doc, now=now)  # the lean path: only what is stored below
		values = equipment_values(data)
		if not row.acs_device_id:
			values["acs_device_id"] = doc["_id"]
		updates[row.name] = values
		optical = data.get("optical") or {}
		if optical.get("status") in ("low", "los", "high"):
			alarms += raise_alarm(
				row,
				"on_optical_alarm",
				_("Optical signal {0} ({1} dBm)").format(optical["status"], optical.get("rx_dbm")),
			)
	update_rows("Service Equipment", updates)
	return {"updated": len(updates), "alarms": alarms}


def page_equipment(*, ids: list[str] | None = None, serials: list[str] | None = None) -> list:
	"""The equipment (not returned) of a page's devices: by ACS device id, or by serial."""
	if not ids and not serials:
		return []
	filters = {"status": ["!=", "Returned"]}
	if ids:
		filters["acs_device_id"] = ["in", ids]
	return frappe.get_all(
		"Service Equipment",
		filters=filters,
		or_filters=[["cwmp_serial", "in", serials], ["serial_no", "in", serials]] if serials else None,
		fields=["name", "acs_device_id", "cwmp_serial", "serial_no", "customer", "alarm_issue"],
		limit_page_length=0,
	)


def _serial(doc: dict) -> str:
	return ((doc.get("_deviceId") or {}).get("_SerialNumber") or "").upper()


def flag_silent_cpes(now=None) -> int:
	"""CPEs online that have not informed for SILENT_AFTER: offline, and an alarm."""
	cutoff = add_to_date(now or now_datetime(), minutes=-int(SILENT_AFTER.total_seconds() // 60))
	rows = frappe.get_all(
		"Service Equipment",
		filters={"last_online": 1, "last_inform": ["<", cutoff], "status": "Active"},
		fields=["name", "customer", "alarm_issue", "last_inform"],
		limit_page_length=0,
	)
	count = 0
	for row in rows:
		frappe.db.set_value("Service Equipment", row.name, "last_online", 0, update_modified=False)
		count += raise_alarm(
			row, "on_cpe_offline", _("No report from the modem since {0}").format(row.last_inform)
		)
	return count


def raise_alarm(row, event: str, detail: str) -> int:
	"""One open Issue per equipment at a time; the flow event fires on that Issue once."""
	if row.alarm_issue and frappe.db.get_value("Issue", row.alarm_issue, "status") not in (
		None,
		"Closed",
		"Resolved",
	):
		return 0
	issue = frappe.new_doc("Issue")
	issue.subject = _("Network alarm {0}: {1}").format(row.name, detail)
	issue.description = detail
	if row.customer and issue.meta.has_field("customer"):
		issue.customer = row.customer
	issue.flags.ignore_permissions = True
	issue.insert()
	frappe.db.set_value("Service Equipment", row.name, "alarm_issue", issue.name, update_modified=False)
	from gigafibre_fsm.flows import fire

	fire(event, issue)
	return 1


def sweep_olts(chunk_size: int = OLT_CHUNK, *, inline: bool = False) -> dict:
	"""The OLT sweep: list the enabled Network Elements and give each chunk of ``chunk_size``
	to a ``sweep_olts_chunk`` job on the long queue, so more workers shorten the sweep. A chunk
	job is idempotent (the same OLTs give the same writes; its job id is derived from their
	names, deduplicated). ``inline`` runs the chunks here, one after another."""
	names = frappe.get_all("Network Element", filters={"enabled": 1}, pluck="name", order_by="name asc")
	chunk_size = max(1, int(chunk_size))
	totals: Counter = Counter()
	for start in range(0, len(names), chunk_size):
		chunk = names[start : start + chunk_size]
		totals["chunks"] += 1
		if inline:
			done = sweep_olts_chunk(chunk)
			totals.update({key: done[key] for key in ("updated", "alarms")})
		else:
			_enqueue_part("sweep_olts_chunk", "olt_sweep", chunk, names=chunk)
	return {"olts": len(names), "chunks": 0, "updated": 0, "alarms": 0, **totals}


def sweep_olts_chunk(names: list[str]) -> dict:
	"""One chunk of the sweep: its OLTs read in parallel (a few requests in flight per OLT, one
	socket for all), then per OLT one UPDATE of its element, one of the equipment found at
	each (OLT, PON port, ONT id), its outages and alarms, and a commit."""
	from gigafibre_fsm.connectors.olt_snmp import sweep_sync
	from gigafibre_fsm.network.diagnose import olt_target

	elements = frappe.get_all(
		"Network Element", filters={"name": ["in", list(names)], "enabled": 1}, pluck="name"
	)
	if not elements:
		return {"olts": 0, "updated": 0, "alarms": 0}
	targets = [olt_target(frappe.get_doc("Network Element", n)) for n in elements]
	results = sweep_sync(targets, get_settings().snmp)
	equipment = defaultdict(dict)
	for r in frappe.get_all(
		"Service Equipment",
		filters={"olt": ["in", elements]},
		fields=["name", "olt", "pon_port", "ont_id", "customer", "alarm_issue"],
		limit_page_length=0,
	):
		equipment[r.olt][(r.pon_port, r.ont_id)] = r
	now = datetime.now(UTC)
	updated = alarms = 0
	for name, result in results.items():
		values = {
			"last_sweep_at": now_datetime(),
			"last_error": None,
			"last_sweep_onts": len(result.onts or []),
		}
		if not result.ok:
			values["last_error"] = (result.error or {}).get("message")
		frappe.db.set_value("Network Element", name, values, update_modified=False)
		in_alarm = []
		updates = {}
		for reading in result.onts or []:
			row = equipment[name].get((reading.location.pon, reading.ont))
			if not row:
				continue
			data = reading.to_diagnosis(now=now).to_dict()
			updates[row.name] = equipment_values(data)
			status = (data.get("optical") or {}).get("status")
			if status in ("low", "los", "high"):
				in_alarm.append((row, status))
		update_rows("Service Equipment", updates)
		updated += len(updates)
		# many ONTs of one PON port in alarm at once: one outage for the port, not an Issue each
		known = Counter(pon for pon, _ont in equipment[name])
		covered = outages.apply_sweep(name, in_alarm, known, ok=result.ok)
		for row, status in in_alarm:
			if row.name not in covered:
				alarms += raise_alarm(
					row, "on_optical_alarm", _("Optical signal {0} at the OLT").format(status)
				)
		frappe.db.commit()
	return {"olts": len(results), "updated": updated, "alarms": alarms}


def purge_diagnostics(days: int = RETENTION_DAYS) -> int:
	"""Keep Device Diagnostics for trends for ``days``; older ones are deleted."""
	cutoff = add_to_date(now_datetime(), days=-days)
	names = frappe.get_all(
		"Device Diagnostic", filters={"diagnosed_at": ["<", cutoff]}, pluck="name", limit_page_length=5000
	)
	for name in names:
		frappe.delete_doc("Device Diagnostic", name, ignore_permissions=True, force=True)
	return len(names)
