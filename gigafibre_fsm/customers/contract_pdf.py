"""The signed contract as a PDF attached to its Service Contract (a private File), once.

``signing.mark_signed`` queues :func:`attach_signed_contract` after its commit (a failure to
render never undoes a signature); in tests it runs at once. The PDF is Frappe's print of the
contract with the "Gigafibre Service Contract" print format: the accepted terms, the signer,
the time and the evidence (IP, browser, SHA-256 of the text). The contract's row lock and a
fixed file name make a second call, or a second signature event, attach nothing more.
"""

from __future__ import annotations

import frappe

CONTRACT = "Service Contract"
PRINT_FORMAT = "Gigafibre Service Contract"


def file_name(contract: str) -> str:
	return f"{contract}-signed.pdf"


def attached(contract: str) -> str | None:
	"""The signed PDF's File, if attached."""
	return frappe.db.get_value(
		"File",
		{"attached_to_doctype": CONTRACT, "attached_to_name": contract, "file_name": file_name(contract)},
		"name",
	)


def queue(contract: str) -> None:
	"""Attach the PDF after the signature's commit (at once in tests)."""
	frappe.enqueue(
		"gigafibre_fsm.customers.contract_pdf.attach_signed_contract",
		queue="short",
		job_id=f"gigafibre_fsm:contract_pdf:{contract}",
		deduplicate=not frappe.flags.in_test,
		enqueue_after_commit=not frappe.flags.in_test,
		now=bool(frappe.flags.in_test),
		contract=contract,
	)


def render(contract: str) -> bytes:
	"""The contract printed with "Gigafibre Service Contract", as PDF bytes."""
	flag = frappe.flags.ignore_print_permissions
	frappe.flags.ignore_print_permissions = True
	try:
		return frappe.get_print(CONTRACT, contract, print_format=PRINT_FORMAT, as_pdf=True)
	finally:
		frappe.flags.ignore_print_permissions = flag


def attach_signed_contract(contract: str) -> str | None:
	"""Attach the signed contract's PDF once; returns the File (None: the contract is not signed)."""
	row = frappe.db.get_value(CONTRACT, contract, ["name", "signed_on"], as_dict=True, for_update=True)
	if not row or not row.signed_on:
		return None
	existing = attached(contract)
	if existing:
		return existing
	try:
		content = render(contract)
	except Exception:
		# the signature stands without its PDF: staff see the error and can attach it again
		frappe.log_error(
			title=f"Signed contract PDF failed: {contract}",
			reference_doctype=CONTRACT,
			reference_name=contract,
		)
		return None
	doc = frappe.get_doc(
		{
			"doctype": "File",
			"file_name": file_name(contract),
			"attached_to_doctype": CONTRACT,
			"attached_to_name": contract,
			"is_private": 1,
			"content": content,
		}
	)
	doc.flags.ignore_permissions = True
	doc.insert()
	return doc.name
