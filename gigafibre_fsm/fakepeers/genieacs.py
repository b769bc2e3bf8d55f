"""A fake GenieACS NBI, for testing gigafibre_fsm.connectors.genieacs over loopback."""

from __future__ import annotations

import base64
import bisect
import json
import re
import threading
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import unquote

from gigafibre_fsm.fakepeers.http import FakePeer, Request, Response

# Connection-request error texts GenieACS puts in the reason phrase (lib/connection-request.ts)
CR_ERRORS = {
	"offline": "Device is offline",
	"credentials": "Incorrect connection request credentials",
	"bad_response": "Unexpected response code from device: 500",
}
BEHAVIOURS = ("done", "queued", "faulted", "in_session", *CR_ERRORS)


class FakeGenieACS(FakePeer):
	"""Fake peer speaking the GenieACS NBI as documented (docs/api-reference.rst, lib/nbi.ts;
	summarised in shared/NETWORK.md §1).

	Holds device documents in memory and answers:

	- ``GET``/``HEAD /<collection>/?query=<json>&projection=a,b&skip=&limit=&sort=<json>`` for
	  ``devices``, ``tasks`` and ``faults``: a JSON array streamed as GenieACS writes it and the
	  ``total`` header (count of all matches); bad JSON → 400; an unknown collection → 404.
	  Queries use the subset the client sends: equality (on arrays: contains), ``$eq $ne
	  $gt $gte $lt $lte $in $nin $exists $and $or``, GenieACS's widening of strings (a date
	  string matches a date, ``/re/`` a regex, ``*`` a wildcard) and, on devices, ``._value``
	  added to parameter paths (in queries and in sorts).
	- ``POST /devices/<id>/tasks[?connection_request][&timeout=ms]`` (the id is decoded
	  once, as the NBI does): 404 "No such device"; without ``connection_request`` 202 with
	  the standard phrase; with it, per-device :attr:`behaviour`: ``done`` → 200 (task run
	  and removed), ``queued`` → 202 "Task queued but not processed", ``faulted`` → 202
	  "Task faulted" (and a fault ``<id>:task_<taskId>``), ``in_session`` → 202 "Task
	  queued but not processed", ``offline``/``credentials``/``bad_response`` → 202 with
	  the connection-request error text as reason phrase. An empty body with
	  ``connection_request`` sends only the CR: 200, or 504 with the error text; an empty
	  body without it → 400.
	- ``DELETE /tasks/<id>`` (404 "Task not found"), ``POST /tasks/<id>/retry``.

	The real NBI has no authentication; ``credentials`` makes this fake behave like the
	Basic-auth reverse proxy we put in front of it (401 without them).

	``indexed`` answers the two queries of a fleet walk from indexes, as MongoDB does from
	its ``_id`` and ``_lastInform`` indexes, instead of matching every document: an ``_id``
	``$in`` lookup, and the keyset page (``_lastInform`` ``$gt``/``$gte``, optionally ``_id``
	``$nin``, sorted on ``_lastInform`` then ``_id``) when every ``_lastInform`` is an ISO
	string of one form. The answers are those of the general matcher (benchmarks with tens of
	thousands of devices); documents must then not be changed in place (``add_devices``
	re-indexes).
	"""

	def __init__(
		self,
		devices=(),
		*,
		credentials: tuple[str, str] | None = None,
		query_delay: float = 0.0,
		indexed: bool = False,
	):
		self.devices: dict[str, dict] = {}
		self.indexed = indexed
		self._position: dict[str, int] = {}
		self._keyset: tuple[list[str], list[str]] | None = None
		self.tasks: dict[str, dict] = {}
		self.faults: dict[str, dict] = {}
		self.behaviour: dict[str, str] = {}
		self.default_behaviour = "done"
		self.credentials = credentials
		self.query_delay = query_delay
		self._state = threading.Lock()
		super().__init__()
		self.add_devices(devices)

	# -- state helpers for tests
	def add_devices(self, docs) -> None:
		with self._state:
			for doc in docs:
				self._position.setdefault(doc["_id"], len(self._position))
				self.devices[doc["_id"]] = doc
			self._keyset = None

	def set_behaviour(self, device_id: str, behaviour: str) -> None:
		assert behaviour in BEHAVIOURS, behaviour
		self.behaviour[device_id] = behaviour

	def inform(self, device_id: str) -> None:
		"""Simulate the device's next session: its queued tasks run and disappear (unless faulted)."""
		with self._state:
			for task_id, task in list(self.tasks.items()):
				if task["device"] == device_id and f"{device_id}:task_{task_id}" not in self.faults:
					del self.tasks[task_id]

	def task_paths(self) -> list[str]:
		return [r.path for r in self.requests if "/tasks" in r.path]

	# -- routes
	def setup_routes(self):
		@self.route("POST", r"/devices/(?P<raw_id>[a-zA-Z0-9\-_%]+)/tasks/?")
		def post_task(request, raw_id):
			return self.auth(request) or self.post_task(request, unquote(raw_id))

		@self.route("DELETE", r"/tasks/(?P<task_id>[a-zA-Z0-9\-_%]+)")
		def delete_task(request, task_id):
			if denied := self.auth(request):
				return denied
			with self._state:
				task = self.tasks.pop(unquote(task_id), None)
				if task is None:
					return Response.text("Task not found", status=404)
				self.faults.pop(f"{task['device']}:task_{task['_id']}", None)
			return Response()

		@self.route("POST", r"/tasks/(?P<task_id>[a-zA-Z0-9\-_%]+)/retry")
		def retry_task(request, task_id):
			if denied := self.auth(request):
				return denied
			with self._state:
				task = self.tasks.get(unquote(task_id))
				if task:
					self.faults.pop(f"{task['device']}:task_{task['_id']}", None)
			return Response()

		for method in ("GET", "HEAD"):

			@self.route(method, r"/(?P<collection>[a-zA-Z0-9_]+)/?")
			def collection(request, collection):
				return self.auth(request) or self.query(request, collection)

	def auth(self, request: Request) -> Response | None:
		if not self.credentials:
			return None
		expected = "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
		if request.headers.get("authorization") != expected:
			return Response.text("Unauthorized", status=401)
		return None

	def query(self, request: Request, collection: str) -> Response:
		source = {"devices": self.devices, "tasks": self.tasks, "faults": self.faults}.get(collection)
		if source is None:
			return Response.text("404 Not Found", status=404)
		args = {k: v[-1] for k, v in request.query.items()}
		try:
			query = json.loads(args["query"]) if args.get("query") else {}
			sort = json.loads(args["sort"]) if args.get("sort") else None
		except json.JSONDecodeError as e:
			return Response.text(f"SyntaxError: {e}", status=400)
		is_devices = collection == "devices"
		skip = int(args.get("skip") or 0)
		limit = int(args["limit"]) if args.get("limit") else None
		found = self._indexed(query, sort, skip, limit) if is_devices and self.indexed else None
		if found is not None:
			total, page = found
		else:
			with self._state:
				docs = list(source.values())
			matches = [d for d in docs if _match(d, query, is_devices)]
			if sort:
				for key, direction in reversed(list(sort.items())):
					if is_devices and not key.rsplit(".", 1)[-1].startswith("_"):
						key += "._value"
					matches.sort(key=lambda d, k=key: _sort_key(_get(d, k)), reverse=direction < 0)
			total = len(matches)
			page = matches[skip : skip + limit if limit is not None else None]
		projection = [p.strip() for p in args["projection"].split(",")] if args.get("projection") else None
		if projection:
			page = [_project(d, projection) for d in page]
		headers = {"Content-Type": "application/json", "total": str(total)}
		if request.method == "HEAD":
			return Response(200, b"", headers, delay=self.query_delay)
		body = ("[\n" + ",\n".join(json.dumps(d, separators=(",", ":")) for d in page) + "\n]").encode()
		return Response(200, body, headers, delay=self.query_delay)

	def _indexed(self, query: dict, sort: dict | None, skip: int, limit: int | None):
		"""(total, page) of an ``_id`` lookup or a keyset page, from indexes; None otherwise."""
		window = slice(skip, None if limit is None else skip + limit)
		lookup = query.get("_id") if list(query) == ["_id"] else None
		if isinstance(lookup, dict) and list(lookup) == ["$in"] and not sort:
			ids = _plain_ids(lookup["$in"])
			if ids is None:
				return None
			with self._state:
				hits = sorted({i for i in ids if i in self.devices}, key=self._position.__getitem__)
				hits = [self.devices[i] for i in hits]
			return len(hits), hits[window]
		if sort != {"_lastInform": 1, "_id": 1}:
			return None
		clauses = query.get("$and") if list(query) == ["$and"] else [query] if query else []
		bound, exclude = None, set()
		for clause in clauses if isinstance(clauses, list) else [None]:
			if not isinstance(clause, dict) or len(clause) != 1:
				return None
			(key, condition), op = next(iter(clause.items())), None
			if isinstance(condition, dict) and len(condition) == 1:
				op, value = next(iter(condition.items()))
			if key == "_lastInform" and op in ("$gt", "$gte") and not bound and _ISO_MS.match(str(value)):
				bound = (op, value)
			elif key == "_id" and op == "$nin" and _plain_ids(value) is not None:
				exclude |= set(value)
			else:
				return None
		with self._state:
			if self._keyset is None:
				times = [d.get("_lastInform") for d in self.devices.values()]
				if not all(isinstance(t, str) and _ISO_MS.match(t) for t in times):
					return None  # not indexable: the general matcher answers
				keys = sorted(zip(times, self.devices, strict=True))
				self._keyset = ([t for t, _ in keys], [i for _, i in keys])
			times, order = self._keyset
			start = 0
			if bound:
				cut = bisect.bisect_left if bound[0] == "$gte" else bisect.bisect_right
				start = cut(times, bound[1])

			def counted(device_id: str) -> bool:
				when = self.devices[device_id]["_lastInform"]
				return not bound or (when >= bound[1] if bound[0] == "$gte" else when > bound[1])

			excluded = sum(1 for i in exclude if i in self.devices and counted(i))
			end = None if limit is None else start + skip + limit + len(exclude)
			page = [self.devices[i] for i in order[start:end] if i not in exclude]
		return len(order) - start - excluded, page[window]

	def post_task(self, request: Request, device_id: str) -> Response:
		with_cr = "connection_request" in request.query
		with self._state:
			known = device_id in self.devices
		behaviour = self.behaviour.get(device_id, self.default_behaviour)
		cr_error = CR_ERRORS.get(behaviour)
		if not request.body:
			if not with_cr:
				return Response(400)
			if not known:
				return Response.text("No such device", status=404)
			if cr_error:
				return Response.text(cr_error, status=504, reason=cr_error)
			return Response()
		try:
			task = json.loads(request.body)
		except json.JSONDecodeError as e:
			return Response.text(f"SyntaxError: {e}", status=400)
		if not known:
			return Response.text("No such device", status=404)
		task_id = uuid.uuid4().hex[:24]
		task.update({"_id": task_id, "device": device_id, "timestamp": _now()})
		with self._state:
			self.tasks[task_id] = task
		if not with_cr:
			return Response.json(task, status=202)
		if behaviour == "in_session" or behaviour == "queued":
			return Response.json(task, status=202, reason="Task queued but not processed")
		if cr_error:
			return Response.json(task, status=202, reason=cr_error)
		if behaviour == "faulted":
			fault_id = f"{device_id}:task_{task_id}"
			with self._state:
				self.faults[fault_id] = {
					"_id": fault_id,
					"device": device_id,
					"channel": f"task_{task_id}",
					"code": "cwmp.9005",
					"message": "Invalid parameter name",
					"detail": {"faultCode": "9005", "faultString": "Invalid parameter name"},
					"retries": 0,
					"timestamp": _now(),
				}
			return Response.json(task, status=202, reason="Task faulted")
		with self._state:
			self.tasks.pop(task_id, None)
		return Response.json(task, status=200)


def _now() -> str:
	return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- a MongoDB-like subset, as GenieACS's query.expand() and MongoDB apply it

_ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _plain_ids(values) -> list[str] | None:
	"""Ids an index can look up: strings GenieACS would not widen (no wildcard, regex or date)."""
	if not isinstance(values, list):
		return None
	for value in values:
		if not isinstance(value, str) or "*" in value or value.startswith("/") or _as_date(value):
			return None
	return values


def _get(doc, path: str):
	node = doc
	for part in path.split("."):
		if not isinstance(node, dict):
			return None
		node = node.get(part)
	return node


def _field(doc, key: str, is_devices: bool):
	if is_devices and not key.rsplit(".", 1)[-1].startswith("_"):
		key += "._value"
	return _get(doc, key)


@lru_cache(maxsize=65536)
def _as_date(value: str) -> datetime | None:
	if len(value) < 8:
		return None
	try:
		parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
	except ValueError:
		return None
	if parsed.year <= 1983:
		return None
	return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _alternatives(value) -> list:
	"""GenieACS widens a string into: itself, a number, a date, a /regex/ or a * wildcard."""
	if not isinstance(value, str):
		return [value]
	out: list = [value]
	try:
		out.append(float(value))
	except ValueError:
		pass
	if (date := _as_date(value)) is not None:
		out.append(date)
	if len(value) > 1 and value.startswith("/") and value.rfind("/") > 0:
		end = value.rfind("/")
		flags = re.IGNORECASE if "i" in value[end + 1 :] else 0
		out.append(re.compile(value[1:end], flags))
	elif "*" in value:
		out.append(re.compile("^" + ".*".join(re.escape(p) for p in value.split("*")) + "$"))
	return out


def _coerce(actual, wanted):
	"""Bring a stored value and a query value to comparable types, or None if they are not."""
	if isinstance(wanted, datetime):
		return (_as_date(actual) if isinstance(actual, str) else None), wanted
	if isinstance(wanted, float) and isinstance(actual, int | float) and not isinstance(actual, bool):
		return float(actual), wanted
	if type(actual) is type(wanted):
		return actual, wanted
	return None, None


def _equals(actual, wanted) -> bool:
	if isinstance(actual, list):
		return any(_equals(a, wanted) for a in actual) or actual == wanted
	for alt in _alternatives(wanted):
		if isinstance(alt, re.Pattern):
			if isinstance(actual, str) and alt.search(actual):
				return True
			continue
		a, w = _coerce(actual, alt)
		if a is not None and a == w:
			return True
	return actual is None and wanted is None


def _compare(actual, wanted, op: str) -> bool:
	for alt in _alternatives(wanted):
		if isinstance(alt, re.Pattern):
			continue
		a, w = _coerce(actual, alt)
		if a is None:
			continue
		try:
			if {"$gt": a > w, "$gte": a >= w, "$lt": a < w, "$lte": a <= w}[op]:
				return True
		except TypeError:
			continue
	return False


def _condition(actual, condition) -> bool:
	if isinstance(condition, dict) and condition and all(k.startswith("$") for k in condition):
		for op, arg in condition.items():
			if op == "$eq" and not _equals(actual, arg):
				return False
			if op == "$ne" and _equals(actual, arg):
				return False
			if op in ("$gt", "$gte", "$lt", "$lte") and not _compare(actual, arg, op):
				return False
			if op == "$in" and not any(_equals(actual, a) for a in arg):
				return False
			if op == "$nin" and any(_equals(actual, a) for a in arg):
				return False
			if op == "$exists" and (actual is not None) != bool(arg):
				return False
			if op == "$regex" and not (isinstance(actual, str) and re.search(arg, actual)):
				return False
		return True
	return _equals(actual, condition)


def _match(doc, query, is_devices: bool) -> bool:
	for key, condition in query.items():
		if key == "$and":
			if not all(_match(doc, q, is_devices) for q in condition):
				return False
		elif key == "$or":
			if not any(_match(doc, q, is_devices) for q in condition):
				return False
		elif key == "$nor":
			if any(_match(doc, q, is_devices) for q in condition):
				return False
		elif not _condition(_field(doc, key, is_devices), condition):
			return False
	return True


def _sort_key(value):
	if value is None:
		return (0, "")
	if isinstance(value, bool):
		return (1, value)
	if isinstance(value, int | float):
		return (1, value)
	return (2, str(value))


def _project(doc, paths) -> dict:
	out = {"_id": doc["_id"]}
	for path in paths:
		parts = path.split(".")
		source, target = doc, out
		for i, part in enumerate(parts):
			if not isinstance(source, dict) or part not in source:
				break
			source = source[part]
			if i == len(parts) - 1:
				target[part] = source
			else:
				if not isinstance(target.get(part), dict):
					target[part] = {}  # MongoDB projects the path only, not its parents' metadata
				target = target[part]
	return out
