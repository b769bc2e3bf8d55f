"""Test peer: a real net-snmp ``snmpd`` on loopback serving GENERATED OLT tables.

Nothing here runs in production. It exists so gigafibre_fsm.connectors.olt_snmp is
tested (and benchmarked) against a real SNMP v2c agent over a real UDP socket,
with GETBULK, timeouts, communities and wire encodings exercised for real.

Two parts:

- :func:`~gigafibre_fsm.fakepeers.olt_table.generate_table` (olt_table.py) builds
  a realistic ONT optical table for one OLT and the truth it encodes.

- :class:`OltAgent` starts ``snmpd -f -Lo -C -c <conf>`` (Debian package
  ``snmpd``; it must run as root) on ``udp:127.0.0.1:<free port>`` with its own
  temporary config and persistent-data directory. The table is served by a
  ``pass_persist`` handler: olt_pass_persist.py run as a script (stdlib only), which
  loads the table once and answers snmpd's ``get``/``getnext`` with a bisect on
  sorted OIDs. Each community in ``communities`` is a ``rocommunity`` limited to
  127.0.0.1; a wrong community gets no answer at all (SNMP v2c agents stay
  silent), exactly like a real OLT.

The generator's TSV (``oid<TAB>type<TAB>value``) is written at start time into
the agent's temporary directory; generated data is never committed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gigafibre_fsm.fakepeers.olt_table import ZTE, OltTable

PASS_PERSIST = Path(__file__).with_name("olt_pass_persist.py")


# ---------------------------------------------------------------------------
# the agent


def snmpd_path() -> str | None:
	"""Where net-snmp's snmpd is installed (Debian: /usr/sbin/snmpd), or None."""
	return shutil.which("snmpd") or next(
		(p for p in ("/usr/sbin/snmpd", "/usr/local/sbin/snmpd") if os.access(p, os.X_OK)), None
	)


def free_udp_port() -> int:
	with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


class OltAgent:
	"""Test peer: one snmpd process on 127.0.0.1:<port> serving one generated :class:`OltTable`.

	Every community of ``communities`` may read it (v2c, from 127.0.0.1 only), so one
	agent can stand in for several logical OLTs. Use as a context manager or call
	:meth:`start` / :meth:`stop`.
	"""

	def __init__(
		self,
		table: OltTable,
		*,
		communities: tuple[str, ...] | list[str] = ("public",),
		port: int | None = None,
		snmpd: str | None = None,
	):
		self.table = table
		self.communities = tuple(communities)
		self.host = "127.0.0.1"
		self.port = port or 0
		self.snmpd = snmpd or snmpd_path()
		self.process: subprocess.Popen | None = None
		self.workdir: Path | None = None

	@property
	def community(self) -> str:
		return self.communities[0]

	@property
	def address(self) -> tuple[str, int]:
		return (self.host, self.port)

	def __enter__(self) -> OltAgent:
		return self.start()

	def __exit__(self, *exc) -> None:
		self.stop()

	def start(self, timeout: float = 10.0) -> OltAgent:
		if not self.snmpd:
			raise RuntimeError("snmpd is not installed (Debian: apt-get install snmpd)")
		self.workdir = Path(tempfile.mkdtemp(prefix="gf-olt-agent-"))
		data = self.table.write_tsv(self.workdir / "table.tsv")
		(self.workdir / "persist").mkdir()
		(self.workdir / "mibs").mkdir()
		root = ".1.3.6.1.4.1." + ("3902" if self.table.vendor == ZTE else "2011")
		fixed_port = self.port
		last_error = ""
		for _attempt in range(5):
			self.port = fixed_port or free_udp_port()
			conf = self.workdir / "snmpd.conf"
			conf.write_text(
				"\n".join(
					[
						f"agentaddress udp:{self.host}:{self.port}",
						*(f"rocommunity {c} 127.0.0.1" for c in self.communities),
						"dontLogTCPWrappersConnects yes",
						f"pass_persist {root} {sys.executable} {PASS_PERSIST.resolve()} {data}",
						"",
					]
				),
				encoding="utf-8",
			)
			env = {
				**os.environ,
				"SNMP_PERSISTENT_DIR": str(self.workdir / "persist"),
				"MIBDIRS": str(self.workdir / "mibs"),
				"MIBS": "",
			}
			log = (self.workdir / "snmpd.log").open("wb")
			self.process = subprocess.Popen(
				[self.snmpd, "-f", "-Lo", "-C", "-c", str(conf), "-p", str(self.workdir / "snmpd.pid")],
				stdout=log,
				stderr=subprocess.STDOUT,
				stdin=subprocess.DEVNULL,
				env=env,
			)
			log.close()
			probe = (*self.table.oids["status"], *self._first_row())
			if self._wait_ready(probe, timeout):
				return self
			last_error = (self.workdir / "snmpd.log").read_text(errors="replace")[-2000:]
			self._kill()
			if fixed_port:
				break
		self.stop()
		raise RuntimeError(f"snmpd did not start on 127.0.0.1:{self.port}: {last_error}")

	def _first_row(self) -> tuple[int, int]:
		first = self.table.onts[0]
		return (first.if_index, first.ont)

	def _wait_ready(self, probe_oid: tuple[int, ...], timeout: float) -> bool:
		deadline = time.monotonic() + timeout
		with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
			s.settimeout(0.2)
			request = snmp_get_message(self.community, probe_oid)
			while time.monotonic() < deadline:
				if self.process.poll() is not None:
					return False
				try:
					s.sendto(request, self.address)
					s.recvfrom(65535)
					return True
				except OSError:  # timeout or refused while snmpd binds
					time.sleep(0.05)
		return False

	def _kill(self) -> None:
		if self.process and self.process.poll() is None:
			self.process.send_signal(signal.SIGTERM)
			try:
				self.process.wait(timeout=5)
			except subprocess.TimeoutExpired:
				self.process.kill()
				self.process.wait(timeout=5)
		self.process = None

	def stop(self) -> None:
		self._kill()
		if self.workdir:
			shutil.rmtree(self.workdir, ignore_errors=True)
			self.workdir = None


def snmp_get_message(community: str, oid: tuple[int, ...], request_id: int = 1) -> bytes:
	"""A BER-encoded SNMP v2c GetRequest for one OID (enough to probe an agent without a client)."""

	def tlv(tag: int, body: bytes) -> bytes:
		n = len(body)
		if n < 0x80:
			length = bytes([n])
		else:
			raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
			length = bytes([0x80 | len(raw)]) + raw
		return bytes([tag]) + length + body

	def integer(value: int) -> bytes:
		return tlv(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))

	def arc(value: int) -> bytes:
		out = [value & 0x7F]
		value >>= 7
		while value:
			out.append(0x80 | (value & 0x7F))
			value >>= 7
		return bytes(reversed(out))

	encoded = arc(40 * oid[0] + oid[1]) + b"".join(arc(a) for a in oid[2:])
	varbind = tlv(0x30, tlv(0x06, encoded) + b"\x05\x00")
	pdu = tlv(0xA0, integer(request_id) + integer(0) + integer(0) + tlv(0x30, varbind))
	return tlv(0x30, integer(1) + tlv(0x04, community.encode()) + pdu)
