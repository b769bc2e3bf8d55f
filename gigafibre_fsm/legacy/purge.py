"""``bench --site <site> gigafibre-legacy purge --yes``: remove everything a legacy import wrote.

For a trial site between two trial runs (and the integration tests): the documents carrying a
legacy id, their child rows, their GL Entry and Payment Ledger Entry rows, the customers'
contacts and addresses, the items of the legacy SKUs, and the import runs (their checkpoints).
Never on a site in production use: it deletes submitted accounting documents without cancelling.
"""

from __future__ import annotations

import frappe

CHILDREN = {
	"Sales Invoice": ("Sales Invoice Item", "Sales Taxes and Charges", "Payment Schedule"),
	"Payment Entry": ("Payment Entry Reference",),
	"Journal Entry": ("Journal Entry Account",),
	"Contact": ("Dynamic Link", "Contact Email", "Contact Phone"),
	"Address": ("Dynamic Link",),
	"Item": ("UOM Conversion Detail", "Item Default"),
	"Communication": ("Communication Link",),
	"Dispatch Job": ("Dispatch Job Assistant", "Dispatch Job Skill", "Dispatch Job Checklist Item",
		"Dispatch Job Equipment", "Dispatch Job Photo"),
	"Technician": ("Technician Skill", "Technician Shift"),
}  # fmt: skip


def _names(doctype: str, filters: dict) -> list[str]:
	return frappe.get_all(doctype, filters=filters, pluck="name", limit=0)


def _delete(doctype: str, names: list[str]) -> int:
	for start in range(0, len(names), 1000):
		chunk = names[start : start + 1000]
		for child in CHILDREN.get(doctype, ()):
			frappe.db.delete(child, {"parent": ["in", chunk], "parenttype": doctype})
		if doctype in ("Sales Invoice", "Payment Entry", "Journal Entry"):
			frappe.db.delete("GL Entry", {"voucher_type": doctype, "voucher_no": ["in", chunk]})
			frappe.db.delete("Payment Ledger Entry", {"voucher_type": doctype, "voucher_no": ["in", chunk]})
		frappe.db.delete(doctype, {"name": ["in", chunk]})
	return len(names)


def purge(skus: list[str] | None = None) -> dict[str, int]:
	done = {}
	messages = _names("Communication", {"legacy_message_id": ["is", "set"]})
	for start in range(0, len(messages), 1000):
		frappe.db.delete(
			"File",
			{
				"attached_to_doctype": "Communication",
				"attached_to_name": ["in", messages[start : start + 1000]],
			},
		)
	done["Communication"] = _delete("Communication", messages)
	for doctype, field in (
		("Dispatch Job", "legacy_work_order_id"),
		("Technician", "legacy_staff_id"),
		("Employee", "legacy_staff_id"),
	):
		done[doctype] = _delete(doctype, _names(doctype, {field: ["is", "set"]}))
	done["Issue"] = _delete("Issue", _names("Issue", {"legacy_ticket_id": ["is", "set"]}))
	for doctype, field in (
		("Journal Entry", "legacy_piece"),
		("Payment Entry", "legacy_payment_id"),
		("Sales Invoice", "legacy_invoice_id"),
		("Service Equipment", "legacy_device_id"),
		("Service Subscription", "legacy_service_id"),
		("Service Location", "legacy_delivery_id"),
	):
		done[doctype] = _delete(doctype, _names(doctype, {field: ["is", "set"]}))
	customers = _names("Customer", {"legacy_account_id": ["is", "set"]})
	for linked in ("Contact", "Address"):
		parents = set()
		for start in range(0, len(customers), 1000):
			parents.update(
				frappe.get_all(
					"Dynamic Link",
					filters={
						"parenttype": linked,
						"link_doctype": "Customer",
						"link_name": ["in", customers[start : start + 1000]],
					},
					pluck="parent",
					limit=0,
				)
			)
		done[linked] = _delete(linked, sorted(parents))
	done["Customer"] = _delete("Customer", customers)
	if skus:
		frappe.db.delete("Item Price", {"item_code": ["in", skus]})
		done["Item"] = _delete("Item", _names("Item", {"name": ["in", skus]}))
	done["Legacy Import Run"] = _delete("Legacy Import Run", _names("Legacy Import Run", {}))
	return done
