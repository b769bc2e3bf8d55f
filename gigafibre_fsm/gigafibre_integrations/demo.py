"""A small, coherent demo ISP for the first five minutes (``bench --site <site> gigafibre-demo``).

Around Sainte-Clotilde: a dozen technicians with skills and shifts, a few hundred customers
with their service location, subscription, contract and equipment (an ONT on one of two
OLTs, some with a mesh router), a week of Dispatch Jobs in every state, a few open offers
and a few flow runs. The OLT tables and the GenieACS documents are generated from the same
seed by ``demo_peers`` (the fake peers the package ships), so a "Diagnose" answers with
the values the demo stored.

The places, names, plans and OLTs and the loader that makes the documents are in demo_loader.py.
Every document made is written to a manifest (``private/gigafibre_demo.json`` in the
site); ``remove()`` deletes exactly those, and what the app made about them (flow runs,
issues, to-dos, offers, notifications, diagnostics, versions and comments), and nothing else.
"""

from __future__ import annotations

import json
import os

import frappe
from frappe import _

from gigafibre_fsm.exceptions import GigafibreValidationError
from gigafibre_fsm.gigafibre_integrations.demo_loader import Loader

MANIFEST = "gigafibre_demo.json"
SEED = 2026

# The demo's own documents and what the app makes about them, in the order remove() deletes them.
SWEPT = (
	"Dispatch Notification",
	"Dispatch Offer",
	"Dispatch Plan",
	"ToDo",
	"Flow Run",
	"Device Diagnostic",
	"Dispatch Job",
	"Issue",
	"Service Equipment",
	"Service Subscription",
	"Service Contract",
	"Service Location",
	"Referral",
	"Customer",
	"Technician",
	"Network Element",
	"Item",
	"Dispatch Skill",
)


class DemoRefused(GigafibreValidationError):
	pass


def manifest_path() -> str:
	return frappe.get_site_path("private", MANIFEST)


def read_manifest() -> dict | None:
	path = manifest_path()
	if not os.path.exists(path):
		return None
	with open(path, encoding="utf-8") as fh:
		return json.load(fh)


def _write_manifest(data: dict) -> None:
	os.makedirs(os.path.dirname(manifest_path()), exist_ok=True)
	with open(manifest_path(), "w", encoding="utf-8") as fh:
		json.dump(data, fh, indent=1, ensure_ascii=False)


def real_customers() -> int:
	manifest = read_manifest() or {}
	ours = set((manifest.get("documents") or {}).get("Customer") or [])
	return len([c for c in frappe.get_all("Customer", pluck="name") if c not in ours])


def load(
	*, customers: int = 240, technicians: int = 12, force: bool = False, seed: int = SEED, progress=None
):
	"""Load the demo ISP; refuses a site that has customers of its own unless ``force``."""
	if read_manifest():
		frappe.throw(_("The demo is already loaded: remove it first (--remove)"), DemoRefused)
	if not force and real_customers():
		frappe.throw(
			_(
				"This site has {0} customers of its own: the demo goes on an empty site (or use --force)"
			).format(real_customers()),
			DemoRefused,
		)
	if customers < 1 or technicians < 1:
		frappe.throw(_("The demo needs at least one customer and one technician"), DemoRefused)
	loader = Loader(customers, technicians, seed, progress)
	loader.reference_data()
	loader.technicians()
	loader.customers()
	loader.jobs()
	loader.alarms()
	loader.flow_runs()
	manifest = {
		"loaded_on": str(frappe.utils.now_datetime()),
		"customers": customers,
		"seed": seed,
		"documents": loader.made,
	}
	_write_manifest(manifest)
	return {doctype: len(names) for doctype, names in loader.made.items()}


def _about(made: dict[str, list[str]]) -> dict[str, set[str]]:
	"""What the demo made and what the app made about it (flows, alarms, offers...)."""
	found = {doctype: set(names) for doctype, names in made.items()}

	def names(doctype, filters):
		return set(frappe.get_all(doctype, filters=filters, pluck="name", limit_page_length=0))

	customers = list(found.get("Customer", ()))
	jobs = list(found.get("Dispatch Job", ()))
	equipment = list(found.get("Service Equipment", ()))
	if customers:
		found.setdefault("Flow Run", set()).update(
			names("Flow Run", {"reference_doctype": "Customer", "reference_name": ["in", customers]})
		)
		found.setdefault("Issue", set()).update(names("Issue", {"customer": ["in", customers]}))
		found.setdefault("Referral", set()).update(
			names("Referral", {"referred_customer": ["in", customers]})
		)
	for doctype in ("Service Contract", "Service Subscription", "Issue"):
		linked = list(found.get(doctype, ()))
		if linked:
			found.setdefault("Flow Run", set()).update(
				names("Flow Run", {"reference_doctype": doctype, "reference_name": ["in", linked]})
			)
	runs = list(found.get("Flow Run", ()))
	if runs:
		found.setdefault("Dispatch Job", set()).update(names("Dispatch Job", {"flow_run": ["in", runs]}))
		jobs = list(found["Dispatch Job"])
	for doctype in ("Customer", "Issue", "Service Contract", "Dispatch Job"):
		linked = list(found.get(doctype, ()))
		if linked:
			found.setdefault("ToDo", set()).update(
				names("ToDo", {"reference_type": doctype, "reference_name": ["in", linked]})
			)
	if jobs:
		found.setdefault("Dispatch Offer", set()).update(names("Dispatch Offer", {"job": ["in", jobs]}))
		found.setdefault("Dispatch Notification", set()).update(
			names(
				"Dispatch Notification", {"reference_doctype": "Dispatch Job", "reference_name": ["in", jobs]}
			)
		)
		plans = frappe.get_all(
			"Dispatch Plan Item", filters={"job": ["in", jobs]}, pluck="parent", limit_page_length=0
		)
		found.setdefault("Dispatch Plan", set()).update(plans)
	techs = list(found.get("Technician", ()))
	if techs:
		found.setdefault("Dispatch Notification", set()).update(
			names("Dispatch Notification", {"technician": ["in", techs]})
		)
		found.setdefault("Dispatch Offer", set()).update(
			names("Dispatch Offer", {"technician": ["in", techs]})
		)
	if equipment:
		found.setdefault("Device Diagnostic", set()).update(
			names("Device Diagnostic", {"equipment": ["in", equipment]})
		)
	return found


def remove() -> dict:
	"""Delete what the demo made (and what the app made about it); nothing else."""
	from frappe.model.delete_doc import delete_dynamic_links

	manifest = read_manifest()
	if not manifest:
		frappe.throw(_("No demo is loaded on this site"), DemoRefused)
	found = _about(manifest["documents"])
	# links between demo documents (an equipment's alarm Issue, a location's customer...)
	if found.get("Service Equipment"):
		frappe.db.set_value(
			"Service Equipment",
			{"name": ["in", list(found["Service Equipment"])]},
			{"alarm_issue": None, "last_diagnostic": None},
			update_modified=False,
		)
	if found.get("Dispatch Job"):
		frappe.db.set_value(
			"Dispatch Job",
			{"name": ["in", list(found["Dispatch Job"])]},
			{"parent_job": None, "recurrence_parent": None, "flow_run": None, "issue": None},
			update_modified=False,
		)
	counts = {}
	previous = frappe.flags.in_import
	frappe.flags.in_import = True  # no "deleted" feed comments
	try:
		for doctype in SWEPT:
			names = sorted(found.get(doctype, ()))
			for name in names:
				if frappe.db.exists(doctype, name):
					frappe.delete_doc(
						doctype,
						name,
						ignore_permissions=True,
						force=True,
						delete_permanently=True,
						ignore_on_trash=doctype not in ("Customer",),
					)
					delete_dynamic_links(doctype, name)
			counts[doctype] = len(names)
	finally:
		frappe.flags.in_import = previous
	os.remove(manifest_path())
	return {k: v for k, v in counts.items() if v}
