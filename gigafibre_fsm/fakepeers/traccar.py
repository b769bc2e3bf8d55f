"""Fake peer speaking Traccar's REST API (the parts the connector uses).

Imitates Traccar 5.x as its API reference (https://www.traccar.org/api-reference/)
and ``org.traccar.api.resource.PositionResource`` / ``DeviceResource`` describe it:

- ``GET /api/positions?deviceId=<id>`` → 200 and a JSON list holding the device's
  latest position; ``[]`` when the device has no position or is unknown (what an
  administrator's token gets). A device listed in ``denied`` is refused the way
  Traccar refuses a device the user cannot see: 400 with the ``SecurityException``
  text. Without ``deviceId`` → the latest position of every device.
- ``GET /api/devices`` → 200 and the device list (``?id=`` filters).
- Authentication: ``Authorization: Bearer <token>`` (Traccar 5.x API token), or
  HTTP Basic with ``email``/``password`` when those are set; anything else → 401
  with Traccar's plain-text body.
- Positions carry Traccar's fields: id, deviceId, protocol, serverTime, deviceTime,
  fixTime (ISO 8601, ``+00:00``), outdated, valid, latitude, longitude, altitude,
  speed (knots), course, address, accuracy (metres), network, geofenceIds,
  attributes.

For timeout and parallelism tests ``delays[device_id]`` (seconds) holds back the
answer for that device only; ``fail_next`` queues canned answers.
"""

from __future__ import annotations

import itertools
import threading
from base64 import b64decode
from datetime import UTC, datetime

from gigafibre_fsm.fakepeers.http import FakePeer, Response

UNAUTHORIZED = "HTTP 401 Unauthorized - WebApplicationException (SecurityRequestFilter:133 < ...)"
ACCESS_DENIED = "Device access denied - SecurityException (PermissionsService:156 < ...)"


def _iso(when: datetime) -> str:
	return when.astimezone(UTC).isoformat(timespec="milliseconds")


class FakeTraccar(FakePeer):
	def __init__(self, token: str = "test-token", *, email: str = "", password: str = ""):
		self.token = token
		self.email = email
		self.password = password
		self.devices: dict[int, dict] = {}
		self.positions: dict[int, dict] = {}  # device id → latest position
		self.delays: dict[int, float] = {}  # device id → seconds before answering
		self.denied: set[int] = set()  # devices the token's user may not see
		self.fail_next: list[Response] = []
		self._ids = itertools.count(1000)
		self._data_lock = threading.Lock()
		super().__init__()

	# -- test set-up

	def add_device(self, device_id: int, name: str | None = None, unique_id: str | None = None) -> dict:
		device = {
			"id": device_id,
			"attributes": {},
			"groupId": 0,
			"calendarId": 0,
			"name": name or f"Device {device_id}",
			"uniqueId": unique_id or f"35{device_id:013d}",
			"status": "unknown",
			"lastUpdate": None,
			"positionId": 0,
			"phone": None,
			"model": None,
			"contact": None,
			"category": None,
			"disabled": False,
			"expirationTime": None,
		}
		with self._data_lock:
			self.devices[device_id] = device
		return device

	def set_position(
		self,
		device_id: int,
		lat: float,
		lon: float,
		*,
		speed_knots: float = 0.0,
		course: float = 0.0,
		fix_time: datetime | None = None,
		accuracy: float = 0.0,
		attributes: dict | None = None,
		valid: bool = True,
	) -> dict:
		"""Record the device's latest position (adds the device when it is new)."""
		if device_id not in self.devices:
			self.add_device(device_id)
		fix = fix_time or datetime.now(UTC)
		server = datetime.now(UTC)
		position = {
			"id": next(self._ids),
			"deviceId": device_id,
			"protocol": "osmand",
			"serverTime": _iso(server),
			"deviceTime": _iso(fix),
			"fixTime": _iso(fix),
			"outdated": False,
			"valid": valid,
			"latitude": lat,
			"longitude": lon,
			"altitude": 0.0,
			"speed": speed_knots,
			"course": course,
			"address": None,
			"accuracy": accuracy,
			"network": None,
			"geofenceIds": None,
			"attributes": attributes or {},
		}
		with self._data_lock:
			self.positions[device_id] = position
			self.devices[device_id].update(
				status="online", lastUpdate=position["serverTime"], positionId=position["id"]
			)
		return position

	# -- protocol

	def _authorised(self, request) -> bool:
		header = request.headers.get("authorization", "")
		if header.startswith("Bearer "):
			return bool(self.token) and header[7:] == self.token
		if header.startswith("Basic ") and self.email:
			try:
				user, _, password = b64decode(header[6:]).decode().partition(":")
			except Exception:
				return False
			return user == self.email and password == self.password
		return False

	def setup_routes(self):
		def unauthorized() -> Response:
			return Response(
				401,
				UNAUTHORIZED.encode(),
				{"Content-Type": "text/plain", "WWW-Authenticate": 'Basic realm="api"'},
			)

		@self.route("GET", r"/api/positions/?")
		def positions(request):
			if not self._authorised(request):
				return unauthorized()
			if self.fail_next:
				return self.fail_next.pop(0)
			raw = (request.query.get("deviceId") or ["0"])[-1]
			try:
				device_id = int(raw)
			except ValueError:
				return Response.text(f"HTTP 404 Not Found - NotFoundException ({raw!r})", status=404)
			delay = self.delays.get(device_id, 0.0)
			if device_id <= 0:
				with self._data_lock:
					return Response.json(list(self.positions.values()))
			if device_id in self.denied:
				return Response(400, ACCESS_DENIED.encode(), {"Content-Type": "text/plain"}, delay=delay)
			with self._data_lock:
				latest = self.positions.get(device_id)
			return Response.json([latest] if latest else [], delay=delay)

		@self.route("GET", r"/api/devices/?")
		def devices(request):
			if not self._authorised(request):
				return unauthorized()
			wanted = {int(i) for i in request.query.get("id", []) if i.isdigit()}
			with self._data_lock:
				found = [d for i, d in self.devices.items() if not wanted or i in wanted]
			return Response.json(found)
