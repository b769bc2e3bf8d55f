"""Test peer: a real net-snmp ``snmpd`` on loopback serving GENERATED OLT tables.

Nothing here runs in production. It exists so gigafibre_fsm.connectors.olt_snmp is
tested (and benchmarked) against a real SNMP v2c agent over a real UDP socket,
with GETBULK, timeouts, communities and wire encodings exercised for real.

Two parts:

- :func:`generate_table` builds a realistic ONT optical table for one OLT: N PON
  ports × M ONTs, seeded random receive levels around −20 dBm with some low,
  high, very low (ZTE 16-bit wrap), LOS, offline and "no reading" (sentinel)
  values, and vendor serials. It returns the SNMP varbinds *and* the truth
  (:class:`OntTruth`, in dBm), so tests compare what the connector decodes with
  what the generator meant. The OIDs, index arithmetic and raw encodings here are
  written independently of the connector, from shared/NETWORK.md §4:

  - ZTE C300/C320: GPON ifIndex = 0x11000000 + shelf<<16 + slot<<8 + pon; rows
    ``{ifIndex}.{onu}``; ONU RX/TX ``.1082.500.20.2.2.2.1.10/.14.{ifIndex}.{onu}.1``,
    raw = (dBm + 30) / 0.002 as a 16-bit value, 65535 = no reading; OLT-side RX
    ``.1015.1010.11.2.1.2`` in 0.001 dBm, −80000 = none; phase ``.8.1.4``; serial
    ``.3.3.1.18`` as ``"1,ZTEG…"``; name ``.3.3.1.2``; distance ``.3.10.1.2``.
  - Huawei MA5600T/MA5800: GPON ifIndex = 4194304000 + slot·8192 + port·256
    (frame 0); rows ``{ifIndex}.{ontId}``; ONT RX/TX ``.51.1.4/.3`` in 0.01 dBm,
    OLT-side RX ``.51.1.6`` = dBm·100 + 10000, 2147483647 = invalid; run status
    ``.46.1.15`` (1 up, 2 down); distance ``.46.1.20``; serial ``.43.1.3`` as 8
    bytes (4 ASCII + 4 binary); description ``.43.1.9``.

- :class:`OltAgent` starts ``snmpd -f -Lo -C -c <conf>`` (Debian package
  ``snmpd``; it must run as root) on ``udp:127.0.0.1:<free port>`` with its own
  temporary config and persistent-data directory. The table is served by a
  ``pass_persist`` handler: this very file run as a script (stdlib only), which
  loads the table once and answers snmpd's ``get``/``getnext`` with a bisect on
  sorted OIDs. Each community in ``communities`` is a ``rocommunity`` limited to
  127.0.0.1; a wrong community gets no answer at all (SNMP v2c agents stay
  silent), exactly like a real OLT.

The generator's TSV (``oid<TAB>type<TAB>value``) is written at start time into
the agent's temporary directory; generated data is never committed.
"""

from __future__ import annotations

import bisect
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ZTE = "zte"
HUAWEI = "huawei"
VENDORS = (ZTE, HUAWEI)
# the connector profile each generated table imitates
PROFILE_NAMES = {ZTE: "zte_c300", HUAWEI: "huawei_ma5800"}

_ZTE_ROOT = (1, 3, 6, 1, 4, 1, 3902)
_HUAWEI_ROOT = (1, 3, 6, 1, 4, 1, 2011)
_HW_XPON = (*_HUAWEI_ROOT, 6, 128, 1, 1, 2)

ZTE_OIDS = {
	"rx": (*_ZTE_ROOT, 1082, 500, 20, 2, 2, 2, 1, 10),
	"tx": (*_ZTE_ROOT, 1082, 500, 20, 2, 2, 2, 1, 14),
	"olt_rx": (*_ZTE_ROOT, 1015, 1010, 11, 2, 1, 2),
	"status": (*_ZTE_ROOT, 1082, 500, 10, 2, 3, 8, 1, 4),
	"serial": (*_ZTE_ROOT, 1082, 500, 10, 2, 3, 3, 1, 18),
	"name": (*_ZTE_ROOT, 1082, 500, 10, 2, 3, 3, 1, 2),
	"distance": (*_ZTE_ROOT, 1082, 500, 10, 2, 3, 10, 1, 2),
}
HUAWEI_OIDS = {
	"rx": (*_HW_XPON, 51, 1, 4),
	"tx": (*_HW_XPON, 51, 1, 3),
	"olt_rx": (*_HW_XPON, 51, 1, 6),
	"status": (*_HW_XPON, 46, 1, 15),
	"serial": (*_HW_XPON, 43, 1, 3),
	"name": (*_HW_XPON, 43, 1, 9),
	"distance": (*_HW_XPON, 46, 1, 20),
}
ZTE_PHASES = {"online": 4, "los": 2, "dying_gasp": 5, "offline": 7}
HUAWEI_RUN_STATUS = {"online": 1, "los": 2, "dying_gasp": 2, "offline": 2}

ZTE_NO_READING = 65535
ZTE_OLT_RX_NONE = -80000
HUAWEI_INVALID = 2147483647

# share of each kind of ONT in a generated table (the rest is "ok")
KIND_WEIGHTS = {
	"ok": 0.74,
	"low": 0.06,  # −25 … −29.5 dBm
	"very_low": 0.03,  # below −30 dBm: ZTE's 16-bit raw wraps (> 32767)
	"high": 0.04,  # above −8 dBm
	"no_reading": 0.04,  # online, but the ONT RX column holds the sentinel
	"los": 0.04,
	"dying_gasp": 0.03,
	"offline": 0.02,
}


def zte_if_index(shelf: int, slot: int, pon: int) -> int:
	return 0x11000000 + (shelf << 16) + (slot << 8) + pon


def huawei_if_index(frame: int, slot: int, port: int) -> int:
	assert frame == 0, "only frame 0 is documented for Huawei GPON ifIndex"
	return 4194304000 + slot * 8192 + port * 256


@dataclass(frozen=True)
class OntTruth:
	"""What the generator put in the table for one ONT, in engineering units."""

	frame: int
	slot: int
	port: int
	ont: int
	if_index: int
	serial: str  # canonical GPON serial: 4 letters + 8 upper-case hex digits
	name: str
	status: str  # online / los / dying_gasp / offline
	kind: str  # see KIND_WEIGHTS
	rx_dbm: float | None
	tx_dbm: float | None
	olt_rx_dbm: float | None
	distance_m: int | None

	@property
	def online(self) -> bool:
		return self.status == "online"

	@property
	def location(self) -> tuple[int, int, int, int]:
		return (self.frame, self.slot, self.port, self.ont)


@dataclass
class OltTable:
	"""One generated OLT: its ONTs (truth) and the varbinds an agent serves."""

	vendor: str
	seed: int
	onts: list[OntTruth]
	# OID → (pass_persist type, value as pass_persist writes it)
	varbinds: dict[tuple[int, ...], tuple[str, str]] = field(default_factory=dict)
	# fault injection: OID → the (wrong) OID the agent names in its answer instead
	answer_as: dict[tuple[int, ...], tuple[int, ...]] = field(default_factory=dict)

	@property
	def profile(self) -> str:
		return PROFILE_NAMES[self.vendor]

	@property
	def oids(self) -> dict[str, tuple[int, ...]]:
		return ZTE_OIDS if self.vendor == ZTE else HUAWEI_OIDS

	def ports(self) -> list[tuple[int, int, int]]:
		return sorted({(o.frame, o.slot, o.port) for o in self.onts})

	def truth(self, frame: int, slot: int, port: int, ont: int) -> OntTruth:
		for o in self.onts:
			if o.location == (frame, slot, port, ont):
				return o
		raise KeyError((frame, slot, port, ont))

	def on_port(self, frame: int, slot: int, port: int) -> list[OntTruth]:
		return [o for o in self.onts if (o.frame, o.slot, o.port) == (frame, slot, port)]

	def by_kind(self, kind: str) -> list[OntTruth]:
		return [o for o in self.onts if o.kind == kind]

	def column(self, name: str) -> dict[tuple[int, ...], tuple[str, str]]:
		"""The varbinds of one column (as a walk of it would return them)."""
		base = self.oids[name]
		return {k: v for k, v in self.varbinds.items() if k[: len(base)] == base}

	def inject_non_increasing(self, name: str, row: int = 2) -> tuple[int, ...]:
		"""Make the agent answer a GETNEXT/GETBULK with an OID that does not increase (a buggy
		agent): row ``row`` of column ``name`` comes back named as the row before it."""
		keys = sorted(self.column(name))
		self.answer_as[keys[row]] = keys[row - 1]
		return keys[row]

	def write_tsv(self, path: Path) -> Path:
		lines = []
		for oid, (kind, value) in sorted(self.varbinds.items()):
			shown = ".".join(map(str, self.answer_as.get(oid, oid)))
			lines.append(f"{'.'.join(map(str, oid))}\t{kind}\t{value}\t{shown}")
		path.write_text("\n".join(lines) + "\n", encoding="utf-8")
		return path


def generate_table(
	vendor: str,
	*,
	ports: int = 4,
	onts_per_port: int = 16,
	seed: int = 0,
	ports_per_slot: int = 16,
) -> OltTable:
	"""A realistic optical table for ``ports`` PON ports × ``onts_per_port`` ONTs.

	ZTE ports are numbered shelf 1, slot 1…, pon 1…16 and ONUs 1…M; Huawei ports
	frame 0, slot 1…, port 0…15 and ONTs 0…M−1. The same ``seed`` gives the same
	table. Every mix in :data:`KIND_WEIGHTS` appears once the table is big enough;
	the first ONTs of port one are forced to cover each kind at least once.
	"""
	if vendor not in VENDORS:
		raise ValueError(f"unknown vendor {vendor!r}; expected one of {VENDORS}")
	rng = random.Random(f"{vendor}:{seed}")
	kinds, weights = zip(*KIND_WEIGHTS.items(), strict=True)
	table = OltTable(vendor=vendor, seed=seed, onts=[])
	forced = list(kinds)
	for p in range(ports):
		slot = 1 + p // ports_per_slot
		if vendor == ZTE:
			frame, port = 1, 1 + p % ports_per_slot
			if_index = zte_if_index(frame, slot, port)
			ont_ids = range(1, onts_per_port + 1)
		else:
			frame, port = 0, p % ports_per_slot
			if_index = huawei_if_index(frame, slot, port)
			ont_ids = range(onts_per_port)
		for ont in ont_ids:
			kind = forced.pop(0) if forced else rng.choices(kinds, weights)[0]
			truth = _ont(rng, vendor, kind, frame, slot, port, ont, if_index)
			table.onts.append(truth)
			_encode(table.varbinds, vendor, truth)
	return table


def _ont(rng: random.Random, vendor, kind, frame, slot, port, ont, if_index) -> OntTruth:
	status = {"los": "los", "dying_gasp": "dying_gasp", "offline": "offline"}.get(kind, "online")
	rx = tx = olt_rx = None
	distance = None
	if status == "online":
		distance = rng.randint(150, 19000)
		tx = round(rng.uniform(0.8, 4.5), 2)
		if kind == "ok":
			rx = min(-8.5, max(-24.5, rng.gauss(-20.0, 2.2)))
		elif kind == "low":
			rx = rng.uniform(-29.5, -25.2)
		elif kind == "very_low":
			rx = rng.uniform(-33.0, -30.2)
		elif kind == "high":
			rx = rng.uniform(-7.5, -4.0)
		if rx is not None:
			rx = _grid(rx, vendor)
			olt_rx = round(rx - rng.uniform(1.0, 4.0), 2)
		else:  # no_reading: the ONT RX column holds the sentinel, the OLT still hears it
			olt_rx = round(rng.uniform(-27.0, -18.0), 2)
	if vendor == ZTE and tx is not None:
		tx = _grid(tx, vendor)
	prefix = "ZTEG" if vendor == ZTE else "HWTC"
	serial = prefix + f"{rng.getrandbits(32):08X}"
	name = f"client-{slot}-{port}-{ont}"
	return OntTruth(
		frame=frame,
		slot=slot,
		port=port,
		ont=ont,
		if_index=if_index,
		serial=serial,
		name=name,
		status=status,
		kind=kind,
		rx_dbm=rx,
		tx_dbm=tx,
		olt_rx_dbm=olt_rx,
		distance_m=distance,
	)


def _grid(dbm: float, vendor: str) -> float:
	"""Round to a level the vendor's raw unit holds exactly (2 decimals; ZTE: even 0.002 steps)."""
	value = round(dbm, 2)
	if vendor == ZTE:
		# raw = (dBm + 30) · 500 must be an integer: 0.01 dB steps give multiples of 5
		return round(round((value + 30) * 500) / 500 - 30, 2)
	return value


def _zte_raw(dbm: float | None) -> int:
	if dbm is None:
		return ZTE_NO_READING
	raw = round((dbm + 30) * 500)
	return raw + 65536 if raw < 0 else raw  # 16-bit two's complement, as the OLT sends it


def _encode(out: dict, vendor: str, o: OntTruth) -> None:
	row = (o.if_index, o.ont)
	if vendor == ZTE:
		oids = ZTE_OIDS
		out[(*oids["rx"], *row, 1)] = ("integer", str(_zte_raw(o.rx_dbm)))
		out[(*oids["tx"], *row, 1)] = ("integer", str(_zte_raw(o.tx_dbm)))
		olt_rx = ZTE_OLT_RX_NONE if o.olt_rx_dbm is None else round(o.olt_rx_dbm * 1000)
		out[(*oids["olt_rx"], *row)] = ("integer", str(olt_rx))
		out[(*oids["status"], *row)] = ("integer", str(ZTE_PHASES[o.status]))
		out[(*oids["serial"], *row)] = ("string", f"1,{o.serial}")
		out[(*oids["name"], *row)] = ("string", o.name)
		if o.distance_m is not None:
			out[(*oids["distance"], *row)] = ("integer", str(o.distance_m))
		return
	oids = HUAWEI_OIDS

	def centi(value, offset=0):
		return HUAWEI_INVALID if value is None else round(value * 100) + offset

	out[(*oids["rx"], *row)] = ("integer", str(centi(o.rx_dbm)))
	out[(*oids["tx"], *row)] = ("integer", str(centi(o.tx_dbm)))
	out[(*oids["olt_rx"], *row)] = ("integer", str(centi(o.olt_rx_dbm, 10000)))
	out[(*oids["status"], *row)] = ("integer", str(HUAWEI_RUN_STATUS[o.status]))
	serial_bytes = o.serial[:4].encode() + bytes.fromhex(o.serial[4:])
	out[(*oids["serial"], *row)] = ("octet", " ".join(f"{b:02X}" for b in serial_bytes))
	out[(*oids["name"], *row)] = ("string", o.name)
	out[(*oids["distance"], *row)] = ("integer", str(-1 if o.distance_m is None else o.distance_m))


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
						f"pass_persist {root} {sys.executable} {Path(__file__).resolve()} pass-persist {data}",
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


# ---------------------------------------------------------------------------
# the pass_persist handler (run by snmpd as: python olt_agent.py pass-persist <table.tsv>)


def serve_pass_persist(path: str, stdin=None, stdout=None) -> None:
	"""Answer snmpd's pass_persist protocol from a generated TSV until stdin closes.

	``PING`` → ``PONG``; ``get``/``getnext`` + OID → OID, type, value (or ``NONE``);
	``set`` → ``not-writable``. A TSV line is ``oid, type, value[, OID to answer with]``.
	"""
	stdin = stdin or sys.stdin
	stdout = stdout or sys.stdout
	keys: list[tuple[int, ...]] = []
	rows: dict[tuple[int, ...], tuple[str, str, str]] = {}
	with open(path, encoding="utf-8") as handle:
		for line in handle:
			oid, kind, value, *shown = line.rstrip("\n").split("\t")
			key = tuple(int(a) for a in oid.split("."))
			keys.append(key)
			rows[key] = ("." + (shown[0] if shown else oid), kind, value)
	keys.sort()
	while True:
		line = stdin.readline()
		if not line:
			return
		command = line.strip().lower()
		if command == "ping":
			stdout.write("PONG\n")
		elif command in ("get", "getnext"):
			text = stdin.readline().strip().strip(".")
			try:
				oid = tuple(int(a) for a in text.split(".") if a)
			except ValueError:
				oid = ()
			if command == "get":
				found = rows.get(oid)
			else:
				i = bisect.bisect_right(keys, oid)
				found = rows[keys[i]] if i < len(keys) else None
			stdout.write("NONE\n" if found is None else f"{found[0]}\n{found[1]}\n{found[2]}\n")
		elif command == "set":
			stdin.readline()
			stdin.readline()
			stdout.write("not-writable\n")
		elif command:
			stdout.write("NONE\n")
		stdout.flush()


if __name__ == "__main__":
	if len(sys.argv) == 3 and sys.argv[1] == "pass-persist":
		serve_pass_persist(sys.argv[2])
	else:
		sys.exit("usage: olt_agent.py pass-persist <table.tsv>")
