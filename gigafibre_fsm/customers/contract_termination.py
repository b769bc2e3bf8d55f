"""Terminating a service contract: :func:`preview_termination` / :func:`terminate_contract`.

The fee of ``core.termination`` (Quebec's Consumer Protection Act for residential contracts, the
contract's clause for commercial ones). A contract never signed, or whose service has not
started, has no fee. Terminating locks the contract's row and writes everything under one
savepoint, undone whole on any error: status Résilié, every subscription of the contract Annulé
with its cancellation date (never deleted), one submitted Sales Invoice for the fee (none when the
fee is 0), a credit note for the days invoiced after the termination date
(``termination_credit``), the equipment to return listed, then the ``on_contract_terminated``
flows (once per contract).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import frappe
from frappe import _
from frappe.utils import cint, flt, getdate

from gigafibre_fsm.core.contracts import money
from gigafibre_fsm.core.termination import (
	CommercialClause,
	Line,
	TerminationFee,
	device_rebates_of,
	termination_fee,
)
from gigafibre_fsm.customers import termination_credit
from gigafibre_fsm.customers.contracts import (
	CANCELLED,
	CONTRACT,
	EXPIRED,
	INVOICE,
	PENDING,
	QUOTATION,
	SUBSCRIPTION,
	TERMINATED,
	UNSIGNED,
	all_or_nothing,
	benefits_of,
	conflict_if_serialization,
	contract_subscriptions,
	monthly_price_of,
	plain,
	refuse,
	start_of,
)
from gigafibre_fsm.exceptions import ConflictError, core_errors
from gigafibre_fsm.flows import fire

EQUIPMENT = "Service Equipment"
TAX_TEMPLATE = "Sales Taxes and Charges Template"
FEE_ITEM = "GF-TERMINATION-FEE"
AT_CUSTOMER = ("Active", "Defective")  # equipment still to be returned
RULE_NOT_SIGNED = "not_signed"
RULE_NOT_STARTED = "not_started"
EVENT_TERMINATED = "on_contract_terminated"
REALTIME_EVENT = "gigafibre_fsm:contract_terminated"


def _check_terminable(doc) -> None:
	if doc.status == TERMINATED:
		refuse(
			_("Contract {0} was already terminated on {1}").format(doc.name, doc.terminated_on), ConflictError
		)
	if doc.status == EXPIRED:
		refuse(_("Contract {0} has expired: there is nothing to terminate").format(doc.name))


def _clause(doc) -> CommercialClause | None:
	"""The contract's clause: always on a commercial contract; on a residential one only when set."""
	fixed, percent, repay = doc.termination_fixed_fee, doc.termination_percent, doc.termination_repay_devices
	if doc.contract_type != "Commercial" and not (flt(fixed) or flt(percent) or cint(repay)):
		return None
	return CommercialClause(money(fixed), Decimal(str(flt(percent))), bool(cint(repay)))


def compute_fee(doc, on: date, lock: bool = False) -> tuple[TerminationFee, date | None, Decimal]:
	"""(the fee, the start, the monthly price) for terminating ``doc`` on ``on``."""
	subs = contract_subscriptions(doc.name, lock=lock)
	start = start_of(doc, subs)
	floor = start or getdate(doc.creation)
	if on < floor:
		refuse(
			_("The termination date ({0}) cannot be before the contract start ({1})").format(
				on.isoformat(), floor.isoformat()
			)
		)
	monthly = monthly_price_of(subs)
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
				device_rebates=device_rebates_of(benefits_of(doc)),
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
		"start": plain(start),
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
		refuse(_("Give the reason for the termination"))
	with all_or_nothing():
		try:
			doc = frappe.get_doc(CONTRACT, contract, for_update=True)
		except Exception as e:  # PostgreSQL: changed (terminated?) since this transaction's snapshot
			conflict_if_serialization(
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
	names = [s.name for s in contract_subscriptions(contract, lock=True) if s.status != CANCELLED]
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
		refuse(_("Set a default company in Global Defaults to invoice the termination fee"))
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
		refuse(
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
	return si.name, termination_credit.submit_invoice(si)


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
