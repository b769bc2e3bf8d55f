"""Factories for the Frappe integration tests (plain functions, unique names)."""

from __future__ import annotations

import json
import os
from datetime import datetime, time

import frappe
from frappe.utils import add_days, getdate

# Not a test module: Frappe's runner only imports files named test_*.py that hold
# tests; this one holds none (the name follows frappe/helpdesk's test_utils.py).


def random_phone(area: str = "514") -> str:
	"""A random E.164 cell number: 8 million per area code, because the test site keeps the
	customers and SMS consents of earlier runs (a number met again would be someone else's)."""
	n = int.from_bytes(os.urandom(4), "big")
	return f"+1{area}{200 + n % 800:03d}{(n // 800) % 10000:04d}"


def before_tests() -> None:
	"""run-tests' hook (after ERPNext's): calendar fiscal years from last year to next, so a
	test may book last month or bill next month whatever today is (before_tests makes only
	this year's)."""
	from gigafibre_fsm.fiscal_years import ensure_calendar_years

	year = frappe.utils.getdate().year
	ensure_calendar_years(year - 1, year + 1)
	frappe.db.commit()


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
	"""Tomorrow at ``hour``:``minute``, site time (naive, as Frappe stores datetimes)."""
	return datetime.combine(add_days(getdate(), 1), time(hour, minute))


def unique(prefix: str) -> str:
	return f"{prefix}-{frappe.generate_hash(length=8)}"


def make_customer(**kw):
	doc = frappe.get_doc(
		{
			"doctype": "Customer",
			"customer_name": kw.pop("customer_name", unique("Client")),
			"customer_type": "Individual",
			"customer_group": frappe.db.get_value("Customer Group", {"is_group": 0}, "name"),
			"territory": frappe.db.get_value("Territory", {"is_group": 0}, "name"),
			**kw,
		}
	)
	return doc.insert(ignore_permissions=True)


def make_contract(customer=None, **kw):
	return frappe.get_doc(
		{
			"doctype": "Service Contract",
			"customer": customer or make_customer().name,
			"contract_type": kw.pop("contract_type", "Residential"),
			**kw,
		}
	).insert(ignore_permissions=True)


def default_company() -> str:
	return frappe.defaults.get_user_default("Company") or frappe.db.get_single_value(
		"Global Defaults", "default_company"
	)


def make_item(*, down: int = 0, up: int = 0, stock: bool = False, name: str = "Item") -> str:
	"""An Item; with a download speed it is an internet plan (the custom field install.py adds)."""
	code = unique(name)
	frappe.get_doc(
		{
			"doctype": "Item",
			"item_code": code,
			"item_name": code,
			"item_group": frappe.db.get_value("Item Group", {"is_group": 0}, "name"),
			"stock_uom": "Nos",
			"is_stock_item": int(stock),
			"gigafibre_down_mbps": down,
			"gigafibre_up_mbps": up,
		}
	).insert(ignore_permissions=True)
	return code


def make_quotation(customer: str, lines: list[tuple[str, float, float]], submit: bool = True, **kw):
	"""A Quotation of ``customer``; ``lines``: (item, price list rate, rate), a rate of 0 quoted
	as a 100 % discount."""
	items = []
	for item, listed, rate in lines:
		row = {"item_code": item, "qty": 1, "price_list_rate": listed, "rate": rate}
		if not rate:
			row["discount_percentage"] = 100
		items.append(row)
	doc = frappe.get_doc(
		{
			"doctype": "Quotation",
			"quotation_to": "Customer",
			"party_name": customer,
			"company": default_company(),
			"transaction_date": frappe.utils.getdate(),
			"valid_till": frappe.utils.add_days(frappe.utils.getdate(), 30),
			"items": items,
			**kw,
		}
	).insert(ignore_permissions=True)
	if submit:
		doc.submit()
	return doc


def make_plan_item(code: str = "_GF Fibre 100", name: str = "Fibre 100") -> str:
	"""A non-stock service Item (an internet plan), made once."""
	if not frappe.db.exists("Item", code):
		frappe.get_doc(
			{
				"doctype": "Item",
				"item_code": code,
				"item_name": name,
				"item_group": frappe.db.get_value("Item Group", {"is_group": 0}, "name"),
				"stock_uom": "Nos",
				"is_stock_item": 0,
			}
		).insert(ignore_permissions=True)
	return code


def make_subscription(customer: str, status: str = "En attente", **kw):
	return frappe.get_doc(
		{
			"doctype": "Service Subscription",
			"customer": customer,
			"plan": kw.pop("plan", None) or make_plan_item(),
			"monthly_price": kw.pop("monthly_price", 39.95),
			"status": status,
			**kw,
		}
	).insert(ignore_permissions=True)


def make_user(roles: list[str], email: str | None = None):
	"""A user holding exactly ``roles``. Inserted as an import: Frappe refuses a 61st user
	within an hour otherwise (``throttle_user_creation``), and the HTTP tests make many."""
	email = email or f"{unique('user').lower()}@example.com"
	importing = frappe.flags.in_import
	frappe.flags.in_import = True
	try:
		user = frappe.get_doc(
			{"doctype": "User", "email": email, "first_name": "Test", "send_welcome_email": 0, "enabled": 1}
		).insert(ignore_permissions=True)
	finally:
		frappe.flags.in_import = importing
	user.add_roles(*roles)
	return user


def step(sid, kind, config=None, deps=(), label=None, parent=None, condition=None) -> dict:
	return {
		"step_id": sid,
		"label": label or f"Step {sid}",
		"kind": kind,
		"config": json.dumps(config or {}),
		"depends_on": json.dumps(list(deps)),
		"parent_step": parent,
		"condition": json.dumps(condition) if condition else None,
	}


def make_template(steps: list[dict], **kw):
	return frappe.get_doc(
		{
			"doctype": "Flow Template",
			"title": kw.pop("title", unique("Flow")),
			"category": kw.pop("category", "Project"),
			"kind": kw.pop("kind", "other_project"),
			"applies_to": kw.pop("applies_to", "Service Contract"),
			"trigger_event": kw.pop("trigger_event", "manual"),
			"enabled": kw.pop("enabled", 1),
			"steps": steps,
			**kw,
		}
	).insert(ignore_permissions=True)


def make_skill(name: str) -> str:
	if not frappe.db.exists("Dispatch Skill", name):
		frappe.get_doc({"doctype": "Dispatch Skill", "skill_name": name}).insert(ignore_permissions=True)
	return name


def make_technician(
	*, skills=None, day=None, user=None, phone="+15145550100", home=(45.16, -73.68), shifts=None
):
	"""A technician working 08:00-17:00 every day from ``day`` (a date), unless shifts are given."""
	from datetime import datetime, time, timedelta

	day = day or frappe.utils.getdate()
	rows = shifts
	if rows is None:
		start = datetime.combine(day, time(8, 0))
		rows = [{"kind": "Regular", "start": start, "end": start + timedelta(hours=9), "rrule": "FREQ=DAILY"}]
	return frappe.get_doc(
		{
			"doctype": "Technician",
			"technician_name": unique("Tech"),
			"user": user,
			"phone": phone,
			"home_latitude": home[0],
			"home_longitude": home[1],
			"skills": [{"skill": make_skill(s), "level": lvl} for s, lvl in (skills or {}).items()],
			"shifts": rows,
		}
	).insert(ignore_permissions=True)


def make_location(customer=None, lat=45.17, lon=-73.66):
	return frappe.get_doc(
		{
			"doctype": "Service Location",
			"customer": customer,
			"address_line": unique("123 rue Principale"),
			"city": "Sainte-Clotilde",
			"latitude": lat,
			"longitude": lon,
		}
	).insert(ignore_permissions=True)


def make_job(**kw):
	skills = kw.pop("skills", {})
	doc = frappe.get_doc(
		{
			"doctype": "Dispatch Job",
			"job_type": kw.pop("job_type", "Repair"),
			"duration_minutes": kw.pop("duration_minutes", 60),
			"subject": kw.pop("subject", unique("Job")),
			"required_skills": [{"skill": make_skill(s), "min_level": lvl} for s, lvl in skills.items()],
			**kw,
		}
	)
	return doc.insert(ignore_permissions=True)


def settings_for_update():
	"""Gigafibre Settings read with a locking read: other tests commit it from other
	connections (browser and concurrency tests), and a plain read inside an older
	snapshot would fail the save with TimestampMismatchError."""
	return frappe.get_doc("Gigafibre Settings", "Gigafibre Settings", for_update=True)


def ensure_outgoing_email() -> None:
	"""A default outgoing Email Account, so that frappe.sendmail can queue (a site made without the
	setup wizard's e-mail step has none; nothing is sent from tests: the queue is not flushed)."""
	if frappe.db.exists("Email Account", {"enable_outgoing": 1, "default_outgoing": 1}):
		return
	frappe.get_doc(
		{
			"doctype": "Email Account",
			"email_account_name": unique("Gigafibre tests"),
			"email_id": f"{unique('outgoing').lower()}@example.com",
			"enable_outgoing": 1,
			"default_outgoing": 1,
			"smtp_server": "127.0.0.1",
			"no_smtp_authentication": 1,
		}
	).insert(ignore_permissions=True)


def use_fake_twilio(peer) -> None:
	"""Point Gigafibre Settings' Twilio at a running FakeTwilio peer."""
	settings = settings_for_update()
	settings.update(
		{
			"twilio_account_sid": peer.account_sid,
			"twilio_auth_token": peer.auth_token,
			"twilio_from_number": "+14505550100",
			"twilio_api_base": peer.url,
		}
	)
	settings.save()


def flow_jobs_in_queue(run: str) -> list[str]:
	"""Ids of the jobs waiting in the flow queue that would advance ``run``: its single-run
	job and the batch jobs that hold it (a duplicate shows as two ids)."""
	from frappe.utils.background_jobs import create_job_id, get_queue
	from rq.job import Job

	from gigafibre_fsm.flows import batches, runtime

	queue = get_queue(runtime.queue())
	ids = queue.get_job_ids()
	single = create_job_id(runtime.job_id(run))
	found = [i for i in ids if i == single]
	prefix = create_job_id("gigafibre_fsm:flow_batch:")
	batch_ids = [i for i in ids if i.startswith(prefix)]
	for i, job in zip(batch_ids, Job.fetch_many(batch_ids, connection=queue.connection), strict=True):
		if (
			job is not None
			and job.kwargs.get("method") == batches.METHOD
			and run in job.kwargs["kwargs"]["runs"]
		):
			found.append(i)
	return found


def drop_flow_jobs(run: str) -> None:
	"""Remove ``run``'s single-run job and its batch job (with the batch's marker) from Redis."""
	from gigafibre_fsm.flows import batches

	batches.drop_jobs([run])
