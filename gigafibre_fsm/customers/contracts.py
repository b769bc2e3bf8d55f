"""Service contracts: made from a quotation, viewed, terminated.

- :func:`create_contract_from_quotation`: a submitted ERPNext Quotation of a customer becomes a
  Service Contract (Residential for an Individual customer, Commercial otherwise) with its
  benefits, its pending Service Subscriptions (En attente) at the Service Location, and is sent
  for signature (``signing.send_contract``). The Quotation's row is locked first and a contract
  already made from it is returned as it is (sent again only while still Brouillon).

  Mapping: an item whose Item has a download speed (``gigafibre_down_mbps``) is a plan: one
  subscription per unit, at the quotation's rate; a plan quoted below its price list rate is also
  a "Service" benefit (a monthly price discount). Any other item quoted below its price list
  rate (a 100 % discount included) is a benefit: "Device" for goods (a stock item or a fixed
  asset: modem, router), "Fee" otherwise (installation waived). Items at their full price are
  not part of the contract. The term is the quotation's ``gigafibre_term_months`` (a custom
  field, default 24; 0: month to month). The location is the quotation's
  ``gigafibre_service_location``, else the customer's location at the quotation's shipping (or
  customer) address, else the customer's only active location.

- :func:`contract_status`: months elapsed and left, each benefit's value, recognised to date and
  residual (``core.contracts.contract_progress``), the subscriptions and their state.

- :func:`preview_termination` / :func:`terminate_contract`: the fee of ``core.termination``
  (Quebec's Consumer Protection Act for residential contracts, the contract's clause for
  commercial ones). A contract never signed, or whose service has not started, has no fee.
  Terminating locks the contract's row and writes everything under one savepoint, undone whole
  on any error: status Résilié, every subscription of the contract Annulé with its cancellation
  date (never deleted), one submitted Sales Invoice for the fee (none when the fee is 0), a
  credit note for the days invoiced after the termination date (``termination_credit``), the
  equipment to return listed, then the ``on_contract_terminated`` flows (once per contract).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import frappe
from frappe import _
from frappe.utils import cint, flt, getdate

from gigafibre_fsm.core.contracts import Benefit, contract_progress, money, months_elapsed
from gigafibre_fsm.core.termination import (
	CommercialClause,
	Line,
	TerminationFee,
	device_rebates_of,
	termination_fee,
)
from gigafibre_fsm.customers import termination_credit
from gigafibre_fsm.exceptions import ConflictError, GigafibreValidationError, core_errors
from gigafibre_fsm.flows import fire

CONTRACT = "Service Contract"
SUBSCRIPTION = "Service Subscription"
LOCATION = "Service Location"
EQUIPMENT = "Service Equipment"
QUOTATION = "Quotation"
INVOICE = "Sales Invoice"
TAX_TEMPLATE = "Sales Taxes and Charges Template"

TERM_FIELD = "gigafibre_term_months"
LOCATION_FIELD = "gigafibre_service_location"
DEFAULT_TERM = 24
FEE_ITEM = "GF-TERMINATION-FEE"

PENDING, CANCELLED = "En attente", "Annulé"
DRAFT, TERMINATED, EXPIRED = "Brouillon", "Résilié", "Expiré"
UNSIGNED = ("Brouillon", "Envoyé")
AT_CUSTOMER = ("Active", "Defective")  # equipment still to be returned

RULE_NOT_SIGNED = "not_signed"
RULE_NOT_STARTED = "not_started"
EVENT_TERMINATED = "on_contract_terminated"
REALTIME_EVENT = "gigafibre_fsm:contract_terminated"
SAVEPOINT = "gigafibre_contract"
SERIALIZATION_FAILURE = "40001"  # SQLSTATE serialization_failure


@contextmanager
def all_or_nothing(name: str = SAVEPOINT) -> Iterator[None]:
	"""Everything written inside is undone on an error, even by a caller that catches it."""
	frappe.db.savepoint(name)
	try:
		yield
	except Exception:
		frappe.db.rollback(save_point=name)
		raise
	frappe.db.release_savepoint(name)


def _refuse(message: str, exc=GigafibreValidationError):
	frappe.throw(message, exc, title=_("Service Contract"))


# -- quotation → contract -------------------------------------------------------------------


def create_contract_from_quotation(quotation: str) -> dict:
	"""The contract of a submitted quotation, made and sent for signature once.

	Concurrent calls wait on the Quotation's row lock; the later ones find the contract with a
	locking read (MariaDB). On PostgreSQL (REPEATABLE READ) a later call cannot see a contract
	committed after its snapshot and fails to write (SQLSTATE 40001): its transaction is rolled
	back and the call made once more, in a new snapshot that shows the contract."""
	try:
		return _create_contract(quotation)
	except Exception as e:
		if _sqlstate(e) != SERIALIZATION_FAILURE:
			raise
	frappe.db.rollback()
	frappe.clear_messages()
	try:
		return _create_contract(quotation)
	except Exception as e:
		_conflict_if_serialization(
			e, _("Quotation {0} was just changed by someone else: try again").format(quotation)
		)
		raise


def _create_contract(quotation: str) -> dict:
	if not quotation or not frappe.db.get_value(QUOTATION, quotation, "name", for_update=True):
		frappe.throw(_("{0} {1} not found").format(_(QUOTATION), quotation), frappe.DoesNotExistError)
	# a locking read: it sees a contract committed since this transaction's snapshot (MariaDB)
	existing = frappe.db.get_value(
		CONTRACT, {"quotation": quotation}, "name", order_by="creation asc", for_update=True
	)
	if existing:
		with all_or_nothing():
			sent = _send_if_draft(existing)
		return _created(existing, created=False, sent=sent)

	quote = frappe.get_doc(QUOTATION, quotation)
	customer = _check_quotation(quote)
	location = _location_of(quote, customer)
	term = _term_of(quote)
	plans, benefits = _quotation_lines(quote)
	if not plans:
		_refuse(_("Quotation {0} has no internet plan: there is nothing to subscribe to").format(quote.name))
	customer_type = frappe.db.get_value("Customer", customer, "customer_type")
	with all_or_nothing():
		contract = frappe.get_doc(
			{
				"doctype": CONTRACT,
				"customer": customer,
				"contract_type": "Residential" if customer_type == "Individual" else "Commercial",
				"service_location": location,
				"quotation": quote.name,
				"duration_months": term,
				"benefits": benefits,
			}
		)
		contract.insert(ignore_permissions=True)
		for plan in plans:
			frappe.get_doc(
				{
					"doctype": SUBSCRIPTION,
					"customer": customer,
					"service_location": location,
					"status": PENDING,
					"service_contract": contract.name,
					**plan,
				}
			).insert(ignore_permissions=True)
		sent = _send_if_draft(contract.name)
	return _created(contract.name, created=True, sent=sent)


def _check_quotation(quote) -> str:
	if quote.docstatus != 1:
		_refuse(_("Quotation {0} is not submitted: submit it first").format(quote.name))
	if quote.quotation_to != "Customer" or not quote.party_name:
		_refuse(
			_("Quotation {0} is for a {1}, not a customer: make it a customer's quotation first").format(
				quote.name, _(quote.quotation_to or "")
			)
		)
	if quote.status == "Lost":
		_refuse(_("Quotation {0} is lost").format(quote.name))
	return quote.party_name


def _location_of(quote, customer: str) -> str:
	chosen = quote.get(LOCATION_FIELD)
	if chosen:
		if frappe.db.get_value(LOCATION, chosen, "customer") != customer:
			_refuse(_("Service Location {0} is not a location of customer {1}").format(chosen, customer))
		return chosen
	locations = frappe.get_all(
		LOCATION,
		filters={"customer": customer},
		fields=["name", "address", "status"],
		order_by="creation asc",
	)
	for address in (quote.get("shipping_address_name"), quote.get("customer_address")):
		at_address = [loc.name for loc in locations if address and loc.address == address]
		if len(at_address) == 1:
			return at_address[0]
	active = [loc.name for loc in locations if loc.status != "Inactive"]
	if len(active) == 1:
		return active[0]
	if not active:
		_refuse(
			_("Customer {0} has no active Service Location: create it, then make the contract again").format(
				customer
			)
		)
	_refuse(
		_(
			"Customer {0} has several Service Locations ({1}): choose one in the quotation's Service Location field"
		).format(customer, ", ".join(active))
	)


def _term_of(quote) -> int:
	value = quote.get(TERM_FIELD)
	term = DEFAULT_TERM if value is None else cint(value)
	if term < 0:
		_refuse(_("The contract term must be a whole number of months"))
	return term


def _quotation_lines(quote) -> tuple[list[dict], list[dict]]:
	"""(subscriptions to make, benefit rows) of a quotation's items."""
	plans, benefits = [], []
	for row in quote.items:
		item = frappe.db.get_value(
			"Item",
			row.item_code,
			["item_name", "gigafibre_down_mbps", "gigafibre_up_mbps", "is_stock_item", "is_fixed_asset"],
			as_dict=True,
		)
		if not item:
			continue
		qty = flt(row.qty)
		rate = money(row.rate)
		regular = (
			money(row.price_list_rate) if flt(row.price_list_rate) else rate + money(row.discount_amount)
		)
		name = row.item_name or item.item_name or row.item_code
		is_plan = cint(item.gigafibre_down_mbps) > 0
		if is_plan:
			if qty < 1 or qty != int(qty):
				_refuse(
					_("Plan {0} on quotation {1} must have a whole quantity").format(
						row.item_code, quote.name
					)
				)
			plans += [
				{
					"plan": row.item_code,
					"plan_name": name,
					"download_mbps": cint(item.gigafibre_down_mbps),
					"upload_mbps": cint(item.gigafibre_up_mbps),
					"monthly_price": float(rate),
				}
			] * int(qty)
		if regular <= rate:
			continue
		kind = "Service" if is_plan else "Device" if item.is_stock_item or item.is_fixed_asset else "Fee"
		count = Decimal(str(qty))
		benefits.append(
			{
				"description": name if qty == 1 else f"{qty:g} × {name}",
				"kind": kind,
				"item": row.item_code,
				"regular_price": float(money(regular * count)),
				"granted_price": float(money(rate * count)),
			}
		)
	return plans, benefits


def _send_if_draft(contract: str) -> bool:
	"""Send a contract still in Brouillon for signature; one already sent or signed is left alone."""
	from gigafibre_fsm.customers import signing

	if frappe.db.get_value(CONTRACT, contract, "status", for_update=True) != DRAFT:
		return False
	signing.send_contract(contract)
	return True


def _created(contract: str, *, created: bool, sent: bool) -> dict:
	"""The answer, read with locking reads: on MariaDB a contract another request committed since
	this transaction's snapshot is invisible to plain reads."""
	row = frappe.db.get_value(
		CONTRACT,
		contract,
		["status", "contract_type", "customer", "service_location", "quotation", "duration_months"],
		as_dict=True,
		for_update=True,
	)
	return {
		"contract": contract,
		"created": created,
		"sent": sent,
		"status": row.status,
		"contract_type": row.contract_type,
		"customer": row.customer,
		"service_location": row.service_location,
		"quotation": row.quotation,
		"term_months": cint(row.duration_months),
		"subscriptions": [s.name for s in _subscriptions(contract, lock=True)],
	}


# -- the contract view ----------------------------------------------------------------------


def _subscriptions(contract: str, lock: bool = False) -> list[dict]:
	"""The contract's subscriptions; ``lock``: a locking read (it sees the latest committed rows)."""
	return frappe.db.get_values(
		SUBSCRIPTION,
		{"service_contract": contract},
		[
			"name",
			"plan",
			"plan_name",
			"status",
			"monthly_price",
			"billing_cycle",
			"start_date",
			"end_date",
			"cancellation_date",
		],
		as_dict=True,
		order_by="creation asc",
		for_update=lock,
	)


def _benefits(doc) -> list[Benefit]:
	with core_errors():
		return [
			Benefit(row.description, row.regular_price, row.granted_price, kind=row.kind or "Device")
			for row in doc.benefits
		]


def start_of(doc, subscriptions: list[dict] | None = None) -> date | None:
	"""The contract's start date, else the first start of its subscriptions (None: not started)."""
	if doc.start_date:
		return getdate(doc.start_date)
	subs = _subscriptions(doc.name) if subscriptions is None else subscriptions
	starts = [getdate(s.start_date) for s in subs if s.start_date]
	return min(starts) if starts else None


def _monthly_price(subscriptions: list[dict]) -> Decimal:
	return sum((money(s.monthly_price) for s in subscriptions if s.status != CANCELLED), Decimal("0.00"))


def _plain(value):
	if isinstance(value, date):
		return value.isoformat()
	if isinstance(value, Decimal):
		return str(value)
	return value


def contract_status(contract: str, on: date | None = None) -> dict:
	"""Where the contract stands on ``on`` (today; a terminated contract: its termination date)."""
	doc = frappe.get_doc(CONTRACT, contract)
	subs = _subscriptions(doc.name)
	today = on or getdate()
	as_of = min(today, getdate(doc.terminated_on)) if doc.terminated_on else today
	start = start_of(doc, subs)
	term = cint(doc.duration_months)
	benefits = _benefits(doc)
	with core_errors():
		if term:
			# not started: nothing has elapsed yet (contract_progress counts nothing before the start)
			progress = contract_progress(start or as_of + timedelta(days=1), term, as_of, benefits).as_dict()
			if not start:
				progress.update(start=None, end=None)
		else:  # month to month: nothing to earn back, no fee
			progress = {
				"start": _plain(start),
				"end": None,
				"term_months": None,
				"months_elapsed": months_elapsed(start, as_of) if start and as_of >= start else 0,
				"months_left": None,
				"benefits": [
					{
						"label": b.label,
						"kind": b.kind,
						"per_month": str(b.value(1)) if b.recurring else None,
						"value": None if b.recurring else str(b.value(1)),
						"recognised": None if b.recurring else str(b.value(1)),
						"residual": "0.00",
					}
					for b in benefits
				],
				"value": None,
				"recognised": None,
				"residual": "0.00",
			}
	return {
		"contract": doc.name,
		"customer": doc.customer,
		"contract_type": doc.contract_type,
		"status": doc.status,
		"service_location": doc.service_location,
		"quotation": doc.quotation,
		"signed_on": str(doc.signed_on) if doc.signed_on else None,
		"as_of": as_of.isoformat(),
		**progress,
		"monthly_price": str(_monthly_price(subs)),
		"subscriptions": [{k: _plain(v) for k, v in s.items()} for s in subs],
		"terminated_on": _plain(getdate(doc.terminated_on)) if doc.terminated_on else None,
		"termination_reason": doc.termination_reason,
		"termination_fee": str(money(doc.termination_fee)) if doc.terminated_on else None,
		"termination_invoice": doc.termination_invoice,
	}


# -- termination ----------------------------------------------------------------------------


def _check_terminable(doc) -> None:
	if doc.status == TERMINATED:
		_refuse(
			_("Contract {0} was already terminated on {1}").format(doc.name, doc.terminated_on), ConflictError
		)
	if doc.status == EXPIRED:
		_refuse(_("Contract {0} has expired: there is nothing to terminate").format(doc.name))


def _clause(doc) -> CommercialClause | None:
	"""The contract's clause: always on a commercial contract; on a residential one only when set."""
	fixed, percent, repay = doc.termination_fixed_fee, doc.termination_percent, doc.termination_repay_devices
	if doc.contract_type != "Commercial" and not (flt(fixed) or flt(percent) or cint(repay)):
		return None
	return CommercialClause(money(fixed), Decimal(str(flt(percent))), bool(cint(repay)))


def compute_fee(doc, on: date, lock: bool = False) -> tuple[TerminationFee, date | None, Decimal]:
	"""(the fee, the start, the monthly price) for terminating ``doc`` on ``on``."""
	subs = _subscriptions(doc.name, lock=lock)
	start = start_of(doc, subs)
	floor = start or getdate(doc.creation)
	if on < floor:
		_refuse(
			_("The termination date ({0}) cannot be before the contract start ({1})").format(
				on.isoformat(), floor.isoformat()
			)
		)
	monthly = _monthly_price(subs)
	term = cint(doc.duration_months) or None
	if doc.status in UNSIGNED and not doc.signed_on:
		result = TerminationFee(
			Decimal("0.00"),
			RULE_NOT_SIGNED,
			doc.contract_type,
			term,
			0,
			term or 0,
			(Line("The contract was never signed: no termination fee"),),
		)
	elif start is None:
		result = TerminationFee(
			Decimal("0.00"),
			RULE_NOT_STARTED,
			doc.contract_type,
			term,
			0,
			term or 0,
			(Line("The service has not started: no termination fee"),),
		)
	else:
		with core_errors():
			result = termination_fee(
				start=start,
				term_months=term,
				on=on,
				monthly_price=monthly,
				contract_type=doc.contract_type,
				device_rebates=device_rebates_of(_benefits(doc)),
				clause=_clause(doc),
			)
	return result, start, monthly


def _translated(line: Line) -> str:
	return _(line.template).format(*line.params) if line.params else _(line.template)


def _fee_answer(doc, on: date, result: TerminationFee, start: date | None, monthly: Decimal) -> dict:
	data = result.as_dict()
	for row, line in zip(data["breakdown"], result.breakdown, strict=True):
		row["text"] = _translated(line)
	return {
		"contract": doc.name,
		"date": on.isoformat(),
		"start": _plain(start),
		"monthly_price": str(monthly),
		**data,
		"text": "\n".join(row["text"] for row in data["breakdown"]),
	}


def preview_termination(contract: str, on: date) -> dict:
	"""The fee for terminating on ``on`` and how it was computed; nothing is written."""
	doc = frappe.get_doc(CONTRACT, contract)
	_check_terminable(doc)
	result, start, monthly = compute_fee(doc, on)
	return _fee_answer(doc, on, result, start, monthly)


def terminate_contract(contract: str, on: date, reason: str) -> dict:
	"""Terminate once, all or nothing (see the module's docstring)."""
	reason = (reason or "").strip()
	if not reason:
		_refuse(_("Give the reason for the termination"))
	with all_or_nothing():
		try:
			doc = frappe.get_doc(CONTRACT, contract, for_update=True)
		except Exception as e:  # PostgreSQL: changed (terminated?) since this transaction's snapshot
			_conflict_if_serialization(
				e, _("Contract {0} was just changed by someone else: reload and try again").format(contract)
			)
			raise
		_check_terminable(doc)
		result, start, monthly = compute_fee(doc, on, lock=True)
		cancelled = _cancel_subscriptions(doc.name, on, reason)
		invoice, submitted = _fee_invoice(doc, on, reason, result) if result.fee > 0 else (None, False)
		credit_notes = termination_credit.credit_prepaid(doc, on, cancelled, reason)
		doc.status = TERMINATED
		doc.terminated_on = on
		doc.termination_reason = reason
		doc.termination_fee = float(result.fee)
		doc.termination_invoice = invoice
		doc.flags.ignore_permissions = True
		doc.save()
		equipment = _equipment_to_return(doc)
		runs = fire(EVENT_TERMINATED, doc)
	frappe.publish_realtime(
		REALTIME_EVENT,
		{"contract": doc.name, "customer": doc.customer, "status": doc.status},
		doctype="Customer",
		docname=doc.customer,
		after_commit=True,
	)
	return {
		**_fee_answer(doc, on, result, start, monthly),
		"status": doc.status,
		"terminated_on": on.isoformat(),
		"invoice": invoice,
		"invoice_submitted": submitted,
		"credit_notes": credit_notes,
		"cancelled_subscriptions": cancelled,
		"equipment_to_return": equipment,
		"flow_runs": runs,
	}


def _cancel_subscriptions(contract: str, on: date, reason: str) -> list[str]:
	"""Every subscription of the contract not yet cancelled: Annulé on ``on`` (never deleted)."""
	names = [s.name for s in _subscriptions(contract, lock=True) if s.status != CANCELLED]
	for name in names:
		sub = frappe.get_doc(SUBSCRIPTION, name, for_update=True)
		if sub.start_date and getdate(sub.start_date) > on and sub.status == PENDING:
			sub.start_date = None  # scheduled, never started
		sub.status = CANCELLED
		sub.cancellation_date = on
		sub.cancellation_reason = reason
		if sub.start_date and (not sub.end_date or getdate(sub.end_date) > on):
			sub.end_date = on
		sub.flags.ignore_permissions = True
		sub.save()
	return names


def _company(doc) -> str:
	company = frappe.db.get_value(QUOTATION, doc.quotation, "company") if doc.quotation else None
	company = (
		company
		or frappe.defaults.get_user_default("Company")
		or frappe.db.get_single_value("Global Defaults", "default_company")
	)
	if not company:
		_refuse(_("Set a default company in Global Defaults to invoice the termination fee"))
	return company


def _tax_template(doc, company: str) -> str | None:
	"""The quotation's tax template, else the company's default one (None: no tax line)."""
	quoted = frappe.db.get_value(QUOTATION, doc.quotation, "taxes_and_charges") if doc.quotation else None
	if quoted:
		row = frappe.db.get_value(TAX_TEMPLATE, quoted, ["company", "disabled"], as_dict=True)
		if row and row.company == company and not row.disabled:
			return quoted
	return frappe.db.get_value(TAX_TEMPLATE, {"company": company, "is_default": 1, "disabled": 0}, "name")


def fee_item() -> str:
	"""The Item the termination fee is invoiced as, made on first use (a service, not stock)."""
	if frappe.db.exists("Item", FEE_ITEM):
		return FEE_ITEM
	group = (
		"Services"
		if frappe.db.get_value("Item Group", "Services", "is_group") == 0
		else frappe.db.get_value("Item Group", {"is_group": 0}, "name", order_by="creation asc")
	)
	uom = (
		"Nos" if frappe.db.exists("UOM", "Nos") else frappe.db.get_single_value("Stock Settings", "stock_uom")
	)
	frappe.get_doc(
		{
			"doctype": "Item",
			"item_code": FEE_ITEM,
			"item_name": _("Termination fee"),
			"description": _("Service contract termination fee"),
			"item_group": group,
			"stock_uom": uom,
			"is_stock_item": 0,
			"is_sales_item": 1,
			"is_purchase_item": 0,
			"include_item_in_manufacturing": 0,
		}
	).insert(ignore_permissions=True)
	return FEE_ITEM


def _fee_invoice(doc, on: date, reason: str, result: TerminationFee) -> tuple[str, bool]:
	"""(the Sales Invoice of the fee, submitted or not), with the company's income account and
	cost centre, taxed by the quotation's template (else the company's default one)."""
	company = _company(doc)
	income, cost_center = frappe.get_cached_value(
		"Company", company, ["default_income_account", "cost_center"]
	)
	if not income:
		_refuse(
			_("Company {0} has no default income account: set it to invoice the termination fee").format(
				company
			)
		)
	template = _tax_template(doc, company)
	fee = float(result.fee)
	si = frappe.new_doc(INVOICE)
	si.customer = doc.customer
	si.company = company
	si.posting_date = getdate()
	si.set_posting_time = 1
	si.due_date = si.posting_date
	si.disable_rounded_total = 1
	si.remarks = _("Termination of contract {0} on {1}: {2}").format(doc.name, on.isoformat(), reason)
	si.append(
		"items",
		{
			"item_code": fee_item(),
			"qty": 1,
			"rate": fee,
			"income_account": income,
			"cost_center": cost_center,
			"description": "\n".join(
				[_("Termination of contract {0} on {1}").format(doc.name, on.isoformat())]
				+ [_translated(line) for line in result.breakdown]
			),
		},
	)
	si.flags.ignore_permissions = True
	si.set_missing_values()
	for item in si.items:  # a price list or pricing rule must not change the fee
		item.rate = fee
		item.price_list_rate = fee
		item.discount_percentage = 0
		item.discount_amount = 0
		item.income_account = income
		item.cost_center = cost_center
	si.set("taxes", [])
	si.taxes_and_charges = template
	if template:
		si.append_taxes_from_master(TAX_TEMPLATE)
	si.insert()
	return si.name, _submit(si)


def _submit(si) -> bool:
	"""Submit the fee's invoice, unless Gigafibre Settings say "Invoices as Drafts" (for an
	ERPNext whose PostgreSQL layer cannot submit one: README "Frappe v16"). Any error undoes
	the whole termination."""
	if frappe.db.get_single_value("Gigafibre Settings", "billing_as_drafts"):
		return False
	si.submit()
	return True


def _sqlstate(error: BaseException | None) -> str | None:
	"""The SQLSTATE of a PostgreSQL error (psycopg2 ``pgcode``, psycopg 3 ``sqlstate``), or None."""
	seen = 0
	while error is not None and seen < 10:
		code = getattr(error, "pgcode", None) or getattr(error, "sqlstate", None)
		if code:
			return code
		error, seen = error.__cause__ or error.__context__, seen + 1
	return None


def _conflict_if_serialization(error: BaseException, message: str) -> None:
	"""A PostgreSQL serialization failure becomes a 409 (the caller raises anything else)."""
	if _sqlstate(error) == SERIALIZATION_FAILURE:
		frappe.throw(message, ConflictError, title=_("Service Contract"))


def _equipment_to_return(doc) -> list[dict]:
	"""The equipment still at the contract's location (or with the customer, without one)."""
	filters = {"status": ["in", list(AT_CUSTOMER)]}
	if doc.service_location:
		filters["service_location"] = doc.service_location
	else:
		filters["customer"] = doc.customer
	return frappe.get_all(
		EQUIPMENT,
		filters=filters,
		fields=["name", "equipment_type", "serial_no", "model", "status"],
		order_by="creation asc",
	)
