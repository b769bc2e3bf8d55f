"""The signed contract as a PDF attached to its Service Contract (a private File), once; and
:func:`gigafibre_contract_view`, what the "Gigafibre Service Contract" print format lays out.

``signing.mark_signed`` queues :func:`attach_signed_contract` after its commit (a failure to
render never undoes a signature); in tests it runs at once. The PDF is Frappe's print of the
contract with the "Gigafibre Service Contract" print format: the accepted terms, the signer,
the time and the evidence (IP, browser, SHA-256 of the text). The contract's row lock and a
fixed file name make a second call, or a second signature event, attach nothing more.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import get_datetime

from gigafibre_fsm.core.billing.statement import format_date
from gigafibre_fsm.customers.print_formats import customer_block, document_language, isp

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


# -- the print format's view ------------------------------------------------------------


def _blocks(lines: list[dict]) -> list[dict]:
	"""The signing page's lines as blocks: headings, paragraphs, and list items gathered."""
	out: list[dict] = []
	for line in lines:
		if line["kind"] == "li":
			if not out or out[-1]["kind"] != "ul":
				out.append({"kind": "ul", "items": []})
			out[-1]["items"].append(line["text"])
		else:
			out.append({"kind": line["kind"], "text": line["text"]})
	return out


def gigafibre_contract_view(doc) -> dict:
	"""Everything "Gigafibre Service Contract" prints: the terms as the signing page showed them
	(``signing.contract_text``, in the language whose fingerprint matches the recorded one) and
	the signature's evidence."""
	from gigafibre_fsm.customers import signing

	preferred = document_language(doc)
	content = signing.contract_text(doc, preferred)
	if doc.signed_text_sha256 and content["sha256"] != doc.signed_text_sha256:
		other = signing.contract_text(doc, "en" if preferred == "fr" else "fr")
		if other["sha256"] == doc.signed_text_sha256:
			content = other
	lang = content["lang"]
	signed = bool(doc.signed_on)
	matches = bool(doc.signed_text_sha256) and content["sha256"] == doc.signed_text_sha256
	evidence = []

	def add(label: str, value) -> None:
		if value:
			evidence.append({"label": label, "value": str(value)})

	if signed:
		add(_("Signed by (typed name)", lang=lang), doc.signed_by_name)
		when = get_datetime(doc.signed_on)
		add(
			_("Signed on", lang=lang),
			f"{format_date(when.date(), lang)} {when:%H:%M:%S} ({frappe.utils.get_system_timezone()})",
		)
		add(_("Signature", lang=lang), _(doc.signature_source, lang=lang) if doc.signature_source else None)
		add(_("DocuSeal submission", lang=lang), doc.docuseal_submission)
		add(_("From IP address", lang=lang), doc.signed_ip)
		add(_("Browser", lang=lang), doc.signed_user_agent)
		add(_("SHA-256 of the accepted text", lang=lang), doc.signed_text_sha256)
	return {
		"lang": lang,
		"isp": isp(doc, lang),
		"customer": customer_block(doc, doc.customer, lang),
		"number": doc.name,
		"blocks": _blocks(content["lines"]),
		"sha256": content["sha256"],
		"signed": signed,
		"evidence": evidence,
		"t": {
			"title": _("Service contract", lang=lang),
			"number": _("Contract no.", lang=lang),
			"signature": _("Electronic signature", lang=lang),
			"unsigned": _("Not signed yet", lang=lang),
			"fingerprint": _("SHA-256 of the text above", lang=lang),
			"matches": (
				_("The text above is exactly the text the customer accepted.", lang=lang)
				if matches
				else _("The text above differs from the text recorded at signature.", lang=lang)
				if doc.signed_text_sha256
				else None
			),
		},
	}
