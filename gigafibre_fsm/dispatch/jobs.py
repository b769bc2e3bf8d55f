"""Dispatch scheduler entries: offer expiry and technician positions from Traccar."""

from __future__ import annotations

from datetime import UTC

import frappe
from frappe.utils import now_datetime
from frappe.utils.data import convert_utc_to_system_timezone

from gigafibre_fsm.dispatch import offer_pool


def expire_offers():
	return offer_pool.expire_offers(now_datetime())


def poll_positions():
	"""Latest position of every active technician with a Traccar device, polled in parallel
	(one device id per request), stored on the Technician and published."""
	from gigafibre_fsm.connectors import traccar
	from gigafibre_fsm.settings import get_settings

	settings = get_settings().traccar
	if not settings.configured:
		return 0
	rows = frappe.get_all(
		"Technician",
		filters={"active": 1, "traccar_device_id": ["is", "set"]},
		fields=["name", "traccar_device_id", "user"],
	)
	if not rows:
		return 0
	results = traccar.positions_for(settings, [r.traccar_device_id for r in rows])
	updated = 0
	for row in rows:
		pos = results.get(row.traccar_device_id)
		if not isinstance(pos, traccar.Position):
			continue
		values = {
			"last_latitude": pos.lat,
			"last_longitude": pos.lon,
			"last_speed_kmh": pos.speed_kmh,
			"last_position_at": convert_utc_to_system_timezone(
				pos.fix_time.astimezone(UTC).replace(tzinfo=None)
			).replace(tzinfo=None)
			if pos.fix_time
			else now_datetime(),
		}
		frappe.db.set_value("Technician", row.name, values, update_modified=False)
		payload = {
			"technician": row.name,
			**{k: str(v) if k == "last_position_at" else v for k, v in values.items()},
		}
		frappe.publish_realtime(
			"gigafibre_fsm:technician_position",
			payload,
			doctype="Technician",
			docname=row.name,
			after_commit=True,
		)
		updated += 1
	return updated


HORIZON_DAYS = 14


def generate_recurring_jobs(now=None, horizon_days: int = HORIZON_DAYS) -> int:
	"""Create the occurrences of recurring jobs over the next ``horizon_days`` (site time zone,
	DST-correct), once each: an occurrence exists when a job with the same recurrence_parent
	and scheduled_start exists. The technician is kept (Assigned) when the template had one."""
	from datetime import timedelta

	from frappe.utils import get_datetime, getdate

	from gigafibre_fsm.core.dispatch.recurrence import occurrences

	now = get_datetime(now or now_datetime()).replace(tzinfo=None)
	until = now + timedelta(days=horizon_days)
	created = 0
	job = frappe.qb.DocType("Dispatch Job")
	templates = [
		r[0]
		for r in (
			frappe.qb.from_(job)
			.select(job.name)
			.where(
				job.recurrence_rule.isnotnull()
				& (job.recurrence_rule != "")
				& (job.recurrence_parent.isnull() | (job.recurrence_parent == ""))
				& (job.status != "Cancelled")
				& job.scheduled_start.isnotnull()
			)
		).run()
	]
	for name in templates:
		tpl = frappe.get_doc("Dispatch Job", name)
		first = get_datetime(tpl.scheduled_start)
		existing = set(
			get_datetime(s)
			for s in frappe.get_all(
				"Dispatch Job", filters={"recurrence_parent": tpl.name}, pluck="scheduled_start"
			)
		)
		existing.add(first)
		exdates = [getdate(d.strip()) for d in (tpl.recurrence_exdates or "").splitlines() if d.strip()]
		for start in occurrences(
			tpl.recurrence_rule, first, max(now, first), until, exdates=exdates, naive=True
		):
			if start in existing:
				continue
			job = frappe.copy_doc(tpl)
			job.recurrence_rule = None
			job.recurrence_parent = tpl.name
			job.scheduled_start = start
			job.status = "Assigned" if tpl.technician else "Draft"
			job.actual_start = job.actual_end = None
			job.flags.ignore_permissions = True
			job.insert()
			created += 1
	return created
