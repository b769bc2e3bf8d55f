"""Servers for the Frappe integration tests that reach the site over the network: the site
served from this process for browser tests (driven in the system Chromium), and served by
gunicorn for HTTP tests called as real users with API keys."""

from __future__ import annotations

from contextlib import contextmanager

import frappe

from gigafibre_fsm.testing import IntegrationTestCase

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
