"""Network endpoints for the Ops app and the technician page
(/api/method/gigafibre_fsm.api.network.<name>)."""

from __future__ import annotations

import frappe
from frappe import _

from gigafibre_fsm.network import diagnose as diag
from gigafibre_fsm.network.lookup import lookup
from gigafibre_fsm.permissions import (
	CUSTOMER_SERVICE,
	DISPATCHER,
	FSM_MANAGER,
	NETWORK_OPERATOR,
	TECHNICIAN,
	fsm_api,
	get_doc_for,
)

READERS = (CUSTOMER_SERVICE, DISPATCHER, FSM_MANAGER, NETWORK_OPERATOR, TECHNICIAN)


@fsm_api(roles=READERS)
def lookup_equipment(query: str) -> dict | None:
	"""Serial (also GPON/CWMP serial), then barcode, then MAC."""
	name = lookup(query)
	if not name:
		return None
	doc = get_doc_for("Service Equipment", name, "read")
	return {
		"name": doc.name,
		"serial_no": doc.serial_no,
		"mac_address": doc.mac_address,
		"equipment_type": doc.equipment_type,
		"model": doc.model,
		"status": doc.status,
		"customer": doc.customer,
		"service_location": doc.service_location,
	}


@fsm_api(roles=READERS, write=True)
def diagnose(equipment: str, refresh: bool = False) -> dict:
	"""Diagnose now; with refresh=False a diagnosis younger than 5 minutes is returned instead."""
	eqp = get_doc_for("Service Equipment", equipment, "read")
	return diag.diagnose_equipment(equipment, "On demand", refresh=bool(refresh), eqp=eqp)


@fsm_api(roles=READERS)
def get_device_page(serial: str) -> dict:
	"""Equipment, customer, location, active subscription, open issues, upcoming jobs and OLT data."""
	name = lookup(serial)
	if not name:
		frappe.throw(_("No equipment matches {0}").format(serial), frappe.DoesNotExistError)
	eqp = get_doc_for("Service Equipment", name, "read")
	customer = (
		frappe.db.get_value(
			"Customer", eqp.customer, ["name", "customer_name", "cell_phone", "email_billing"], as_dict=True
		)
		if eqp.customer
		else None
	)
	location = (
		frappe.db.get_value(
			"Service Location",
			eqp.service_location,
			[
				"name",
				"address_line",
				"city",
				"postal_code",
				"latitude",
				"longitude",
				"connection_type",
				"olt",
				"olt_port",
				"ont_id",
				"vlan",
			],
			as_dict=True,
		)
		if eqp.service_location
		else None
	)
	subscription = None
	issues, jobs = [], []
	if eqp.customer:
		filters = {"customer": eqp.customer, "status": "Actif"}
		subscription = frappe.db.get_value(
			"Service Subscription",
			filters,
			["name", "plan", "plan_name", "download_mbps", "upload_mbps", "monthly_price", "start_date"],
			as_dict=True,
		)
		issues = frappe.get_all(
			"Issue",
			filters={"customer": eqp.customer, "status": ["not in", ["Closed", "Resolved"]]},
			fields=["name", "subject", "status", "priority", "opening_date"],
			order_by="creation desc",
			limit_page_length=20,
		)
		jobs = frappe.get_all(
			"Dispatch Job",
			filters={"customer": eqp.customer, "status": ["not in", ["Completed", "Cancelled"]]},
			fields=["name", "subject", "job_type", "status", "technician", "scheduled_start"],
			order_by="scheduled_start asc",
			limit_page_length=20,
		)
	olt = None
	if eqp.olt:
		olt = frappe.db.get_value(
			"Network Element", eqp.olt, ["name", "vendor_profile", "host", "last_sweep_at"], as_dict=True
		)
		olt.update({"pon_port": eqp.pon_port, "ont_id": eqp.ont_id})
	return {
		"equipment": {
			f: eqp.get(f)
			for f in (
				"name",
				"serial_no",
				"gpon_serial",
				"cwmp_serial",
				"mac_address",
				"barcode",
				"equipment_type",
				"vendor",
				"model",
				"firmware",
				"status",
				"ip_address",
				"last_online",
				"last_inform",
				"last_rx_dbm",
				"last_optical_status",
				"last_refresh_at",
				"last_diagnostic",
			)
		},
		"customer": customer,
		"location": location,
		"subscription": subscription,
		"open_issues": issues,
		"upcoming_jobs": jobs,
		"olt": olt,
		"latest_diagnostic": diag.latest(eqp.name, max_age=7 * 24 * 3600),
	}


@fsm_api(roles=READERS, write=True)
def scan_label(image: str, job: str | None = None) -> dict:
	"""Read an equipment label photo (base64 or a data URL) with the vision model, match it to
	Service Equipment (serial, then barcode, then MAC); with ``job``, add it to the job's
	equipment (a planner's job, or the technician's own)."""
	from gigafibre_fsm.network import scan
	from gigafibre_fsm.permissions import has_any_role

	technician = None
	if job:
		if has_any_role((DISPATCHER, FSM_MANAGER, CUSTOMER_SERVICE)):
			get_doc_for("Dispatch Job", job, "write")
		else:
			from gigafibre_fsm.api.dispatch import current_technician

			technician = current_technician()
			assigned = frappe.db.get_value("Dispatch Job", job, "technician")
			if assigned != technician:
				frappe.throw(_("Job {0} is not assigned to you").format(job), frappe.PermissionError)
	return scan.scan_label(image, job, technician=technician)
