"""Stripe money booked in ERPNext, once: a payment as a submitted *Receive* Payment Entry
allocated to its invoice, a refund as a submitted *Pay* Payment Entry to the customer.

A payment is booked under its PaymentIntent id, the primary key of a ``Stripe Payment`` row
inserted before the Payment Entry in the same transaction: both events of one payment, in any
order, any number of times, concurrently or not, and the autopay job's own answer, make one
submitted Payment Entry.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import frappe
from frappe import _
from frappe.utils import flt, nowdate

from gigafibre_fsm.core.billing import payments as rules
from gigafibre_fsm.settings import get_settings

INVOICE = "Sales Invoice"
STRIPE_PAYMENT = "Stripe Payment"


def stripe_settings():
	settings = get_settings()
	stripe = settings.stripe
	if not stripe.webhook_secret and settings.webhooks.stripe:
		stripe = replace(stripe, webhook_secret=settings.webhooks.stripe)
	return stripe


def savepoint_insert(doc, name: str) -> bool:
	"""Insert ``doc``; False (and nothing written) when its primary key exists already."""
	frappe.db.savepoint(name)
	try:
		doc.insert(ignore_permissions=True)
	except frappe.DuplicateEntryError:
		frappe.db.rollback(save_point=name)
		frappe.clear_messages()
		return False
	return True


def record_payment(
	payment_intent: str,
	*,
	invoice: str | None,
	amount_cents: int,
	currency: str | None,
	source: str = "Checkout",
	charge: str | None = None,
) -> dict:
	"""One submitted Payment Entry for ``payment_intent`` (see the module's notes)."""
	existing = frappe.db.get_value(STRIPE_PAYMENT, payment_intent, ["payment_entry", "invoice"], as_dict=True)
	if existing:
		return {
			"payment_entry": existing.payment_entry,
			"invoice": existing.invoice,
			"already_recorded": True,
		}
	inv = frappe.db.get_value(
		INVOICE, invoice or "", ["name", "customer", "docstatus", "outstanding_amount"], as_dict=True
	)
	if not inv or inv.docstatus != 1:
		frappe.log_error(
			title="Stripe payment for no open invoice",
			message=f"PaymentIntent {payment_intent}: invoice {invoice!r} not found or not submitted",
		)
		return {"payment_entry": None, "invoice": invoice, "reason": "no open invoice"}
	if (currency or "cad").lower() != "cad" or amount_cents <= 0:
		return {"payment_entry": None, "invoice": invoice, "reason": "not a CAD payment"}
	row = frappe.get_doc(
		{
			"doctype": STRIPE_PAYMENT,
			"payment_intent": payment_intent,
			"invoice": inv.name,
			"customer": inv.customer,
			"source": source,
			"amount": float(rules.cents_to_amount(amount_cents)),
			"currency": "CAD",
			"charge": charge,
		}
	)
	if not savepoint_insert(row, "stripe_payment"):
		return {"payment_entry": None, "invoice": inv.name, "already_recorded": True}
	# the invoice's row lock: a payment entry of another source at the same time sees our allocation
	outstanding = frappe.db.get_value(INVOICE, inv.name, "outstanding_amount", for_update=True)
	split = rules.allocation(amount_cents, Decimal(str(flt(outstanding, 2))))
	pe = _receipt(inv.name, split, payment_intent)
	row.db_set("payment_entry", pe.name)
	frappe.publish_realtime(
		"gigafibre_fsm:payment",
		{"invoice": inv.name, "payment_entry": pe.name, "amount": float(split.paid)},
		doctype=INVOICE,
		docname=inv.name,
		after_commit=True,
	)
	return {
		"payment_entry": pe.name,
		"invoice": inv.name,
		"customer": inv.customer,
		"already_recorded": False,
	}


def _account(company: str) -> str | None:
	account = stripe_settings().account
	if account:
		return account
	return frappe.get_cached_value("Company", company, "default_bank_account") or frappe.get_cached_value(
		"Company", company, "default_cash_account"
	)


def _receipt(invoice: str, split: rules.Allocation, payment_intent: str):
	"""A submitted *Receive* Payment Entry of the whole amount, ``split.allocated`` of it allocated
	to the invoice.

	Booked in two ERPNext steps: the entry is submitted unallocated (an advance of the customer),
	then allocated to the invoice by ``reconcile_against_document``, what ERPNext's Payment
	Reconciliation does. The one-step way (a reference row before submit) runs two queries in
	Payment Entry's validation that PostgreSQL refuses on ERPNext 15.99 (and develop as of this
	writing): ``validate_allocated_amount_with_latest_data`` (HAVING on an output alias, no GROUP
	BY) and ``get_matched_payment_request_of_references`` (a column not grouped by). The result is
	the same entry, reference row and Payment Ledger on MariaDB and PostgreSQL.
	"""
	from erpnext.accounts.doctype.payment_entry.payment_entry import get_payment_entry
	from erpnext.accounts.utils import reconcile_against_document

	company = frappe.db.get_value(INVOICE, invoice, "company")
	pe = get_payment_entry(INVOICE, invoice, bank_account=_account(company), ignore_permissions=True)
	pe.paid_amount = pe.received_amount = float(split.paid)
	pe.set("references", [])
	pe.reference_no = payment_intent
	pe.reference_date = nowdate()
	pe.remarks = _("Card payment {0} (Stripe) for invoice {1}").format(payment_intent, invoice)
	pe.flags.ignore_permissions = True
	pe.insert()
	pe.submit()
	if split.allocated > 0:
		grand_total, outstanding = frappe.db.get_value(
			INVOICE, invoice, ["grand_total", "outstanding_amount"]
		)
		reconcile_against_document(
			[
				frappe._dict(
					{
						"voucher_type": "Payment Entry",
						"voucher_no": pe.name,
						"voucher_detail_no": None,
						"against_voucher_type": INVOICE,
						"against_voucher": invoice,
						"account": pe.paid_from,
						"exchange_rate": 1,
						"party_type": "Customer",
						"party": pe.party,
						"is_advance": 0,
						"dr_or_cr": "credit_in_account_currency",
						"unreconciled_amount": float(split.paid),
						"unadjusted_amount": float(split.paid),
						"allocated_amount": float(split.allocated),
						"difference_amount": 0,
						"grand_total": grand_total,
						"outstanding_amount": outstanding,
						"cost_center": pe.cost_center,
					}
				)
			]
		)
		pe.reload()
	return pe


def refund_entry(row, amount: Decimal, reference: str):
	"""A submitted *Pay* Payment Entry to the customer: the money that went back."""
	inv = frappe.db.get_value(INVOICE, row.invoice, ["company", "debit_to", "customer"], as_dict=True)
	pe = frappe.new_doc("Payment Entry")
	pe.update(
		{
			"payment_type": "Pay",
			"company": inv.company,
			"posting_date": nowdate(),
			"party_type": "Customer",
			"party": inv.customer,
			"paid_from": _account(inv.company),
			"paid_to": inv.debit_to,
			"paid_amount": float(amount),
			"received_amount": float(amount),
			"source_exchange_rate": 1,
			"target_exchange_rate": 1,
			"reference_no": reference,
			"reference_date": nowdate(),
			"remarks": _("Card refund {0} (Stripe) of payment {1}, invoice {2}").format(
				reference, row.payment_intent, row.invoice
			),
		}
	)
	pe.flags.ignore_permissions = True
	pe.insert()
	pe.submit()
	return pe
