"""Serviceability and prices by address, from the database.

The rules are pure (``gigafibre_fsm.core.customers``); this service:

- builds the core :class:`Footprint` from Service Zone (and its Service Zone Plan rows),
  Service Address, Service Promotion and the plans' Items and Item Prices, with a few
  plain-column queries (one for all the addresses, however many: footprint_build.py);
- keeps it per worker process and site, keyed by a version number in Redis
  (``gigafibre_fsm:footprint_version``) that every change of those records bumps once
  committed (the app's controllers call :func:`invalidate`; Item and Item Price reach
  it through ``doc_events``), and by the day (Item Price validity dates);
- answers :func:`check` (address text and/or position) with translated messages;
- imports the address CSV and the zone GeoJSON in bulk (``footprint_import.import_footprint``,
  behind ``bench --site <site> gigafibre-import-footprint``).

Plans are Items with a price on the plans' price list (footprint_build.py says which).

The earliest installation date is the zone's lead days only (a weekend moves it to
Monday): dispatch's free capacity per zone is not consulted.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any

import frappe
from frappe import _
from frappe.utils import getdate

from gigafibre_fsm.core.customers.footprint import Footprint
from gigafibre_fsm.customers.footprint_build import PROMOTION, build_footprint, plan_price_list
from gigafibre_fsm.exceptions import core_errors
from gigafibre_fsm.permissions import CUSTOMER_SERVICE, has_any_role

VERSION_KEY = "gigafibre_fsm:footprint_version"
# Who sees the customer of a served address (FSM Manager and System Manager always do).
CUSTOMER_READERS = (CUSTOMER_SERVICE,)

_footprints: dict[str, tuple[tuple[Any, date], Footprint]] = {}
_lock = threading.Lock()


# --- cache ----------------------------------------------------------------------------------------


def current_version() -> Any:
	"""The footprint version in Redis; a new one when Redis has none (first use, cache cleared)."""
	version = frappe.cache.get_value(VERSION_KEY)
	if version is None:
		version = bump_version()
	return version


def bump_version() -> int:
	"""Give the footprint a new version: every worker rebuilds it at its next check."""
	version = time.time_ns()
	frappe.cache.set_value(VERSION_KEY, version)
	return version


def forget_local() -> None:
	"""Drop this process's footprint of the current site (it is rebuilt at the next check)."""
	_footprints.pop(getattr(frappe.local, "site", None) or "", None)


def invalidate(doc=None, method=None, *args) -> None:
	"""A zone, address, promotion, plan or price changed.

	This process forgets its footprint now (its next check sees its own uncommitted
	change); every process rebuilds once the change is committed (a new version in
	Redis, after commit, so no worker caches the state before the commit under the new
	version); after a rollback this process forgets what it built from the undone change.
	"""
	forget_local()
	frappe.db.after_commit.add(bump_version)
	frappe.db.after_rollback.add(forget_local)


def get_footprint(today: date | None = None) -> Footprint:
	"""The site's footprint, built at most once per version and day in each process."""
	today = today or getdate()
	site = frappe.local.site
	key = (current_version(), today)
	cached = _footprints.get(site)
	if cached and cached[0] == key:
		return cached[1]
	with _lock:
		cached = _footprints.get(site)
		if cached and cached[0] == key:
			return cached[1]
		footprint = build_footprint(today)
		_footprints[site] = (key, footprint)
		return footprint


# --- doc_events on ERPNext doctypes (see hooks.py) -----------------------------------------------

_PLAN_ITEM_FIELDS = ("item_name", "disabled", "gigafibre_down_mbps", "gigafibre_up_mbps")


def on_item_change(doc, method=None, *args) -> None:
	"""Item on_update / on_trash / after_rename: only plans matter."""
	if method == "after_rename":
		invalidate()
		return
	before = doc.get_doc_before_save() if method == "on_update" else None
	if method == "on_update" and before is not None:
		if not any(doc.has_value_changed(f) for f in _PLAN_ITEM_FIELDS):
			return
	if doc.get("gigafibre_down_mbps") or (before and before.get("gigafibre_down_mbps")) or _named(doc.name):
		invalidate()


def on_item_price_change(doc, method=None, *args) -> None:
	"""Item Price on_update / on_trash: prices of plans on the plans' price list."""
	before = doc.get_doc_before_save() if method == "on_update" else None
	price_list = plan_price_list()
	lists = {doc.price_list, before.price_list if before else None}
	if price_list in lists and _is_plan(doc.item_code):
		invalidate()


def on_selling_settings_change(doc, method=None, *args) -> None:
	"""Selling Settings on_update: the plans' price list may have changed."""
	if doc.has_value_changed("selling_price_list"):
		invalidate()


def _named(item_code: str) -> bool:
	"""Whether a zone or a promotion names this Item."""
	return bool(
		frappe.db.exists("Service Zone Plan", {"item_code": item_code})
		or frappe.db.exists("Service Promotion Item", {"item_code": item_code})
	)


def _is_plan(item_code: str) -> bool:
	if not item_code:
		return False
	return bool(frappe.db.get_value("Item", item_code, "gigafibre_down_mbps")) or _named(item_code)


# --- the check ------------------------------------------------------------------------------------


def check(address: str | None = None, lat: Any = None, lon: Any = None) -> dict[str, Any]:
	"""Serviceability, plans with today's prices, install fee and earliest date (``CheckResult.to_dict()``).

	``message`` is translated; ``customer`` / ``customer_name`` (of the matched address's
	Service Location) only for Customer Service, FSM Manager and System Manager, else None.
	"""
	today = getdate()
	footprint = get_footprint(today)
	with core_errors():
		result = footprint.check(address, lat, lon, today=today, promotion_uses=promotion_uses())
	answer = result.to_dict()
	answer["message"] = _(result.message).format(*result.params) if result.params else _(result.message)
	answer["customer"] = answer["customer_name"] = None
	if result.service_location and has_any_role(CUSTOMER_READERS):
		customer = frappe.db.get_value("Service Location", result.service_location, "customer")
		if customer:
			answer["customer"] = customer
			answer["customer_name"] = frappe.db.get_value("Customer", customer, "customer_name")
	return answer


def promotion_uses() -> dict[str, int]:
	"""Promotion code → uses so far, read at every check (uses change without a new footprint)."""
	return {
		name: int(uses or 0)
		for name, uses in frappe.get_all(
			PROMOTION, filters={"uses": [">", 0]}, fields=["name", "uses"], as_list=True
		)
	}


def record_promotion_use(code: str) -> bool:
	"""Count one use of a promotion (a sale that carries it), unless its limit is reached.

	The promotion row is read with a locking read, so two sales cannot both take the last use.
	"""
	row = frappe.db.get_value(PROMOTION, code, ["uses", "use_limit"], as_dict=True, for_update=True)
	if row is None:
		frappe.throw(_("{0} {1} not found").format(_(PROMOTION), code), frappe.DoesNotExistError)
	uses, limit = int(row.uses or 0), int(row.use_limit or 0)
	if limit and uses >= limit:
		return False
	frappe.db.set_value(PROMOTION, code, "uses", uses + 1, update_modified=False)
	return True
