"""The master data steps of the legacy import: items (product_cat, product), customers (account →
Customer, Contact, Address), locations (delivery + fibre → Service Location), subscriptions
(service → Service Subscription) and equipment (device → Service Equipment).

Each step takes the running importer (gigafibre_fsm.legacy.importer.Importer): its batches, its
lookups of what is already imported and its counts.
"""

from __future__ import annotations

from datetime import date

import frappe

from gigafibre_fsm.core.legacy import mapping
from gigafibre_fsm.core.legacy.reconcile import monthly_price
from gigafibre_fsm.legacy import bulk


def customer_name_for(account_id) -> str:
	return f"C{int(account_id):06d}"


# -- items ----------------------------------------------------------------------------------
def items(imp) -> None:
	root = frappe.db.get_value("Item Group", {"is_group": 1, "parent_item_group": ["in", ("", None)]}) or (
		"All Item Groups"
	)
	groups = {}
	with imp.conn.cursor() as cur:
		cur.execute("SELECT id, name FROM product_cat ORDER BY id")
		for cat_id, name in cur.fetchall():
			groups[cat_id] = mapping.repair_text(name) or f"Catégorie {cat_id}"
	have = set(frappe.get_all("Item Group", pluck="name", limit=0))
	template = bulk.template_row("Item Group", parent_item_group=root, is_group=0)
	rows = []
	for name in sorted(set(groups.values()) - have):
		rows.append({**template, "name": name, "item_group_name": name, "lft": 0, "rgt": 0})
	imp.count("product_cat", "Item Group", read=len(groups), written=bulk.insert_rows("Item Group", rows))
	if rows:
		from frappe.utils.nestedset import rebuild_tree

		rebuild_tree("Item Group")
	price_list = frappe.db.get_single_value("Selling Settings", "selling_price_list") or "Standard Selling"
	item_template = bulk.template_row(
		"Item", stock_uom="Nos", is_stock_item=0, include_item_in_manufacturing=0, item_group=root
	)
	price_template = bulk.template_row("Item Price", price_list=price_list, selling=1, uom="Nos")
	price_template["currency"] = frappe.db.get_value("Price List", price_list, "currency") or "CAD"
	uom_template = bulk.template_row("UOM Conversion Detail", uom="Nos", conversion_factor=1)
	for batch in imp.batches_of("product", "id, cat_id, sku, name, price, down_mbps, up_mbps, active"):
		skus = {mapping.blank(r["sku"]) or f"LEGACY-{r['id']}" for r in batch}
		have_items = bulk.existing("Item", "name", skus)
		items, prices, uoms = [], [], []
		for r in batch:
			sku = mapping.blank(r["sku"]) or f"LEGACY-{r['id']}"
			if sku in have_items:
				continue
			have_items.add(sku)
			name = mapping.repair_text(r["name"]) or sku
			items.append(
				{
					**item_template,
					"name": sku,
					"item_code": sku,
					"item_name": name[:140],
					"description": name,
					"item_group": groups.get(r["cat_id"], root),
					"disabled": 0 if r["active"] else 1,
					"gigafibre_down_mbps": r["down_mbps"] or 0,
					"gigafibre_up_mbps": r["up_mbps"] or 0,
				}
			)
			uoms.append({**uom_template, "name": bulk.new_hash(), "parent": sku,
				"parenttype": "Item", "parentfield": "uoms", "idx": 1})  # fmt: skip
			prices.append(
				{
					**price_template,
					"name": bulk.new_hash(),
					"item_code": sku,
					"item_name": name[:140],
					"item_description": name,
					"price_list_rate": mapping.cents(r["price"]) / 100,
				}
			)
		written = bulk.insert_rows("Item", items) + bulk.insert_rows("UOM Conversion Detail", uoms)
		written += bulk.insert_rows("Item Price", prices)
		imp.count("product", "Item", read=len(batch), written=len(items), skipped=len(batch) - len(items))
		imp.count("product", "Item Price", written=len(prices))


# -- customers, contacts, addresses ---------------------------------------------------------
def customers(imp) -> None:
	group = frappe.db.get_single_value("Selling Settings", "customer_group") or frappe.db.get_value(
		"Customer Group", {"is_group": 0}
	)
	territory = frappe.db.get_single_value("Selling Settings", "territory") or frappe.db.get_value(
		"Territory", {"is_group": 0}
	)
	customer_t = bulk.template_row("Customer", customer_group=group, territory=territory)
	contact_t = bulk.template_row("Contact", status="Passive")
	address_t = bulk.template_row("Address", address_type="Billing", country="Canada")
	link_t = bulk.template_row("Dynamic Link", link_doctype="Customer")
	email_t = bulk.template_row("Contact Email")
	phone_t = bulk.template_row("Contact Phone")
	columns = (
		"id, customer_number, company, first_name, last_name, address1, city, province, zip, phone, cell, "
		"email, email_billing, language, status, billing_day, date_created"
	)
	templates = (contact_t, address_t, link_t, email_t, phone_t)
	for batch in imp.batches_of("account", columns):
		have = bulk.existing("Customer", "legacy_account_id", [r["id"] for r in batch])
		customers = []
		out = {"Contact": [], "Address": [], "Dynamic Link": [], "Contact Email": [], "Contact Phone": []}
		for r in batch:
			if str(r["id"]) in have:
				continue
			name = customer_name_for(r["id"])
			customers.append(
				{**customer_t, "name": name, **customer_fields(r), "legacy_account_id": str(r["id"])}
			)
			contact_rows(r, name, templates, out)
			address_rows(r, name, templates, out)
		written = bulk.insert_rows("Customer", customers)
		for doctype, rows in out.items():
			bulk.insert_rows(doctype, rows)
		imp.count("account", "Customer", read=len(batch), written=written, skipped=len(batch) - written)
		imp.count("account", "Contact", written=len(out["Contact"]))
		imp.count("account", "Address", written=len(out["Address"]))
	_changed_customers(imp, columns, templates)


def contact_rows(r: dict, name: str, templates: tuple, out: dict, contact: str | None = None) -> None:
	"""The Contact of account row ``r`` (Customer ``name``) with its link, e-mail and phone rows,
	appended to ``out`` by doctype (nothing without an e-mail or a phone); ``contact`` keeps the
	name of an existing one."""
	contact_t, _, link_t, email_t, phone_t = templates
	title = mapping.customer_name(r["company"], r["first_name"], r["last_name"], r["id"])
	mail, cell, land = mapping.email(r["email"]), mapping.phone(r["cell"]), mapping.phone(r["phone"])
	if not (mail or cell or land):
		return
	first = mapping.repair_text(r["first_name"]) or title
	last = mapping.repair_text(r["last_name"])
	full = " ".join(p for p in (first, last) if p)
	contact = contact or f"{full}-{name}"
	out["Contact"].append(
		{**contact_t, "name": contact, "first_name": first, "last_name": last, "full_name": full,
		 "email_id": mail, "phone": land, "mobile_no": cell, "is_primary_contact": 1}
	)  # fmt: skip
	out["Dynamic Link"].append(
		{**link_t, "name": bulk.new_hash(), "parent": contact, "parenttype": "Contact",
		 "parentfield": "links", "idx": 1, "link_name": name, "link_title": title}
	)  # fmt: skip
	if mail:
		out["Contact Email"].append({**email_t, "name": bulk.new_hash(), "parent": contact,
			"parenttype": "Contact", "parentfield": "email_ids", "idx": 1, "email_id": mail, "is_primary": 1})  # fmt: skip
	for idx, (number, mobile) in enumerate(((cell, 1), (land, 0)), 1):
		if number:
			out["Contact Phone"].append({**phone_t, "name": bulk.new_hash(), "parent": contact,
				"parenttype": "Contact", "parentfield": "phone_nos", "idx": idx, "phone": number,
				"is_primary_mobile_no": mobile, "is_primary_phone": 1 - mobile})  # fmt: skip


def address_rows(r: dict, name: str, templates: tuple, out: dict) -> None:
	"""The billing Address of account row ``r`` (``<name>-Billing``) and its link, appended to
	``out`` (nothing without an address line)."""
	_, address_t, link_t, _, _ = templates
	line1 = mapping.repair_text(r["address1"])
	if not line1:
		return
	address = f"{name}-Billing"
	mail, cell, land = mapping.email(r["email"]), mapping.phone(r["cell"]), mapping.phone(r["phone"])
	out["Address"].append(
		{**address_t, "name": address, "address_title": name, "address_line1": line1,
		 "city": mapping.repair_text(r["city"]) or "-", "state": mapping.blank(r["province"]) or "QC",
		 "pincode": mapping.postal_code(r["zip"]), "email_id": mail, "phone": cell or land, "is_primary_address": 1}
	)  # fmt: skip
	title = mapping.customer_name(r["company"], r["first_name"], r["last_name"], r["id"])
	out["Dynamic Link"].append(
		{**link_t, "name": bulk.new_hash(), "parent": address, "parenttype": "Address",
		 "parentfield": "links", "idx": 1, "link_name": name, "link_title": title}
	)  # fmt: skip


CUSTOMER_FIELDS = ("customer_name", "customer_type", "disabled", "cell_phone", "email_billing",
	"gigafibre_billing_day", "language")  # fmt: skip


def customer_fields(r: dict) -> dict:
	"""The Customer fields an account row gives (on import, and again when it changed)."""
	mail = mapping.email(r["email"])
	return {
		"customer_name": mapping.customer_name(r["company"], r["first_name"], r["last_name"], r["id"]),
		"customer_type": "Company" if mapping.blank(r["company"]) else "Individual",
		"disabled": mapping.customer_disabled(r["status"]),
		"cell_phone": mapping.phone(r["cell"]) or mapping.phone(r["phone"]),
		"email_billing": mapping.email(r["email_billing"]) or mail,
		"gigafibre_billing_day": r["billing_day"] or 0,
		"language": "en" if (r["language"] or "").lower() == "en" else "fr",
	}


CONTACT_FIELDS = ("first_name", "last_name", "full_name", "email_id", "phone", "mobile_no")
ADDRESS_FIELDS = ("address_line1", "city", "state", "pincode", "email_id", "phone")


def _changed_customers(imp, columns: str, templates: tuple) -> None:
	"""``--since``: the accounts changed since that day update their Customer (its own fields),
	its Contact (names, e-mail, phones: its e-mail and phone rows written again) and its billing
	Address (line, city, province, postal code, e-mail, phone); a contact or address the account
	now has but had not is added. What the desk added (other contacts, addresses) is left alone."""
	fields = CUSTOMER_FIELDS
	for batch in imp.changed("account", columns):
		names = [customer_name_for(r["id"]) for r in batch]
		current = {
			r.name: r
			for r in frappe.get_all("Customer", filters={"name": ["in", names]}, fields=["name", *fields])
		}
		contacts = _linked("Contact", names)
		updated = contacts_updated = addresses_updated = 0
		for name, r in zip(names, batch, strict=True):
			if name not in current:
				continue
			values = customer_fields(r)
			if any(values[f] != current[name][f] for f in fields):
				frappe.db.set_value("Customer", name, values)
				updated += 1
			contacts_updated += _refresh(
				"Contact", contacts.get(name), CONTACT_FIELDS, r, name, templates, contact_rows
			)
			addresses_updated += _refresh(
				"Address", f"{name}-Billing", ADDRESS_FIELDS, r, name, templates, address_rows
			)
		imp.count("account", "Customer updated", read=len(batch), written=updated)
		imp.count("account", "Contact updated", written=contacts_updated)
		imp.count("account", "Address updated", written=addresses_updated)


def _linked(doctype: str, customers: list[str]) -> dict[str, str]:
	"""{customer: the primary (else first) ``doctype`` linked to it}."""
	out: dict[str, str] = {}
	rows = frappe.get_all(
		"Dynamic Link",
		filters={"parenttype": doctype, "link_doctype": "Customer", "link_name": ["in", customers or ["-"]]},
		fields=["link_name", "parent"],
		order_by="creation asc",
		limit=0,
	)
	primary = set(
		frappe.get_all(
			doctype,
			filters={"name": ["in", [r.parent for r in rows] or ["-"]], "is_primary_contact": 1},
			pluck="name",
		)
		if doctype == "Contact"
		else ()
	)
	for r in rows:
		if r.link_name not in out or r.parent in primary:
			out[r.link_name] = r.parent
	return out


def _refresh(doctype: str, existing: str | None, fields: tuple, r: dict, customer: str, templates: tuple, make) -> int:  # fmt: skip
	"""Bring the Contact or Address of ``customer`` in line with account row ``r``: 1 if written."""
	out = {"Contact": [], "Address": [], "Dynamic Link": [], "Contact Email": [], "Contact Phone": []}
	if doctype == "Contact":
		make(r, customer, templates, out, contact=existing)
	else:
		make(r, customer, templates, out)
	wanted = out[doctype][0] if out[doctype] else None
	if existing and frappe.db.exists(doctype, existing):
		if wanted is None:
			return 0  # the source lost its line or its e-mail and phones: the desk's copy is kept
		have = frappe.db.get_value(doctype, existing, list(fields), as_dict=True)
		if all((have[f] or None) == (wanted[f] or None) for f in fields):
			return 0
		frappe.db.set_value(doctype, existing, {f: wanted[f] for f in fields})
		if doctype == "Contact":
			for child in ("Contact Email", "Contact Phone"):
				frappe.db.delete(child, {"parent": existing, "parenttype": "Contact"})
				bulk.insert_rows(child, out[child])
		return 1
	if wanted is None or frappe.db.exists(doctype, wanted["name"]):
		return 0
	for child, rows in out.items():
		bulk.insert_rows(child, rows)
	return 1


# -- service locations ----------------------------------------------------------------------
def locations(imp) -> None:
	customers = imp.lookup("Customer", "legacy_account_id")
	template = bulk.template_row("Service Location")
	columns = (
		"d.id, d.account_id, d.address1, d.address2, d.city, d.zip, d.lat, d.lng, d.note, "
		"f.connection_type, f.olt, f.olt_port, f.ont_id, f.vlan, a.status AS account_status"
	)
	table = "delivery d LEFT JOIN fibre f ON f.delivery_id = d.id LEFT JOIN account a ON a.id = d.account_id"
	for batch in imp.batches_of("delivery", columns, source=table, key="d.id"):
		have = bulk.existing("Service Location", "legacy_delivery_id", [r["id"] for r in batch])
		fresh = [r for r in batch if str(r["id"]) not in have]
		names = bulk.reserve_names("LOC-.#####", len(fresh))
		rows = []
		for name, r in zip(names, fresh, strict=True):
			line = " ".join(
				p for p in (mapping.repair_text(r["address1"]), mapping.repair_text(r["address2"])) if p
			)
			kind = mapping.blank(r["connection_type"])
			rows.append(
				{
					**template,
					"name": name,
					"customer": customers.get(r["account_id"]),
					"status": "Active" if mapping.customer_disabled(r["account_status"]) == 0 else "Inactive",
					"address_line": line or f"Adresse {r['id']}",
					"city": mapping.repair_text(r["city"]),
					"postal_code": mapping.postal_code(r["zip"]),
					"latitude": float(r["lat"] or 0),
					"longitude": float(r["lng"] or 0),
					"access_notes": mapping.repair_text(r["note"]),
					"connection_type": kind if kind in ("FTTH", "FTTB", "Cable", "DSL") else None,
					"vlan": r["vlan"] or 0,
					"olt": mapping.blank(r["olt"]),
					"olt_port": mapping.blank(r["olt_port"]),
					"ont_id": r["ont_id"] or 0,
					"legacy_delivery_id": str(r["id"]),
				}
			)
		written = bulk.insert_rows("Service Location", rows)
		imp.count(
			"delivery", "Service Location", read=len(batch), written=written, skipped=len(batch) - written
		)


# -- subscriptions ----------------------------------------------------------------------------
def subscriptions(imp) -> None:
	customers = imp.lookup("Customer", "legacy_account_id")
	locations = imp.lookup("Service Location", "legacy_delivery_id")
	template = bulk.template_row("Service Subscription")
	columns = (
		"s.id, s.account_id, s.delivery_id, s.price, s.payment_recurrence, s.status, s.actif_since, "
		"s.actif_until, s.date_cancelled, s.last_billed, s.date_created, p.sku, p.name AS product_name, "
		"p.price AS product_price, p.down_mbps, p.up_mbps, p.id AS product_id"
	)
	source = "service s LEFT JOIN product p ON p.id = s.product_id"
	skipped_reasons: dict[str, int] = {}
	for batch in imp.batches_of("service", columns, source=source, key="s.id"):
		have = bulk.existing("Service Subscription", "legacy_service_id", [r["id"] for r in batch])
		fresh = []
		for r in batch:
			if str(r["id"]) in have:
				continue
			if r["account_id"] not in customers or not mapping.blank(r["sku"]):
				reason = "no customer" if r["account_id"] not in customers else "no product"
				skipped_reasons[reason] = skipped_reasons.get(reason, 0) + 1
				continue
			fresh.append(r)
		names = bulk.reserve_names("SUB-.#####", len(fresh))
		rows = []
		for name, r in zip(names, fresh, strict=True):
			created = mapping.legacy_date(r["date_created"], today=imp.today)
			start = mapping.legacy_date(r["actif_since"], today=imp.today, fallback=created)
			until = mapping.legacy_date(r["actif_until"], today=date.max)
			status = mapping.service_status(r["status"], until, imp.today)
			cancelled = mapping.legacy_date(r["date_cancelled"], today=imp.today)
			price = mapping.cents(r["price"] if r["price"] is not None else r["product_price"])
			rows.append(
				{
					**template,
					"name": name,
					"customer": customers[r["account_id"]],
					"service_location": locations.get(r["delivery_id"]),
					"status": status,
					"plan": r["sku"],
					"plan_name": mapping.repair_text(r["product_name"]),
					"download_mbps": r["down_mbps"] or 0,
					"upload_mbps": r["up_mbps"] or 0,
					"monthly_price": monthly_price(price, r["sku"]) / 100,
					"billing_cycle": mapping.recurrence(r["payment_recurrence"]) or "Monthly",
					"start_date": start,
					"end_date": until,
					"cancellation_date": (cancelled or until) if status == "Annulé" else None,
					"billed_until": mapping.legacy_date(r["last_billed"], today=date.max),
					"legacy_service_id": str(r["id"]),
				}
			)
		written = bulk.insert_rows("Service Subscription", rows)
		imp.count(
			"service",
			"Service Subscription",
			read=len(batch),
			written=written,
			skipped=len(batch) - written,
		)
	if skipped_reasons:
		imp.report["subscriptions_skipped"] = skipped_reasons


# -- equipment --------------------------------------------------------------------------------
def equipment(imp) -> None:
	customers = imp.lookup("Customer", "legacy_account_id")
	locations = imp.lookup("Service Location", "legacy_delivery_id")
	template = bulk.template_row("Service Equipment")
	columns = "id, account_id, delivery_id, type, serial, mac, manufacturer, model, status"
	for batch in imp.batches_of("device", columns):
		have = bulk.existing("Service Equipment", "legacy_device_id", [r["id"] for r in batch])
		fresh = [r for r in batch if str(r["id"]) not in have]
		serials = [mapping.blank(r["serial"]) or f"LEGACY-DEV-{r['id']}" for r in fresh]
		taken = bulk.existing("Service Equipment", "serial_no", serials)
		names = bulk.reserve_names("EQP-.#####", len(fresh))
		rows = []
		for name, serial, r in zip(names, serials, fresh, strict=True):
			if serial in taken:
				serial = f"{serial}-LEGACY-{r['id']}"
			taken.add(serial)
			mac = mapping.blank(r["mac"])
			rows.append(
				{
					**template,
					"name": name,
					"equipment_type": mapping.DEVICE_TYPES.get((r["type"] or "").strip().lower(), "ONT"),
					"status": mapping.DEVICE_STATUSES.get(r["status"], "Inventory"),
					"serial_no": serial,
					"mac_address": mac.upper() if mac else None,
					"vendor": mapping.blank(r["manufacturer"]),
					"model": mapping.blank(r["model"]),
					"customer": customers.get(r["account_id"]),
					"service_location": locations.get(r["delivery_id"]),
					"legacy_device_id": str(r["id"]),
				}
			)
		written = bulk.insert_rows("Service Equipment", rows)
		imp.count(
			"device", "Service Equipment", read=len(batch), written=written, skipped=len(batch) - written
		)
