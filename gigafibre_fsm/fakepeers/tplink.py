"""Fake peer speaking the local encrypted web API of TP-Link EX-series / XX230v modems.

This is a *fake peer* for tests: a loopback HTTP server that answers the way the
modem's web UI backend does, as the open-source ``tplinkrouterc6u`` package
(``client/mr.py``, ``client/ex.py``, ``common/encryption.py``, version 5.37.0)
talks to it. It runs the real handshake, so the package's own crypto is exercised:

1. ``POST /cgi/getGDPRParm`` → ``var ee="010001"; var nn="<512-bit modulus>";
   var seq="<n>"; $.ret=0;`` (a fresh 512-bit RSA key per peer).
2. ``POST /cgi_gdpr?9`` with ``sign=…\\r\\ndata=…\\r\\n[tag=…\\r\\n]``: ``sign`` is the
   RSA (no padding, or OAEP) encryption of ``key=…&iv=…&h=md5(user+pass)&s=seq+len(data)``,
   ``data`` the AES ciphertext (CBC/PKCS7, or GCM with ``tag``) of the ``/cgi/login``
   act carrying the Base64 user name and password. The answer is the encrypted
   ``$.ret=0;`` (or ``$.ret=71233;`` for a wrong password) and a ``JSESSIONID`` cookie.
3. ``GET /`` → the index page with ``var token="…";`` (the ``TokenID`` header).
4. ``POST /cgi_gdpr?9`` acts ``{"data":{"stack":…,…attrs},"operation":"go|gl|…","oid":"DEV2_…"}``
   signed with ``h=…&s=…`` and encrypted with the session key; the answer is the
   encrypted ``{"success":true,"data":…}``. ``/cgi/logout`` answers an empty body.

Like the real device it allows **one admin session at a time**: a login while
another session is open answers ``$.ret=71235;`` (the code is this fake's choice;
firmwares differ). ``max_active`` and ``overlaps`` let tests check that a client
serialises its sessions; ``sessions`` records each session's open/close times.

The DEV2_* objects are served from :func:`tplink_objects.xx230v_objects`. Nothing here
runs in production.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import threading
import time
from base64 import b64decode, b64encode
from dataclasses import dataclass, field

from gigafibre_fsm.fakepeers.http import FakePeer, Request, Response
from gigafibre_fsm.fakepeers.tplink_objects import xx230v_objects

RET_OK = 0
RET_BAD_PASSWORD = 71233
RET_BAD_REQUEST = 71234
RET_SESSION_BUSY = 71235  # this fake's code for "another admin is logged in"

MODES = ("cbc", "gcm", "gcm-oaep")


@dataclass
class Session:
	"""One logged-in admin session of the fake modem."""

	id: str
	token: str
	key: bytes
	iv: bytes
	hash: str
	opened: float
	closed: float | None = None
	acts: list[str] = field(default_factory=list)


class _RSA512:
	"""A 512-bit RSA key (pycryptodome's generator refuses < 1024 bits; the modem uses 512)."""

	def __init__(self):
		from Crypto.Util.number import getPrime, inverse

		e = 65537
		while True:
			p, q = getPrime(256), getPrime(256)
			n = p * q
			phi = (p - 1) * (q - 1)
			if p != q and n.bit_length() == 512 and phi % e:
				break
		self.n, self.e, self.d = n, e, inverse(e, phi)
		self.p, self.q = p, q

	@property
	def nn(self) -> str:
		return f"{self.n:0128x}"

	@property
	def ee(self) -> str:
		return f"{self.e:06x}"

	def decrypt_sign(self, sign: str, oaep: bool) -> str:
		"""The plaintext of a ``sign`` made of 128-hex-character RSA blocks."""
		from Crypto.Cipher import PKCS1_OAEP
		from Crypto.PublicKey import RSA
		from Crypto.Util.number import long_to_bytes

		if not sign or len(sign) % 128:
			raise ValueError("sign is not whole RSA blocks")
		cipher = PKCS1_OAEP.new(RSA.construct((self.n, self.e, self.d, self.p, self.q))) if oaep else None
		out = b""
		for i in range(0, len(sign), 128):
			block = int(sign[i : i + 128], 16)
			if cipher is not None:
				out += cipher.decrypt(long_to_bytes(block, 64))
			else:
				out += long_to_bytes(pow(block, self.d, self.n), 64).rstrip(b"\0")
		return out.decode()


class _ModemPeer(FakePeer):
	"""What both TP-Link fakes share: admin-session bookkeeping the tests read
	(``sessions``, ``logins``, ``failed_logins``, ``logouts``, ``busy_refusals``,
	``max_active``, ``overlaps``), the JSESSIONID cookie, and prompt answers."""

	def __init__(self):
		self.sessions: list[Session] = []
		self.logins = 0
		self.failed_logins = 0
		self.logouts = 0
		self.busy_refusals = 0
		self.max_active = 0
		self.overlaps = 0
		self._state = threading.Lock()
		super().__init__()

	@property
	def active(self) -> list[Session]:
		return [s for s in self.sessions if s.closed is None]

	def _session(self, request: Request) -> Session | None:
		cookie = request.headers.get("cookie", "")
		sid = next(
			(part.split("=", 1)[1] for part in cookie.split(";") if part.strip().startswith("JSESSIONID=")),
			None,
		)
		return next((s for s in self.active if s.id == sid), None)

	def start(self):
		super().start()
		# answer headers and body without waiting for the client's delayed ACK (~40 ms a request)
		self._server.RequestHandlerClass.disable_nagle_algorithm = True
		return self


class FakeTPLinkEX(_ModemPeer):
	"""Fake peer: a TP-Link EX-series / XX230v modem's encrypted local web API (see module doc).

	``mode`` is the firmware's cipher family: ``"cbc"`` (TPLinkEXClient), ``"gcm"``
	(TPLinkEXClientGCM) or ``"gcm-oaep"`` (TPLinkEXClientGCMOAEP). A login made with
	another family cannot be decrypted and gets a plain ``$.ret=71234;``.
	``delay`` slows every answer (timeout tests); ``fail_oids`` answers 500 for
	those objects (a firmware that lacks them).
	"""

	def __init__(
		self,
		*,
		username: str = "user",
		password: str = "secret",
		mode: str = "gcm",
		objects: dict | None = None,
		delay: float = 0.0,
		act_delay: float = 0.0,
	):
		if mode not in MODES:
			raise ValueError(f"mode must be one of {MODES}")
		self.username = username
		self.password = password
		self.mode = mode
		self.objects = objects if objects is not None else xx230v_objects()
		self.delay = delay
		self.act_delay = act_delay
		self.fail_oids: set[str] = set()
		self.rsa = _RSA512()
		self.seq = secrets.randbelow(10**8) + 10**8
		super().__init__()

	# -- helpers

	def _cipher(self, key: bytes, iv: bytes):
		from Crypto.Cipher import AES

		if self.mode == "cbc":
			return AES.new(key, AES.MODE_CBC, iv=iv)
		return AES.new(key, AES.MODE_GCM, nonce=iv)

	def _decrypt(self, key: bytes, iv: bytes, data: str, tag: str | None) -> str:
		from Crypto.Util.Padding import unpad

		raw = b64decode(data)
		cipher = self._cipher(key, iv)
		if self.mode == "cbc":
			return unpad(cipher.decrypt(raw), 16, "pkcs7").decode()
		if not tag:
			raise ValueError("GCM data without tag")
		return cipher.decrypt_and_verify(raw, b64decode(tag)).decode()

	def _encrypt(self, key: bytes, iv: bytes, text: str) -> str:
		from Crypto.Util.Padding import pad

		cipher = self._cipher(key, iv)
		if self.mode == "cbc":
			return b64encode(cipher.encrypt(pad(text.encode(), 16, "pkcs7"))).decode()
		ct, tag = cipher.encrypt_and_digest(text.encode())
		return b64encode(ct).decode() + b64encode(tag).decode()

	@staticmethod
	def _fields(body: bytes) -> dict[str, str]:
		out = {}
		for line in body.decode(errors="replace").split("\r\n"):
			if "=" in line:
				name, value = line.split("=", 1)
				out[name.strip()] = value.strip()
		return out

	def _sign(self, fields: dict[str, str]) -> dict[str, str]:
		plain = self.rsa.decrypt_sign(fields.get("sign", ""), oaep=self.mode == "gcm-oaep")
		return dict(part.split("=", 1) for part in plain.split("&") if "=" in part)

	def _reply(self, text: str, status: int = 200, headers: dict | None = None) -> Response:
		return Response(
			status, text.encode(), {"Content-Type": "text/plain", **(headers or {})}, delay=self.delay
		)

	# -- routes
	def setup_routes(self) -> None:
		@self.route("POST", r"/cgi/getGDPRParm")
		def rsa_params(request):
			return self._reply(
				f'var ee="{self.rsa.ee}";\nvar nn="{self.rsa.nn}";\nvar seq="{self.seq}";\n$.ret=0;\n'
			)

		@self.route("GET", r"/")
		def index(request):
			session = self._session(request)
			token = session.token if session else ""
			html = (
				"<!DOCTYPE html><html><head><title>XX230v</title>"
				f'<script type="text/javascript">var token="{token}";</script></head>'
				"<body></body></html>"
			)
			return Response(200, html.encode(), {"Content-Type": "text/html"}, delay=self.delay)

		@self.route("POST", r"/cgi_gdpr")
		def gdpr(request):
			fields = self._fields(request.body)
			try:
				signed = self._sign(fields)
			except ValueError:
				return self._reply(f"$.ret={RET_BAD_REQUEST};")
			if "key" in signed:
				return self._login(request, fields, signed)
			return self._act(request, fields, signed)

	def _login(self, request: Request, fields: dict, signed: dict) -> Response:
		try:
			if self.mode == "cbc":
				key, iv = signed["key"].encode(), signed["iv"].encode()
			else:
				key, iv = b64decode(signed["key"]), b64decode(signed["iv"])
			if int(signed.get("s", -1)) != self.seq + len(fields.get("data", "")):
				raise ValueError("bad seq")
			act = json.loads(self._decrypt(key, iv, fields["data"], fields.get("tag")))
		except (KeyError, ValueError, TypeError):
			# another cipher family, or garbage: the device cannot read it
			return self._reply(f"$.ret={RET_BAD_REQUEST};")
		data = act.get("data") or {}
		user = b64decode(data.get("UserName", "")).decode(errors="replace")
		password = b64decode(data.get("Passwd", "")).decode(errors="replace")
		with self._state:
			if user != self.username or password != self.password:
				self.failed_logins += 1
				return self._reply(self._encrypt(key, iv, f"$.ret={RET_BAD_PASSWORD};"))
			if self.active:
				self.busy_refusals += 1
				self.overlaps += 1
				return self._reply(self._encrypt(key, iv, f"$.ret={RET_SESSION_BUSY};"))
			session = Session(
				id=secrets.token_hex(15),
				token=secrets.token_hex(15),
				key=key,
				iv=iv,
				hash=signed.get("h", ""),
				opened=time.monotonic(),
			)
			self.sessions.append(session)
			self.logins += 1
			self.max_active = max(self.max_active, len(self.active))
		return self._reply(
			self._encrypt(key, iv, f"$.ret={RET_OK};"),
			headers={"Set-Cookie": f"JSESSIONID={session.id}; Path=/; HttpOnly"},
		)

	def _act(self, request: Request, fields: dict, signed: dict) -> Response:
		session = self._session(request)
		if session is None or request.headers.get("tokenid") != session.token:
			return self._reply("<html><title>403 Forbidden</title></html>", status=403)
		if signed.get("h") != session.hash or int(signed.get("s", -1)) != self.seq + len(
			fields.get("data", "")
		):
			return self._reply("<html><title>403 Forbidden</title></html>", status=403)
		try:
			act = json.loads(self._decrypt(session.key, session.iv, fields["data"], fields.get("tag")))
		except (KeyError, ValueError):
			return self._reply(f"$.ret={RET_BAD_REQUEST};", status=400)
		oid = act.get("oid", "")
		session.acts.append(oid)
		if self.act_delay:
			time.sleep(self.act_delay)
		if oid == "/cgi/logout":
			with self._state:
				session.closed = time.monotonic()
				self.logouts += 1
			return self._reply("")
		if oid in self.fail_oids or oid not in self.objects:
			# an object this firmware lacks: success false with an error code (peer code sees 9003)
			answer = json.dumps({"success": False, "errorcode": 9003})
			return self._reply(self._encrypt(session.key, session.iv, answer))
		value = copy.deepcopy(self.objects[oid])
		wanted = [k for k in (act.get("data") or {}) if k not in ("stack", "pstack")]
		if wanted:
			items = value if isinstance(value, list) else [value]
			for item in items:
				for k in list(item):
					if k != "stack" and k not in wanted:
						del item[k]
		answer = json.dumps({"success": True, "data": value})
		return self._reply(self._encrypt(session.key, session.iv, answer))

	# -- test helpers
	def expire_sessions(self) -> None:
		"""Drop every session server-side (the modem's own session timeout, a reboot)."""
		with self._state:
			for s in self.active:
				s.closed = time.monotonic()

	def md5_hash(self) -> str:
		return hashlib.md5(f"{self.username}{self.password}".encode()).hexdigest()
