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
- Use: the credit is a negative line of the referrer's next invoice
  (gigafibre_fsm.customers.referral_credits).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import frappe
from frappe import _
from frappe.utils import flt, today

from gigafibre_fsm.core import referrals as rules
from gigafibre_fsm.db_retry import SERIALIZATION_FAILURE, sqlstate
from gigafibre_fsm.exceptions import ConflictError, core_errors

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
BACKFILL_CHUNK = 500


# -- codes ---------------------------------------------------------------------------------


def _code_taken(code: str) -> bool:
	return bool(frappe.db.exists(CUSTOMER, {CODE_FIELD: code}))


def is_duplicate(error: Exception) -> bool:
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
			if not is_duplicate(e):
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
				if not is_duplicate(e):
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
			if not is_duplicate(e):
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
		with changed_meanwhile():
			existing = _existing(referred_customer, for_update=True)
			ref = frappe.get_doc(REFERRAL, existing.name, for_update=True) if existing else None
	except RowChanged:
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


# -- locking a referral row --------------------------------------------------------------------


class RowChanged(Exception):
	"""A Referral changed by a concurrent transaction could not be locked (PostgreSQL)."""


@contextmanager
def changed_meanwhile(name: str | None = None):
	"""Around a locking read of a Referral: on PostgreSQL (Frappe runs it in REPEATABLE READ) a
	row that a concurrent transaction changed and committed since this one began cannot be
	locked (SQLSTATE 40001). Roll back to before the read and answer ConflictError (409): the
	caller retries with a new transaction (``name=None``: raise RowChanged, the caller decides).
	MariaDB waits for the lock and reads the new row."""
	frappe.db.savepoint("gf_referral_lock")
	try:
		yield
	except Exception as e:
		if sqlstate(e) != SERIALIZATION_FAILURE:
			raise
		frappe.db.rollback(save_point="gf_referral_lock")
		if name is None:
			raise RowChanged from e
		frappe.throw(
			_("Referral {0} was just changed by someone else: try again").format(name), ConflictError
		)
	else:
		frappe.db.release_savepoint("gf_referral_lock")


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
