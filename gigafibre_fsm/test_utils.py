"""Factories for the Frappe integration tests (plain functions, unique names)."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager

import frappe

from gigafibre_fsm.testing import IntegrationTestCase

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
	from gigafibre_fsm.connectors.modem_chromium import CHROMIUM_ARGS

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


# -- HTTP tests: the site served by gunicorn, called as real users with API keys --------


def api_token(user: str) -> str:
	"""An API key and secret for ``user`` (committed by the caller), as the
	``Authorization: token <key>:<secret>`` value the Ops app sends."""
	doc = frappe.get_doc("User", user)
	doc.api_key = frappe.generate_hash(length=15)
	secret = frappe.generate_hash(length=15)
	doc.api_secret = secret
	doc.flags.ignore_permissions = True
	doc.save()
	return f"token {doc.api_key}:{secret}"


class ApiClient:
	"""One API user of the served site: ``call(method, **args)`` → (HTTP status, JSON body)."""

	def __init__(self, base: str, token: str | None, site: str):
		import requests

		self.base = base
		self.session = requests.Session()
		self.session.headers["X-Frappe-Site-Name"] = site
		self.session.headers["Accept"] = "application/json"
		if token:
			self.session.headers["Authorization"] = token

	def call(self, method: str, http: str = "POST", **args) -> tuple[int, dict]:
		url = f"{self.base}/api/method/{method}"
		if http == "GET":
			r = self.session.get(url, params=args, timeout=300)
		else:
			r = self.session.post(url, json=args, timeout=300)
		try:
			body = r.json()
		except ValueError:
			body = {"text": r.text[:500]}
		return r.status_code, body


def stop_process(proc, wait: float = 30) -> None:
	"""Stop a subprocess a test started: SIGTERM, then SIGKILL if it has not ended in ``wait`` s."""
	import subprocess

	proc.terminate()
	try:
		proc.wait(wait)
	except subprocess.TimeoutExpired:
		proc.kill()
		proc.wait(wait)


@contextmanager
def serve_gunicorn(workers: int = 4, timeout: int = 300, threads: int = 0):
	"""The site served as production serves it: ``gunicorn -w <workers> frappe.app:application
	--preload -t <timeout>`` started from the bench's sites folder with the bench's Python, on
	127.0.0.1:<free port>; clients name the site in X-Frappe-Site-Name. ``threads`` > 0
	runs gthread workers with that many threads each (``-k gthread --threads N``, as
	frappe_docker's image and Frappe Cloud's threaded benches do) instead of sync ones.
	It uses its own connections: commit what it must see first. Waits (up to 3 minutes,
	for a loaded machine) until the site answers."""
	import os
	import subprocess
	import sys
	import time

	import requests

	site = frappe.local.site
	sites = os.path.abspath(frappe.local.sites_path)
	port = free_port()
	log = open(os.path.join(sites, "..", "logs", f"test-gunicorn-{port}.log"), "w")
	proc = subprocess.Popen(
		[
			sys.executable,
			"-m",
			"gunicorn",
			"-b",
			f"127.0.0.1:{port}",
			"-w",
			str(workers),
			"-t",
			str(timeout),
			"--preload",
			*(["-k", "gthread", "--threads", str(threads)] if threads > 0 else []),
			"frappe.app:application",
		],
		cwd=sites,
		stdout=log,
		stderr=subprocess.STDOUT,
		env={**os.environ, "SITES_PATH": sites},
	)
	base = f"http://127.0.0.1:{port}"
	try:
		deadline = time.monotonic() + 180
		while True:
			if proc.poll() is not None:
				raise RuntimeError(f"gunicorn exited with {proc.returncode}: see {log.name}")
			try:
				r = requests.get(f"{base}/api/method/ping", headers={"X-Frappe-Site-Name": site}, timeout=30)
				if r.status_code == 200:
					break
			except requests.RequestException:
				pass
			if time.monotonic() > deadline:
				raise RuntimeError(f"gunicorn did not answer within 180 s: see {log.name}")
			time.sleep(0.5)
		yield base
	finally:
		stop_process(proc)
		log.close()


class GunicornTestCase(IntegrationTestCase):
	"""Integration tests that call the site over HTTP as real users: one gunicorn with 4
	workers for the class (starting it costs seconds on a loaded machine)."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls._server = serve_gunicorn(workers=4)
		cls.base = cls._server.__enter__()

	@classmethod
	def tearDownClass(cls):
		cls._server.__exit__(None, None, None)
		super().tearDownClass()

	def client(self, user: str | None) -> ApiClient:
		"""A client authenticated with the user's own API key (None: Guest)."""
		return ApiClient(self.base, api_token(user) if user else None, frappe.local.site)


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
