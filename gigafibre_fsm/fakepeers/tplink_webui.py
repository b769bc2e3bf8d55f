"""Fake peer serving a small imitation of a TP-Link EX/XX230v web UI, for the browser bridge.

This is a *fake peer* for tests: a loopback HTTP server whose pages behave, as far
as the browser bridge (gigafibre_fsm.connectors.modem_browser.BrowserBackend) is
concerned, like the modem's own web UI:

- ``GET /`` without a session is the login page: a password-only form
  (``#pc-login-password``, ``#pc-login-btn``) whose script posts the password to
  ``/cgi/login`` and shows a refusal in ``#pc-login-error``;
- ``GET /`` with the ``JSESSIONID`` cookie is the status page. Its script defines
  the UI's data layer the bridge calls in page context: ``$.dm.getList({oid, data,
  callback: {success, fail, error}})`` (the call TP-Link's status page makes,
  answered from ``POST /data``) and ``$.act(ACT_CGI, "/cgi/logout"); $.exe()``
  (a synchronous XHR, as the real UI's ``$.exe`` does). It also shows a few values
  in the DOM (``#rxPow``, ``#wanIp``);
- one admin session at a time: a login while another session is open is refused
  with "Another administrator is logged in".

The DEV2_* objects are those of :func:`gigafibre_fsm.fakepeers.tplink_objects.xx230v_objects`.
The real device encrypts its data calls (see fakepeers/tplink.py); this page does
not, because the bridge only ever uses the page's own functions. Nothing here runs
in production.
"""

from __future__ import annotations

import copy
import json
import secrets
import time

from gigafibre_fsm.fakepeers.http import Response
from gigafibre_fsm.fakepeers.tplink import Session, _ModemPeer
from gigafibre_fsm.fakepeers.tplink_objects import xx230v_objects

LOGIN_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Opening...</title></head>
<body>
<form id="pc-login-form" onsubmit="return false">
  <input type="password" id="pc-login-password" autocomplete="off">
  <button type="button" id="pc-login-btn">LOG IN</button>
  <div id="pc-login-error" style="display:none"></div>
</form>
<script>
document.getElementById("pc-login-btn").addEventListener("click", async () => {
  const err = document.getElementById("pc-login-error");
  err.style.display = "none";
  const password = document.getElementById("pc-login-password").value;
  const r = await fetch("/cgi/login", {method: "POST", headers: {"Content-Type": "application/json"},
                                       body: JSON.stringify({password: password})});
  const j = await r.json();
  if (j.success) { window.location.replace("/"); return; }
  err.textContent = j.error || "Login failed";
  err.style.display = "block";
});
</script>
</body></html>
"""

STATUS_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>XX230v</title>
<script type="text/javascript">var token="__TOKEN__";</script>
<script>
window.ACT_CGI = 8;
window.$ = {
  _acts: [],
  act(type, oid) { this._acts.push({type: type, oid: oid}); },
  exe() {
    for (const a of this._acts.splice(0)) {
      const x = new XMLHttpRequest();
      x.open("POST", a.oid, false);
      x.setRequestHeader("TokenID", token);
      x.send("");
    }
    return true;
  },
  dm: {
    getList(opts) {
      fetch("/data", {method: "POST", headers: {"Content-Type": "application/json", "TokenID": token},
                      body: JSON.stringify({oid: opts.oid, data: opts.data || {}})})
        .then((r) => r.json())
        .then((j) => j.success ? opts.callback.success(j.data) : opts.callback.fail(j.errorcode))
        .catch((e) => (opts.callback.error || opts.callback.fail)(String(e)));
    },
  },
};
</script></head>
<body>
<div id="status">
  <input type="text" readonly id="rxPow"> <input type="text" readonly id="wanIp">
  <a id="logout" href="#" onclick="$.act(ACT_CGI, '/cgi/logout'); $.exe(); location.replace('/'); return false">Log out</a>
</div>
<script>
$.dm.getList({oid: "DEV2_OPTC_GPON_CFG", data: {}, callback: {success: (d) => {
  document.getElementById("rxPow").value = d[0].RXPower; }, fail: () => {}}});
$.dm.getList({oid: "DEV2_ADT_WAN", data: {}, callback: {success: (d) => {
  document.getElementById("wanIp").value = d[0].connIPv4Address; }, fail: () => {}}});
</script>
</body></html>
"""

BUSY_MESSAGE = "Another administrator is logged in. Try again later."
BAD_PASSWORD_MESSAGE = "The password is incorrect."


class FakeTPLinkWebUI(_ModemPeer):
	"""Fake peer: a TP-Link EX/XX230v web UI (login page, status page, ``$.dm`` data calls).

	``data_delay`` slows the data calls (timeout tests); ``objects`` replaces the
	served DEV2_* objects. ``sessions``, ``max_active``, ``overlaps``, ``logins``,
	``logouts`` and ``failed_logins`` let tests check the bridge's session rules.
	"""

	def __init__(self, *, password: str = "secret", objects: dict | None = None, data_delay: float = 0.0):
		self.password = password
		self.objects = objects if objects is not None else xx230v_objects()
		self.data_delay = data_delay
		self.data_calls: list[str] = []
		super().__init__()

	def setup_routes(self) -> None:
		@self.route("GET", r"/")
		def index(request):
			session = self._session(request)
			if session is None:
				return Response.text(LOGIN_PAGE, content_type="text/html; charset=utf-8")
			page = STATUS_PAGE.replace("__TOKEN__", session.token)
			return Response.text(page, content_type="text/html; charset=utf-8")

		@self.route("POST", r"/cgi/login")
		def login(request):
			try:
				password = (request.json() or {}).get("password", "")
			except ValueError:
				password = ""
			with self._state:
				if password != self.password:
					self.failed_logins += 1
					return Response.json({"success": False, "error": BAD_PASSWORD_MESSAGE})
				if self.active:
					self.busy_refusals += 1
					self.overlaps += 1
					return Response.json({"success": False, "error": BUSY_MESSAGE})
				session = Session(
					id=secrets.token_hex(15),
					token=secrets.token_hex(15),
					key=b"",
					iv=b"",
					hash="",
					opened=time.monotonic(),
				)
				self.sessions.append(session)
				self.logins += 1
				self.max_active = max(self.max_active, len(self.active))
			return Response.json(
				{"success": True}, headers={"Set-Cookie": f"JSESSIONID={session.id}; Path=/; HttpOnly"}
			)

		@self.route("POST", r"/data")
		def data(request):
			session = self._session(request)
			if session is None or request.headers.get("tokenid") != session.token:
				return Response.json({"success": False, "errorcode": 403}, status=403)
			oid = (request.json() or {}).get("oid", "")
			session.acts.append(oid)
			self.data_calls.append(oid)
			if oid not in self.objects:
				return Response.json({"success": False, "errorcode": 9003})
			value = copy.deepcopy(self.objects[oid])
			items = value if isinstance(value, list) else [value]
			return Response(
				200,
				json.dumps({"success": True, "data": items}).encode(),
				{"Content-Type": "application/json"},
				delay=self.data_delay,
			)

		@self.route("POST", r"/cgi/logout")
		def logout(request):
			session = self._session(request)
			if session is not None:
				with self._state:
					session.closed = time.monotonic()
					self.logouts += 1
			return Response.text("$.ret=0;")
