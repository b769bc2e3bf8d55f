"""Referrals in the Frappe layer: codes on Customer, codes carried by quotations and contracts,
the Referral record, the 50 $ credit and its use on the referrer's next invoice.

The rules are pure (gigafibre_fsm/core/referrals.py); this module reads and writes records.

- Codes: every Customer has ``gigafibre_referral_code`` (unique, read-only), made on insert
  (:func:`on_customer_insert`) and backfilled in bulk on migrate (:func:`backfill_codes`: the
  legacy import writes customers without the ORM). A duplicate-key error (two workers drew the
  same code) is rolled back to a savepoint and the code drawn again. ``gigafibre_referral_disabled``
  (or a disabled Customer) refuses new referrals with the code.
- A Quotation (custom field) or a Service Contract (field) may carry ``referral_code``. It is
  normalised and checked on save (:func:`validate_document`: unknown, disabled, own code, same
  service address, customer already referred); a contract records the Referral on save, a
  quotation on submit (a quotation to a Lead is only checked). A contract made from the quotation
  that recorded the referral, or the same document saved again, is the same referral.
- Referral (``REF-#####``): referrer, referred customer (unique: once per referred customer),
  code, the quotation / contract, status Pending → Credited (or Cancelled), the credit.
- Credit: when a subscription of the referred customer becomes Actif (Service Subscription
  on_update) or when the referral is recorded after that, :func:`grant_credit` locks the
  referral row and grants the credit once (``credit_amount``, ``credit_granted_on``).
- Use: the credit is a negative line of the referrer's next invoice (item ``GF-REFERRAL-CREDIT``,
  "Crédit de parrainage"): a reduction of the price of that invoice's services, so TPS and TVQ
  ("On Net Total") apply to the net. :func:`pending_credits` lists what is left to use,
  :func:`apply_credits` adds it to a draft invoice (never more than the invoice's net total: the
  rest waits for the next invoice). The lines themselves (Sales Invoice Item
  ``gigafibre_referral``) are the ledger of uses: an invoice's validate locks the referral and
  refuses a line that the referral's other draft or submitted invoices already use, submit marks
  it Credited (``sales_invoice``, ``credited_on``) once fully used, cancel gives it back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager

import frappe
from frappe import _
from frappe.utils import flt, getdate, now_datetime, today

from gigafibre_fsm.core import referrals as rules
from gigafibre_fsm.exceptions import ConflictError, GigafibreValidationError, NotFoundError, core_errors

CUSTOMER = "Customer"
REFERRAL = "Referral"
INVOICE = "Sales Invoice"
INVOICE_ITEM = "Sales Invoice Item"
CODE_FIELD = "gigafibre_referral_code"
DISABLED_FIELD = "gigafibre_referral_disabled"
LINE_FIELD = "gigafibre_referral"  # Sales Invoice Item → Referral
CREDIT_ITEM = "GF-REFERRAL-CREDIT"
CREDIT_ITEM_NAME = "Crédit de parrainage"
T_LINE = "Referral credit ({0})"
PENDING, CREDITED, CANCELLED = rules.REFERRAL_STATUSES
CENT = 0.005
SERIALIZATION_FAILURE = "40001"  # PostgreSQL SQLSTATE
BACKFILL_CHUNK = 500


# -- codes ---------------------------------------------------------------------------------


def _code_taken(code: str) -> bool:
	return bool(frappe.db.exists(CUSTOMER, {CODE_FIELD: code}))


def _is_duplicate(error: Exception) -> bool:
	if isinstance(error, frappe.DuplicateEntryError | frappe.UniqueValidationError):
		return True
	try:
		return bool(frappe.db.is_duplicate_entry(error))
	except (AttributeError, IndexError, TypeError):
		return False


def assign_code(
	customer: str,
	*,
	randbelow: Callable[[int], int] | None = None,
	exists: Callable[[str], bool] | None = None,
	attempts: int = 5,
) -> str:
	"""The customer's referral code, made now when they have none.

	The unique index decides between two workers that drew the same code: the loser's write is
	rolled back to a savepoint and it draws again (``exists`` and ``randbelow`` are the draw's
	inputs, given by tests to replay that race)."""
	current = frappe.db.get_value(CUSTOMER, customer, CODE_FIELD)
	if current:
		return current
	draw = {"randbelow": randbelow} if randbelow else {}
	for _attempt in range(attempts):
		with core_errors():
			code = rules.generate_code(exists or _code_taken, **draw)
		frappe.db.savepoint("gf_referral_code")
		try:
			frappe.db.set_value(CUSTOMER, customer, CODE_FIELD, code, update_modified=False)
		except Exception as e:
			if not _is_duplicate(e):
				raise
			frappe.db.rollback(save_point="gf_referral_code")
			continue
		frappe.db.release_savepoint("gf_referral_code")
		return code
	frappe.throw(_("Could not find a free referral code after {0} attempts").format(attempts), ConflictError)


def on_customer_insert(doc, method=None):
	"""Customer after_insert: give the new customer their code (once the custom field exists:
	a customer made during the first install, before after_migrate, is backfilled)."""
	if not doc.get(CODE_FIELD) and frappe.get_meta(CUSTOMER).has_field(CODE_FIELD):
		doc.set(CODE_FIELD, assign_code(doc.name))


def backfill_codes(chunk: int = BACKFILL_CHUNK) -> int:
	"""Give a code to every customer without one, a few hundred rows per UPDATE (17,000
	customers: about 35 statements, not 17,000 saves). Returns how many were given."""
	missing = frappe.get_all(CUSTOMER, filters={CODE_FIELD: ["is", "not set"]}, pluck="name", order_by="name")
	if not missing:
		return 0
	taken = set(frappe.get_all(CUSTOMER, filters={CODE_FIELD: ["is", "set"]}, pluck=CODE_FIELD))
	done = 0
	for start in range(0, len(missing), chunk):
		names = missing[start : start + chunk]
		for _attempt in range(3):
			updates = {}
			for name in names:
				with core_errors():
					code = rules.generate_code(taken.__contains__)
				taken.add(code)
				updates[name] = {CODE_FIELD: code}
			frappe.db.savepoint("gf_referral_backfill")
			try:
				frappe.db.bulk_update(CUSTOMER, updates, chunk_size=chunk, update_modified=False)
			except Exception as e:
				if not _is_duplicate(e):
					raise
				# a customer inserted meanwhile took one of these codes: draw this chunk again
				frappe.db.rollback(save_point="gf_referral_backfill")
				taken |= set(frappe.get_all(CUSTOMER, filters={CODE_FIELD: ["is", "set"]}, pluck=CODE_FIELD))
				continue
			frappe.db.release_savepoint("gf_referral_backfill")
			done += len(names)
			break
		else:
			frappe.throw(_("Could not find a free referral code after {0} attempts").format(3), ConflictError)
	return done


def _code_owner(code: str) -> tuple[rules.ReferralCode | None, rules.Party | None]:
	row = frappe.db.get_value(
		CUSTOMER, {CODE_FIELD: code}, ["name", DISABLED_FIELD, "disabled"], as_dict=True
	)
	if not row:
		return None, None
	enabled = not (row.get(DISABLED_FIELD) or row.get("disabled"))
	return rules.ReferralCode(code=code, customer=row.name, enabled=enabled), _party(row.name)


# -- parties and their service addresses ------------------------------------------------------


def _location_addresses(customer: str | None = None, location: str | None = None) -> set[str]:
	if not customer and not location:
		return set()
	filters = {"customer": customer} if customer else {"name": location}
	rows = frappe.get_all("Service Location", filters=filters, fields=["address_line", "city"])
	return {" ".join(filter(None, (r.address_line, r.city))) for r in rows}


def _address_texts(*names: str | None) -> set[str]:
	found = set()
	for name in filter(None, names):
		row = frappe.db.get_value("Address", name, ["address_line1", "address_line2", "city"], as_dict=True)
		if row:
			found.add(" ".join(filter(None, (row.address_line1, row.address_line2, row.city))))
	return found


def _party(customer: str, extra: set[str] | None = None) -> rules.Party:
	return rules.Party(customer=customer, addresses=_location_addresses(customer) | (extra or set()))


def _referred(doc) -> tuple[str | None, rules.Party]:
	"""(the referred Customer or None for a lead/prospect quotation, the party as the rule sees it)."""
	if doc.doctype == "Quotation":
		extra = _address_texts(doc.get("customer_address"), doc.get("shipping_address_name"))
		if doc.get("quotation_to") == CUSTOMER and doc.get("party_name"):
			return doc.party_name, _party(doc.party_name, extra)
		return None, rules.Party(
			customer=f"{doc.get('quotation_to')}:{doc.get('party_name')}", addresses=extra
		)
	extra = _location_addresses(location=doc.get("service_location"))
	return doc.customer, _party(doc.customer, extra)


# -- referrals carried by quotations and contracts ------------------------------------------


def _existing(customer: str | None, *, for_update: bool = False):
	if not customer:
		return None
	return frappe.db.get_value(
		REFERRAL,
		{"referred_customer": customer},
		["name", "code", "status", "referrer", "quotation", "service_contract"],
		as_dict=True,
		for_update=for_update,
	)


def _same_source(existing, doc) -> bool:
	"""Whether ``existing`` was recorded from ``doc`` (or, for a contract, from its quotation)."""
	if doc.doctype == "Quotation":
		return existing.quotation == doc.name
	return existing.service_contract == doc.name or bool(
		doc.get("quotation") and existing.quotation == doc.get("quotation")
	)


def _active(existing) -> bool:
	return bool(existing) and existing.status != CANCELLED


def validate_document(doc, method=None):
	"""validate of Quotation and Service Contract: normalise the code and check it (refusals are
	417s, translated). A code already recorded from this document is not checked again (the
	referrer may have disabled their code since)."""
	raw = doc.get("referral_code")
	if not raw or not str(raw).strip():
		doc.referral_code = None
		return
	with core_errors():
		code = rules.normalise_code(str(raw))
	doc.referral_code = code
	customer, referred = _referred(doc)
	existing = _existing(customer)
	if _active(existing) and existing.code == code and _same_source(existing, doc):
		return
	found, referrer = _code_owner(code)
	with core_errors():
		rules.check_referral(code, referred, found, referrer, referred_before=_active(existing))


def record_from_document(doc) -> str | None:
	"""Record the referral a checked document carries (idempotent); grant the credit at once when
	the referred customer is already active. Returns the Referral's name."""
	code = doc.get("referral_code")
	customer, _referred_party = _referred(doc)
	if not code or not customer:
		return None
	link = {"quotation": doc.name} if doc.doctype == "Quotation" else {"service_contract": doc.name}
	if doc.doctype != "Quotation" and doc.get("quotation"):
		link.setdefault("quotation", doc.quotation)
	existing = _existing(customer, for_update=True)
	if _active(existing):
		if existing.code != code:
			return None  # validate refused it; nothing to record
		missing = {k: v for k, v in link.items() if not existing.get(k)}
		if missing:
			frappe.db.set_value(REFERRAL, existing.name, missing)
		return existing.name
	found, _party_ = _code_owner(code)
	if not found:
		return None
	values = {"referrer": found.customer, "referred_customer": customer, "code": code, **link}
	if existing:  # a cancelled referral: the customer may be referred again, in the same record
		ref = frappe.get_doc(REFERRAL, existing.name, for_update=True)
		ref.update({"quotation": None, "service_contract": None, **values, "status": PENDING})
		ref.update({"credit_amount": 0, "credit_granted_on": None, "credit_applied": 0})
		ref.update({"sales_invoice": None, "credited_on": None})
		ref.flags.ignore_permissions = True
		ref.save()
	else:
		ref = frappe.get_doc({"doctype": REFERRAL, **values, "status": PENDING})
		ref.flags.ignore_permissions = True
		frappe.db.savepoint("gf_referral_insert")
		try:
			ref.insert()
		except Exception as e:
			if not _is_duplicate(e):
				raise
			frappe.db.rollback(save_point="gf_referral_insert")
			frappe.throw(_("This customer has already used a referral code"), ConflictError)
		frappe.db.release_savepoint("gf_referral_insert")
	grant_credit(customer)
	return ref.name


def on_quotation_submit(doc, method=None):
	record_from_document(doc)


def on_quotation_cancel(doc, method=None):
	"""A cancelled quotation cancels the referral it recorded, unless a contract carries it or its
	credit was granted."""
	existing = _existing(doc.party_name if doc.get("quotation_to") == CUSTOMER else None, for_update=True)
	if (
		not existing
		or existing.quotation != doc.name
		or existing.status != PENDING
		or existing.service_contract
	):
		return
	ref = frappe.get_doc(REFERRAL, existing.name, for_update=True)
	if ref.credit_granted_on:
		return
	ref.status = CANCELLED
	ref.flags.ignore_permissions = True
	ref.save()


# -- the credit ------------------------------------------------------------------------------


def credit_amount():
	"""The referral credit (FACTS: 50 $; Gigafibre Settings has no field for it)."""
	return rules.REFERRAL_CREDIT


def grant_credit(referred_customer: str) -> dict | None:
	"""Grant the referral credit of ``referred_customer`` once their subscription is Actif: under
	the referral's row lock, once (``credit_granted_on``). Returns the decision when granted.

	On PostgreSQL (REPEATABLE READ) a referral changed by a concurrent transaction since this one
	began cannot be locked here: the subscription's save goes on and the grant is retried by a
	job after commit, deduplicated under :func:`core.referrals.credit_key`."""
	try:
		with _changed_meanwhile():
			existing = _existing(referred_customer, for_update=True)
			ref = frappe.get_doc(REFERRAL, existing.name, for_update=True) if existing else None
	except _RowChanged:
		frappe.enqueue(
			"gigafibre_fsm.customers.referrals.grant_credit",
			referred_customer=referred_customer,
			job_id=rules.credit_key(referred_customer),
			deduplicate=True,
			enqueue_after_commit=True,
		)
		return None
	if not ref or ref.credit_granted_on:
		return None
	statuses = frappe.get_all("Service Subscription", filters={"customer": referred_customer}, pluck="status")
	with core_errors():
		decision = rules.credit_due(ref.status, statuses, amount=credit_amount())
	if not decision.due:
		return None
	ref.credit_amount = float(decision.amount)
	ref.credit_granted_on = today()
	ref.flags.ignore_permissions = True
	ref.save()
	ref.add_comment("Info", _(decision.template).format(*decision.params))
	return decision.as_dict() | {"referral": ref.name, "key": rules.credit_key(referred_customer)}


def on_subscription_update(doc) -> None:
	"""Service Subscription on_update: a subscription that has just become Actif."""
	if doc.status == "Actif" and doc.has_value_changed("status") and doc.customer:
		grant_credit(doc.customer)


# -- using the credit on invoices ---------------------------------------------------------------


class _RowChanged(Exception):
	"""A Referral changed by a concurrent transaction could not be locked (PostgreSQL)."""


@contextmanager
def _changed_meanwhile(name: str | None = None):
	"""Around a locking read of a Referral: on PostgreSQL (Frappe runs it in REPEATABLE READ) a
	row that a concurrent transaction changed and committed since this one began cannot be
	locked (SQLSTATE 40001). Roll back to before the read and answer ConflictError (409): the
	caller retries with a new transaction (``name=None``: raise _RowChanged, the caller decides).
	MariaDB waits for the lock and reads the new row."""
	frappe.db.savepoint("gf_referral_lock")
	try:
		yield
	except Exception as e:
		if getattr(e, "pgcode", None) != SERIALIZATION_FAILURE:
			raise
		frappe.db.rollback(save_point="gf_referral_lock")
		if name is None:
			raise _RowChanged from e
		frappe.throw(
			_("Referral {0} was just changed by someone else: try again").format(name), ConflictError
		)
	else:
		frappe.db.release_savepoint("gf_referral_lock")


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

	For the billing run: each is a ``core.billing.invoices.Credit(id=referral, customer,
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
		if not _is_duplicate(e):
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
		with _changed_meanwhile(name):
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
	with _changed_meanwhile(name):
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


# -- summary ---------------------------------------------------------------------------------


def summary(customer: str) -> dict:
	"""The customer's referral code (formatted), the referrals made with it, the credits granted
	(sum, count), what is pending (waiting for activation, or granted and not yet on a submitted
	invoice) and who referred this customer."""
	if not customer or not frappe.db.exists(CUSTOMER, customer):
		frappe.throw(_("{0} {1} not found").format(_(CUSTOMER), customer), frappe.DoesNotExistError)
	row = frappe.db.get_value(CUSTOMER, customer, [CODE_FIELD, DISABLED_FIELD, "disabled"], as_dict=True)
	referrals = frappe.get_all(
		REFERRAL,
		filters={"referrer": customer},
		fields=[
			"name",
			"referred_customer",
			"referred_customer_name",
			"status",
			"credit_amount",
			"credit_granted_on",
			"credit_applied",
			"sales_invoice",
			"credited_on",
			"creation",
		],
		order_by="creation asc",
	)
	live = [r for r in referrals if r.status != CANCELLED]
	granted = [r for r in live if r.credit_granted_on]
	to_apply = [r for r in granted if flt(r.credit_amount) - flt(r.credit_applied) > CENT]
	waiting = [r for r in live if not r.credit_granted_on]
	by = frappe.db.get_value(
		REFERRAL, {"referred_customer": customer}, ["name", "referrer", "code", "status"], as_dict=True
	)
	return {
		"customer": customer,
		"code": rules.format_code(row.get(CODE_FIELD)) if row.get(CODE_FIELD) else None,
		"code_enabled": bool(row.get(CODE_FIELD)) and not (row.get(DISABLED_FIELD) or row.get("disabled")),
		"uses": len(live),
		"credits_granted": {
			"count": len(granted),
			"amount": flt(sum(flt(r.credit_amount) for r in granted), 2),
		},
		"credits_applied": {
			"count": sum(1 for r in granted if flt(r.credit_applied) > 0),
			"amount": flt(sum(flt(r.credit_applied) for r in granted), 2),
		},
		"credits_pending": {
			"count": len(to_apply),
			"amount": flt(sum(flt(r.credit_amount) - flt(r.credit_applied) for r in to_apply), 2),
		},
		"awaiting_activation": len(waiting),
		"referrals": [
			{
				"referral": r.name,
				"referred_customer": r.referred_customer,
				"referred_customer_name": r.referred_customer_name,
				"status": r.status,
				"credit_amount": flt(r.credit_amount, 2),
				"credit_granted_on": str(r.credit_granted_on) if r.credit_granted_on else None,
				"credit_applied": flt(r.credit_applied, 2),
				"sales_invoice": r.sales_invoice,
				"credited_on": str(r.credited_on) if r.credited_on else None,
			}
			for r in referrals
		],
		"referred_by": (
			{
				"referral": by.name,
				"referrer": by.referrer,
				"code": rules.format_code(by.code),
				"status": by.status,
			}
			if by
			else None
		),
	}
