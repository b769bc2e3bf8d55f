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
:class:`~gigafibre_fsm.connectors.modem_pool.SessionPool` (connectors/modem_pool.py)
serialises every use of a device behind a per-host lock, logs out whenever a read
fails, keeps a good session warm for reuse and logs it out once it has been idle
``settings.idle_seconds`` (on the next use, and by :meth:`ModemBridge.reap_idle`, which
the reaper thread (:meth:`ModemBridge.start_reaper`) calls; the clock is injectable).
``idle_seconds <= 0`` logs out after every read. It also caps the browser bridge: at
most ``settings.browser_sessions`` browser contexts per process (per worker); a read
of another device past the cap logs out an idle one, or waits its turn at most
``settings.browser_slot_wait`` s, then fails as ``modem_busy`` while the other sources
of the diagnosis still answer. With ``leases`` (connectors/modem_lease.py; Redis in the
bench) the one-session rule holds across processes too: a read of a device warm in another
worker is sent to that worker, which reads it through its warm session and answers
(:meth:`ModemBridge.start_reaper` serves those requests); when it does not answer, the
device is handed over on request (that worker's reaper logs it out) within
``settings.timeout`` s, else the read fails as ``modem_in_use``.

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
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from gigafibre_fsm.connectors.errors import (
	ConnectorAuthError,
	ConnectorError,
	ConnectorResponseError,
	ConnectorTimeout,
	ConnectorUnavailable,
)
from gigafibre_fsm.connectors.modem_base import SOURCE, BridgeBackend, parse_host
from gigafibre_fsm.connectors.modem_browser import BrowserBackend
from gigafibre_fsm.connectors.modem_direct import DecoBackend, DirectEXBackend
from gigafibre_fsm.connectors.modem_lease import DeviceLeases, HeldElsewhere
from gigafibre_fsm.connectors.modem_pool import BridgeBusy, DeviceHeld, SessionPool
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
T_BUSY = "The modem bridge is busy with other modems ({0} browser sessions at most): try again in a moment"
T_IN_USE = "Modem {0} is being read by another diagnosis: try again in a moment"

__all__ = ["BridgeBusy", "DeviceHeld", "ModemBridge", "SessionPool"]

LEASE_POLL = 0.2  # how often the reaper checks whether another process waits for a device


# ---------------------------------------------------------------------------
# the facade


class ModemBridge:
	"""Read a modem through its web UI, one admin session per device at a time.

	``kinds`` maps a device kind to its backends, tried in order; the next one is
	used only when a backend cannot understand the device (ConnectorResponseError),
	never after a refused password, a timeout or an unreachable device.
	``clock`` (monotonic seconds) drives idle resets; ``now`` stamps the result.
	``leases`` (e.g. :class:`~gigafibre_fsm.connectors.modem_lease.RedisDeviceLeases`) keeps
	one admin session per device across processes; run :meth:`start_reaper` with it.
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
		leases: DeviceLeases | None = None,
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
		self.pool = SessionPool(
			idle_seconds=settings.idle_seconds,
			clock=clock,
			lock_timeout=wait,
			limits={BrowserBackend.name: settings.browser_sessions},
			slot_wait=settings.browser_slot_wait,
			leases=leases,
			lease_wait=float(settings.timeout),
		)
		self._reaper: threading.Thread | None = None
		self._stop_reaper = threading.Event()
		self.forwarded = 0  # reads made for this process by the process holding the device

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

	def start_reaper(self, interval: float | None = None) -> bool:
		"""A daemon thread that calls :meth:`reap_idle` every ``interval`` s (default: half the idle
		time, at least 1 s), so warm sessions (browser contexts) are reclaimed even when no read
		comes; with leases, it also renews them and hands over the devices other processes wait
		for, every :data:`LEASE_POLL` s. Stopped by :meth:`close`. False when there is nothing to do
		(``idle_seconds <= 0`` and no leases) or it runs already."""
		leases = self.pool.leases is not None
		if (self.settings.idle_seconds <= 0 and not leases) or (
			self._reaper is not None and self._reaper.is_alive()
		):
			return False
		self._stop_reaper.clear()
		if leases and hasattr(self.pool.leases, "serve"):  # reads other workers send here
			threading.Thread(
				target=self.pool.leases.serve,
				args=(self._serve_request, self._stop_reaper),
				name="modem-bridge-inbox",
				daemon=True,
			).start()
		every = interval if interval is not None else max(1.0, self.settings.idle_seconds / 2)
		tick = min(every, LEASE_POLL) if leases else every

		def loop():
			next_reap = time.monotonic() + every
			while not self._stop_reaper.wait(tick):
				try:
					if leases:
						self.pool.service_leases()
					if self.settings.idle_seconds > 0 and time.monotonic() >= next_reap:
						next_reap = time.monotonic() + every
						self.reap_idle()
				except Exception:  # a failed logout or a Redis hiccup must not end the reaper
					pass

		self._reaper = threading.Thread(target=loop, name="modem-bridge-reaper", daemon=True)
		self._reaper.start()
		return True

	def stats(self) -> dict:
		"""Sessions live per backend, reads waiting for room, idle sessions evicted, reads refused as busy,
		sessions handed over to another process that waited for the device, reads forwarded to the process
		holding the device,
		and the browser contexts Chromium itself holds (None when no browser runs)."""
		contexts = [b.contexts() for b in self._backends() if hasattr(b, "contexts")]
		known = [n for n in contexts if n is not None]
		return {
			"live": self.pool.live(),
			"waiting": self.pool.waiting(),
			"evicted": self.pool.evicted,
			"busy": self.pool.busy,
			"handed_over": self.pool.handed_over,
			"forwarded": self.forwarded,
			"browser_contexts": sum(known) if known else None,
		}

	def close(self) -> None:
		"""Stop the reaper, log out of every warm session, then stop the backends' browsers."""
		self._stop_reaper.set()
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
	def _read_with(self, backend: BridgeBackend, key: str, base_url: str, give_way: bool = False) -> dict:
		warm = False
		opener = lambda: backend.open(base_url)  # noqa: E731
		try:
			with self.pool.use(key, backend.name, opener, give_way=give_way) as (session, reused):
				warm = reused
				return session.read()
		except (ConnectorResponseError, ConnectorAuthError):
			if not warm:
				raise
		# the warm session had expired on the device (its own timeout, a reboot): log in again once
		with self.pool.use(key, backend.name, opener) as (session, _):
			return session.read()

	def read_raw(
		self, host: str, *, kind: str | None = None, forward: bool = True
	) -> tuple[dict, str, list[str]]:
		"""(reading, backend name, fallback notes) — raises typed connector errors. With leases and
		``forward``, a device another process holds is read by that process (see :meth:`_read_at_holder`)."""
		if not self.settings.configured:
			raise ConnectorUnavailable(T_NOT_CONFIGURED, source=SOURCE)
		key, base_url = parse_host(host)
		backends = self.kinds.get(kind or self.DEFAULT_KIND)
		if not backends:
			raise ValueError(f"unknown modem kind {kind!r}")
		if forward and self.pool.leases is not None and hasattr(self.pool.leases, "call"):
			try:
				return self._read_locally(key, base_url, backends, give_way=True)
			except HeldElsewhere as held:  # another worker holds the device warm: it reads it
				answer = self._read_at_holder(held.holder, host, kind)
				if answer is not None:
					return answer
		return self._read_locally(key, base_url, backends)

	def _read_locally(
		self, key: str, base_url: str, backends: Sequence[BridgeBackend], *, give_way: bool = False
	) -> tuple[dict, str, list[str]]:
		# the backend that read this device last goes first: trying another one would log its
		# warm session out (one admin session per device) and log in again on every read
		preferred = self.pool.preferred(key)
		backends = sorted(backends, key=lambda b: b.name != preferred) if preferred else backends
		notes: list[str] = []
		for index, backend in enumerate(backends):
			try:
				reading = self._read_with(backend, key, base_url, give_way)
				self.pool.prefer(key, backend.name)
				return reading, backend.name, notes
			except ConnectorResponseError as e:
				if index + 1 == len(backends):
					raise
				notes.append(f"{backend.name}: {e}")
		raise ConnectorResponseError(f"{base_url}: no backend", source=SOURCE)  # pragma: no cover

	# -- reads forwarded between processes (leases with an inbox: modem_lease.RedisDeviceLeases)
	def _read_at_holder(self, holder: str, host: str, kind: str | None) -> tuple[dict, str, list[str]] | None:
		"""The reading of a device the process ``holder`` holds, made by it through its warm session;
		None when it did not answer (then this process takes the device over)."""
		answer = self.pool.leases.call(
			holder, {"host": host, "kind": kind}, float(self.settings.timeout) * 2 + 5
		)
		if answer is None or answer.get("retry"):
			return None
		if answer.get("ok"):
			self.forwarded += 1
			return answer["reading"], answer["backend"], answer.get("notes") or []
		raise _error_from(answer)

	def _serve_request(self, request: dict) -> dict:
		"""Read a device for another process (never forwarded again); errors as plain values."""
		if self._stop_reaper.is_set():  # closing: the caller takes the device over instead
			return {"ok": False, "retry": True}
		try:
			reading, backend, notes = self.read_raw(request["host"], kind=request.get("kind"), forward=False)
			return {"ok": True, "reading": reading, "backend": backend, "notes": notes}
		except ConnectorError as e:
			return {
				"ok": False,
				"error": type(e).__name__,
				"message": str(e),
				"limit": getattr(e, "limit", None),
				"waited": getattr(e, "waited", None),
			}
		except Exception as e:  # a bug must still answer, not leave the caller waiting
			return {"ok": False, "error": "ConnectorResponseError", "message": f"{type(e).__name__}: {e}"}

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


def _error_from(answer: dict) -> ConnectorError:
	"""The typed error another process's read of a device answered with."""
	message, name = answer.get("message") or "", answer.get("error")
	if name == "BridgeBusy":
		return BridgeBusy(message, limit=answer.get("limit") or 0, waited=answer.get("waited") or 0)
	if name == "DeviceHeld":
		return DeviceHeld(message, waited=answer.get("waited") or 0)
	kinds = {
		"ConnectorAuthError": ConnectorAuthError,
		"ConnectorTimeout": ConnectorTimeout,
		"ConnectorUnavailable": ConnectorUnavailable,
	}
	return kinds.get(name, ConnectorResponseError)(message, source=SOURCE)


def _error_entry(exc: ConnectorError, host: str, timeout: float, settings: ModemBridgeSettings) -> dict:
	if not settings.configured:
		return error(SOURCE, "modem_not_configured", T_NOT_CONFIGURED)
	if isinstance(exc, ConnectorAuthError):
		return error(SOURCE, "modem_auth", T_AUTH, host)
	if isinstance(exc, BridgeBusy):
		return error(SOURCE, "modem_busy", T_BUSY, exc.limit)
	if isinstance(exc, DeviceHeld):
		return error(SOURCE, "modem_in_use", T_IN_USE, host)
	if isinstance(exc, ConnectorTimeout):
		return error(SOURCE, "modem_timeout", T_TIMEOUT, host, timeout)
	if isinstance(exc, ConnectorUnavailable):
		return error(SOURCE, "modem_unavailable", T_UNAVAILABLE, host, str(exc))
	return error(SOURCE, "modem_response", T_RESPONSE, host, str(exc))
