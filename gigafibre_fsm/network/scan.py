"""Label scans: a photo of an equipment label → the vision model (one call, 8 s) → checked
fields → the Service Equipment it names (serial, then barcode, then MAC: the lookup order
of gigafibre_fsm.network.lookup) → with a job, a row in the job's equipment table.

A timeout, a refused key or an answer that is not a label is a clear error (504 / 417 /
502), never a guess; values that name two different equipment are a 409. The same scan
arriving twice (a retry from the technician's offline queue) adds no second row.
"""

from __future__ import annotations

import frappe
from frappe import _

from gigafibre_fsm.connectors import vision
from gigafibre_fsm.connectors.errors import ConnectorError
from gigafibre_fsm.core.errors import CoreError
from gigafibre_fsm.core.vision import decode_image, resolve_match
from gigafibre_fsm.exceptions import ExternalServiceError, raise_core_error, translated_message
from gigafibre_fsm.network.lookup import by_mac, lookup
from gigafibre_fsm.settings import get_settings

EQP = "Service Equipment"
JOB = "Dispatch Job"


class ScanTimeoutError(ExternalServiceError):
	"""The vision model did not answer in time (HTTP 504): retry later, or type the serial."""

	http_status_code = 504


class ScanUnreadableError(ExternalServiceError):
	"""The model's answer is not a label we can trust (HTTP 502)."""

	http_status_code = 502


def read(image: str) -> vision.LabelReading:
	try:
		data, mime = decode_image(image)
	except CoreError as e:
		raise_core_error(e)
	settings = get_settings().vision
	if not settings.configured:
		frappe.throw(_("The vision model is not configured (Gigafibre Settings)"), ExternalServiceError)
	try:
		return vision.read_label(settings, data, mime)
	except vision.VisionTimeout:
		frappe.throw(
			_("The label could not be read within {0} seconds: try again, or type the serial number").format(
				f"{settings.timeout:g}"
			),
			ScanTimeoutError,
		)
	except vision.VisionMalformed as e:
		frappe.throw(
			_("The label could not be read reliably: {0}").format(translated_message(e.error)),
			ScanUnreadableError,
		)
	except ConnectorError as e:
		raise_core_error(e)


def match(scan) -> tuple[str | None, list[dict]]:
	found = [
		(kind, value, by_mac(value) if kind == "mac" else lookup(value)) for kind, value in scan.candidates()
	]
	try:
		return resolve_match(found)
	except CoreError as e:
		raise_core_error(e)


def scan_label(image: str, job: str | None = None, *, technician: str | None = None) -> dict:
	"""Read, check and match one label; with ``job`` (checked by the caller: a planner's
	write right, or ``technician``'s own job) add it to the job's equipment."""
	reading = read(image)
	scan = reading.scan
	if scan.empty:
		frappe.throw(
			_("No serial number, MAC address or barcode could be read on the label"), ScanUnreadableError
		)
	equipment, hits = match(scan)
	answer = {
		"scan": scan.as_dict(),
		"equipment": _summary(equipment) if equipment else None,
		"matched_by": hits,
		"elapsed_ms": reading.elapsed_ms,
		"model": reading.model,
		"job": None,
	}
	if job:
		answer["job"] = add_to_job(job, scan, equipment, technician=technician)
	return answer


def _summary(name: str) -> dict:
	return frappe.db.get_value(
		EQP,
		name,
		["name", "serial_no", "mac_address", "gpon_serial", "equipment_type", "model", "status", "customer"],
		as_dict=True,
	)


def add_to_job(job: str, scan, equipment: str | None, *, technician: str | None = None) -> dict:
	"""One row per scanned device in the job's equipment table (Installed, or Removed on a
	removal job); the same device scanned again changes nothing."""
	from gigafibre_fsm.dispatch import service

	doc = service.lock_job(job)
	if doc.status == "Cancelled":
		frappe.throw(_("Job {0} is cancelled").format(job), ExternalServiceError)
	serial = scan.serial or scan.gpon_serial or (scan.mac.upper() if scan.mac else "")
	for row in doc.get("equipment") or []:
		if (equipment and row.equipment == equipment) or (serial and row.serial_no == serial):
			return {"job": doc.name, "row": row.name, "added": False, "equipment": row.equipment}
	row = doc.append(
		"equipment",
		{
			"action": "Removed" if doc.job_type == "Removal" else "Installed",
			"equipment": equipment,
			"serial_no": serial,
		},
	)
	service.save_job(doc, for_technician=technician)
	service.publish_job(doc)
	return {"job": doc.name, "row": row.name, "added": True, "equipment": equipment}
