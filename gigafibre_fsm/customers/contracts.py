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

- Termination (the fee, the cancelled subscriptions, the invoices, the equipment to return):
  ``contract_termination.preview_termination`` / ``terminate_contract``.
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
from gigafibre_fsm.db_retry import SERIALIZATION_FAILURE, retrying, sqlstate
from gigafibre_fsm.exceptions import ConflictError, GigafibreValidationError, core_errors

CONTRACT = "Service Contract"
SUBSCRIPTION = "Service Subscription"
LOCATION = "Service Location"
QUOTATION = "Quotation"
INVOICE = "Sales Invoice"

TERM_FIELD = "gigafibre_term_months"
LOCATION_FIELD = "gigafibre_service_location"
DEFAULT_TERM = 24

PENDING, CANCELLED = "En attente", "Annulé"
DRAFT, TERMINATED, EXPIRED = "Brouillon", "Résilié", "Expiré"
UNSIGNED = ("Brouillon", "Envoyé")

SAVEPOINT = "gigafibre_contract"


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


def refuse(message: str, exc=GigafibreValidationError):
	frappe.throw(message, exc, title=_("Service Contract"))


# -- quotation → contract -------------------------------------------------------------------


def create_contract_from_quotation(quotation: str) -> dict:
	"""The contract of a submitted quotation, made and sent for signature once.

	Concurrent calls wait on the Quotation's row lock; the later ones find the contract with a
	locking read (MariaDB). On PostgreSQL (REPEATABLE READ) a later call cannot see a contract
	committed after its snapshot and fails to write (SQLSTATE 40001): its transaction is rolled
	back and the call made once more, in a new snapshot that shows the contract."""
	try:
		return retrying(_create_contract, quotation, attempts=2)
	except Exception as e:
		conflict_if_serialization(
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
		refuse(_("Quotation {0} has no internet plan: there is nothing to subscribe to").format(quote.name))
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
		refuse(_("Quotation {0} is not submitted: submit it first").format(quote.name))
	if quote.quotation_to != "Customer" or not quote.party_name:
		refuse(
			_("Quotation {0} is for a {1}, not a customer: make it a customer's quotation first").format(
				quote.name, _(quote.quotation_to or "")
			)
		)
	if quote.status == "Lost":
		refuse(_("Quotation {0} is lost").format(quote.name))
	return quote.party_name


def _location_of(quote, customer: str) -> str:
	chosen = quote.get(LOCATION_FIELD)
	if chosen:
		if frappe.db.get_value(LOCATION, chosen, "customer") != customer:
			refuse(_("Service Location {0} is not a location of customer {1}").format(chosen, customer))
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
		refuse(
			_("Customer {0} has no active Service Location: create it, then make the contract again").format(
				customer
			)
		)
	refuse(
		_(
			"Customer {0} has several Service Locations ({1}): choose one in the quotation's Service Location field"
		).format(customer, ", ".join(active))
	)


def _term_of(quote) -> int:
	value = quote.get(TERM_FIELD)
	term = DEFAULT_TERM if value is None else cint(value)
	if term < 0:
		refuse(_("The contract term must be a whole number of months"))
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
				refuse(
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
		"subscriptions": [s.name for s in contract_subscriptions(contract, lock=True)],
	}


# -- the contract view ----------------------------------------------------------------------


def contract_subscriptions(contract: str, lock: bool = False) -> list[dict]:
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


def benefits_of(doc) -> list[Benefit]:
	with core_errors():
		return [
			Benefit(row.description, row.regular_price, row.granted_price, kind=row.kind or "Device")
			for row in doc.benefits
		]


def start_of(doc, subscriptions: list[dict] | None = None) -> date | None:
	"""The contract's start date, else the first start of its subscriptions (None: not started)."""
	if doc.start_date:
		return getdate(doc.start_date)
	subs = contract_subscriptions(doc.name) if subscriptions is None else subscriptions
	starts = [getdate(s.start_date) for s in subs if s.start_date]
	return min(starts) if starts else None


def monthly_price_of(subscriptions: list[dict]) -> Decimal:
	return sum((money(s.monthly_price) for s in subscriptions if s.status != CANCELLED), Decimal("0.00"))


def plain(value):
	if isinstance(value, date):
		return value.isoformat()
	if isinstance(value, Decimal):
		return str(value)
	return value


def contract_status(contract: str, on: date | None = None) -> dict:
	"""Where the contract stands on ``on`` (today; a terminated contract: its termination date)."""
	doc = frappe.get_doc(CONTRACT, contract)
	subs = contract_subscriptions(doc.name)
	today = on or getdate()
	as_of = min(today, getdate(doc.terminated_on)) if doc.terminated_on else today
	start = start_of(doc, subs)
	term = cint(doc.duration_months)
	benefits = benefits_of(doc)
	with core_errors():
		if term:
			# not started: nothing has elapsed yet (contract_progress counts nothing before the start)
			progress = contract_progress(start or as_of + timedelta(days=1), term, as_of, benefits).as_dict()
			if not start:
				progress.update(start=None, end=None)
		else:  # month to month: nothing to earn back, no fee
			progress = {
				"start": plain(start),
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
		"monthly_price": str(monthly_price_of(subs)),
		"subscriptions": [{k: plain(v) for k, v in s.items()} for s in subs],
		"terminated_on": plain(getdate(doc.terminated_on)) if doc.terminated_on else None,
		"termination_reason": doc.termination_reason,
		"termination_fee": str(money(doc.termination_fee)) if doc.terminated_on else None,
		"termination_invoice": doc.termination_invoice,
	}


def conflict_if_serialization(error: BaseException, message: str) -> None:
	"""A PostgreSQL serialization failure becomes a 409 (the caller raises anything else)."""
	if sqlstate(error) == SERIALIZATION_FAILURE:
		frappe.throw(message, ConflictError, title=_("Service Contract"))
