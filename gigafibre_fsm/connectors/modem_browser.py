"""The modem bridge's browser backend: the modem's web UI in the system Chromium, driven by Playwright."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from gigafibre_fsm.connectors.errors import (
	ConnectorAuthError,
	ConnectorError,
	ConnectorResponseError,
	ConnectorTimeout,
	ConnectorUnavailable,
)
from gigafibre_fsm.connectors.modem_base import DEV2_OBJECTS, SOURCE
from gigafibre_fsm.connectors.modem_chromium import Chromium, is_timeout
from gigafibre_fsm.core.diagnostics.tplink import dev2_reading
from gigafibre_fsm.core.settings import ModemBridgeSettings

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


class _BrowserSession:
	"""One admin session: its own browser context (cookies) and page in the backend's Chromium."""

	def __init__(
		self, chromium: Chromium, settings: ModemBridgeSettings, profile: WebUIProfile, base_url: str
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
	if is_timeout(exc):
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
		self._chromium = Chromium(settings)

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

	def contexts(self) -> int | None:
		"""Browser contexts (sessions) alive in this backend's Chromium; None when it is not running."""
		return self._chromium.contexts()

	def close(self) -> None:
		"""Stop Chromium (open sessions should be logged out first); a later open starts it again."""
		self._chromium.close()
