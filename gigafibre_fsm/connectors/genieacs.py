"""GenieACS NBI client (default port 7557), as documented in shared/NETWORK.md §1.

GenieACS is read as a cache: fleet data comes from projected, paged ``GET /devices/``
queries keyed on ``_lastInform`` (:meth:`GenieACSClient.iter_devices`), never from
connection requests. Connection requests are kept for on-demand diagnosis of one
device (:meth:`GenieACSClient.create_task`, :meth:`GenieACSClient.run_task`).

What the NBI does and this client relies on (``lib/nbi.ts``):

- ``GET /devices/?query=<json>&projection=a,b&skip=&limit=&sort=<json>`` answers a JSON
  array and a ``total`` header with the match count; ``HEAD`` answers the header only.
- ``POST /devices/<id>/tasks?connection_request&timeout=<ms>``: 404 "No such device";
  200 when the task ran and is gone; 202 otherwise, and the HTTP *reason phrase* says
  why: "Task queued but not processed", "Task faulted", or the connection request's
  own error text ("Device is offline", "Incorrect connection request credentials", …).
  Without ``connection_request`` a 202 carries the standard phrase (queued).
- An empty body with ``connection_request`` only sends the CR: 200, or 504 with the
  error text. The NBI may hold a CR-backed call for 30 s + timeout + 120 s.
- Device ids escape each component (``%2D`` for ``-`` inside a serial…), so the id is
  percent-encoded *again* in a path (``%252D``).

The NBI has no authentication of its own; ``username``/``password`` are sent as HTTP
Basic for a reverse proxy in front of it when set.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from gigafibre_fsm.connectors.errors import (
	ConnectorAuthError,
	ConnectorError,
	ConnectorResponseError,
	ConnectorTimeout,
	ConnectorUnavailable,
)
from gigafibre_fsm.connectors.genieacs_nbi import (
	DEFAULT_CR_TIMEOUT_MS,
	DEFAULT_PAGE_SIZE,
	FLEET_KEYS,
	NBI_SESSION_END_S,
	NBI_SESSION_WAIT_S,
	REASON_FAULTED,
	REASON_QUEUED,
	SOURCE,
	NoSuchDevice,
	Page,
	TaskResult,
	TaskStatus,
	quote_device_id,
	task_outcome,
)
from gigafibre_fsm.core.settings import GenieACSSettings


class GenieACSClient:
	"""A GenieACS NBI client over one pooled ``requests.Session``.

	``sleep`` and ``clock`` are injectable so retries and polls run instantly in tests.
	Idempotent reads are retried ``max_attempts`` times on timeouts, refused connections
	and 5xx, with exponential backoff (``backoff`` × 2ⁿ, at most ``backoff_max``).
	"""

	def __init__(
		self,
		settings: GenieACSSettings,
		*,
		session: requests.Session | None = None,
		sleep: Callable[[float], None] = time.sleep,
		clock: Callable[[], float] = time.monotonic,
		max_attempts: int = 3,
		backoff: float = 0.5,
		backoff_max: float = 8.0,
		pool_size: int = 10,
	):
		if not settings.configured:
			raise ConnectorUnavailable("GenieACS NBI URL is not configured", source=SOURCE)
		self.settings = settings
		self.base = settings.nbi_url
		self.timeout = float(settings.timeout)
		self.sleep = sleep
		self.clock = clock
		self.max_attempts = max(1, max_attempts)
		self.backoff = backoff
		self.backoff_max = backoff_max
		self._own_session = session is None
		self.session = session or requests.Session()
		if self._own_session:
			adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size)
			self.session.mount("http://", adapter)
			self.session.mount("https://", adapter)
		if settings.username:
			self.session.auth = (settings.username, settings.password)
		self.session.headers.setdefault("Accept", "application/json")

	# -- lifecycle
	def close(self) -> None:
		if self._own_session:
			self.session.close()

	def __enter__(self) -> GenieACSClient:
		return self

	def __exit__(self, *exc) -> None:
		self.close()

	# -- transport
	def _delay(self, attempt: int) -> float:
		return min(self.backoff_max, self.backoff * (2**attempt))

	def _request(
		self,
		method: str,
		path: str,
		*,
		params: Sequence[tuple[str, str]] | None = None,
		body: bytes | None = None,
		timeout: float | tuple[float, float] | None = None,
		retry: bool = False,
		expect: tuple[int, ...] = (200,),
	) -> requests.Response:
		"""One NBI call with explicit timeouts and typed errors; retried only when ``retry``."""
		url = self.base + path
		if params:
			url += "?" + "&".join(f"{k}={quote(v, safe='')}" if v is not None else k for k, v in params)
		timeout = timeout if timeout is not None else (min(self.timeout, 5.0), self.timeout)
		headers = {"Content-Type": "application/json"} if body is not None else None
		attempts = self.max_attempts if retry else 1
		for attempt in range(attempts):
			try:
				response = self.session.request(method, url, data=body, headers=headers, timeout=timeout)
			except requests.Timeout as e:
				error: ConnectorError = ConnectorTimeout(
					f"GenieACS NBI timed out: {method} {path}: {e}", source=SOURCE
				)
			except requests.ConnectionError as e:
				error = ConnectorUnavailable(f"GenieACS NBI unreachable: {method} {path}: {e}", source=SOURCE)
			except requests.RequestException as e:
				error = ConnectorUnavailable(
					f"GenieACS NBI request failed: {method} {path}: {e}", source=SOURCE
				)
			else:
				if response.status_code in expect:
					return response
				error = self._status_error(method, path, response)
				if response.status_code < 500 or response.status_code == 504:
					raise error
			if attempt + 1 < attempts:
				self.sleep(self._delay(attempt))
		raise error

	@staticmethod
	def _status_error(method: str, path: str, response: requests.Response) -> ConnectorError:
		status = response.status_code
		text = (response.text or "")[:200].strip()
		message = f"GenieACS NBI {method} {path}: {status} {response.reason or ''} {text}".strip()
		if status in (401, 403, 407):
			return ConnectorAuthError(message, source=SOURCE, status=status)
		if status == 404 and text == "No such device":
			return NoSuchDevice(message, source=SOURCE, status=status)
		return ConnectorResponseError(message, source=SOURCE, status=status)

	@staticmethod
	def _json(response: requests.Response, what: str):
		try:
			return response.json()
		except ValueError as e:
			raise ConnectorResponseError(
				f"GenieACS NBI sent unreadable JSON for {what}: {e}",
				source=SOURCE,
				status=response.status_code,
			)

	# -- queries
	@staticmethod
	def _query_params(
		query: Mapping | None,
		projection: Sequence[str] | str | None,
		skip: int | None,
		limit: int | None,
		sort: Mapping | None,
	) -> list[tuple[str, str]]:
		params = [("query", json.dumps(query or {}, separators=(",", ":"), default=_json_default))]
		if projection:
			fields = projection.split(",") if isinstance(projection, str) else list(projection)
			params.append(("projection", ",".join(f.strip() for f in fields if f.strip())))
		if sort:
			params.append(("sort", json.dumps(dict(sort), separators=(",", ":"))))
		if skip:
			params.append(("skip", str(int(skip))))
		if limit is not None:
			params.append(("limit", str(int(limit))))
		return params

	def query(
		self,
		collection: str,
		query: Mapping | None = None,
		projection: Sequence[str] | str | None = None,
		*,
		skip: int = 0,
		limit: int | None = None,
		sort: Mapping | None = None,
	) -> Page:
		"""One page of any NBI collection (devices, tasks, faults, presets, …)."""
		params = self._query_params(query, projection, skip, limit, sort)
		response = self._request("GET", f"/{collection}/", params=params, retry=True)
		items = self._json(response, collection)
		if not isinstance(items, list):
			raise ConnectorResponseError(f"GenieACS NBI /{collection}/ did not answer a list", source=SOURCE)
		return Page(items, _total(response), skip, limit)

	def query_devices(
		self,
		query: Mapping | None = None,
		projection: Sequence[str] | str | None = None,
		*,
		skip: int = 0,
		limit: int | None = None,
		sort: Mapping | None = None,
	) -> Page:
		"""``GET /devices/?query=…&projection=…&skip=…&limit=…&sort=…`` with the ``total`` header."""
		return self.query("devices", query, projection, skip=skip, limit=limit, sort=sort)

	def count_devices(self, query: Mapping | None = None) -> int | None:
		"""The match count only (``HEAD /devices/``; the NBI still runs the count)."""
		params = self._query_params(query, None, None, None, None)
		return _total(self._request("HEAD", "/devices/", params=params, retry=True))

	def get_device(self, device_id: str, projection: Sequence[str] | str | None = None) -> dict | None:
		"""One device document by ``_id`` (None if unknown)."""
		page = self.query_devices({"_id": device_id}, projection, limit=1)
		return page.devices[0] if page.devices else None

	def iter_pages(
		self,
		query: Mapping | None = None,
		projection: Sequence[str] | str | None = None,
		*,
		page_size: int = DEFAULT_PAGE_SIZE,
		since: str | None = None,
	) -> Iterator[Page]:
		"""Pages of the fleet, keyset-paged on ``_lastInform`` (ascending, then ``_id``).

		Each page asks for ``_lastInform >= last seen`` and leaves out the ids already
		seen at that instant, so devices that inform during the walk are neither skipped
		nor repeated in a loop (one that informs again is seen again at the end). Only
		``/devices/`` is queried: no task, no connection request. ``since`` starts after
		an earlier walk (incremental refresh).
		"""
		if page_size < 1:
			raise ValueError("page_size must be positive")
		projection = _with_keys(projection)
		sort = {"_lastInform": 1, "_id": 1}
		last: str | None = since
		boundary: list[str] = []  # ids already returned whose _lastInform == last
		strict = since is not None
		while True:
			clauses = [dict(query)] if query else []
			if last is not None:
				clauses.append({"_lastInform": {"$gt" if strict else "$gte": last}})
			if boundary:
				clauses.append({"_id": {"$nin": list(boundary)}})
			q = clauses[0] if len(clauses) == 1 else ({"$and": clauses} if clauses else {})
			page = self.query_devices(q, projection, limit=page_size, sort=sort)
			if page.devices:
				yield page
			if len(page.devices) < page_size:
				return
			tail = page.devices[-1].get("_lastInform")
			if tail is None:
				raise ConnectorResponseError(
					"GenieACS device without _lastInform: cannot page on it", source=SOURCE
				)
			same = [d["_id"] for d in page.devices if d.get("_lastInform") == tail]
			boundary = [*boundary, *same] if tail == last else same
			last, strict = tail, False

	def iter_devices(
		self,
		query: Mapping | None = None,
		projection: Sequence[str] | str | None = None,
		*,
		page_size: int = DEFAULT_PAGE_SIZE,
		since: str | None = None,
	) -> Iterator[dict]:
		"""Every matching device document, page by page (see :meth:`iter_pages`)."""
		for page in self.iter_pages(query, projection, page_size=page_size, since=since):
			yield from page.devices

	# -- tasks
	def _task_timeout(self, timeout_ms: int | None) -> tuple[float, float]:
		"""Read timeout for a CR-backed call: the NBI may hold it 30 s + timeout + 120 s."""
		wait = NBI_SESSION_WAIT_S + (timeout_ms or 4000) / 1000 + NBI_SESSION_END_S + self.timeout
		return (min(self.timeout, 5.0), wait)

	def create_task(
		self,
		device_id: str,
		task: Mapping,
		*,
		connection_request: bool = True,
		timeout_ms: int | None = DEFAULT_CR_TIMEOUT_MS,
		request_timeout: float | None = None,
	) -> TaskResult:
		"""``POST /devices/<id>/tasks[?connection_request][&timeout=ms]``, mapped to a TaskResult.

		Never retried here (it would queue the task twice); use :meth:`run_task` to
		follow a pending task. ``request_timeout`` overrides the read timeout, which by
		default covers the NBI's longest hold.
		"""
		params: list[tuple[str, str | None]] = []
		if connection_request:
			params.append(("connection_request", None))
			if timeout_ms:
				params.append(("timeout", str(int(timeout_ms))))
		timeout = (
			(min(self.timeout, 5.0), request_timeout) if request_timeout else self._task_timeout(timeout_ms)
		)
		response = self._request(
			"POST",
			f"/devices/{quote_device_id(device_id)}/tasks",
			params=params,
			body=json.dumps(dict(task)).encode(),
			timeout=timeout,
			expect=(200, 202),
		)
		body = self._json(response, "task") if response.content else {}
		return TaskResult(
			task_outcome(response.status_code, response.reason),
			response.status_code,
			response.reason or "",
			body if isinstance(body, dict) else {},
		)

	def connection_request(self, device_id: str) -> TaskResult:
		"""Send a connection request only (empty body): DONE, or CONNECTION_REQUEST_FAILED + reason."""
		response = self._request(
			"POST",
			f"/devices/{quote_device_id(device_id)}/tasks",
			params=[("connection_request", None)],
			body=b"",
			timeout=(min(self.timeout, 5.0), NBI_SESSION_WAIT_S + self.timeout),
			expect=(200, 504),
		)
		reason = response.reason or ""
		if response.status_code == 504 and response.text:
			reason = response.text.strip()
		return TaskResult(task_outcome(response.status_code, reason), response.status_code, reason)

	def task_state(self, device_id: str, task_id: str) -> tuple[dict | None, dict | None]:
		"""(the task if still queued, its fault if any) from ``/tasks/`` and ``/faults/``."""
		tasks = self.query("tasks", {"_id": task_id}, limit=1).devices
		faults = self.query("faults", {"_id": f"{device_id}:task_{task_id}"}, limit=1).devices
		return (tasks[0] if tasks else None), (faults[0] if faults else None)

	def run_task(
		self,
		device_id: str,
		task: Mapping,
		*,
		timeout_ms: int = DEFAULT_CR_TIMEOUT_MS,
		max_polls: int = 6,
		poll_interval: float = 5.0,
		poll_max: float = 30.0,
		deadline: float = 180.0,
		resend_connection_request: bool = True,
		request_timeout: float | None = None,
	) -> TaskResult:
		"""Queue a task with a connection request, then follow it until it is done or faulted.

		While the task stays pending (queued, or the CR failed) this polls ``/tasks/`` and
		``/faults/`` with exponential backoff (``poll_interval`` × 2ⁿ, at most
		``poll_max``), at most ``max_polls`` times and ``deadline`` seconds, and re-sends a
		bare connection request before each poll when ``resend_connection_request`` (the
		retry GenieACS never made default, #222). Bounded: returns the last pending result.
		"""
		started = self.clock()
		result = self.create_task(device_id, task, timeout_ms=timeout_ms, request_timeout=request_timeout)
		task_id = result.task_id
		polls = 0
		while result.pending and task_id and polls < max_polls:
			wait = min(poll_max, poll_interval * (2**polls))
			if self.clock() - started + wait > deadline:
				break
			self.sleep(wait)
			polls += 1
			status, reason = TaskStatus.QUEUED, REASON_QUEUED
			if resend_connection_request:
				try:
					cr = self.connection_request(device_id)
				except ConnectorTimeout:
					cr = None
				if cr is not None and cr.status is TaskStatus.CONNECTION_REQUEST_FAILED:
					status, reason = cr.status, cr.reason
			queued, fault = self.task_state(device_id, task_id)
			if fault is not None:
				result = TaskResult(TaskStatus.FAULTED, 202, REASON_FAULTED, result.task, fault, polls + 1)
			elif queued is None:
				result = TaskResult(TaskStatus.DONE, 200, "OK", result.task, None, polls + 1)
			else:
				result = TaskResult(status, 202, reason, result.task, None, polls + 1)
		return result

	def delete_task(self, task_id: str) -> None:
		self._request("DELETE", f"/tasks/{quote_device_id(task_id)}")

	def retry_task(self, task_id: str) -> None:
		"""Clear the task's fault so it runs at the next inform."""
		self._request("POST", f"/tasks/{quote_device_id(task_id)}/retry")

	# -- convenience tasks for diagnosis
	def refresh(self, device_id: str, object_name: str, **kwargs) -> TaskResult:
		"""``refreshObject`` on one subtree (never the whole tree: "Resources exceeded", #197)."""
		if object_name.strip(".") in ("Device", "InternetGatewayDevice", ""):
			raise ValueError("refresh a subtree, not the whole data model")
		return self.run_task(device_id, {"name": "refreshObject", "objectName": object_name}, **kwargs)

	def get_parameter_values(self, device_id: str, names: Sequence[str], **kwargs) -> TaskResult:
		return self.run_task(
			device_id, {"name": "getParameterValues", "parameterNames": list(names)}, **kwargs
		)


def _json_default(value):
	"""Dates in queries as GenieACS's own ISO form (the NBI widens a date string to a Date)."""
	if isinstance(value, datetime):
		if value.tzinfo is None:
			value = value.replace(tzinfo=UTC)
		return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
	return str(value)


def _total(response: requests.Response) -> int | None:
	value = response.headers.get("total")
	try:
		return int(value) if value is not None else None
	except ValueError:
		return None


def _with_keys(projection: Sequence[str] | str | None) -> list[str] | None:
	if not projection:
		return None
	fields = projection.split(",") if isinstance(projection, str) else list(projection)
	fields = [f.strip() for f in fields if f.strip()]
	return [*fields, *(k for k in FLEET_KEYS if k not in fields)]
