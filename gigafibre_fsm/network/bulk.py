"""Updating many rows at once, each with its own values, on MariaDB and PostgreSQL."""

from __future__ import annotations

import re

import frappe

_COLUMN = re.compile(r"^[a-z_][a-z0-9_]*$")


def update_rows(doctype: str, updates: dict[str, dict], *, chunk_size: int = 100) -> int:
	"""``UPDATE`` the rows named in ``updates`` ({name: {column: value}}), ``chunk_size`` rows
	per statement: a column that every row of the chunk sets to one value is set once, the
	others through ``CASE name WHEN … THEN … ELSE column END``; every value and name is a query
	parameter. What ``frappe.db.bulk_update(..., update_modified=False)`` writes, without
	building the statement through the query builder (about half a second per 500 rows on
	this machine, more than the rest of a fleet page). Returns the number of statements."""
	if chunk_size < 1:
		raise ValueError("chunk_size must be positive")
	items = list(updates.items())
	statements = 0
	for start in range(0, len(items), chunk_size):
		chunk = items[start : start + chunk_size]
		assignments, params = [], []
		for column in sorted({c for _name, row in chunk for c in row}):
			if not _COLUMN.match(column):
				raise ValueError(f"not a column name: {column!r}")
			setting = [(name, row[column]) for name, row in chunk if column in row]
			first = setting[0][1]
			if len(setting) == len(chunk) and all(_same(v, first) for _n, v in setting):
				assignments.append(f"`{column}` = %s")
				params.append(first)
				continue
			whens = " ".join("WHEN %s THEN %s" for _ in setting)
			assignments.append(f"`{column}` = CASE `name` {whens} ELSE `{column}` END")
			for name, value in setting:
				params += [name, value]
		if not assignments:
			continue
		names = [name for name, _row in chunk]
		frappe.db.sql(
			f"UPDATE `tab{doctype}` SET {', '.join(assignments)} "
			f"WHERE `name` IN ({', '.join(['%s'] * len(names))})",
			[*params, *names],
		)
		statements += 1
	return statements


def _same(a, b) -> bool:
	return type(a) is type(b) and a == b
