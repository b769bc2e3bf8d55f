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
	block,
	error,
	iso,
	optical_reading,
	rcpi_to_dbm,
	rssi_percent,
	signal_dbm,
)
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

# DEV2_HOST_ENTRY.X_TP_LanConnType (tplinkrouterc6u TPLinkEXClient.CLIENT_TYPES)
LAN_CONN_TYPES: dict[int, tuple[str | None, str]] = {
	0: (None, "wired"),
	1: ("2.4GHz", "main"),
	2: ("2.4GHz", "guest"),
	3: ("5GHz", "main"),
	4: ("5GHz", "guest"),
	5: ("6GHz", "main"),
	6: ("6GHz", "guest"),
	8: ("2.4GHz", "iot"),
	9: ("5GHz", "iot"),
	10: (None, "mlo"),
}

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


# ---------------------------------------------------------------------------
# mapping DEV2_* objects and Deco answers to a reading


def _items(value) -> list[dict]:
	if value is None:
		return []
	if isinstance(value, dict):
		return [value]
	return [v for v in value if isinstance(v, dict)]


def _first(value) -> dict:
	items = _items(value)
	return items[0] if items else {}


def _get(item: Mapping, *names: str):
	"""The first non-empty attribute among ``names`` (case-insensitive: firmwares differ)."""
	lower = {k.lower(): v for k, v in item.items()}
	for name in names:
		value = lower.get(name.lower())
		if value not in (None, ""):
			return value
	return None


def _text(value) -> str | None:
	if value is None:
		return None
	text = str(value).strip()
	return text or None


def _int(value) -> int | None:
	try:
		return int(float(str(value).strip()))
	except (TypeError, ValueError):
		return None


def _flag(value) -> bool | None:
	if value is None or value == "":
		return None
	if isinstance(value, str):
		return value.strip().lower() in ("1", "true", "yes", "up", "enabled", "online")
	return bool(value)


def _mac(value) -> str | None:
	digits = re.sub(r"[\s:.\-]", "", str(value or "").lower())
	if not re.fullmatch(r"[0-9a-f]{12}", digits) or digits == "000000000000":
		return None
	return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _ip(value) -> str | None:
	text = _text(value)
	return None if text in (None, "0.0.0.0", "::") else text


def _csv(value) -> list[str]:
	text = _text(value)
	return [p.strip() for p in text.split(",") if p.strip() and p.strip() != "0.0.0.0"] if text else []


def _band(value=None, channel=None) -> str | None:
	text = (_text(value) or "").lower().replace(" ", "").replace("_", ".")
	if text.startswith(("2.4", "2g", "band2.4")):
		return "2.4GHz"
	if text.startswith(("5", "band5")):
		return "5GHz"
	if text.startswith(("6", "band6")):
		return "6GHz"
	channel = _int(channel)
	if channel:
		return "2.4GHz" if channel <= 14 else "5GHz"
	return None


def _stack(item: Mapping) -> tuple[int, ...]:
	parts = [_int(p) or 0 for p in str(item.get("stack") or "").split(",")]
	while parts and parts[-1] == 0:
		parts.pop()
	return tuple(parts)


def _proto(kind) -> str | None:
	text = (_text(kind) or "").lower()
	if "ppp" in text:
		return "ppp"
	if "dhcp" in text or "dynamic" in text:
		return "dhcp"
	if "static" in text:
		return "static"
	return None


def dev2_reading(objects: Mapping[str, object]) -> dict:
	"""A reading from the ``DEV2_*`` objects of an EX/XX modem (``gl``/``go`` answers by oid).

	Values keep the names the normaliser uses (shared/NETWORK.md §7). The optical
	reading stays raw (its transform is declared in :func:`to_diagnosis`). Radios
	are matched to SSIDs through ``lowerLayers`` and to instances through ``stack``;
	no table index is assumed.
	"""
	info = _first(objects.get("DEV2_DEV_INFO"))
	lan = _first(objects.get("DEV2_ADT_LAN"))
	device = {
		"vendor": _text(_get(info, "manufacturer")) or "TP-Link",
		"model": _text(_get(info, "modelName", "productClass")),
		"serial": _text(_get(info, "serialNumber")),
		"fw": _text(_get(info, "softwareVersion")),
		"hw": _text(_get(info, "hardwareVersion")),
		"uptime_s": _int(_get(info, "upTime", "uptime")),
		"mac": _mac(_get(lan, "MACAddress", "X_TP_MACAddress")),
		"lan_ip": _ip(_get(lan, "IPAddress")),
		"online": True,
	}
	wan = []
	for item in _items(objects.get("DEV2_ADT_WAN")):
		if _flag(_get(item, "enable")) is False:
			continue
		ipv6 = _ip(_get(item, "connIPv6Address", "IPv6Address"))
		stack = _stack(item)
		wan.append(
			{
				"iface": f"DEV2_ADT_WAN.{'.'.join(map(str, stack))}" if stack else "DEV2_ADT_WAN",
				"name": _text(_get(item, "name")),
				"vlan": _int(_get(item, "vlanId", "VLANID", "X_TP_VlanId", "vlan")),
				"proto": _proto(_get(item, "connectionType", "connType", "name")),
				"ipv4": _ip(_get(item, "connIPv4Address", "externalIPAddress")),
				"netmask": _ip(_get(item, "connIPv4SubnetMask", "subnetMask")),
				"gateway": _ip(_get(item, "connIPv4Gateway", "defaultGateway")),
				"dns": _csv(_get(item, "connIPv4DnsServer", "DNSServers")),
				"ipv6": [ipv6] if ipv6 else [],
				"status": _text(_get(item, "status", "connectionStatus")),
				"mac": _mac(_get(item, "MACAddr", "MACAddress")),
			}
		)
	gpon = _first(objects.get("DEV2_OPTC_GPON_CFG"))
	optical = None
	rx = _get(gpon, "RXPower", "rxPower", "RxPower")
	if rx is not None:
		optical = {
			"rx": rx,
			"tx": _get(gpon, "TXPower", "txPower", "TxPower"),
			"paths": {"rx": "DEV2_OPTC_GPON_CFG.RXPower", "tx": "DEV2_OPTC_GPON_CFG.TXPower"},
		}
	radios, radio_band = [], {}
	for item in _items(objects.get("DEV2_WIFI_RADIO")):
		stack = _stack(item)
		band = _band(_get(item, "operatingFrequencyBand", "X_TP_Band", "band"), _get(item, "channel"))
		path = f"Device.WiFi.Radio.{stack[0]}" if stack else None
		if path:
			radio_band[path] = band
		radios.append(
			{
				"path": path,
				"band": band,
				"channel": _int(_get(item, "channel")),
				"enabled": _flag(_get(item, "enable")),
				"auto_channel": _flag(_get(item, "autoChannelEnable")),
				"bandwidth": _text(
					_get(item, "currentOperatingChannelBandwidth", "operatingChannelBandwidth", "bandWidth")
				),
				"standards": _csv(_get(item, "operatingStandards", "standard")),
				"transmit_power_pct": _int(_get(item, "transmitPower")),
				"noise_dbm": signal_dbm(_get(item, "noise", "X_TP_Noise")),
			}
		)
	ssids, bssid_band = [], {}
	for item in _items(objects.get("DEV2_WIFI_SSID")):
		stack = _stack(item)
		lower = (_text(_get(item, "lowerLayers")) or "").split(",")[0].strip().rstrip(".")
		band = radio_band.get(lower) or _band(_get(item, "X_TP_Band", "band"))
		bssid = _mac(_get(item, "BSSID", "MACAddress"))
		if bssid:
			bssid_band[bssid] = band
		ssids.append(
			{
				"path": f"Device.WiFi.SSID.{stack[0]}" if stack else None,
				"ssid": _text(_get(item, "SSID", "X_TP_SSID", "name")),
				"band": band,
				"radio": lower or None,
				"bssid": bssid,
				"enabled": _flag(_get(item, "enable")),
				"status": _text(_get(item, "status")),
				"ap_index": None,
			}
		)
	# EasyMesh: nodes by APDevice instance, their radios' bands, then stations
	nodes_by_index, mesh_nodes = {}, []
	for item in _items(objects.get("DEV2_WIFI_APDEV")):
		mac = _mac(_get(item, "MACAddress", "ID"))
		if not mac:
			continue
		stack = _stack(item)
		link = (_text(_get(item, "backhaulLinkType")) or "").lower()
		parent = _mac(_get(item, "backhaulMACAddress", "backhaulDeviceID"))
		root = not parent and link in ("", "none")
		rssi = rcpi_to_dbm(_get(item, "backhaulSignalStrength")) if link.startswith("wi") else None
		node = {
			"mac": mac,
			"name": _text(_get(item, "X_TP_HostName", "X_TP_Nickname", "hostName", "nickname")),
			"model": _text(_get(item, "productClass", "modelName")),
			"serial": _text(_get(item, "serialNumber")),
			"fw": _text(_get(item, "softwareVersion")),
			"ip": _ip(_get(item, "X_TP_IPAddress", "IPAddress")),
			"role": "controller" if root else "agent",
			"parent_mac": parent,
			"backhaul": {
				"type": _text(_get(item, "backhaulLinkType")),
				"band": bssid_band.get(parent) if parent else None,
				"rssi_dbm": rssi,
				"rssi_pct": rssi_percent(rssi),
			},
			"online": True,
		}
		if stack:
			nodes_by_index[stack[0]] = node
		mesh_nodes.append(node)
	# a backhaul parent given as a BSSID of the gateway is the gateway
	gateway = next((n for n in mesh_nodes if n["role"] == "controller"), None)
	for node in mesh_nodes:
		if gateway and node["parent_mac"] in bssid_band:
			node["parent_mac"] = gateway["mac"]
	apdev_radio_band = {}
	for item in _items(objects.get("DEV2_WIFI_APDEV_RADIO")):
		stack = _stack(item)
		if len(stack) >= 2:
			apdev_radio_band[stack[:2]] = _band(_get(item, "operatingFrequencyBand"), _get(item, "channel"))
	clients: dict[str, dict] = {}
	for item in _items(objects.get("DEV2_WIFI_APDEV_ASSOCDEV")):
		mac = _mac(_get(item, "MACAddress"))
		if not mac:
			continue
		stack = _stack(item)
		node = nodes_by_index.get(stack[0]) if stack else None
		rssi = signal_dbm(_get(item, "signalStrength"), rcpi_when_positive=True)
		clients[mac] = {
			"mac": mac,
			"ip": _ip(_get(item, "X_TP_IPAddress", "IPAddress")),
			"hostname": _text(_get(item, "X_TP_HostName", "hostName")),
			"band": apdev_radio_band.get(stack[:2]) if len(stack) >= 2 else None,
			"rssi_dbm": rssi,
			"rssi_pct": rssi_percent(rssi),
			"rate_kbps": _int(_get(item, "lastDataDownlinkRate")),
			"uplink_rate_kbps": _int(_get(item, "lastDataUplinkRate")),
			"node_mac": node["mac"] if node else (gateway["mac"] if gateway else None),
			"wired": False,
			"active": _flag(_get(item, "active")),
		}
	for item in _items(objects.get("DEV2_HOST_ENTRY")):
		mac = _mac(_get(item, "physAddress", "MACAddress"))
		if not mac:
			continue
		active = _flag(_get(item, "active"))
		band, network = LAN_CONN_TYPES.get(_int(_get(item, "X_TP_LanConnType")), (None, "unknown"))
		known = mac in clients
		if not known and active is False:
			continue  # a lease of a device that is gone
		client = clients.setdefault(mac, {"mac": mac})
		client["ip"] = client.get("ip") or _ip(_get(item, "IPAddress"))
		client["hostname"] = client.get("hostname") or _text(_get(item, "hostName"))
		client["network"] = network
		if not known:
			client.update(
				{
					"band": band,
					"rssi_dbm": None,
					"rssi_pct": None,
					"rate_kbps": None,
					"node_mac": gateway["mac"] if gateway else device["mac"],
					"wired": network == "wired",
					"active": active,
				}
			)
		elif client.get("band") is None:
			client["band"] = band
	node_macs = {n["mac"] for n in mesh_nodes}
	for client in clients.values():
		client["is_mesh_node"] = client["mac"] in node_macs
	return {
		"device": device,
		"wan": wan,
		"optical": optical,
		"radios": radios,
		"ssids": ssids,
		"mesh_nodes": mesh_nodes,
		"clients": list(clients.values()),
		"missing": sorted(oid for oid, value in objects.items() if value is None),
	}


def _b64_name(value) -> str | None:
	from base64 import b64decode

	text = _text(value)
	if not text:
		return None
	try:
		return b64decode(text, validate=True).decode() or text
	except (ValueError, UnicodeDecodeError):
		return text


def deco_reading(devices: list, wan: Mapping, wlan: Mapping, clients_by_node: Mapping[str, list]) -> dict:
	"""A reading from a Deco's ``device_list``, ``wan_ipv4``, ``wlan`` and per-node ``client_list`` answers."""
	master = next((d for d in devices if d.get("role") == "master"), devices[0] if devices else {})
	device = {
		"vendor": "TP-Link",
		"model": _text(master.get("device_model")),
		"fw": _text(master.get("software_ver")),
		"hw": _text(master.get("hardware_ver")),
		"mac": _mac(master.get("mac")),
		"lan_ip": _ip(master.get("device_ip")),
		"online": True,
	}
	ip_info = (wan.get("wan") or {}).get("ip_info") or {}
	wan_rows = []
	if ip_info:
		wan_rows.append(
			{
				"iface": "wan",
				"name": "wan",
				"vlan": None,
				"proto": _proto((wan.get("wan") or {}).get("dial_type")),
				"ipv4": _ip(ip_info.get("ip")),
				"netmask": _ip(ip_info.get("mask")),
				"gateway": _ip(ip_info.get("gateway")),
				"dns": [d for d in (_ip(ip_info.get("dns1")), _ip(ip_info.get("dns2"))) if d],
				"ipv6": [],
				"status": None,
				"mac": _mac(ip_info.get("mac")),
			}
		)
	ssids, radios = [], []
	for key, band in (("band2_4", "2.4GHz"), ("band5_1", "5GHz"), ("band5_2", "5GHz"), ("band6", "6GHz")):
		host = ((wlan or {}).get(key) or {}).get("host") or {}
		if not host:
			continue
		ssids.append(
			{
				"path": f"{key}.host",
				"ssid": _b64_name(host.get("ssid")),
				"band": band,
				"enabled": _flag(host.get("enable")),
				"ap_index": None,
			}
		)
		radios.append({"path": key, "band": band, "channel": _int(host.get("channel")), "enabled": True})
	nodes = []
	for item in devices:
		mac = _mac(item.get("mac"))
		if not mac:
			continue
		signal = item.get("signal_strength") or {}
		parent = _mac(item.get("previous"))
		band = "5GHz" if _int(signal.get("band5")) else ("2.4GHz" if _int(signal.get("band2_4")) else None)
		rssi = _int(signal.get("band5")) or _int(signal.get("band2_4"))
		rssi = rssi if rssi is not None and rssi < 0 else None
		nodes.append(
			{
				"mac": mac,
				"name": _b64_name(item.get("nickname")),
				"model": _text(item.get("device_model")),
				"fw": _text(item.get("software_ver")),
				"ip": _ip(item.get("device_ip")),
				"role": "controller" if item.get("role") == "master" else "agent",
				"parent_mac": parent if item.get("role") != "master" else None,
				"backhaul": {
					"type": None if item.get("role") == "master" else ("Wi-Fi" if band else "Ethernet"),
					"band": band if item.get("role") != "master" else None,
					"rssi_dbm": rssi,
					"rssi_pct": rssi_percent(rssi),
				},
				"online": (_text(item.get("group_status")) or "").lower() == "connected",
			}
		)
	node_macs = {n["mac"] for n in nodes}
	clients = {}
	for node_mac, rows in clients_by_node.items():
		for row in rows or []:
			mac = _mac(row.get("mac"))
			if not mac or mac in clients:
				continue
			wired = row.get("wire_type") == "wired"
			clients[mac] = {
				"mac": mac,
				"ip": _ip(row.get("ip")),
				"hostname": _b64_name(row.get("name")),
				"band": None if wired else _band(row.get("connection_type")),
				"rssi_dbm": None,
				"rssi_pct": None,
				"rate_kbps": None,
				"node_mac": _mac(node_mac),
				"wired": wired,
				"network": _text(row.get("interface")),
				"active": _flag(row.get("online")),
				"is_mesh_node": mac in node_macs,
			}
	return {
		"device": device,
		"wan": wan_rows,
		"optical": None,
		"radios": radios,
		"ssids": ssids,
		"mesh_nodes": nodes,
		"clients": list(clients.values()),
		"missing": [],
	}


def to_diagnosis(
	reading: Mapping,
	*,
	host: str,
	backend: str,
	now: datetime,
	stale_after: timedelta | float = DEFAULT_STALE_AFTER,
	optical_transform: str = "tplink_0.1uW",
	fallback_from: Sequence[str] = (),
) -> Diagnosis:
	"""A ``modem`` :class:`Diagnosis` from a reading: every block stamped ``asof=now`` (one read)."""
	result = Diagnosis()

	def wrap(values: Mapping) -> dict:
		return block(SOURCE, dict(values), now=now, stale_after=stale_after, asof=now)

	device = dict(reading.get("device") or {})
	device["mgmt_url"] = host
	device["bridge_backend"] = backend
	result.device = wrap(device)
	result.wan = [wrap(w) for w in reading.get("wan") or []]
	optical = reading.get("optical")
	if optical:
		paths = optical.get("paths") or {}
		result.optical, errors = optical_reading(
			SOURCE,
			now=now,
			asof=now,
			stale_after=stale_after,
			rx=optical.get("rx"),
			rx_transform=optical_transform,
			tx=optical.get("tx"),
			tx_transform=optical_transform,
			paths=paths,
		)
		result.errors.extend(errors)
	result.radios = [wrap(r) for r in reading.get("radios") or []]
	result.ssids = [wrap(s) for s in reading.get("ssids") or []]
	result.mesh_nodes = [wrap(n) for n in reading.get("mesh_nodes") or []]
	result.clients = [wrap(c) for c in reading.get("clients") or []]
	info = {"asof": iso(now), "ok": not result.errors, "backend": backend}
	if reading.get("missing"):
		info["missing"] = list(reading["missing"])
	if fallback_from:
		info["fallback_from"] = list(fallback_from)
	result.sources[SOURCE] = info
	return result
