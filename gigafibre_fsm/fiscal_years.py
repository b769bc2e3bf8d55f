"""Calendar fiscal years where none covers a year the app books into.

ERPNext refuses a Sales Invoice, a Payment Entry or a GL row dated outside every active
Fiscal Year. The legacy import books years back to 2010, and the tests bill next month (in
December, next year). ERPNext keeps each company's fiscal years in Redis
(``get_fiscal_years`` reads the ``fiscal_years`` hash) and inserting a Fiscal Year does not
clear it: after adding years, the cache is cleared here, or the next booking still sees the
old list.
"""

from __future__ import annotations

from datetime import date

import frappe


def ranges() -> list[tuple[date, date, str]]:
	"""The active fiscal years as (start, end, name), by start."""
	rows = frappe.get_all(
		"Fiscal Year",
		filters={"disabled": 0},
		fields=["name", "year_start_date", "year_end_date"],
		limit=0,
	)
	return sorted((r.year_start_date, r.year_end_date, r.name) for r in rows)


def ensure_calendar_years(first: int, last: int) -> list[tuple[date, date, str]]:
	"""A calendar Fiscal Year (for every company) for each year of ``first..last`` that no
	active fiscal year touches; returns the active years afterwards."""
	known = ranges()
	added = False
	for year in range(first, last + 1):
		start, end = date(year, 1, 1), date(year, 12, 31)
		if any(a <= end and start <= b for a, b, _ in known):
			continue
		frappe.get_doc(
			{"doctype": "Fiscal Year", "year": str(year), "year_start_date": start, "year_end_date": end}
		).insert(ignore_permissions=True)
		added = True
	if added:
		frappe.cache.delete_value("fiscal_years")
		known = ranges()
	return known
