"""Card payments through Stripe, booked in ERPNext (connectors/stripe_payments.py speaks to Stripe;
core/billing/payments.py and core/billing/autopay.py decide).

- :func:`payment_link`: the invoice's Checkout Session for its outstanding amount in CAD; its id is
  kept on the invoice (``gigafibre_checkout_session``) and the session is reused while open. The
  invoice's row is locked meanwhile, so two callers at once get one session.
- :func:`handle_event`: a verified webhook event, acted on once. Its id is the primary key of a
  ``Stripe Event`` row inserted first in the request's transaction: a re-delivery (or two
  deliveries racing: the second insert waits for the first transaction, then fails on the key)
  does nothing. A payment (``checkout.session.completed`` paid, ``payment_intent.succeeded``) is
  booked under its PaymentIntent id, the primary key of a ``Stripe Payment`` row inserted before
  the Payment Entry in the same transaction: both events of one payment, in any order, any number
  of times, concurrently or not, make one submitted Payment Entry. Anything failing rolls the
  whole event back, so Stripe's retry handles it anew.
- Refunds (``charge.refunded``): a submitted Payment Entry of type *Pay* to the customer, from the
  receipts account, for the part of the charge's cumulative ``amount_refunded`` not booked yet
  (under the Stripe Payment's row lock). The receipt is not cancelled: the money did come in and go
  back out on two dates (Stripe's balance and the bank reconciliation see both, a partial refund
  is possible, the audit trail stays); the customer's receivable shows the refunded amount again
  until staff issue the credit note the refund stands for and reconcile the two (ERPNext's Payment
  Reconciliation) — ERPNext refuses to allocate a *Pay* entry to an invoice that is paid.
- ``payment_intent.payment_failed`` → ``flows.fire("on_payment_failed", invoice)`` once per
  PaymentIntent; ``charge.dispute.created`` → an Issue for billing staff; ``setup_intent.succeeded``
  → the card is saved on the customer and autopay turned on.
- Autopay: :func:`on_invoice_submit` queues :func:`autopay_invoice` for a customer with a saved card,
  which charges off-session under ``autopay-<invoice>-<attempt>`` (the attempt is recorded and
  committed before Stripe is called, so a crash leaves an ``unknown`` attempt that is repeated with
  the same key). A decline leaves the invoice open and fires ``on_payment_failed``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import frappe
from frappe import _
from frappe.utils import flt, get_url, getdate, now_datetime, nowdate

from gigafibre_fsm.connectors import stripe_payments as sp
from gigafibre_fsm.connectors.errors import ConnectorError
from gigafibre_fsm.core.billing import autopay
from gigafibre_fsm.core.billing import payments as rules
from gigafibre_fsm.exceptions import GigafibreValidationError, raise_core_error
from gigafibre_fsm.settings import get_settings

INVOICE = "Sales Invoice"
STRIPE_EVENT = "Stripe Event"
STRIPE_PAYMENT = "Stripe Payment"
ATTEMPT = "Autopay Attempt"
LOG = "gigafibre_fsm.stripe"
OVERDUE_WINDOW = (5, 10)  # invoices due 5 to 10 days ago are fired on_payment_overdue (catch-up)


def stripe_settings():
	settings = get_settings()
	stripe = settings.stripe
	if not stripe.webhook_secret and settings.webhooks.stripe:
		from dataclasses import replace

		stripe = replace(stripe, webhook_secret=settings.webhooks.stripe)
	return stripe


# -- the pay link ----------------------------------------------------------------------------


def _money(value) -> str:
	return f"{flt(value, 2):.2f}"


def payment_link(invoice: str) -> dict:
	"""A Checkout Session for ``invoice``'s outstanding amount (reused while open)."""
	row = frappe.db.get_value(
		INVOICE,
		invoice,
		[
			"name",
			"customer",
			"docstatus",
			"outstanding_amount",
			"currency",
			"gigafibre_checkout_session",
			"language",
		],
		as_dict=True,
		for_update=True,
	)
	if not row:
		frappe.throw(_("Sales Invoice {0} not found").format(invoice), frappe.DoesNotExistError)
	if row.docstatus != 1:
		frappe.throw(_("Invoice {0} is not submitted").format(invoice), GigafibreValidationError)
	if (row.currency or "").upper() != "CAD":
		frappe.throw(_("Invoice {0} is in {1}; card payments are in CAD").format(invoice, row.currency))
	if flt(row.outstanding_amount, 2) <= 0:
		return {"invoice": invoice, "paid": True, "url": None, "amount": 0.0, "currency": "CAD"}
	stripe_customer = frappe.db.get_value("Customer", row.customer, "gigafibre_stripe_customer")
	lang = (row.language or frappe.db.get_value("Customer", row.customer, "language") or "fr")[:2]
	try:
		session = sp.checkout_for_invoice(
			stripe_settings(),
			invoice=invoice,
			customer=row.customer,
			amount=_money(row.outstanding_amount),
			success_url=get_url(f"/compte?paid=1&lang={lang}"),
			cancel_url=get_url(f"/compte?lang={lang}"),
			existing_session=row.gigafibre_checkout_session or None,
			stripe_customer=stripe_customer or None,
			description=(_("Invoice {0}") if lang == "en" else "Facture {0}").format(invoice),
			locale="en" if lang == "en" else "fr-CA",
		)
	except ConnectorError as e:
		frappe.log_error(title="Stripe Checkout Session failed", message=str(e))
		raise_core_error(e)
	if session.id != row.gigafibre_checkout_session:
		frappe.db.set_value(INVOICE, invoice, "gigafibre_checkout_session", session.id, update_modified=False)
	return {
		"invoice": invoice,
		"url": session.url,
		"session": session.id,
		"amount": (session.amount_total or 0) / 100,
		"currency": (session.currency or "cad").upper(),
		"reused": session.reused,
		"paid": session.paid,
		"expires_at": session.expires_at,
	}


# -- webhook events --------------------------------------------------------------------------


def _savepoint_insert(doc, name: str) -> bool:
	"""Insert ``doc``; False (and nothing written) when its primary key exists already."""
	frappe.db.savepoint(name)
	try:
		doc.insert(ignore_permissions=True)
	except frappe.DuplicateEntryError:
		frappe.db.rollback(save_point=name)
		frappe.clear_messages()
		return False
	return True


@contextmanager
def as_system_user() -> Iterator[None]:
	"""The verified webhook acts with the books' authority: ERPNext checks the session user's
	permissions deep inside Payment Entry (accounts, party), and a webhook's caller is Guest. For
	the call only, the session's user becomes Administrator (the Stripe Event row says where the
	change came from)."""
	session = frappe.local.session
	previous = session.user
	session.user = "Administrator"
	try:
		yield
	finally:
		session.user = previous


def handle_event(event: sp.StripeEvent) -> dict:
	"""Act on one verified event, once per event id."""
	with as_system_user():
		return _handle_event(event)


def _handle_event(event: sp.StripeEvent) -> dict:
	if frappe.db.exists(STRIPE_EVENT, event.id):
		return {"ok": True, "duplicate": True}
	log = frappe.get_doc(
		{
			"doctype": STRIPE_EVENT,
			"event_id": event.id,
			"event_type": event.type[:140],
			"payment_intent": event.payment_intent,
			"invoice": _existing_invoice(event.invoice),
			"livemode": int(event.livemode),
			"received_at": now_datetime(),
		}
	)
	if not _savepoint_insert(log, "stripe_event"):
		return {"ok": True, "duplicate": True}
	action = rules.action_for(
		event.type,
		object_status=event.status,
		payment_status=event.data.get("payment_status"),
	)
	outcome = _ACTIONS.get(action, _ignore)(event)
	log.db_set({"outcome": json.dumps(outcome, default=str)[:2000], "customer": outcome.get("customer")})
	return {"ok": True, "duplicate": False, **outcome}


def _existing_invoice(name: str | None) -> str | None:
	return name if name and frappe.db.exists(INVOICE, name) else None


def _ignore(event: sp.StripeEvent) -> dict:
	return {"action": rules.IGNORE}


def _on_payment(event: sp.StripeEvent) -> dict:
	if not event.payment_intent:
		return {"action": rules.IGNORE, "reason": "no PaymentIntent"}
	amount = event.data.get("amount_received") if event.object_type == "payment_intent" else event.amount
	result = record_payment(
		event.payment_intent,
		invoice=event.invoice,
		amount_cents=int(amount or 0),
		currency=event.currency,
		source="Autopay" if event.data.get("off_session") else "Checkout",
		charge=event.data.get("latest_charge") if event.object_type == "payment_intent" else None,
	)
	if event.object_type == "payment_intent" and event.data.get("setup_future_usage") == "off_session":
		_save_card(event.metadata.get("customer"), event.customer, event.data.get("payment_method"))
	return {"action": rules.RECORD_PAYMENT, **result}


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
	if not _savepoint_insert(row, "stripe_payment"):
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


def _on_refund(event: sp.StripeEvent) -> dict:
	payment_intent = event.payment_intent
	if not payment_intent or not frappe.db.exists(STRIPE_PAYMENT, payment_intent):
		return {"action": rules.IGNORE, "reason": "no recorded payment"}
	row = frappe.get_doc(STRIPE_PAYMENT, payment_intent, for_update=True)
	due = rules.refund_due(int(event.data.get("amount_refunded") or 0), row.refunded_amount or 0)
	if due <= 0:
		return {"action": rules.RECORD_REFUND, "refund_entry": None, "customer": row.customer}
	pe = _refund_entry(row, due, event.object_id or payment_intent)
	entries = [e for e in (row.refund_entries or "").split("\n") if e] + [pe.name]
	row.db_set(
		{"refunded_amount": flt(row.refunded_amount) + float(due), "refund_entries": "\n".join(entries)}
	)
	return {
		"action": rules.RECORD_REFUND,
		"refund_entry": pe.name,
		"amount": float(due),
		"customer": row.customer,
	}


def _refund_entry(row, amount: Decimal, reference: str):
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


def _on_failed(event: sp.StripeEvent) -> dict:
	invoice = _existing_invoice(event.invoice)
	if not invoice:
		return {"action": rules.IGNORE, "reason": "no invoice"}
	runs = payment_failed(invoice, event.payment_intent or event.id)
	return {"action": rules.PAYMENT_FAILED, "invoice": invoice, "runs": runs}


def payment_failed(invoice: str, occurrence: str) -> list[str]:
	"""Fire ``on_payment_failed`` on the invoice, once per PaymentIntent (``occurrence``)."""
	from gigafibre_fsm import flows

	return flows.fire("on_payment_failed", frappe.get_doc(INVOICE, invoice), occurrence=occurrence)


def _on_dispute(event: sp.StripeEvent) -> dict:
	payment_intent = event.payment_intent
	row = frappe.db.get_value(STRIPE_PAYMENT, payment_intent or "", ["invoice", "customer"], as_dict=True)
	invoice = (row or {}).get("invoice") or _existing_invoice(event.invoice)
	customer = (row or {}).get("customer") or (
		frappe.db.get_value(INVOICE, invoice, "customer") if invoice else None
	)
	if row:
		frappe.db.set_value(STRIPE_PAYMENT, payment_intent, "disputed", 1, update_modified=False)
	issue = frappe.new_doc("Issue")
	issue.subject = _("Card payment disputed: {0} $ on invoice {1}").format(
		_money((event.amount or 0) / 100), invoice or "?"
	)[:140]
	issue.description = _(
		"The customer's bank opened a dispute ({0}) on Stripe payment {1}. Answer it in Stripe before its deadline; the evidence: invoice {2}, its services and the customer's contract."
	).format(event.data.get("reason") or "?", payment_intent or event.object_id, invoice or "?")
	if customer and issue.meta.has_field("customer"):
		issue.customer = customer
	if frappe.db.exists("Issue Priority", "High"):
		issue.priority = "High"
	issue.flags.ignore_permissions = True
	issue.insert()
	return {"action": rules.OPEN_DISPUTE, "issue": issue.name, "invoice": invoice, "customer": customer}


def _on_setup(event: sp.StripeEvent) -> dict:
	customer = event.metadata.get("customer")
	saved = _save_card(customer, event.customer, event.data.get("payment_method"))
	return {"action": rules.SAVE_CARD, "customer": customer if saved else None, "saved": saved}


def _save_card(customer: str | None, stripe_customer: str | None, payment_method: str | None) -> bool:
	if not (customer and stripe_customer and payment_method) or not frappe.db.exists("Customer", customer):
		return False
	known = frappe.db.get_value("Customer", customer, "gigafibre_stripe_customer")
	if known and known != stripe_customer:
		return False  # a card of another Stripe customer is never attached here
	frappe.db.set_value(
		"Customer",
		customer,
		{
			"gigafibre_stripe_customer": stripe_customer,
			"gigafibre_payment_method": payment_method,
			"gigafibre_autopay": 1,
		},
	)
	return True


_ACTIONS = {
	rules.RECORD_PAYMENT: _on_payment,
	rules.RECORD_REFUND: _on_refund,
	rules.PAYMENT_FAILED: _on_failed,
	rules.OPEN_DISPUTE: _on_dispute,
	rules.SAVE_CARD: _on_setup,
}


# -- saving a card -----------------------------------------------------------------------------


def setup_card(customer: str) -> dict:
	"""A SetupIntent to save a card for autopay (the Stripe customer is made once)."""
	settings = stripe_settings()
	values = frappe.db.get_value(
		"Customer",
		customer,
		["customer_name", "email_billing", "gigafibre_stripe_customer"],
		as_dict=True,
		for_update=True,
	)
	try:
		stripe_customer = values.gigafibre_stripe_customer
		if not stripe_customer:
			stripe_customer = sp.create_customer(
				settings, customer=customer, name=values.customer_name, email=values.email_billing or None
			).id
			frappe.db.set_value("Customer", customer, "gigafibre_stripe_customer", stripe_customer)
		intent = sp.create_setup_intent(settings, stripe_customer=stripe_customer, customer=customer)
	except ConnectorError as e:
		frappe.log_error(title="Stripe SetupIntent failed", message=str(e))
		raise_core_error(e)
	return {
		"setup_intent": intent.id,
		"client_secret": intent.client_secret,
		"publishable_key": settings.publishable_key,
	}


# -- autopay -----------------------------------------------------------------------------------


def on_invoice_submit(doc, method=None):
	"""doc_events: a submitted invoice of a customer with autopay on gets charged in a job."""
	if doc.get("is_return") or flt(doc.outstanding_amount) <= 0:
		return
	card = frappe.db.get_value("Customer", doc.customer, ["gigafibre_autopay", "gigafibre_payment_method"])
	if not card or not card[0] or not card[1]:
		return
	frappe.enqueue(
		"gigafibre_fsm.customers.payments.autopay_invoice",
		queue="short",
		job_id=f"gigafibre_fsm:autopay:{doc.name}",
		deduplicate=True,
		enqueue_after_commit=True,
		invoice=doc.name,
	)


def _attempts(invoice: str) -> list[autopay.Attempt]:
	rows = frappe.get_all(
		ATTEMPT,
		filters={"invoice": invoice},
		fields=["attempt", "status", "attempted_at", "payment_method", "code", "decline_code"],
		order_by="attempt asc",
	)
	return [
		autopay.Attempt(r.attempt, r.status, r.attempted_at, r.payment_method, r.code, r.decline_code)
		for r in rows
	]


def autopay_invoice(invoice: str, now=None) -> dict:
	"""Charge the invoice to the saved card if core/billing/autopay.py says so (a queued job)."""
	now = now or now_datetime()
	inv = frappe.db.get_value(
		INVOICE,
		invoice,
		["name", "customer", "outstanding_amount", "currency", "status", "docstatus"],
		as_dict=True,
		for_update=True,
	)
	if not inv:
		return {"charged": False, "reason": "no such invoice"}
	card = frappe.db.get_value(
		"Customer",
		inv.customer,
		["gigafibre_autopay", "gigafibre_stripe_customer", "gigafibre_payment_method"],
		as_dict=True,
	)
	method = (
		autopay.PaymentMethod(
			card.gigafibre_payment_method,
			card.gigafibre_stripe_customer,
			autopay=bool(card.gigafibre_autopay),
		)
		if card.gigafibre_payment_method and card.gigafibre_stripe_customer
		else None
	)
	decision = autopay.decide_autopay(
		autopay.AutopayInvoice(
			inv.name,
			inv.customer,
			Decimal(str(flt(inv.outstanding_amount, 2))),
			inv.currency,
			inv.status,
			inv.docstatus,
		),
		method,
		_attempts(invoice),
		now=now,
	)
	if not decision.charge:
		return {"charged": False, "reason": decision.text}
	name = f"{invoice}-{decision.attempt}"
	if frappe.db.exists(ATTEMPT, name):
		frappe.db.set_value(ATTEMPT, name, {"status": autopay.UNKNOWN, "attempted_at": now})
	else:
		attempt = frappe.get_doc(
			{
				"doctype": ATTEMPT,
				"invoice": invoice,
				"customer": inv.customer,
				"attempt": decision.attempt,
				"status": autopay.UNKNOWN,
				"idempotency_key": decision.idempotency_key,
				"payment_method": decision.payment_method,
				"amount": decision.amount_cents / 100,
				"attempted_at": now,
			}
		)
		if not _savepoint_insert(attempt, "autopay_attempt"):
			return {"charged": False, "reason": "another worker is charging this invoice"}
	frappe.db.commit()  # the attempt exists before Stripe is called: a crash leaves it "unknown"
	try:
		intent = sp.charge_off_session(
			stripe_settings(),
			invoice=invoice,
			customer=inv.customer,
			stripe_customer=decision.customer,
			payment_method=decision.payment_method,
			amount=decision.amount_cents,
			idempotency_key=decision.idempotency_key,
		)
	except sp.PaymentFailed as e:
		frappe.db.set_value(
			ATTEMPT,
			name,
			{
				"status": autopay.FAILED,
				"payment_intent": e.payment_intent,
				"code": e.code,
				"decline_code": e.decline_code,
				"message": str(e)[:500],
			},
		)
		runs = payment_failed(invoice, e.payment_intent or decision.idempotency_key)
		return {"charged": False, "failed": True, "code": e.decline_code or e.code, "runs": runs}
	except ConnectorError as e:  # unknown outcome: the next try uses the same key
		frappe.db.set_value(ATTEMPT, name, "message", str(e)[:500])
		return {"charged": False, "unknown": True, "reason": str(e)}
	frappe.db.set_value(
		ATTEMPT,
		name,
		{
			"status": intent.status if intent.status in autopay.ATTEMPT_STATUSES else autopay.PROCESSING,
			"payment_intent": intent.id,
		},
	)
	result = {"charged": intent.succeeded, "payment_intent": intent.id, "status": intent.status}
	if intent.succeeded:
		result.update(
			record_payment(
				intent.id,
				invoice=invoice,
				amount_cents=intent.amount_received,
				currency=intent.currency,
				source="Autopay",
				charge=intent.latest_charge,
			)
		)
	return result


def retry_autopay(now=None) -> int:
	"""Daily: queue autopay again for open invoices whose last attempt failed or has no known
	outcome (core/billing/autopay.py decides: the same key for an unknown outcome, 3, 5 then 7
	days after a soft decline, never after a hard one). Returns how many were queued."""
	now = now or now_datetime()
	invoices = frappe.get_all(
		ATTEMPT,
		filters={
			"status": ["in", [autopay.FAILED, autopay.UNKNOWN]],
			"attempted_at": [">", now - timedelta(days=45)],
		},
		pluck="invoice",
		distinct=True,
	)
	if not invoices:
		return 0
	names = frappe.get_all(
		INVOICE,
		filters={"name": ["in", invoices], "docstatus": 1, "outstanding_amount": [">", 0]},
		pluck="name",
	)
	for name in names:
		frappe.enqueue(
			"gigafibre_fsm.customers.payments.autopay_invoice",
			queue="short",
			job_id=f"gigafibre_fsm:autopay:{name}",
			deduplicate=True,
			enqueue_after_commit=True,
			invoice=name,
		)
	return len(names)


# -- overdue invoices --------------------------------------------------------------------------


def fire_overdue(today=None) -> int:
	"""Daily: fire ``on_payment_overdue`` on open invoices due 5 to 10 days ago (once per invoice:
	the flows engine starts a template once per document and event)."""
	from gigafibre_fsm import flows

	if not flows.trigger_map().get(f"{INVOICE}|on_payment_overdue"):
		return 0
	today = getdate(today)
	names = frappe.get_all(
		INVOICE,
		filters={
			"docstatus": 1,
			"is_return": 0,
			"outstanding_amount": [">", 0],
			"due_date": [
				"between",
				[today - timedelta(days=OVERDUE_WINDOW[1]), today - timedelta(days=OVERDUE_WINDOW[0])],
			],
		},
		pluck="name",
		order_by="due_date asc",
	)
	for name in names:
		flows.fire("on_payment_overdue", frappe.get_doc(INVOICE, name))
	return len(names)
