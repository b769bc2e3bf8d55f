"""What the desk's browser tests share: the site served from the test process with its built
assets, the demo ISP and the fake peers the package ships (GenieACS NBI, snmpd OLT agents,
TP-Link, Traccar: loopback servers that speak those systems' documented APIs), users of each
role in French or English, and Playwright driving Debian's /usr/bin/chromium. Screenshots go to
$GF_SCREENSHOTS (default /tmp/gf-desk-screens)."""

import os
import threading
import time
from contextlib import contextmanager

import frappe
from frappe.utils import add_days, getdate
from frappe.utils.password import update_password

from gigafibre_fsm.gigafibre_integrations import demo, demo_peers
from gigafibre_fsm.test_utils import make_user, settings_for_update
from gigafibre_fsm.testing import IntegrationTestCase
from gigafibre_fsm.testing_http import chromium_missing, free_port, launch_chromium, stop_process

SHOTS = os.environ.get("GF_SCREENSHOTS", "/tmp/gf-desk-screens")
PASSWORD = "Gf-desk-Test-2026!"
SETTINGS = ("genieacs_nbi_url", "traccar_url", "modem_bridge_enabled", "snmp_timeout", "snmp_retries")
# Console noise that is not a fault of these pages: the realtime socket (no socket.io server in
# this test) and the HTTP status of a refusal the page shows in place (409/417 by design).
NOISE = ("socket.io", "ERR_CONNECTION_REFUSED", "status of 409", "status of 417", "WebSocket")


HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "content-length"}


@contextmanager
def realtime_server(sites: str):
	"""Frappe's own realtime server (apps/frappe/socketio.js, node) on a free port, reading the
	bench's redis from common_site_config.json as in production; yields its port."""
	import shutil
	import socket
	import subprocess

	bench = os.path.dirname(sites)
	port = free_port()
	env = dict(os.environ, FRAPPE_BENCH_ROOT=bench, FRAPPE_SOCKETIO_PORT=str(port))
	log = open(os.path.join(SHOTS, "socketio.log"), "w")
	proc = subprocess.Popen(
		[shutil.which("node") or "node", os.path.join(bench, "apps", "frappe", "socketio.js")],
		cwd=bench,
		env=env,
		stdout=log,
		stderr=subprocess.STDOUT,
	)
	try:
		deadline = time.monotonic() + 120
		while True:
			try:
				socket.create_connection(("127.0.0.1", port), timeout=2).close()
				break
			except OSError:
				if proc.poll() is not None or time.monotonic() > deadline:
					raise RuntimeError(f"the realtime server did not start (see {log.name})") from None
				time.sleep(0.3)
		yield port
	finally:
		stop_process(proc, 20)
		log.close()


def socketio_proxy(site: str, port: int):
	"""What nginx does in production: /socket.io/ on the desk's origin goes to the realtime
	server, with the site's name. HTTP long-polling only: a WebSocket upgrade is answered 400
	(werkzeug's server cannot hand over the socket), and socket.io stays on polling."""
	import http.client

	def proxy(environ, start_response):
		if environ.get("HTTP_UPGRADE"):
			start_response("400 Bad Request", [("Content-Type", "text/plain")])
			return [b"no websocket upgrade in the test server"]
		headers = {
			key[5:].replace("_", "-").title(): value
			for key, value in environ.items()
			if key.startswith("HTTP_") and key[5:].lower().replace("_", "-") not in HOP_BY_HOP
		}
		# as bench's nginx config: the site's name, and an Origin (a browser sends none on a
		# same-origin GET, and the realtime server refuses a handshake without one)
		headers["X-Frappe-Site-Name"] = site
		headers["Origin"] = f"{environ.get('wsgi.url_scheme', 'http')}://{environ['HTTP_HOST']}"
		if environ.get("CONTENT_TYPE"):
			headers["Content-Type"] = environ["CONTENT_TYPE"]
		length = int(environ.get("CONTENT_LENGTH") or 0)
		body = environ["wsgi.input"].read(length) if length else None
		path = environ["PATH_INFO"] + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else "")
		conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
		try:
			conn.request(environ["REQUEST_METHOD"], path, body=body, headers=headers)
			response = conn.getresponse()
			data = response.read()
		finally:
			conn.close()
		kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
		start_response(f"{response.status} {response.reason}", [*kept, ("Content-Length", str(len(data)))])
		return [data]

	return proxy


@contextmanager
def serve_desk(site: str, socketio_port: int | None = None):
	"""The site's WSGI app with /assets and /files (as `bench serve`), on 127.0.0.1:<port>;
	with ``socketio_port``, /socket.io/ proxied to that realtime server."""
	from unittest import mock

	import frappe.app
	from frappe.middlewares import StaticDataMiddleware
	from werkzeug.middleware.shared_data import SharedDataMiddleware
	from werkzeug.serving import WSGIRequestHandler, make_server

	class QuietHandler(WSGIRequestHandler):
		def log_request(self, *args, **kwargs):
			pass

	sites = os.path.abspath(frappe.local.sites_path)

	proxy = socketio_proxy(site, socketio_port) if socketio_port else None

	def app(environ, start_response):
		if proxy and environ.get("PATH_INFO", "").startswith("/socket.io/"):
			return proxy(environ, start_response)
		environ["HTTP_X_FRAPPE_SITE_NAME"] = site
		return frappe.app.application(environ, start_response)

	wrapped = SharedDataMiddleware(app, {"/assets": os.path.join(sites, "assets")})
	wrapped = StaticDataMiddleware(wrapped, {"/files": sites})
	port = free_port()
	server = make_server("127.0.0.1", port, wrapped, threaded=True, request_handler=QuietHandler)
	thread = threading.Thread(target=server.serve_forever, daemon=True)
	with mock.patch.object(frappe.app, "_sites_path", sites):
		thread.start()
		try:
			yield f"http://127.0.0.1:{port}"
		finally:
			server.shutdown()
			thread.join(10)


def next_weekday(days: int = 1):
	day = add_days(getdate(), days)
	while day.weekday() >= 5:
		day = add_days(day, 1)
	return day


class DeskBrowserCase(IntegrationTestCase):
	realtime = False  # True: Frappe's realtime server runs behind the desk's origin

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.missing = chromium_missing()
		if cls.missing:
			return
		os.makedirs(SHOTS, exist_ok=True)
		cls.own_demo = not demo.read_manifest()
		if cls.own_demo:
			demo.load(customers=30, technicians=4, force=True)
		settings = settings_for_update()
		cls.saved_settings = {f: settings.get(f) for f in SETTINGS}
		frappe.db.commit()
		cls.peers = demo_peers.start()
		cls.users = {}
		for key, roles, lang in (
			("dispatcher", ["Dispatcher"], "en"),
			# Sales User: a flow on Customers is dry-run against a Customer the manager may read
			("manager", ["FSM Manager", "Dispatcher", "Sales User"], "fr"),
			("manager_en", ["FSM Manager", "Dispatcher", "Sales User"], "en"),
			("service", ["Customer Service", "Sales User", "Support Team"], "fr"),
			("service_en", ["Customer Service", "Sales User", "Support Team"], "en"),
		):
			user = make_user(roles)
			frappe.db.set_value("User", user.name, "language", lang)
			update_password(user.name, PASSWORD)
			cls.users[key] = user.name
		frappe.db.commit()
		cls.socketio = realtime_server(os.path.abspath(frappe.local.sites_path)) if cls.realtime else None
		port = cls.socketio.__enter__() if cls.socketio else None
		cls.server = serve_desk(frappe.local.site, socketio_port=port)
		cls.base = cls.server.__enter__()
		from playwright.sync_api import sync_playwright

		cls.pw = sync_playwright().start()
		cls.browser = launch_chromium(cls.pw)

	@classmethod
	def tearDownClass(cls):
		if not cls.missing:
			cls.browser.close()
			cls.pw.stop()
			cls.server.__exit__(None, None, None)
			if cls.socketio:
				cls.socketio.__exit__(None, None, None)
			cls.peers.stop()
			settings = settings_for_update()
			settings.update(cls.saved_settings)
			settings.save()
			if cls.own_demo and demo.read_manifest():
				demo.remove()
			frappe.db.commit()
		super().tearDownClass()

	def setUp(self):
		if self.missing:
			self.skipTest(f"browser test skipped: {self.missing}")

	# -- helpers

	def open_board_on(self, tech: str, day, label: str):
		"""The dispatch board as the dispatcher, in day view on ``day``, filtered on a new preset
		group holding ``tech`` only (committed, with whatever the caller made before); returns
		the page and the technician's row."""
		from playwright.sync_api import expect

		group = frappe.get_doc(
			{
				"doctype": "Dispatch Preset",
				"preset_name": f"{label} {tech}",
				"preset_type": "Resource Group",
				"technicians": [{"technician": tech}],
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		page = self.open_as("dispatcher", "/app/dispatch-board")
		expect(page.locator('[data-testid="technician-row"]').first).to_be_visible(timeout=120_000)
		page.locator('[data-testid="view-day"]').click()
		page.locator('[data-testid="group-filter"]').select_option(group.name)  # the preset group filter
		for _ in range((day - frappe.utils.getdate()).days):
			page.get_by_title("Next").click()
		return page, page.locator(f'[data-testid="technician-row"][data-technician="{tech}"]')

	def open_as(self, who: str, path: str, width: int = 1440):
		french = frappe.db.get_value("User", self.users[who], "language") == "fr"
		context = self.browser.new_context(
			viewport={"width": width, "height": 900}, locale="fr-CA" if french else "en-CA"
		)
		context.set_default_timeout(90_000)
		r = context.request.post(
			f"{self.base}/api/method/login", form={"usr": self.users[who], "pwd": PASSWORD}, timeout=90_000
		)
		self.assertEqual(r.status, 200, r.text()[:300])
		page = context.new_page()
		self.errors = []
		page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
		page.on(
			"console",
			lambda m: self.errors.append(f"console: {m.text} ({m.location.get('url')})")
			if m.type == "error"
			else None,
		)
		page.on(
			"response",
			lambda r: self.errors.append(f"http {r.status} {r.request.method} {r.url}")
			if r.status >= 400 and r.status not in (409, 417)
			else None,
		)
		self.addCleanup(context.close)
		page.goto(f"{self.base}{path}", wait_until="domcontentloaded", timeout=120_000)
		return page

	def assert_no_console_errors(self, expected: tuple[str, ...] = ()):
		"""No console error but the realtime socket's and, with ``expected``, the server's
		traceback of a refusal the test provoked (Frappe logs what it receives)."""
		real = [e for e in self.errors if not any(n in e for n in (*NOISE, *expected))]
		self.assertEqual(real, [])

	def shot(self, page, name: str):
		page.wait_for_timeout(400)
		page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=False)

	def fresh(self, doctype, name, fields):
		frappe.db.commit()  # end this connection's snapshot: read what the server committed
		return frappe.db.get_value(doctype, name, fields, as_dict=True)

	def wait_for(self, check, timeout=30.0):
		deadline = time.monotonic() + timeout
		while True:
			value = check()
			if value or time.monotonic() > deadline:
				return value
			time.sleep(0.3)
