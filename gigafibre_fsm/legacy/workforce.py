"""Staff (staff → Employee, and Technician for those who worked orders) and work orders
(bon_travail → Dispatch Job: the history, Completed or Cancelled, and what is still planned).

- Every staff row becomes an Employee (``legacy_staff_id``; Active, or Inactive: the legacy system
  kept no relieving date). Its gender and birth date are left empty (the legacy system never held
  them; the first edit in the desk asks for them). No User is made and no password read: the
  staff who logged into the PHP app (``is_user``) are counted in the report, to be invited.
- A staff member named by a work order is a technician: a Technician linked to the Employee.
- A work order becomes a Dispatch Job linked to its customer, Service Location, Technician and
  (for a repair from a ticket) Issue. Its planned day becomes an 08:00–17:00 window, the job placed
  at 08:00; done and cancelled orders are marked processed (finishing a legacy job must not
  activate subscriptions or invoice again). A planned order with no technician, or left open long
  after its day, becomes a Draft for a dispatcher (core.legacy.mapping.work_order_status).

Both are written with multi-row INSERTs, batch by batch with the checkpoint, like the other steps.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import frappe

from gigafibre_fsm.core.legacy import mapping
from gigafibre_fsm.legacy import bulk

FIRST_DAY = date(2012, 1, 1)
DAY_START, DAY_END, DURATION = time(8, 0), time(17, 0), 60


def _company(imp) -> str | None:
	if getattr(imp, "ctx", None):
		return imp.ctx.company
	from gigafibre_fsm.customers.billing_book import default_company

	return default_company()


def _technician_staff(imp) -> set[int]:
	with imp.conn.cursor() as cur:
		cur.execute("SELECT DISTINCT staff_id FROM bon_travail WHERE staff_id IS NOT NULL AND staff_id > 0")
		return {int(r[0]) for r in cur.fetchall()}


def _technician_rows(template: dict, names: list[str], staff: list[tuple[int, str, str, int]]) -> list:
	"""Technician rows for (staff id, employee, name, active) tuples."""
	return [
		{**template, "name": name, "technician_name": title, "employee": employee, "active": active,
		 "legacy_staff_id": str(staff_id)}
		for name, (staff_id, employee, title, active) in zip(names, staff, strict=True)
	]  # fmt: skip


# -- staff ------------------------------------------------------------------------------------
def staff(imp) -> None:
	technicians = _technician_staff(imp)
	employee_t = bulk.template_row("Employee", company=_company(imp), status="Active")
	technician_t = bulk.template_row("Technician", active=1)
	series = employee_t.get("naming_series") or "HR-EMP-"
	logins = 0
	columns = "id, username, first_name, last_name, email, is_user, active, date_created"
	for batch in imp.batches_of("staff", columns):
		have = bulk.existing("Employee", "legacy_staff_id", [r["id"] for r in batch])
		fresh = [r for r in batch if str(r["id"]) not in have]
		names = bulk.reserve_names(series, len(fresh))
		employees, techs = [], []
		for name, r in zip(names, fresh, strict=True):
			first = (
				mapping.repair_text(r["first_name"]) or mapping.blank(r["username"]) or f"Employé {r['id']}"
			)
			last = mapping.repair_text(r["last_name"])
			mail = mapping.email(r["email"])
			title = " ".join(p for p in (first, last) if p)
			employees.append(
				{
					**employee_t,
					"name": name,
					"employee": name,
					"first_name": first,
					"last_name": last,
					"employee_name": title,
					"status": mapping.staff_status(r["active"]),
					"date_of_joining": mapping.legacy_date(r["date_created"], today=imp.today) or FIRST_DAY,
					"company_email": mail,
					"prefered_contact_email": "Company Email" if mail else None,
					"prefered_email": mail,
					"lft": 0,
					"rgt": 0,
					"legacy_staff_id": str(r["id"]),
				}
			)
			logins += 1 if r["is_user"] else 0
			if r["id"] in technicians:
				techs.append((r["id"], name, title, 1 if r["active"] else 0))
		written = bulk.insert_rows("Employee", employees)
		tech_rows = _technician_rows(technician_t, bulk.reserve_names("TECH-.#####", len(techs)), techs)
		bulk.insert_rows("Technician", tech_rows)
		if employees:
			from frappe.utils.nestedset import rebuild_tree

			rebuild_tree("Employee")
		imp.count("staff", "Employee", read=len(batch), written=written, skipped=len(batch) - written)
		imp.count("staff", "Technician", written=len(tech_rows))
	if logins:
		imp.report["staff_logins_not_imported"] = logins


def _ensure_technicians(imp, staff_ids: set[int], technicians: dict[int, str]) -> None:
	"""Technicians for staff already imported as Employees but first named by a work order now
	(a delta run); ``technicians`` is updated in place."""
	wanted = [str(i) for i in staff_ids if i and i not in technicians]
	if not wanted:
		return
	found = frappe.get_all(
		"Employee",
		filters={"legacy_staff_id": ["in", wanted]},
		fields=["name", "employee_name", "status", "legacy_staff_id"],
	)
	staff = [(int(e.legacy_staff_id), e.name, e.employee_name, int(e.status == "Active")) for e in found]
	rows = _technician_rows(
		bulk.template_row("Technician", active=1), bulk.reserve_names("TECH-.#####", len(staff)), staff
	)
	bulk.insert_rows("Technician", rows)
	technicians.update({int(r["legacy_staff_id"]): r["name"] for r in rows})
	imp.count("bon_travail", "Technician", written=len(rows))


# -- work orders ------------------------------------------------------------------------------
def work_orders(imp) -> None:
	customers = imp.lookup("Customer", "legacy_account_id")
	locations = imp.lookup("Service Location", "legacy_delivery_id")
	technicians = imp.lookup("Technician", "legacy_staff_id")
	issues = imp.lookup("Issue", "legacy_ticket_id")
	template = bulk.template_row("Dispatch Job", duration_minutes=DURATION)
	findings: dict[str, int] = {}

	def found(what: str) -> None:
		findings[what] = findings.get(what, 0) + 1

	columns = "id, account_id, delivery_id, ticket_id, type, status, date_planned, date_done, staff_id, note"
	for batch in imp.batches_of("bon_travail", columns, label="work orders"):
		have = bulk.existing("Dispatch Job", "legacy_work_order_id", [r["id"] for r in batch])
		fresh = [r for r in batch if str(r["id"]) not in have]
		_ensure_technicians(imp, {r["staff_id"] for r in fresh}, technicians)
		names = bulk.reserve_names("DJ-.#####", len(fresh))
		rows = []
		for name, r in zip(names, fresh, strict=True):
			technician = technicians.get(r["staff_id"])
			planned = mapping.legacy_date(r["date_planned"], today=date.max)
			status = mapping.work_order_status(r["status"], bool(technician), planned, imp.today)
			job_type = mapping.work_order_type(r["type"])
			done = r["date_done"] if isinstance(r["date_done"], datetime) else None
			if done and not (FIRST_DAY.year <= done.year and done.date() <= imp.today):
				done = None
			if technician is None and r["staff_id"]:
				found("unknown technician")
			elif technician is None:
				found("no technician")
			if status == "Draft" and technician:
				found("left open after its day: Draft")
			if status == "Completed" and done is None:
				found("completed without a date")
			start = datetime.combine(planned, DAY_START) if planned else None
			issue = issues.get(r["ticket_id"])
			rows.append(
				{
					**template,
					"name": name,
					"job_type": job_type,
					"status": status,
					"customer": customers.get(r["account_id"]),
					"service_location": locations.get(r["delivery_id"]),
					"subject": f"Bon de travail {r['id']} ({job_type})",
					"window_start": start,
					"window_end": datetime.combine(planned, DAY_END) if planned else None,
					"scheduled_start": start,
					"scheduled_end": start + timedelta(minutes=DURATION) if start else None,
					"technician": technician,
					"actual_end": done,
					"completion_processed": 1 if status in ("Completed", "Cancelled") else 0,
					"notes": mapping.repair_text(r["note"]),
					"source_type": "Issue" if issue else "Manual",
					"issue": issue,
					"legacy_work_order_id": str(r["id"]),
				}
			)
		written = bulk.insert_rows("Dispatch Job", rows)
		imp.count(
			"bon_travail", "Dispatch Job", read=len(batch), written=written, skipped=len(batch) - written
		)
	if findings:
		imp.report.setdefault("work_orders", {}).update(findings)


# -- verify -----------------------------------------------------------------------------------
def checks(conn, today: date) -> dict[str, dict]:
	"""``verify``'s staff and work order checks: every legacy row imported once, technicians as the
	work orders name them, the history (done, cancelled) per job type to the row, the planned ones
	as a total (whether one is Draft or Assigned depends on the day of the import)."""
	with conn.cursor() as cur:
		cur.execute("SELECT id FROM staff")
		staff_ids = {int(r[0]) for r in cur.fetchall()}
		cur.execute("SELECT id, account_id, type, status, date_planned, staff_id FROM bon_travail")
		orders = cur.fetchall()
	employees = frappe.get_all(
		"Employee", filters={"legacy_staff_id": ["is", "set"]}, fields=["legacy_staff_id", "user_id"], limit=0
	)
	technicians = set(
		frappe.get_all(
			"Technician", filters={"legacy_staff_id": ["is", "set"]}, pluck="legacy_staff_id", limit=0
		)
	)
	named = {int(r[5]) for r in orders if r[5] in staff_ids}
	staff_diffs = [
		f"staff {i} not imported" for i in sorted(staff_ids - {int(e.legacy_staff_id) for e in employees})
	]
	staff_diffs += [
		f"staff {i} works orders but is no Technician" for i in sorted(named - {int(t) for t in technicians})
	]
	staff_diffs += [f"Employee of staff {e.legacy_staff_id} has a login" for e in employees if e.user_id]

	def key(job_type: str, status: str) -> str:
		return f"{job_type} {'Planned' if status in ('Assigned', 'Draft') else status}"

	legacy: dict[str, int] = {}
	with_technician = 0
	for _id, _account, kind, code, planned, staff_id in orders:
		has = staff_id in named
		with_technician += has
		status = mapping.work_order_status(code, has, mapping.legacy_date(planned, today=date.max), today)
		k = key(mapping.work_order_type(kind), status)
		legacy[k] = legacy.get(k, 0) + 1
	ours: dict[str, int] = {}
	jobs = frappe.get_all(
		"Dispatch Job",
		filters={"legacy_work_order_id": ["is", "set"]},
		fields=["job_type", "status", "technician"],
		limit=0,
	)
	for job in jobs:
		k = key(job.job_type, job.status)
		ours[k] = ours.get(k, 0) + 1
	job_diffs = [
		f"{k}: legacy {legacy.get(k, 0)} vs ERPNext {ours.get(k, 0)}"
		for k in sorted(set(legacy) | set(ours))
		if legacy.get(k, 0) != ours.get(k, 0)
	]
	linked = sum(1 for j in jobs if j.technician)
	if linked != with_technician:
		job_diffs.append(f"jobs with a technician: legacy {with_technician} vs ERPNext {linked}")
	return {
		"staff": {
			"legacy": len(staff_ids),
			"employees": len(employees),
			"technicians": len(technicians),
			"differences": staff_diffs,
		},
		"work_orders": {
			"legacy": len(orders),
			"imported": len(jobs),
			"with_technician": linked,
			"differences": job_diffs,
		},
	}
