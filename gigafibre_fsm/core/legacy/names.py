"""Hash names as Frappe's ORM gives them, drawn in bulk (pure: no database, no Frappe).

Frappe (v15 on) names a document whose naming rule is "hash" (GL Entry, Payment Ledger Entry,
Communication, every child row) with ``make_autoname("hash")``: 10 characters of lowercase
base32hex (``0-9a-v``) made of

- one character of the request's or job's trace id (a UUID: ``0-9a-f``), so that parallel
  workers draw from different ranges;
- three characters of the time in deciseconds (``int(time.time() * 10)`` modulo ``32**4``, its
  last three base32hex characters: the prefix wraps every 3,276.8 s);
- random base32hex characters for the rest.

Names made close in time are thereby close in the table's primary key, so InnoDB appends them
near each other instead of at random places of a B-tree of millions of rows: the reason Frappe
chose them, and the reason the legacy import draws its names the same way (:class:`HashNames`),
besides writing the rows the ORM would.
"""

from __future__ import annotations

import base64
import os
import time

ALPHABET = "0123456789abcdefghijklmnopqrstuv"  # base32hex, lowercase
_POOL = 4096  # random parts drawn per system call


def time_part(deciseconds: int) -> str:
	"""The three time characters of a name made at ``deciseconds`` (``int(time.time() * 10)``),
	exactly as Frappe's ``_get_timestamp_prefix`` writes them."""
	ts = deciseconds % (32**4)
	return base64.b32hexencode(ts.to_bytes(length=5, byteorder="big")).decode()[-3:].lower()


class HashNames:
	"""Draws names in Frappe's hash format: ``lead`` (one character, the trace id's part) + the
	time part + 6 random characters. The random parts come from ``os.urandom`` 4,096 at a time;
	the names drawn within one decisecond are kept apart (a name is never drawn twice in the same
	decisecond by one instance). ``clock`` is for tests."""

	def __init__(self, lead: str = "0", clock=time.time):
		if len(lead) != 1 or lead not in ALPHABET:
			raise ValueError(f"lead must be one base32hex character, not {lead!r}")
		self.lead = lead
		self.clock = clock
		self._random: list[str] = []
		self._prefix = ""
		self._decisecond = -1
		self._seen: set[str] = set()

	def _refill(self) -> None:
		text = base64.b32hexencode(os.urandom(5 * (_POOL * 6 // 8 + 1))).decode().lower()
		self._random = [text[i : i + 6] for i in range(0, len(text) - 5, 6)]

	def draw(self) -> str:
		decisecond = int(self.clock() * 10)
		if decisecond != self._decisecond:
			self._decisecond = decisecond
			self._prefix = self.lead + time_part(decisecond)
			self._seen.clear()
		while True:
			if not self._random:
				self._refill()
			name = self._prefix + self._random.pop()
			if name not in self._seen:
				self._seen.add(name)
				return name

	def many(self, count: int) -> list[str]:
		return [self.draw() for _ in range(count)]


def with_lead(name: str, lead: str) -> str:
	"""``name`` with its first character (the trace id's part) replaced by ``lead``: a writer
	connection's own range of names, as a worker's trace id gives it in Frappe."""
	return lead + name[1:]
