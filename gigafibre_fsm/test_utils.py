"""Factories for the Frappe integration tests (plain functions, unique names)."""

from __future__ import annotations

import json
from contextlib import contextmanager

import frappe

# Not a test module: Frappe's runner only imports files named test_*.py that hold
# tests; this one holds none (the name follows frappe/helpdesk's test_utils.py).


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


def make_user(roles: list[str], email: str | None = None):
	email = email or f"{unique('user').lower()}@example.com"
	user = frappe.get_doc(
		{"doctype": "User", "email": email, "first_name": "Test", "send_welcome_email": 0, "enabled": 1}
	).insert(ignore_permissions=True)
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


# -- browser tests: the site served from this process, driven in the system Chromium --

CHROMIUM = "/usr/bin/chromium"


def chromium_missing() -> str | None:
	"""Why a browser test cannot run here, or None."""
	import shutil

	if not shutil.which(CHROMIUM):
		return f"{CHROMIUM} is not installed (Debian's chromium package)"
	try:
		import playwright.sync_api  # noqa: F401
	except ImportError:
		return "the playwright Python package is not installed in the bench env"
	return None


def launch_chromium(playwright):
	from gigafibre_fsm.connectors.modem_bridge import CHROMIUM_ARGS

	return playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))


def free_port() -> int:
	import socket

	with socket.socket() as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


@contextmanager
def serve_site(site: str):
	"""The site's WSGI app on 127.0.0.1:<free port>, served by threads of this process
	(commit what the server must see first: it uses its own connections)."""
	import threading
	from unittest import mock

	import frappe.app
	from werkzeug.serving import WSGIRequestHandler, make_server

	class QuietHandler(WSGIRequestHandler):
		def log_request(self, *args, **kwargs):
			pass

	def app(environ, start_response):
		environ["HTTP_X_FRAPPE_SITE_NAME"] = site
		return frappe.app.application(environ, start_response)

	port = free_port()
	server = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietHandler)
	thread = threading.Thread(target=server.serve_forever, daemon=True)
	with mock.patch.object(frappe.app, "_sites_path", frappe.local.sites_path):
		thread.start()
		try:
			yield f"http://127.0.0.1:{port}"
		finally:
			server.shutdown()
			thread.join(10)
