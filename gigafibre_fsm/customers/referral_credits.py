"""Referral credits on invoices: what is left to use, the negative lines that use it, and the
invoice hooks that keep each credit used once (gigafibre_fsm.customers.referrals grants it).

The credit is a negative line of the referrer's next invoice (item ``GF-REFERRAL-CREDIT``,
"Crédit de parrainage"): a reduction of the price of that invoice's services, so TPS and TVQ
("On Net Total") apply to the net. :func:`pending_credits` lists what is left to use,
:func:`apply_credits` adds it to a draft invoice (never more than the invoice's net total: the
rest waits for the next invoice). The lines themselves (Sales Invoice Item ``gigafibre_referral``)
are the ledger of uses: an invoice's validate locks the referral and refuses a line that the
referral's other draft or submitted invoices already use, submit marks it Credited
(``sales_invoice``, ``credited_on``) once fully used, cancel gives it back.
"""

from __future__ import annotations

from collections import defaultdict

import frappe
from frappe import _
from frappe.utils import flt, getdate, now_datetime

from gigafibre_fsm.customers.referrals import (
	CANCELLED,
	CENT,
	CREDIT_ITEM,
	CREDIT_ITEM_NAME,
	CREDITED,
	CUSTOMER,
	INVOICE,
	INVOICE_ITEM,
	LINE_FIELD,
	PENDING,
	REFERRAL,
	T_LINE,
	backfill_codes,
	changed_meanwhile,
	is_duplicate,
)
from gigafibre_fsm.exceptions import ConflictError, GigafibreValidationError, NotFoundError


def _line_rows(referral: str, *, exclude: str | None = None, submitted: bool = False, lock: bool = False):
	sii = frappe.qb.DocType(INVOICE_ITEM)
	query = (
		frappe.qb.from_(sii)
		.select(sii.parent, sii.amount)
		.where(sii[LINE_FIELD] == referral)
		.where(sii.parenttype == INVOICE)
		.where(sii.docstatus == 1 if submitted else sii.docstatus < 2)
	)
	if exclude:
		query = query.where(sii.parent != exclude)
	if lock:  # a locking read sees what other transactions committed (InnoDB's snapshot does not)
		query = query.for_update()
	return query.run(as_dict=True)


def _used(referral: str, **kw) -> float:
	"""How much of the credit invoice lines use (a return invoice's line gives it back)."""
	return flt(-sum(flt(r.amount) for r in _line_rows(referral, **kw)), 2)


def _description(referred_name: str, lang: str | None = None) -> str:
	return _(T_LINE, lang=lang).format(referred_name)


def pending_credits(customer: str, *, posting_date=None, exclude_invoice: str | None = None) -> list[dict]:
	"""The customer's referral credits not yet used on an invoice (draft or submitted), oldest
	first: ``referral``, ``amount`` (what is left), ``credit_amount``, ``used``, ``granted_on``,
	``referred_customer``, ``item``, ``description_en`` / ``description_fr``. With
	``posting_date``, only credits granted by then; ``exclude_invoice``: ignore that invoice's lines.

	For the billing run: each is a ``core.billing.values.Credit(id=referral, customer,
	amount=credit_amount, applied=used, available_from=granted_on, item=item)``; the invoice line
	it plans must carry ``gigafibre_referral`` = referral (or call :func:`apply_credits`)."""
	ref = frappe.qb.DocType(REFERRAL)
	rows = (  # a Date "is set" filter compares with '' (refused by PostgreSQL): IS NOT NULL
		frappe.qb.from_(ref)
		.select(
			ref.name,
			ref.credit_amount,
			ref.credit_granted_on,
			ref.referred_customer,
			ref.referred_customer_name,
		)
		.where(ref.referrer == customer)
		.where(ref.status == PENDING)
		.where(ref.credit_granted_on.isnotnull())
		.orderby(ref.credit_granted_on)
		.orderby(ref.name)
		.run(as_dict=True)
	)
	credits = []
	for row in rows:
		if posting_date and getdate(row.credit_granted_on) > getdate(posting_date):
			continue
		used = _used(row.name, exclude=exclude_invoice)
		left = flt(flt(row.credit_amount) - used, 2)
		if left <= 0:
			continue
		who = row.referred_customer_name or row.referred_customer
		credits.append(
			{
				"referral": row.name,
				"amount": left,
				"credit_amount": flt(row.credit_amount, 2),
				"used": used,
				"granted_on": str(row.credit_granted_on),
				"referred_customer": row.referred_customer,
				"item": CREDIT_ITEM,
				"description_en": T_LINE.format(who),
				"description_fr": _description(who, "fr"),
			}
		)
	return credits


def negative_lines_allowed() -> bool:
	return bool(frappe.db.get_single_value("Selling Settings", "allow_negative_rates_for_items"))


def allow_credit_lines() -> None:
	"""Let invoices carry negative lines (ERPNext refuses them on submit otherwise)."""
	frappe.db.set_single_value("Selling Settings", "allow_negative_rates_for_items", 1)


def ensure_credit_item() -> str:
	"""The Item of referral credit lines (a non-stock service item), made once."""
	if frappe.db.exists("Item", CREDIT_ITEM):
		return CREDIT_ITEM
	group = frappe.db.get_value("Item Group", {"name": "Services", "is_group": 0}) or frappe.db.get_value(
		"Item Group", {"is_group": 0}
	)
	uom = next((u for u in ("Nos", "Unit") if frappe.db.exists("UOM", u)), None) or next(
		iter(frappe.get_all("UOM", limit=1, pluck="name")), None
	)
	if not group or not uom:
		frappe.throw(_("Create an Item Group and a UOM first: referral credits need an Item"))
	item = frappe.get_doc(
		{
			"doctype": "Item",
			"item_code": CREDIT_ITEM,
			"item_name": CREDIT_ITEM_NAME,
			"description": "Crédit de parrainage / Referral credit",
			"item_group": group,
			"stock_uom": uom,
			"is_stock_item": 0,
			"is_sales_item": 1,
			"is_purchase_item": 0,
			"include_item_in_manufacturing": 0,
		}
	)
	item.flags.ignore_permissions = True
	frappe.db.savepoint("gf_referral_item")
	try:
		item.insert(set_name=CREDIT_ITEM)
	except Exception as e:
		if not is_duplicate(e):
			raise
		frappe.db.rollback(save_point="gf_referral_item")  # another worker made it
	else:
		frappe.db.release_savepoint("gf_referral_item")
	return CREDIT_ITEM


def setup_referrals() -> None:
	"""after_migrate: codes for customers without one; the credit Item once ERPNext is set up."""
	backfill_codes()
	if frappe.db.exists("Item Group", {"is_group": 0}) and frappe.get_all("UOM", limit=1):
		ensure_credit_item()


def _language(customer: str) -> str:
	lang = (frappe.db.get_value(CUSTOMER, customer, "language") or "fr").lower()
	return "en" if lang.startswith("en") else "fr"


def apply_credits(invoice) -> list[dict]:
	"""Add the customer's pending referral credits to ``invoice``, an unsaved or draft Sales
	Invoice whose lines have their rates: one line per credit (qty 1, negative rate, item
	GF-REFERRAL-CREDIT, ``gigafibre_referral``), never more than what the invoice's net total
	leaves (the rest stays pending). Credits already on it are not added again. Save the
	invoice to keep them (its validate locks each referral and refuses a credit another invoice
	uses meanwhile); submit uses them, cancel gives them back. Returns the credits added."""
	if invoice.docstatus != 0:
		frappe.throw(_("Referral credits can only be added to a draft invoice"), GigafibreValidationError)
	if invoice.get("is_return") or not invoice.customer:
		return []
	if not negative_lines_allowed():
		frappe.throw(
			_(
				"Referral credits are negative invoice lines: enable Allow Negative rates for Items in Selling Settings"
			),
			GigafibreValidationError,
		)
	item = ensure_credit_item()
	on_invoice = {d.get(LINE_FIELD) for d in invoice.items if d.get(LINE_FIELD)}
	room = flt(sum(flt(d.qty) * flt(d.rate) for d in invoice.items), 2)
	exclude = None if invoice.is_new() else invoice.name
	lang = _language(invoice.customer)
	income = next((d.income_account for d in invoice.items if d.get("income_account")), None)
	if not income and invoice.get("company"):
		income = frappe.get_cached_value("Company", invoice.company, "default_income_account")
	uom = frappe.db.get_value("Item", item, "stock_uom")
	added = []
	for credit in pending_credits(
		invoice.customer, posting_date=invoice.get("posting_date"), exclude_invoice=exclude
	):
		if credit["referral"] in on_invoice:
			continue
		amount = flt(min(credit["amount"], room), 2)
		if amount <= 0:
			break
		invoice.append(
			"items",
			{
				"item_code": item,
				"item_name": CREDIT_ITEM_NAME,
				"description": credit["description_fr"] if lang == "fr" else credit["description_en"],
				"qty": 1,
				"uom": uom,
				"stock_uom": uom,
				"conversion_factor": 1,
				"rate": -amount,
				"price_list_rate": -amount,
				"discount_percentage": 0,
				"income_account": income,
				LINE_FIELD: credit["referral"],
			},
		)
		room = flt(room - amount, 2)
		added.append(credit | {"amount": amount, "left_after": flt(credit["amount"] - amount, 2)})
	return added


def check_invoice_credits(doc, method=None):
	"""Sales Invoice validate: each referral credit line belongs to the invoice's customer, is
	granted and not used by another invoice (draft or submitted). Locks each referral row (in
	name order), so two invoices saved at once cannot both take the same credit."""
	if doc.get("is_return"):
		return
	taken = defaultdict(float)
	for d in doc.items:
		if d.get(LINE_FIELD):
			taken[d.get(LINE_FIELD)] -= flt(d.amount if d.amount is not None else flt(d.qty) * flt(d.rate))
	for name in sorted(taken):
		amount = flt(taken[name], 2)
		if amount <= 0:
			continue
		with changed_meanwhile(name):
			ref = frappe.db.get_value(
				REFERRAL,
				name,
				["name", "referrer", "status", "credit_amount", "credit_granted_on"],
				as_dict=True,
				for_update=True,
			)
		if not ref:
			frappe.throw(_("Referral {0} not found").format(name), NotFoundError)
		if ref.referrer != doc.customer:
			frappe.throw(
				_("The referral credit {0} belongs to another customer").format(name),
				GigafibreValidationError,
			)
		if ref.status == CANCELLED or not ref.credit_granted_on:
			frappe.throw(
				_("The referral credit {0} is not granted (or was cancelled)").format(name),
				GigafibreValidationError,
			)
		others = _line_rows(name, exclude=doc.name, lock=True)
		used = -sum(flt(r.amount) for r in others)
		if used + amount > flt(ref.credit_amount) + CENT:
			where = ", ".join(sorted({r.parent for r in others if flt(r.amount) < 0}))
			frappe.throw(
				_("The referral credit {0} is already used on invoice {1}").format(name, where), ConflictError
			)
		# a new version of the referral row: on PostgreSQL an invoice saved at the same time
		# (whose snapshot cannot see this one's lines) then fails to lock it instead of using it
		frappe.db.set_value(REFERRAL, name, "modified", now_datetime(), update_modified=False)


def refresh_referral(name: str) -> None:
	"""The referral's use, from its lines on submitted invoices (under its row lock): Credited
	with the last invoice once fully used, back to Pending when an invoice is cancelled."""
	with changed_meanwhile(name):
		ref = frappe.get_doc(REFERRAL, name, for_update=True)
	si, sii = frappe.qb.DocType(INVOICE), frappe.qb.DocType(INVOICE_ITEM)
	rows = (
		frappe.qb.from_(sii)
		.join(si)
		.on(si.name == sii.parent)
		.select(sii.parent, sii.amount, si.posting_date, si.creation)
		.where(sii[LINE_FIELD] == name)
		.where(sii.parenttype == INVOICE)
		.where(sii.docstatus == 1)
		.run(as_dict=True)
	)
	applied = flt(-sum(flt(r.amount) for r in rows), 2)
	uses = sorted(
		(r for r in rows if flt(r.amount) < 0), key=lambda r: (r.posting_date, r.creation, r.parent)
	)
	last = uses[-1] if uses else None
	ref.credit_applied = max(applied, 0)
	ref.sales_invoice = last.parent if last else None
	full = flt(ref.credit_amount) > 0 and applied >= flt(ref.credit_amount) - CENT
	if ref.status != CANCELLED:
		ref.status = CREDITED if full else PENDING
	ref.credited_on = last.posting_date if full and last else None
	ref.flags.ignore_permissions = True
	ref.save()


def on_invoice_change(doc, method=None):
	"""Sales Invoice on_submit / on_cancel: its referral credits are used / given back."""
	for name in sorted({d.get(LINE_FIELD) for d in doc.items if d.get(LINE_FIELD)}):
		if frappe.db.exists(REFERRAL, name):
			refresh_referral(name)
