"""Diagnose one piece of equipment: GenieACS, the modem bridge and the OLT in parallel,
each under its own timeout, merged, stored as a Device Diagnostic, pushed realtime."""

from __future__ import annotations

import atexit
import json
import threading
import time
from datetime import UTC, datetime

import frappe
from frappe.utils import now_datetime

from gigafibre_fsm.connectors import diagnose as parallel
from gigafibre_fsm.connectors.genieacs import GenieACSClient
from gigafibre_fsm.core.diagnostics import Diagnosis, equipment_fields, error, normalise_genieacs
from gigafibre_fsm.settings import get_settings

EVENT = "gigafibre_fsm:device_diagnostic"
FRESH_SECONDS = 300
T_NOT_SET = "{0} is not configured for this device"


def _missing(name: str) -> parallel.Source:
	def call():
		d = Diagnosis()
		d.errors.append(error(name, f"{name}_not_configured", T_NOT_SET, name))
		d.sources[name] = {"ok": False}
		return d

	return parallel.Source(name, call, 1)


def sources_for(eqp, settings) -> list[parallel.Source]:
	out = []
	if settings.genieacs.configured and eqp.acs_device_id:
		device_id = eqp.acs_device_id

		def genieacs():
			with GenieACSClient(settings.genieacs) as client:
				doc = client.get_device(device_id)
			if doc is None:
				d = Diagnosis()
				d.errors.append(
					error(
						"genieacs", "genieacs_unknown_device", "GenieACS does not know device {0}", device_id
					)
				)
				return d
			return normalise_genieacs(doc, now=datetime.now(UTC))

		out.append(parallel.Source("genieacs", genieacs, settings.genieacs.timeout + 1))
	else:
		out.append(_missing("genieacs"))
	if settings.modem.configured and eqp.ip_address and eqp.equipment_type in ("Modem", "Router", "ONT"):
		host = eqp.ip_address
		kind = "deco" if "deco" in f"{eqp.model or ''} {eqp.vendor or ''}".lower() else "tplink_ex"

		# made now, so a new worker's browser bridge starts Chromium while the sources run
		bridge = modem_bridge(settings.modem, reap=False)

		def modem():
			bridge.reap_idle()
			return bridge.diagnose(host, kind=kind)

		# the read may also wait for that Chromium start, under its own budget (0 once it is up)
		out.append(parallel.Source("modem", modem, settings.modem.timeout + 1 + bridge.start_allowance()))
	if eqp.olt and eqp.pon_port and eqp.ont_id is not None:
		ne = frappe.get_cached_doc("Network Element", eqp.olt)
		target = olt_target(ne)
		frame, slot, port = (int(x) for x in eqp.pon_port.split("/"))
		ont = int(eqp.ont_id)

		budget = settings.snmp.timeout * (settings.snmp.retries + 1) + 2

		def olt():
			from gigafibre_fsm.connectors import snmp_loop
			from gigafibre_fsm.connectors.olt_snmp import OltSnmpClient

			async def read(transport):
				# the process's SNMP loop and socket (connectors/snmp_loop.py), not a new one per read
				client = OltSnmpClient(target, settings.snmp, transport=transport)
				return await client.read_ont(frame, slot, port, ont)

			reading = snmp_loop.run(read, timeout=budget)
			if reading is None:
				d = Diagnosis()
				d.errors.append(
					error("olt", "olt_unknown_ont", "The OLT has no ONT {0} on {1}", ont, eqp.pon_port)
				)
				return d
			return reading.to_diagnosis(now=datetime.now(UTC))

		out.append(parallel.Source("olt", olt, budget))
	return out


_BRIDGE = None
_BRIDGE_LOCK = threading.Lock()


def device_leases():
	"""Leases on modems in the site's Redis (frappe.cache), shared by every worker and machine
	of the bench: one admin session per modem at a time across them (connectors/modem_lease.py)."""
	from gigafibre_fsm.connectors.modem_lease import RedisDeviceLeases

	return RedisDeviceLeases(frappe.cache, prefix=frappe.cache.make_key("gigafibre_fsm:modem_lease:"))


def new_modem_bridge(modem_settings):
	"""A modem bridge holding its sessions under the site's device leases, its reaper running
	(idle sessions reclaimed, leases renewed, devices another worker waits for handed over)."""
	from gigafibre_fsm.connectors.modem_bridge import ModemBridge

	bridge = ModemBridge(modem_settings, leases=device_leases())
	bridge.start_reaper()
	return bridge


def modem_bridge(modem_settings, *, reap: bool = True):
	"""One bridge per worker process, shared by its threads (gthread workers), so admin
	sessions stay warm between diagnoses; sessions idle longer than the configured time
	are logged out first (unless ``reap`` is False) and by the bridge's reaper thread.
	Another worker that needs a modem warm here asks for it through the device's lease
	(Redis) and this worker's reaper logs the session out at once (:func:`new_modem_bridge`).
	A new bridge starts its browser (Chromium, for the web UI fallback) in the background
	at once and keeps it running for the worker's later diagnoses; it is closed (sessions
	logged out, Chromium stopped) when the settings change and when the worker exits."""
	global _BRIDGE

	with _BRIDGE_LOCK:  # two first diagnoses at once must not start two Chromiums
		if _BRIDGE is None or _BRIDGE.settings != modem_settings:
			old, _BRIDGE = _BRIDGE, new_modem_bridge(modem_settings)
			if old is None:
				atexit.register(_close_bridge)
			_BRIDGE.warm_up()
		else:
			old = None
		bridge = _BRIDGE
	if old is not None:
		old.close()
	if reap:
		bridge.reap_idle()
	return bridge


def _close_bridge() -> None:
	with _BRIDGE_LOCK:
		bridge = _BRIDGE
	if bridge is not None:
		bridge.close()


_TARGETS: dict[tuple, object] = {}


def olt_target(ne):
	"""The OLT's SNMP target; kept per process by the Network Element's ``modified`` (its
	community is a Password: one query and a decryption saved per diagnosis)."""
	key = (frappe.local.site, ne.name, str(ne.modified))
	target = _TARGETS.get(key)
	if target is None:
		if len(_TARGETS) > 1000:
			_TARGETS.clear()
		target = _TARGETS[key] = _olt_target(ne)
	return target


def _olt_target(ne):
	from gigafibre_fsm.connectors.olt_snmp import OltTarget

	return OltTarget(
		name=ne.name,
		host=ne.host,
		community=ne.get_password("snmp_community", raise_exception=False) or "public",
		profile=ne.vendor_profile,
		port=ne.snmp_port or 161,
	)


def latest(equipment: str, max_age: int = FRESH_SECONDS) -> dict | None:
	row = frappe.db.get_value(
		"Device Diagnostic",
		{"equipment": equipment},
		["name", "diagnosed_at", "result"],
		as_dict=True,
		order_by="diagnosed_at desc",
	)
	if not row or (now_datetime() - row.diagnosed_at).total_seconds() > max_age:
		return None
	return {
		"diagnostic": row.name,
		"diagnosed_at": str(row.diagnosed_at),
		"result": json.loads(row.result or "{}"),
		"cached": True,
	}


def diagnose_equipment(equipment: str, trigger: str = "On demand", refresh: bool = True, eqp=None) -> dict:
	"""Diagnose now (or return a diagnosis younger than 5 minutes when refresh is False);
	``eqp``: the Service Equipment already loaded by the caller (not loaded again)."""
	if not refresh:
		cached = latest(equipment)
		if cached:
			return cached
	if eqp is None:
		eqp = frappe.get_doc("Service Equipment", equipment)
	settings = get_settings()
	started = time.monotonic()
	result = parallel.run(sources_for(eqp, settings), now=datetime.now(UTC))
	duration_ms = round((time.monotonic() - started) * 1000)
	return store(eqp, result, trigger, duration_ms)


def store(eqp, result: Diagnosis, trigger: str, duration_ms: int) -> dict:
	data = result.to_dict()
	optical = data.get("optical") or {}
	device = data.get("device") or {}
	summary = data.get("summary") or result.summary()
	doc = frappe.get_doc(
		{
			"doctype": "Device Diagnostic",
			"equipment": eqp.name,
			"customer": eqp.customer,
			"trigger": trigger,
			"diagnosed_at": now_datetime(),
			"duration_ms": duration_ms,
			"online": 1 if device.get("online") else 0,
			"optical_status": optical.get("status"),
			"rx_dbm": optical.get("rx_dbm"),
			"sources_ok": ", ".join(sorted(k for k, v in (data.get("sources") or {}).items() if v.get("ok"))),
			"error_count": len(data.get("errors") or []),
			"clients": summary.get("clients"),
			# compact: with an indent json.dumps falls back to its pure-Python encoder (~5× the CPU)
			"result": frappe.as_json(data, indent=None, separators=(",", ":")),
		}
	)
	doc.flags.ignore_links = True  # equipment and customer: the Service Equipment just loaded
	doc.insert(ignore_permissions=True)
	update_equipment(eqp.name, data, doc.name)
	payload = {
		"equipment": eqp.name,
		"diagnostic": doc.name,
		"summary": summary,
		"errors": data.get("errors"),
	}
	frappe.publish_realtime(EVENT, payload, doctype="Service Equipment", docname=eqp.name, after_commit=True)
	if eqp.customer:
		frappe.publish_realtime(EVENT, payload, doctype="Customer", docname=eqp.customer, after_commit=True)
	return {"diagnostic": doc.name, "diagnosed_at": str(doc.diagnosed_at), "result": data, "cached": False}


def update_equipment(name: str, data: dict, diagnostic: str | None = None):
	"""Last-known fields; a value a source did not give is left as it was (never 0)."""
	frappe.db.set_value("Service Equipment", name, equipment_values(data, diagnostic), update_modified=False)


def equipment_values(data: dict, diagnostic: str | None = None) -> dict:
	"""The last-known fields of a Service Equipment from a diagnosis, full or the fleet refresh's
	lean reading (core.diagnostics.equipment_fields; absent values left out), last inform in
	the site's time zone."""
	values = {"last_refresh_at": now_datetime()}
	if diagnostic:
		values["last_diagnostic"] = diagnostic
	values.update(equipment_fields(data))
	if values.get("last_inform"):
		values["last_inform"] = _local(values["last_inform"])
	return values


def _local(iso_text: str):
	from frappe.utils.data import convert_utc_to_system_timezone

	value = datetime.fromisoformat(str(iso_text).replace("Z", "+00:00"))
	if value.tzinfo is None:
		return value
	return convert_utc_to_system_timezone(value.astimezone(UTC).replace(tzinfo=None)).replace(tzinfo=None)
