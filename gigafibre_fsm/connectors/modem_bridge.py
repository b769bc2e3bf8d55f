"""Modem bridge: read a TP-Link XX230v / EX-series modem or a Deco XE75 mesh through its own web UI.

Two ways in, behind one interface (:class:`~gigafibre_fsm.connectors.modem_base.BridgeBackend`),
each in its own module (this one holds the session pool and the facade):

- **Direct client** (connectors/modem_direct.py: ``DirectEXBackend``, ``DecoBackend``): the modem's local
  encrypted web API through the PyPI package ``tplinkrouterc6u`` (5.37.0). For
  EX/XX it uses ``TPLinkEXClient*`` (RSA-signed, AES-CBC or AES-GCM ``/cgi_gdpr``
  acts on ``DEV2_*`` objects); the cipher family is found once per host by trying
  the variants in order (a wrong family cannot be decrypted by the modem: no
  password is spent) and remembered. The package's ``get_status`` keeps one WAN
  and has no optical, radio or RSSI values, so the bridge sends its own acts
  (:data:`DEV2_OBJECTS`) through the package's ``req_act`` transport.
  For Deco it uses ``TPLinkDecoClient`` (``/cgi-bin/luci/;stok=…``).
- **Browser bridge** (connectors/modem_browser.py: ``BrowserBackend``): Playwright drives the modem's web UI in
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

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from gigafibre_fsm.connectors.errors import (
	ConnectorAuthError,
	ConnectorError,
	ConnectorResponseError,
	ConnectorTimeout,
	ConnectorUnavailable,
)
from gigafibre_fsm.connectors.modem_base import (
	SOURCE,
	BridgeBackend,
	BridgeSession,
	parse_host,
)
from gigafibre_fsm.connectors.modem_browser import BrowserBackend
from gigafibre_fsm.connectors.modem_direct import DecoBackend, DirectEXBackend
from gigafibre_fsm.core.diagnostics import (
	DEFAULT_STALE_AFTER,
	Diagnosis,
	error,
	iso,
)
from gigafibre_fsm.core.diagnostics.tplink import to_diagnosis
from gigafibre_fsm.core.settings import ModemBridgeSettings

# message templates of diagnose() (translated through translations/fr.csv)
T_NOT_CONFIGURED = "The modem bridge is not configured"
T_AUTH = "Modem {0} refused the admin password"
T_TIMEOUT = "Modem {0} did not answer within {1} s"
T_UNAVAILABLE = "Modem {0} could not be reached: {1}"
T_RESPONSE = "Modem {0} answered in a way the bridge cannot read: {1}"


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
