"""A small toolkit for fake peers: local HTTP servers that speak a documented API.

A fake peer is a real HTTP server on 127.0.0.1 (a random free port) that answers
the way the outside system documents it: status codes, reason phrases (GenieACS
puts meaning in the 202 reason phrase), headers and JSON bodies. Connectors are
tested against it over a real socket, so timeouts, headers and encodings are
exercised for real. Each concrete peer (GenieACS NBI, Traccar, Twilio, DocuSeal,
Gemini) subclasses FakePeer, registers its routes and says in its docstring
which documented API it imitates.

    class FakeThing(FakePeer):
        '''Fake peer speaking Thing's REST API v2 (docs: ...).'''

        def setup_routes(self):
            @self.route("GET", r"/items/(?P<id>[^/]+)")
            def item(request, id):
                return Response.json({"id": id})

    with FakeThing() as peer:
        requests.get(peer.url + "/items/1")
        assert peer.requests[0].path == "/items/1"
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
	method: str
	path: str
	query: dict[str, list[str]]
	headers: dict[str, str]
	body: bytes

	def json(self):
		return json.loads(self.body or b"null")

	def form(self) -> dict[str, list[str]]:
		return parse_qs(self.body.decode(), keep_blank_values=True)


@dataclass
class Response:
	status: int = 200
	body: bytes = b""
	headers: dict[str, str] = field(default_factory=dict)
	reason: str | None = None  # HTTP reason phrase; None = the standard one
	delay: float = 0.0  # seconds to wait before answering (slow peers, timeouts)

	@classmethod
	def json(
		cls,
		data,
		status: int = 200,
		headers: dict | None = None,
		reason: str | None = None,
		delay: float = 0.0,
	):
		return cls(
			status,
			json.dumps(data).encode(),
			{"Content-Type": "application/json", **(headers or {})},
			reason,
			delay,
		)

	@classmethod
	def text(cls, text: str, status: int = 200, reason: str | None = None, content_type: str = "text/plain"):
		return cls(status, text.encode(), {"Content-Type": content_type}, reason)


Handler = Callable[..., Response]


class FakePeer:
	"""Base class: a threaded HTTP server on loopback with a route table.

	Routes are (method, regex on the path) → handler(request, **groups) → Response.
	Every request is recorded in ``self.requests`` (thread-safe append).
	An unmatched request gets 404 with a JSON error.
	"""

	host = "127.0.0.1"

	def __init__(self):
		self.routes: list[tuple[str, re.Pattern, Handler]] = []
		self.requests: list[Request] = []
		self._lock = threading.Lock()
		self._server: ThreadingHTTPServer | None = None
		self._thread: threading.Thread | None = None
		self.setup_routes()

	# -- to override
	def setup_routes(self) -> None:
		"""Register the peer's routes with ``self.route``."""

	# -- routing
	def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
		def decorator(fn: Handler) -> Handler:
			self.routes.append((method.upper(), re.compile(f"^{pattern}$"), fn))
			return fn

		return decorator

	def dispatch(self, request: Request) -> Response:
		for method, pattern, fn in self.routes:
			if method != request.method:
				continue
			match = pattern.match(request.path)
			if match:
				return fn(request, **match.groupdict())
		return Response.json({"error": f"no route for {request.method} {request.path}"}, status=404)

	# -- lifecycle
	@property
	def port(self) -> int:
		assert self._server, "peer not started"
		return self._server.server_address[1]

	@property
	def url(self) -> str:
		return f"http://{self.host}:{self.port}"

	def start(self) -> FakePeer:
		peer = self

		class _Handler(BaseHTTPRequestHandler):
			protocol_version = "HTTP/1.1"
			disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms delayed-ACK stall)

			def log_message(self, *args):  # keep test output quiet
				pass

			def _handle(self):
				parts = urlsplit(self.path)
				length = int(self.headers.get("Content-Length") or 0)
				body = self.rfile.read(length) if length else b""
				request = Request(
					method=self.command,
					path=parts.path,
					query=parse_qs(parts.query, keep_blank_values=True),
					headers={k.lower(): v for k, v in self.headers.items()},
					body=body,
				)
				with peer._lock:
					peer.requests.append(request)
				try:
					response = peer.dispatch(request)
				except Exception as e:  # a broken fake must be loud, not a hang
					response = Response.json({"error": f"fake peer error: {e!r}"}, status=500)
				if response.delay:
					time.sleep(response.delay)
				try:
					self.send_response(response.status, response.reason)
					for key, value in response.headers.items():
						self.send_header(key, value)
					self.send_header("Content-Length", str(len(response.body)))
					self.end_headers()
					if self.command != "HEAD":
						self.wfile.write(response.body)
				except (BrokenPipeError, ConnectionResetError):
					pass  # the client gave up (timeout tests)

			do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

		self._server = ThreadingHTTPServer((self.host, 0), _Handler)
		self._server.daemon_threads = True
		self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
		self._thread.start()
		return self

	def stop(self) -> None:
		if self._server:
			self._server.shutdown()
			self._server.server_close()
			self._server = None

	def __enter__(self):
		return self.start()

	def __exit__(self, *exc):
		self.stop()
