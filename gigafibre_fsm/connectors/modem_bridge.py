"""Modem bridge: read a TP-Link XX230v / EX-series modem or a Deco XE75 mesh through its own web UI.

Two ways in, behind one interface (:class:`BridgeBackend`):

- **Direct client** (:class:`DirectEXBackend`, :class:`DecoBackend`): the modem's local
  encrypted web API through the PyPI package ``tplinkrouterc6u`` (5.37.0). For
  EX/XX it uses ``TPLinkEXClient*`` (RSA-signed, AES-CBC or AES-GCM ``/cgi_gdpr``
  acts on ``DEV2_*`` objects); the cipher family is found once per host by trying
  the variants in order (a wrong family cannot be decrypted by the modem: no
  password is spent) and remembered. The package's ``get_status`` keeps one WAN
  and has no optical, radio or RSSI values, so the bridge sends its own acts
  (:data:`DEV2_OBJECTS`) through the package's ``req_act`` transport.
  For Deco it uses ``TPLinkDecoClient`` (``/cgi-bin/luci/;stok=…``).
- **Browser bridge** (:class:`BrowserBackend`): Playwright drives the modem's web UI in
  the system Chromium (``settings.chromium_path``), logs in through the login form
  and reads the same ``DEV2_*`` objects through the UI's own data calls made in
  page context (``$.dm.getList``, as TP-Link's status page does). Used when the
  direct client cannot speak to a firmware (:class:`ConnectorResponseError`).
  One Chromium per backend, started ahead of use (:meth:`ModemBridge.warm_up`, or
  the first read) and kept running; each admin session is a browser context on it.
  Its start has its own budget (``settings.browser_start_timeout``); page loads,
  reads and logout keep the modem's request timeout (``settings.timeout``).

Sessions (shared/NETWORK.md §0.5: one admin session per device at a time):
:class:`SessionPool` serialises every use of a device behind a per-host lock, logs
out whenever a read fails, keeps a good session warm for reuse and logs it out
once it has been idle ``settings.idle_seconds`` (checked on the next use and by
:meth:`ModemBridge.reap_idle`; the clock is injectable). ``idle_seconds <= 0``
logs out after every read.

:meth:`ModemBridge.read` answers a normaliser-ready ``modem`` result (a
:class:`~gigafibre_fsm.core.diagnostics.Diagnosis` as a dict) that
:func:`~gigafibre_fsm.core.diagnostics.merge` combines with GenieACS and the OLT;
it raises typed errors. :meth:`ModemBridge.diagnose` never raises: a failure
becomes an entry of ``errors`` (translatable template, see translations/fr.csv).

The ``DEV2_*`` object and attribute names beyond those ``tplinkrouterc6u`` uses
(optical, radios, SSIDs, EasyMesh) come from peer code on sibling TP-Link
firmwares and are read tolerantly (several spellings); check them on a real
XX230v and adjust :data:`DEV2_OBJECTS` / the web UI profile.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from json import dumps
from typing import Protocol
from urllib.parse import urlsplit

import requests

from gigafibre_fsm.connectors.errors import (
	ConnectorAuthError,
	ConnectorError,
	ConnectorResponseError,
	ConnectorTimeout,
	ConnectorUnavailable,
)
from gigafibre_fsm.core.diagnostics import (
	DEFAULT_STALE_AFTER,
	Diagnosis,
	error,
	iso,
)
from gigafibre_fsm.core.diagnostics.tplink import deco_reading, dev2_reading, to_diagnosis
from gigafibre_fsm.core.settings import ModemBridgeSettings

SOURCE = "modem"

CHROMIUM_ARGS = (
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
)

# DEV2_* objects read from an EX/XX modem: (oid, operation, required).
# The first four are the ones tplinkrouterc6u itself reads; the others follow
# TP-Link's web UI pages (status.htm, wirelessSettings.htm, easyMesh.htm) as seen
# in peer code on sibling firmwares (XGB430v, EX520) and are optional.
DEV2_OBJECTS: tuple[tuple[str, str, bool], ...] = (
	("DEV2_DEV_INFO", "go", True),
	("DEV2_ADT_WAN", "gl", True),
	("DEV2_HOST_ENTRY", "gl", True),
	("DEV2_ADT_LAN", "gl", False),
	("DEV2_OPTC_GPON_CFG", "gl", False),
	("DEV2_WIFI_RADIO", "gl", False),
	("DEV2_WIFI_SSID", "gl", False),
	("DEV2_WIFI_APDEV", "gl", False),
	("DEV2_WIFI_APDEV_RADIO", "gl", False),
	("DEV2_WIFI_APDEV_ASSOCDEV", "gl", False),
)

# message templates of diagnose() (translated through translations/fr.csv)
T_NOT_CONFIGURED = "The modem bridge is not configured"
T_AUTH = "Modem {0} refused the admin password"
T_TIMEOUT = "Modem {0} did not answer within {1} s"
T_UNAVAILABLE = "Modem {0} could not be reached: {1}"
T_RESPONSE = "Modem {0} answered in a way the bridge cannot read: {1}"


# ---------------------------------------------------------------------------
# hosts


def parse_host(host: str) -> tuple[str, str]:
	"""(key, base URL) of a modem address: ``"192.168.0.1"`` → ``("192.168.0.1:80", "http://192.168.0.1")``."""
	text = (host or "").strip()
	if not text:
		raise ValueError("a modem host is required")
	if "://" not in text:
		text = "http://" + text
	parts = urlsplit(text)
	if not parts.hostname:
		raise ValueError(f"not a modem address: {host!r}")
	scheme = parts.scheme or "http"
	port = parts.port or (443 if scheme == "https" else 80)
	netloc = parts.netloc.rsplit("@", 1)[-1]
	return f"{parts.hostname}:{port}", f"{scheme}://{netloc}"


# ---------------------------------------------------------------------------
# backends: one admin session on one device


class BridgeSession(Protocol):
	"""A logged-in admin session on one device."""

	def read(self) -> dict:
		"""A reading (see :func:`dev2_reading`): device, wan, optical, radios, ssids, mesh_nodes, clients."""

	def logout(self) -> None:
		"""Log out. Never raises."""


class BridgeBackend(Protocol):
	name: str

	def open(self, base_url: str) -> BridgeSession:
		"""Log in to the device at ``base_url``; raises ConnectorAuthError, ConnectorTimeout, …"""


def _chain(exc: BaseException) -> Iterator[BaseException]:
	seen = set()
	while exc is not None and id(exc) not in seen:
		seen.add(id(exc))
		yield exc
		exc = exc.__cause__ or exc.__context__


def map_client_error(exc: BaseException, what: str, *, timeout: float | None = None) -> ConnectorError:
	"""A typed connector error for what ``tplinkrouterc6u`` or ``requests`` raised.

	The package wraps transport errors in ``ClientException`` (its RSA-key step) and
	signals a refused password only in the message, so the chain and text are read.
	"""
	if isinstance(exc, ConnectorError):
		return exc
	for inner in _chain(exc):
		if isinstance(inner, requests.Timeout):
			return ConnectorTimeout(f"{what}: no answer within {timeout} s", source=SOURCE)
		if isinstance(inner, requests.ConnectionError):
			return ConnectorUnavailable(f"{what}: {inner}", source=SOURCE)
	text = str(exc)
	low = text.lower()
	if "wrong user or password" in low or "wrong password" in low or "login failed, wrong" in low:
		return ConnectorAuthError(f"{what}: the admin password was refused", source=SOURCE)
	if "71235" in text or "another admin" in low or "busy" in low:
		return ConnectorUnavailable(f"{what}: another admin session is open on the device", source=SOURCE)
	return ConnectorResponseError(f"{what}: {type(exc).__name__}: {text[:300]}", source=SOURCE)


class _EXSession:
	"""A logged-in tplinkrouterc6u EX client."""

	def __init__(self, client, *, clock: Callable[[], float], deadline: float, objects=DEV2_OBJECTS):
		self.client = client
		self.clock = clock
		self.deadline = deadline
		self.objects = objects

	def fetch(self, oid: str, operation: str):
		act = self.client.ActItem(operation, oid)
		_, values = self.client.req_act([act])
		return values[0] if values else None

	def read(self) -> dict:
		started = self.clock()
		objects: dict[str, object] = {}
		for oid, operation, required in self.objects:
			if self.clock() - started > self.deadline:
				raise ConnectorTimeout(
					f"modem read took longer than {self.deadline} s (at {oid})", source=SOURCE
				)
			try:
				value = self.fetch(oid, operation)
			except Exception as e:
				mapped = map_client_error(e, f"DEV2 object {oid}", timeout=self.client.timeout)
				if required or isinstance(mapped, ConnectorTimeout | ConnectorUnavailable):
					raise mapped from e
				value = None
			if value is None and required:
				raise ConnectorResponseError(f"the modem answered no data for {oid}", source=SOURCE)
			objects[oid] = value
		return dev2_reading(objects)

	def logout(self) -> None:
		try:
			self.client.logout()
		except Exception:
			pass
		finally:
			try:
				self.client.req.close()
			except Exception:
				pass


class DirectEXBackend:
	"""TP-Link EX-series / XX230v through ``tplinkrouterc6u``'s EX clients (encrypted ``/cgi_gdpr``).

	``variants`` are tried in order until one logs in; the one that worked is kept
	per host. A refused password stops at once (no retry that would count toward
	the device's lock-out). ``username``: EX firmwares with a password-only login
	use the hidden user ``user`` (the package's default); ISP firmwares may use ``admin``.
	"""

	name = "direct"
	VARIANTS = ("gcm", "cbc", "gcm-oaep")

	def __init__(
		self,
		settings: ModemBridgeSettings,
		*,
		variants: Sequence[str] = VARIANTS,
		clock: Callable[[], float] = time.monotonic,
		objects=DEV2_OBJECTS,
	):
		self.settings = settings
		self.variants = tuple(variants)
		self.clock = clock
		self.objects = objects
		self._known: dict[str, str] = {}
		self._lock = threading.Lock()

	@staticmethod
	def client_class(variant: str):
		from tplinkrouterc6u.client.ex import TPLinkEXClient, TPLinkEXClientGCM, TPLinkEXClientGCMOAEP

		return {"cbc": TPLinkEXClient, "gcm": TPLinkEXClientGCM, "gcm-oaep": TPLinkEXClientGCMOAEP}[variant]

	def open(self, base_url: str) -> _EXSession:
		with self._lock:
			known = self._known.get(base_url)
		order = (known, *(v for v in self.variants if v != known)) if known else self.variants
		last: ConnectorError | None = None
		timeout = float(self.settings.timeout)
		for variant in order:
			client = self.client_class(variant)(
				base_url,
				self.settings.password,
				self.settings.username or "user",
				verify_ssl=False,
				timeout=timeout,
			)
			# the package keeps HEADERS (with TokenID) on the class: give each client its own
			client.HEADERS = dict(client.HEADERS)
			try:
				client.authorize()
			except Exception as e:
				mapped = map_client_error(e, f"login to {base_url} ({variant})", timeout=timeout)
				_close_quietly(client)
				if not isinstance(mapped, ConnectorResponseError):
					raise mapped from e
				last = mapped  # this cipher family is not the firmware's: try the next
				continue
			with self._lock:
				self._known[base_url] = variant
			return _EXSession(client, clock=self.clock, deadline=timeout * 3, objects=self.objects)
		raise last or ConnectorResponseError(f"no client variant for {base_url}", source=SOURCE)


def _close_quietly(client) -> None:
	try:
		client.req.close()
	except Exception:
		pass


class _DecoSession:
	def __init__(self, client, timeout: float):
		self.client = client
		self.timeout = timeout

	def _request(self, path: str, payload: dict):
		try:
			return self.client.request(path, dumps(payload)) or {}
		except Exception as e:
			raise map_client_error(e, f"Deco {path}", timeout=self.timeout) from e

	def read(self) -> dict:
		devices = (
			self._request("admin/device?form=device_list", {"operation": "read"}).get("device_list") or []
		)
		wan = self._request("admin/network?form=wan_ipv4", {"operation": "read"})
		try:
			wlan = self._request("admin/wireless?form=wlan", {"operation": "read"})
		except ConnectorResponseError:
			wlan = {}
		clients: dict[str, list] = {}
		for node in devices:
			mac = node.get("mac")
			if not mac:
				continue
			answer = self._request(
				"admin/client?form=client_list", {"operation": "read", "params": {"device_mac": mac}}
			)
			clients[mac] = answer.get("client_list") or []
		return deco_reading(devices, wan, wlan, clients)

	def logout(self) -> None:
		try:
			self.client.logout()
		except Exception:
			pass


class DecoBackend:
	"""Deco XE75 (and other Deco) through ``tplinkrouterc6u``'s ``TPLinkDecoClient``."""

	name = "deco"

	def __init__(self, settings: ModemBridgeSettings, *, client_factory: Callable | None = None):
		self.settings = settings
		self.client_factory = client_factory

	def open(self, base_url: str) -> _DecoSession:
		timeout = float(self.settings.timeout)
		if self.client_factory is None:
			from tplinkrouterc6u.client.deco import TPLinkDecoClient

			factory = TPLinkDecoClient
		else:
			factory = self.client_factory
		client = factory(
			base_url,
			self.settings.password,
			self.settings.username or "admin",
			verify_ssl=False,
			timeout=timeout,
		)
		try:
			client.authorize()
		except Exception as e:
			raise map_client_error(e, f"Deco login to {base_url}", timeout=timeout) from e
		return _DecoSession(client, timeout)


# ---------------------------------------------------------------------------
# browser bridge (Playwright + system Chromium)

# $.dm.getList is the data call TP-Link's own status page makes (peer code).
READ_DM_JS = """
async ([oids, budgetMs]) => {
  const deadline = Date.now() + budgetMs;
  const one = (oid) => new Promise((resolve) => {
    const left = deadline - Date.now();
    if (left <= 0) { resolve({ok: false, error: "timeout"}); return; }
    const timer = setTimeout(() => resolve({ok: false, error: "timeout"}), left);
    const done = (value) => { clearTimeout(timer); resolve(value); };
    try {
      $.dm.getList({oid: oid, data: {}, callback: {
        success: (data) => done({ok: true, data: data}),
        fail: (err) => done({ok: false, error: String(err)}),
        error: (err) => done({ok: false, error: String(err)}),
      }});
    } catch (e) { done({ok: false, error: String(e)}); }
  });
  const out = {};
  for (const oid of oids) { out[oid] = await one(oid); }
  return out;
}
"""

# TP-Link web UIs log out with the /cgi/logout CGI act ($.act + $.exe).
LOGOUT_JS = """
() => {
  if (window.$ && $.act && $.exe && typeof ACT_CGI !== "undefined") {
    $.act(ACT_CGI, "/cgi/logout");
    $.exe();
    return "act";
  }
  return null;
}
"""


@dataclass(frozen=True)
class WebUIProfile:
	"""How to drive one family of modem web UIs. Selectors are CSS; scripts run in the page.

	The defaults follow TP-Link's EX/XX web UI (password-only login form, ``$.dm``
	data calls, ``/cgi/logout`` act); they are unverified on a real XX230v and kept
	here so a capture from a real device only changes this profile.
	"""

	name: str = "tplink_ex"
	login_path: str = "/"
	username_selector: str | None = None
	password_selector: str = "#pc-login-password"
	submit_selector: str = "#pc-login-btn"
	error_selector: str = "#pc-login-error"
	ready_js: str = "() => !!(window.$ && $.dm && $.dm.getList)"
	busy_pattern: str = r"(?i)another|already logged|busy"
	read_js: str = READ_DM_JS
	logout_js: str = LOGOUT_JS
	logout_selector: str | None = None
	objects: tuple[tuple[str, str, bool], ...] = DEV2_OBJECTS


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
	"""The browser thread: Playwright's async API on this thread's own event loop."""
	asyncio.set_event_loop(loop)
	try:
		loop.run_forever()
	finally:
		pending = asyncio.all_tasks(loop)
		for task in pending:
			task.cancel()
		if pending:
			loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
		loop.close()


async def _stop_quietly(browser, playwright) -> None:
	"""Close a browser, then stop its Playwright driver; never raises."""
	if browser is not None:
		try:
			await browser.close()
		except Exception:
			pass
	if playwright is not None:
		try:
			await playwright.stop()
		except Exception:
			pass


def _is_timeout(exc: BaseException) -> bool:
	name = type(exc).__name__
	return isinstance(exc, TimeoutError) or name == "TimeoutError" or "Timeout" in name


class _Chromium:
	"""One headless Chromium, started ahead of use and kept running, shared by a backend's sessions.

	Playwright's async API runs on an event loop of its own (daemon) thread; any
	thread hands it coroutines through :meth:`run` and waits with its own limit, so
	sessions on different devices proceed in parallel. :meth:`start` returns at
	once; the start (Playwright's driver, then Chromium) is bounded by
	``settings.browser_start_timeout``, never by the modem's request timeout: a cold
	start on a loaded server takes far longer than a page of the modem. A browser
	that failed to start or has died is started again by the next :meth:`start`.
	"""

	def __init__(self, settings: ModemBridgeSettings):
		self.settings = settings
		self.start_timeout = float(settings.browser_start_timeout)
		self._lock = threading.Lock()
		self._loop: asyncio.AbstractEventLoop | None = None
		self._thread: threading.Thread | None = None
		self._ready: Future | None = None  # the start under way or done: its result is the Browser
		self._deadline = 0.0
		self._launching: asyncio.Task | None = None
		self._playwright = None
		self._browser = None

	def _up(self, ready: Future | None) -> bool:
		return (
			ready is not None
			and ready.done()
			and not ready.cancelled()
			and ready.exception() is None
			and self._browser is not None
			and self._browser.is_connected()
		)

	@property
	def ready(self) -> bool:
		"""Chromium is running (a session opens without waiting for a start)."""
		return self._up(self._ready)

	def start(self) -> tuple[Future, float]:
		"""(the start, its deadline): starts Chromium in the background unless it runs or is starting.

		A start still unfinished at its deadline is abandoned (its processes stopped) for a new one."""
		with self._lock:
			ready = self._ready
			if self._up(ready) or (
				ready is not None and not ready.done() and time.monotonic() < self._deadline
			):
				return ready, self._deadline
			if self._loop is None:
				self._loop = asyncio.new_event_loop()
				self._thread = threading.Thread(
					target=_run_loop, args=(self._loop,), name="modem-browser", daemon=True
				)
				self._thread.start()
			self._deadline = time.monotonic() + self.start_timeout
			self._ready = asyncio.run_coroutine_threadsafe(self._launch(), self._loop)
			return self._ready, self._deadline

	def remaining(self) -> float:
		"""Seconds a session may still wait for the start: 0 once up, the whole budget before a start."""
		with self._lock:
			ready = self._ready
			if self._up(ready):
				return 0.0
			if ready is not None and not ready.done():
				return max(0.0, self._deadline - time.monotonic())
			return self.start_timeout

	def browser(self):
		"""The running browser; waits for its start (begun now if needed) within the start budget."""
		ready, deadline = self.start()
		try:
			return ready.result(timeout=max(0.0, deadline - time.monotonic()))
		except FutureTimeout as e:
			raise ConnectorTimeout(
				f"Chromium did not start within {self.start_timeout} s", source=SOURCE
			) from e
		except ConnectorError:
			raise
		except Exception as e:
			if _is_timeout(e):
				raise ConnectorTimeout(
					f"Chromium did not start within {self.start_timeout} s", source=SOURCE
				) from e
			first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
			raise ConnectorUnavailable(f"Chromium could not start: {first}", source=SOURCE) from e

	async def _launch(self):
		try:
			from playwright.async_api import async_playwright
		except ImportError as e:
			raise ConnectorUnavailable(f"playwright is not installed: {e}", source=SOURCE) from e
		await self._stop()  # a start abandoned at its deadline, a browser that died
		self._launching = asyncio.current_task()
		playwright = browser = None
		try:
			playwright = await async_playwright().start()
			browser = await playwright.chromium.launch(
				executable_path=self.settings.chromium_path,
				headless=True,
				args=list(CHROMIUM_ARGS),
				timeout=self.start_timeout * 1000,
			)
		except BaseException:
			await _stop_quietly(browser, playwright)
			raise
		self._playwright, self._browser = playwright, browser
		return browser

	async def _stop(self) -> None:
		"""Stop a start under way (it stops what it started) and the running browser."""
		task, self._launching = self._launching, None
		if task is not None and task is not asyncio.current_task() and not task.done():
			task.cancel()
			await asyncio.gather(task, return_exceptions=True)
		browser, self._browser = self._browser, None
		playwright, self._playwright = self._playwright, None
		await _stop_quietly(browser, playwright)

	def run(self, coro, timeout: float):
		"""Run ``coro`` on the browser thread; its result within ``timeout`` s (else TimeoutError, cancelled)."""
		loop = self._loop
		if loop is None:
			coro.close()
			raise ConnectorUnavailable("the browser bridge's Chromium is stopped", source=SOURCE)
		future = asyncio.run_coroutine_threadsafe(coro, loop)
		try:
			return future.result(timeout=timeout)
		except FutureTimeout:
			future.cancel()
			raise

	def close(self, timeout: float = 10.0) -> None:
		"""Stop Chromium and the browser thread (a later :meth:`start` begins afresh)."""
		with self._lock:
			loop, thread = self._loop, self._thread
			self._loop = self._thread = self._ready = None
		if loop is None:
			return
		try:
			asyncio.run_coroutine_threadsafe(self._stop(), loop).result(timeout=timeout)
		except Exception:
			pass
		loop.call_soon_threadsafe(loop.stop)
		if thread is not None:
			thread.join(timeout)


class _BrowserSession:
	"""One admin session: its own browser context (cookies) and page in the backend's Chromium."""

	def __init__(
		self, chromium: _Chromium, settings: ModemBridgeSettings, profile: WebUIProfile, base_url: str
	):
		self.chromium = chromium
		self.settings = settings
		self.profile = profile
		self.base_url = base_url
		self.timeout = float(settings.timeout)
		self._context = None
		self._page = None
		self._closed = False

	def _call(self, fn: Callable, what: str, timeout: float | None = None):
		"""``await fn()`` on the browser thread, within ``timeout`` (default: 3 request timeouts)."""
		if self._closed:
			raise ConnectorUnavailable("the browser session is closed", source=SOURCE)
		limit = timeout if timeout is not None else self.timeout * 3
		try:
			return self.chromium.run(fn(), limit)
		except FutureTimeout as e:
			raise ConnectorTimeout(f"{what}: no answer within {limit} s", source=SOURCE) from e
		except ConnectorError:
			raise
		except Exception as e:
			raise _map_browser_error(e, what, self.timeout) from e

	# -- session
	def open(self, browser) -> None:
		async def do():
			self._context = await browser.new_context(ignore_https_errors=True)
			page = await self._context.new_page()
			page.set_default_timeout(self.timeout * 1000)
			page.set_default_navigation_timeout(self.timeout * 1000)
			self._page = page

		self._call(do, f"a browser page for {self.base_url}")

	def login(self) -> None:
		profile = self.profile
		password = self.settings.password
		username = self.settings.username

		async def do():
			page = self._page
			await page.goto(self.base_url + profile.login_path, wait_until="domcontentloaded")
			if profile.username_selector:
				await page.fill(profile.username_selector, username)
			await page.fill(profile.password_selector, password)
			await page.click(profile.submit_selector)
			handle = await page.wait_for_function(
				"""([readyJs, errorSel]) => {
					const ready = eval("(" + readyJs + ")");
					try { if (ready()) return "ok"; } catch (e) {}
					const el = document.querySelector(errorSel);
					if (el && el.offsetParent !== null && el.textContent.trim()) return "error:" + el.textContent.trim();
					return false;
				}""",
				arg=[profile.ready_js, profile.error_selector],
				polling=100,
			)
			return await handle.json_value()

		outcome = self._call(do, f"web UI login at {self.base_url}")
		if outcome != "ok":
			message = str(outcome)[len("error:") :]
			if re.search(profile.busy_pattern, message):
				raise ConnectorUnavailable(
					f"web UI login at {self.base_url}: another admin session is open ({message})",
					source=SOURCE,
				)
			raise ConnectorAuthError(
				f"web UI login at {self.base_url}: the admin password was refused ({message})", source=SOURCE
			)

	def read(self) -> dict:
		oids = [oid for oid, _, _ in self.profile.objects]
		budget = self.timeout * 2  # for the whole read, every object included

		async def do():
			return await self._page.evaluate(self.profile.read_js, [oids, int(budget * 1000)])

		answers = self._call(do, f"web UI read at {self.base_url}", timeout=budget + 5)
		objects: dict[str, object] = {}
		for oid, _, required in self.profile.objects:
			answer = (answers or {}).get(oid) or {}
			if not answer.get("ok"):
				if answer.get("error") == "timeout" and required:
					raise ConnectorTimeout(
						f"web UI read of {oid}: no answer within {budget} s", source=SOURCE
					)
				if required:
					raise ConnectorResponseError(
						f"web UI read of {oid} failed: {answer.get('error')}", source=SOURCE
					)
				objects[oid] = None
				continue
			objects[oid] = answer.get("data")
		return dev2_reading(objects)

	def logout(self) -> None:
		"""Log out through the UI, then close the context (the browser stays up). Never raises."""
		if self._closed:
			return
		profile = self.profile

		async def do():
			page = self._page
			if page is None:
				return None
			done = await page.evaluate(profile.logout_js)
			if not done and profile.logout_selector:
				await page.click(profile.logout_selector)
			return done

		try:
			self._call(do, f"web UI logout at {self.base_url}", timeout=self.timeout)
		except Exception:
			pass
		finally:
			self._closed = True
			context, self._context, self._page = self._context, None, None
			if context is not None:
				try:
					self.chromium.run(context.close(), self.timeout)
				except Exception:
					pass


def _map_browser_error(exc: BaseException, what: str, timeout: float) -> ConnectorError:
	name = type(exc).__name__
	text = str(exc)
	if _is_timeout(exc):
		return ConnectorTimeout(f"{what}: no answer within {timeout} s", source=SOURCE)
	if "net::ERR_" in text or "ECONNREFUSED" in text:
		return ConnectorUnavailable(f"{what}: {text.splitlines()[0] if text else name}", source=SOURCE)
	return ConnectorResponseError(f"{what}: {name}: {text[:300]}", source=SOURCE)


class BrowserBackend:
	"""Playwright driving the modem's web UI in the system Chromium (the fallback).

	One Chromium per backend (so per worker's bridge), kept running between reads:
	:meth:`start` launches it in the background ahead of use (the first
	:meth:`open` does if nobody did), and every session is a fresh browser context on
	it, closed at logout. Two budgets: opening a session waits for the browser's
	start within ``settings.browser_start_timeout``; page loads, reads and logout
	keep the modem's request timeout ``settings.timeout``.
	"""

	name = "browser"

	def __init__(self, settings: ModemBridgeSettings, profile: WebUIProfile | None = None):
		self.settings = settings
		self.profile = profile or WebUIProfile()
		self._chromium = _Chromium(settings)

	def _installed(self) -> bool:
		path = self.settings.chromium_path
		return bool(path) and os.access(path, os.X_OK)

	def _require(self) -> None:
		if not self._installed():
			raise ConnectorUnavailable(
				f"no Chromium at {self.settings.chromium_path!r} for the browser bridge", source=SOURCE
			)

	def start(self, *, wait: bool = False) -> bool:
		"""Start Chromium in the background and return at once (False when there is none to start);
		with ``wait``, return once it is up (within the start budget; raises like :meth:`open`)."""
		if wait:
			self._require()
			self._chromium.browser()
			return True
		if not self._installed():
			return False
		self._chromium.start()
		return True

	@property
	def ready(self) -> bool:
		"""Chromium is up: a session opens without waiting for a start."""
		return self._chromium.ready

	def start_allowance(self) -> float:
		"""Seconds a read may yet spend waiting for Chromium to start (0 once it is up, or without one)."""
		return self._chromium.remaining() if self._installed() else 0.0

	def open(self, base_url: str) -> _BrowserSession:
		self._require()
		browser = self._chromium.browser()
		session = _BrowserSession(self._chromium, self.settings, self.profile, base_url)
		try:
			session.open(browser)
			session.login()
		except BaseException:
			session.logout()
			raise
		return session

	def close(self) -> None:
		"""Stop Chromium (open sessions should be logged out first); a later open starts it again."""
		self._chromium.close()


# ---------------------------------------------------------------------------
# sessions: one per device, serialised, logged out on error and when idle


@dataclass
class _Slot:
	lock: threading.Lock = field(default_factory=threading.Lock)
	session: BridgeSession | None = None
	backend: str | None = None
	last_used: float = 0.0
	opened: int = 0
	closed: int = 0


class SessionPool:
	"""Admin sessions keyed by device: at most one in use per device, warm ones reset when idle."""

	def __init__(
		self,
		*,
		idle_seconds: float,
		clock: Callable[[], float] = time.monotonic,
		lock_timeout: float = 60.0,
	):
		self.idle_seconds = float(idle_seconds)
		self.clock = clock
		self.lock_timeout = lock_timeout
		self._slots: dict[str, _Slot] = {}
		self._guard = threading.Lock()

	def slot(self, key: str) -> _Slot:
		with self._guard:
			return self._slots.setdefault(key, _Slot())

	def _close(self, slot: _Slot) -> None:
		session, slot.session, slot.backend = slot.session, None, None
		if session is not None:
			slot.closed += 1
			try:
				session.logout()
			except Exception:
				pass

	def _expired(self, slot: _Slot) -> bool:
		return slot.session is not None and self.clock() - slot.last_used >= self.idle_seconds

	@contextmanager
	def use(self, key: str, backend: str, opener: Callable[[], BridgeSession]) -> Iterator[tuple]:
		"""``(session, reused)`` for ``key``, holding the device's lock for the whole block.

		Any exception in the block logs the session out; on success it stays warm
		(or is logged out at once when ``idle_seconds <= 0``).
		"""
		slot = self.slot(key)
		if not slot.lock.acquire(timeout=self.lock_timeout):
			raise ConnectorTimeout(
				f"{key}: another read of this device held its admin session for over {self.lock_timeout} s",
				source=SOURCE,
			)
		try:
			if self._expired(slot) or (slot.session is not None and slot.backend != backend):
				self._close(slot)
			reused = slot.session is not None
			if slot.session is None:
				slot.session = opener()
				slot.backend = backend
				slot.opened += 1
			try:
				yield slot.session, reused
			except BaseException:
				self._close(slot)
				raise
			slot.last_used = self.clock()
			if self.idle_seconds <= 0:
				self._close(slot)
		finally:
			slot.lock.release()

	def reap_idle(self) -> int:
		"""Log out every warm session idle for ``idle_seconds``; busy devices are skipped. Count closed."""
		with self._guard:
			slots = list(self._slots.values())
		count = 0
		for slot in slots:
			if slot.lock.acquire(blocking=False):
				try:
					if self._expired(slot):
						self._close(slot)
						count += 1
				finally:
					slot.lock.release()
		return count

	def close_all(self, timeout: float | None = None) -> None:
		with self._guard:
			slots = list(self._slots.values())
		for slot in slots:
			if slot.lock.acquire(timeout=timeout if timeout is not None else self.lock_timeout):
				try:
					self._close(slot)
				finally:
					slot.lock.release()

	def warm(self, key: str) -> bool:
		slot = self._slots.get(key)
		return bool(slot and slot.session is not None)


# ---------------------------------------------------------------------------
# the facade


class ModemBridge:
	"""Read a modem through its web UI, one admin session per device at a time.

	``kinds`` maps a device kind to its backends, tried in order; the next one is
	used only when a backend cannot understand the device (ConnectorResponseError),
	never after a refused password, a timeout or an unreachable device.
	``clock`` (monotonic seconds) drives idle resets; ``now`` stamps the result.
	"""

	DEFAULT_KIND = "tplink_ex"

	def __init__(
		self,
		settings: ModemBridgeSettings,
		*,
		kinds: Mapping[str, Sequence[BridgeBackend]] | None = None,
		clock: Callable[[], float] = time.monotonic,
		now: Callable[[], datetime] = lambda: datetime.now(UTC),
		lock_timeout: float | None = None,
		optical_transform: str = "tplink_0.1uW",
		stale_after: timedelta | float = DEFAULT_STALE_AFTER,
	):
		self.settings = settings
		self.clock = clock
		self.now = now
		self.optical_transform = optical_transform
		self.stale_after = stale_after
		self.kinds = (
			{k: list(v) for k, v in kinds.items()}
			if kinds is not None
			else {
				"tplink_ex": [DirectEXBackend(settings, clock=clock), BrowserBackend(settings)],
				"deco": [DecoBackend(settings)],
			}
		)
		wait = lock_timeout if lock_timeout is not None else max(30.0, float(settings.timeout) * 4)
		self.pool = SessionPool(idle_seconds=settings.idle_seconds, clock=clock, lock_timeout=wait)

	def __enter__(self) -> ModemBridge:
		return self

	def __exit__(self, *exc) -> None:
		self.close()

	def _backends(self) -> list[BridgeBackend]:
		out: list[BridgeBackend] = []
		for backends in self.kinds.values():
			out.extend(b for b in backends if all(b is not seen for seen in out))
		return out

	def warm_up(self, *, wait: bool = False) -> None:
		"""Start what a backend needs before its first read (the browser bridge's Chromium) in the
		background, so it is up when a read falls back to it; with ``wait``, until it is up (typed
		errors). Nothing when the bridge is not configured."""
		if not self.settings.configured:
			return
		for backend in self._backends():
			start = getattr(backend, "start", None)
			if start is not None:
				start(wait=wait)

	def start_allowance(self) -> float:
		"""Seconds a read may yet spend waiting for a backend to start (Chromium), beyond the modem's own
		time: a caller bounding a read from outside adds it to its budget. 0 once everything is up."""
		return max(
			(b.start_allowance() for b in self._backends() if hasattr(b, "start_allowance")), default=0.0
		)

	def close(self) -> None:
		"""Log out of every warm session, then stop the backends' browsers."""
		self.pool.close_all()
		for backend in self._backends():
			close = getattr(backend, "close", None)
			if close is not None:
				try:
					close()
				except Exception:
					pass

	def reap_idle(self) -> int:
		"""Log out of sessions idle for ``settings.idle_seconds`` (call it from a scheduler)."""
		return self.pool.reap_idle()

	# -- reading
	def _read_with(self, backend: BridgeBackend, key: str, base_url: str) -> dict:
		warm = False
		try:
			with self.pool.use(key, backend.name, lambda: backend.open(base_url)) as (session, reused):
				warm = reused
				return session.read()
		except (ConnectorResponseError, ConnectorAuthError):
			if not warm:
				raise
		# the warm session had expired on the device (its own timeout, a reboot): log in again once
		with self.pool.use(key, backend.name, lambda: backend.open(base_url)) as (session, _):
			return session.read()

	def read_raw(self, host: str, *, kind: str | None = None) -> tuple[dict, str, list[str]]:
		"""(reading, backend name, fallback notes) — raises typed connector errors."""
		if not self.settings.configured:
			raise ConnectorUnavailable(T_NOT_CONFIGURED, source=SOURCE)
		key, base_url = parse_host(host)
		backends = self.kinds.get(kind or self.DEFAULT_KIND)
		if not backends:
			raise ValueError(f"unknown modem kind {kind!r}")
		notes: list[str] = []
		for index, backend in enumerate(backends):
			try:
				return self._read_with(backend, key, base_url), backend.name, notes
			except ConnectorResponseError as e:
				if index + 1 == len(backends):
					raise
				notes.append(f"{backend.name}: {e}")
		raise ConnectorResponseError(f"{base_url}: no backend", source=SOURCE)  # pragma: no cover

	def read_diagnosis(self, host: str, *, kind: str | None = None) -> Diagnosis:
		reading, backend, notes = self.read_raw(host, kind=kind)
		return to_diagnosis(
			reading,
			host=parse_host(host)[1],
			backend=backend,
			now=self.now(),
			stale_after=self.stale_after,
			optical_transform=self.optical_transform,
			fallback_from=notes,
		)

	def read(self, host: str, *, kind: str | None = None) -> dict:
		"""A ``modem`` source result for :func:`~gigafibre_fsm.core.diagnostics.merge` (raises typed errors)."""
		return self.read_diagnosis(host, kind=kind).to_dict()

	def diagnose(self, host: str, *, kind: str | None = None) -> Diagnosis:
		"""Like :meth:`read_diagnosis`, but a failure becomes an ``errors`` entry, never an exception."""
		try:
			return self.read_diagnosis(host, kind=kind)
		except ConnectorError as e:
			now = self.now()
			result = Diagnosis()
			result.errors.append(_error_entry(e, host, float(self.settings.timeout), self.settings))
			result.sources[SOURCE] = {"asof": iso(now), "ok": False}
			return result


def _error_entry(exc: ConnectorError, host: str, timeout: float, settings: ModemBridgeSettings) -> dict:
	if not settings.configured:
		return error(SOURCE, "modem_not_configured", T_NOT_CONFIGURED)
	if isinstance(exc, ConnectorAuthError):
		return error(SOURCE, "modem_auth", T_AUTH, host)
	if isinstance(exc, ConnectorTimeout):
		return error(SOURCE, "modem_timeout", T_TIMEOUT, host, timeout)
	if isinstance(exc, ConnectorUnavailable):
		return error(SOURCE, "modem_unavailable", T_UNAVAILABLE, host, str(exc))
	return error(SOURCE, "modem_response", T_RESPONSE, host, str(exc))
