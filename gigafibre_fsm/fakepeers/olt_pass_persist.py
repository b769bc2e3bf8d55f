"""The fake OLT agent's ``pass_persist`` handler, run by snmpd as a script (stdlib only):
``python olt_pass_persist.py <table.tsv>`` (see olt_agent.py). It loads the generated table once
and answers snmpd's ``get``/``getnext`` with a bisect on sorted OIDs."""

from __future__ import annotations

import bisect
import sys


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
	if len(sys.argv) == 2:
		serve_pass_persist(sys.argv[1])
	else:
		sys.exit("usage: olt_pass_persist.py <table.tsv>")
