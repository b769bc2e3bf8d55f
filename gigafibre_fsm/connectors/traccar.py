"""Traccar REST client: the latest position of technicians' devices.

What this client relies on (Traccar API reference, https://www.traccar.org/api-reference/,
and ``org.traccar.api.resource.PositionResource``):

- ``GET /api/positions?deviceId=<id>`` without ``from``/``to`` answers a JSON list
  with the device's latest position (empty when it has none yet). One device per
  request: Traccar takes a single ``deviceId`` there, so a fleet is polled in
  parallel (:meth:`TraccarClient.positions_for`).
- ``GET /api/devices`` answers the user's devices (id, name, uniqueId, status,
  lastUpdate, positionId, ...).
- Authentication: an API token (Traccar 5.x, *Settings → Token*) sent as
  ``Authorization: Bearer <token>``; without valid credentials Traccar answers 401.
  ``Accept: application/json`` is sent on every request (Traccar needs it).
- A device the token's user may not see is refused by a ``SecurityException``,
  which Traccar's ``ResourceErrorHandler`` turns into a 400 with a text body.
- Position fields: id, deviceId, fixTime/deviceTime/serverTime (ISO 8601), valid,
  latitude, longitude, altitude, speed in **knots**, course in degrees, accuracy in
  metres (0 when the device does not report it), attributes.

Timeouts: every request carries ``settings.timeout`` as its connect and read
timeout, so one dead or slow device costs its own thread at most that long and
never holds back the others.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookiejar import DefaultCookiePolicy

import requests
from requests.adapters import HTTPAdapter

from gigafibre_fsm.connectors.errors import (
	ConnectorAuthError,
	ConnectorError,
	ConnectorResponseError,
	ConnectorTimeout,
	ConnectorUnavailable,
)
from gigafibre_fsm.core.settings import TraccarSettings

SOURCE = "traccar"
KMH_PER_KNOT = 1.852
DEFAULT_MAX_WORKERS = 8
POOL_SIZE = 32  # connections kept per host; more parallel workers than this still work


class InvalidDeviceId(ConnectorError):
	"""The device id is not a Traccar device id (a positive integer); nothing was asked."""

	source = SOURCE


@dataclass(frozen=True)
class Position:
	"""One Traccar position, in the units the app uses (km/h, metres, UTC)."""

	device_id: int
	lat: float
	lon: float
	speed_kmh: float
	course: float
	fix_time: datetime  # aware, UTC
	accuracy_m: float | None = None  # None: the device did not report it (Traccar sends 0)
	position_id: int | None = None
	valid: bool = True

	@classmethod
	def from_traccar(cls, data: dict) -> Position:
		"""Build from a Traccar Position object; ConnectorResponseError when it cannot be read."""
		try:
			lat, lon = float(data["latitude"]), float(data["longitude"])
			if not (-90 <= lat <= 90 and -180 <= lon <= 180):
				raise ValueError(f"coordinates out of range: {lat}, {lon}")
			when = data.get("fixTime") or data.get("deviceTime") or data.get("serverTime")
			accuracy = float(data.get("accuracy") or 0)
			return cls(
				device_id=int(data["deviceId"]),
				lat=lat,
				lon=lon,
				speed_kmh=round(float(data.get("speed") or 0) * KMH_PER_KNOT, 2),
				course=float(data.get("course") or 0),
				fix_time=parse_time(when),
				accuracy_m=accuracy if accuracy > 0 else None,
				position_id=int(data["id"]) if data.get("id") is not None else None,
				valid=bool(data.get("valid", True)),
			)
		except (KeyError, TypeError, ValueError) as e:
			raise ConnectorResponseError(f"Traccar sent a position we cannot read: {e}", source=SOURCE) from e

	def as_dict(self) -> dict:
		return {
			"device_id": self.device_id,
			"lat": self.lat,
			"lon": self.lon,
			"speed_kmh": self.speed_kmh,
			"course": self.course,
			"fix_time": self.fix_time.isoformat(),
			"accuracy_m": self.accuracy_m,
			"position_id": self.position_id,
			"valid": self.valid,
		}


def parse_time(value) -> datetime:
	"""Traccar's ISO 8601 times (``...T12:00:00.000+00:00``, ``Z``, ``+0000``) as aware UTC."""
	if not isinstance(value, str) or not value:
		raise ValueError(f"no time in the position ({value!r})")
	parsed = datetime.fromisoformat(value)
	if parsed.tzinfo is None:
		parsed = parsed.replace(tzinfo=UTC)
	return parsed.astimezone(UTC)


def device_id_of(value) -> int:
	"""A Traccar device id (its internal id, not the uniqueId/IMEI) from an int or digits."""
	if isinstance(value, bool):
		raise InvalidDeviceId(f"{value!r} is not a Traccar device id")
	try:
		device_id = int(str(value).strip()) if isinstance(value, str) else int(value)
	except (TypeError, ValueError):
		raise InvalidDeviceId(f"{value!r} is not a Traccar device id") from None
	if device_id <= 0 or (isinstance(value, float) and not math.isclose(value, device_id)):
		raise InvalidDeviceId(f"{value!r} is not a Traccar device id")
	return device_id


class TraccarClient:
	"""A Traccar API client; safe to share between the threads of :meth:`positions_for`."""

	def __init__(self, settings: TraccarSettings, *, session: requests.Session | None = None):
		self.settings = settings
		self.session = session or self._new_session()

	@staticmethod
	def _new_session() -> requests.Session:
		session = requests.Session()
		# The bearer token is sent on every request: no session cookie is needed, and
		# refusing them keeps the shared session free of cross-thread cookie writes.
		session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
		adapter = HTTPAdapter(pool_connections=1, pool_maxsize=POOL_SIZE)
		session.mount("http://", adapter)
		session.mount("https://", adapter)
		return session

	def close(self) -> None:
		self.session.close()

	def __enter__(self) -> TraccarClient:
		return self

	def __exit__(self, *exc) -> None:
		self.close()

	# -- API

	def latest_position(self, device_id) -> Position | None:
		"""The device's latest position, or None when Traccar has none for it."""
		wanted = device_id_of(device_id)
		data = self._get("/api/positions", params={"deviceId": wanted})
		if not isinstance(data, list):
			raise ConnectorResponseError("Traccar answered positions that are not a list", source=SOURCE)
		# Keep only this device's positions: a server that ignores deviceId answers
		# the latest position of every device.
		mine = [Position.from_traccar(p) for p in data if isinstance(p, dict) and p.get("deviceId") == wanted]
		if not mine:
			return None
		return max(mine, key=lambda p: (p.fix_time, p.position_id or 0))

	def positions_for(
		self, device_ids: Iterable[Hashable], *, max_workers: int = DEFAULT_MAX_WORKERS
	) -> dict[Hashable, Position | None | ConnectorError]:
		"""Latest positions of many devices, one request each, polled in parallel.

		Keys are the ids as given. A value is a Position, None (no position yet) or the
		ConnectorError of that device alone (timeout, refused, unreadable): one bad device
		never spoils the others. Each request has its own timeout, so with at most
		``max_workers`` devices the whole poll takes about one timeout at worst.
		"""
		self._require_configured()
		ids = list(dict.fromkeys(device_ids))
		if not ids:
			return {}
		results: dict[Hashable, Position | None | ConnectorError] = {}
		workers = max(1, min(max_workers, len(ids)))
		with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="traccar") as pool:
			futures = {pool.submit(self._one, key): key for key in ids}
			for future in as_completed(futures):
				results[futures[future]] = future.result()
		return {key: results[key] for key in ids}

	def devices(self) -> list[dict]:
		"""The token user's devices as Traccar describes them (id, name, uniqueId, status...)."""
		data = self._get("/api/devices")
		if not isinstance(data, list):
			raise ConnectorResponseError("Traccar answered devices that are not a list", source=SOURCE)
		return data

	# -- internals

	def _one(self, key) -> Position | None | ConnectorError:
		try:
			return self.latest_position(key)
		except ConnectorError as e:
			return e

	def _require_configured(self) -> None:
		if not self.settings.configured:
			raise ConnectorUnavailable("Traccar is not configured", source=SOURCE)

	def _get(self, path: str, params: dict | None = None):
		self._require_configured()
		timeout = self.settings.timeout
		try:
			resp = self.session.get(
				self.settings.url + path,
				params=params,
				headers={"Authorization": f"Bearer {self.settings.token}", "Accept": "application/json"},
				timeout=(timeout, timeout),
				allow_redirects=False,
			)
		except requests.Timeout as e:
			raise ConnectorTimeout(f"Traccar did not answer {path} within {timeout}s", source=SOURCE) from e
		except requests.ConnectionError as e:
			raise ConnectorUnavailable(f"Traccar could not be reached: {e}", source=SOURCE) from e
		status = resp.status_code
		if status in (401, 403):
			raise ConnectorAuthError(
				f"Traccar refused the API token ({status})", source=SOURCE, status=status
			)
		if status in (502, 503, 504):
			raise ConnectorUnavailable(f"Traccar is unavailable ({status})", source=SOURCE, status=status)
		if status != 200:
			detail = (resp.text or "").strip().splitlines()[:1]
			raise ConnectorResponseError(
				f"Traccar answered {status} to {path}: {detail[0][:200] if detail else resp.reason}",
				source=SOURCE,
				status=status,
			)
		try:
			return resp.json()
		except ValueError as e:
			raise ConnectorResponseError(f"Traccar sent invalid JSON for {path}", source=SOURCE) from e


def positions_for(
	settings: TraccarSettings, device_ids: Iterable[Hashable], *, max_workers: int = DEFAULT_MAX_WORKERS
) -> dict[Hashable, Position | None | ConnectorError]:
	"""One-shot :meth:`TraccarClient.positions_for` (a fresh session, closed afterwards)."""
	with TraccarClient(settings) as client:
		return client.positions_for(device_ids, max_workers=max_workers)
