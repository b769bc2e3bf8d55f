"""The modem bridge's Chromium (modem_browser.py's backend): one headless system Chromium driven by
Playwright's async API on a thread of its own, started ahead of use and kept running."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from gigafibre_fsm.connectors.errors import ConnectorError, ConnectorTimeout, ConnectorUnavailable
from gigafibre_fsm.connectors.modem_base import SOURCE
from gigafibre_fsm.core.settings import ModemBridgeSettings

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


def is_timeout(exc: BaseException) -> bool:
	name = type(exc).__name__
	return isinstance(exc, TimeoutError) or name == "TimeoutError" or "Timeout" in name


class Chromium:
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
			if is_timeout(e):
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

	def contexts(self) -> int | None:
		"""Browser contexts open in the running Chromium (None when it is not up)."""
		if not self.ready:
			return None

		async def count():
			return len(self._browser.contexts) if self._browser is not None else 0

		try:
			return self.run(count(), 30)
		except Exception:
			return None

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
