"""Tickets (ticket, ticket_msg) → Issue and Communication; base64 images → File attachments.

A message's inline ``<img src="data:image/...;base64,...">`` is written to the site's private
files (the name is derived from the message id, so a re-run overwrites the same file), recorded as
a File attached to the Communication, and the message keeps a link to it instead of the bytes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re

import frappe

from gigafibre_fsm.core.legacy import mapping
from gigafibre_fsm.legacy import bulk

DATA_IMAGE = re.compile(r"""src=["']data:image/(png|jpe?g|gif|webp);base64,([A-Za-z0-9+/=\s]+)["']""")


def extract_images(message_id: int, text: str) -> tuple[str, list[tuple[str, bytes]]]:
	"""(text with each data-URI image replaced by a private file URL, [(file name, bytes)])."""
	files: list[tuple[str, bytes]] = []

	def replace(match: re.Match) -> str:
		kind = "jpg" if match.group(1).startswith("jp") else match.group(1)
		name = f"legacy-msg-{message_id}-{len(files) + 1}.{kind}"
		try:
			files.append((name, base64.b64decode(re.sub(r"\s", "", match.group(2)), validate=True)))
		except ValueError:
			return match.group(0)
		return f'src="/private/files/{name}"'

	return DATA_IMAGE.sub(replace, text or ""), files


def tickets(imp) -> None:
	customers = imp.lookup("Customer", "legacy_account_id")
	titles = imp.imported("Customer", "customer_name")
	priorities = set(frappe.get_all("Issue Priority", pluck="name"))
	company = imp.ctx.company if getattr(imp, "ctx", None) else frappe.defaults.get_global_default("company")
	issue_t = bulk.template_row("Issue", company=company)
	for batch in imp.batches_of(
		"ticket", "id, account_id, subject, status, priority, date_created, date_closed", label="ticket"
	):
		have = bulk.existing("Issue", "legacy_ticket_id", [r["id"] for r in batch])
		fresh = [r for r in batch if str(r["id"]) not in have]
		names = bulk.reserve_names(issue_t.get("naming_series") or "ISS-.YYYY.-", len(fresh))
		rows = []
		for name, r in zip(names, fresh, strict=True):
			opened = mapping.legacy_date(r["date_created"], today=imp.today) or imp.today
			status = mapping.TICKET_STATUSES.get(r["status"], "Open")
			priority = mapping.TICKET_PRIORITIES.get(r["priority"])
			customer = customers.get(r["account_id"])
			rows.append(
				{
					**issue_t,
					"name": name,
					"subject": (mapping.repair_text(r["subject"]) or f"Ticket {r['id']}")[:140],
					"customer": customer,
					"customer_name": titles.get(customer),
					"status": status,
					"priority": priority if priority in priorities else None,
					"opening_date": opened,
					"opening_time": r["date_created"].time() if hasattr(r["date_created"], "time") else None,
					"legacy_ticket_id": str(r["id"]),
				}
			)
		written = bulk.insert_rows("Issue", rows)
		imp.count("ticket", "Issue", read=len(batch), written=written, skipped=len(batch) - written)
	messages(imp)


def messages(imp) -> None:
	issues = imp.lookup("Issue", "legacy_ticket_id")
	customers = imp.imported("Issue", "customer", "legacy_ticket_id")
	comm_t = bulk.template_row(
		"Communication", communication_type="Communication", communication_medium="Other", status="Linked"
	)
	link_t = bulk.template_row("Communication Link", link_doctype="Customer")
	file_t = bulk.template_row(
		"File", is_private=1, attached_to_doctype="Communication", folder="Home/Attachments"
	)
	folder = frappe.get_site_path("private", "files")
	os.makedirs(folder, exist_ok=True)
	images = 0
	for batch in imp.batches_of(
		"ticket_msg", "id, ticket_id, staff_id, from_customer, message, date_created", label="ticket_msg"
	):
		have = bulk.existing("Communication", "legacy_message_id", [r["id"] for r in batch])
		comms, links, files = [], [], []
		names = bulk.free_hash_names("Communication", len(batch))  # links and files refer to them
		for r in batch:
			issue = issues.get(r["ticket_id"])
			if str(r["id"]) in have or issue is None:
				continue
			name = names.pop()
			text, attachments = extract_images(r["id"], r["message"])
			when = r["date_created"] if hasattr(r["date_created"], "year") else comm_t["creation"]
			comms.append(
				{
					**comm_t,
					"name": name,
					"subject": f"Ticket {r['ticket_id']}",
					"content": text,
					"sent_or_received": "Received" if r["from_customer"] else "Sent",
					"communication_date": when,
					"reference_doctype": "Issue",
					"reference_name": issue,
					"has_attachment": 1 if attachments else 0,
					"legacy_message_id": str(r["id"]),
				}
			)
			customer = customers.get(issue)
			if customer:
				links.append(
					{**link_t, "name": bulk.new_hash(), "parent": name, "parenttype": "Communication",
					 "parentfield": "timeline_links", "idx": 1, "link_name": customer}
				)  # fmt: skip
			for file_name, content in attachments:
				with open(os.path.join(folder, file_name), "wb") as fh:
					fh.write(content)
				files.append(
					{**file_t, "name": bulk.new_hash(), "file_name": file_name,
					 "file_url": f"/private/files/{file_name}", "attached_to_name": name, "file_size": len(content),
					 "content_hash": hashlib.md5(content).hexdigest(), "file_type": file_name.rsplit(".", 1)[-1].upper()}
				)  # fmt: skip
				images += 1
		writer = imp.background_writer()  # written with the batch's checkpoint, the next batch made meanwhile
		written = bulk.insert_rows("Communication", comms, writer=writer)
		bulk.insert_rows("Communication Link", links, writer=writer)
		bulk.insert_rows("File", files, writer=writer)
		imp.count(
			"ticket_msg", "Communication", read=len(batch), written=written, skipped=len(batch) - written
		)
		imp.count("ticket_msg", "File", written=len(files))
	if images:
		imp.report["ticket_images_extracted"] = images
