"""Card payments through Stripe, booked in ERPNext (connectors/stripe_payments.py speaks to Stripe;
core/billing/payments.py and core/billing/autopay.py decide; stripe_ledger.py books the money,
stripe_events.py acts on Stripe's webhook events).

- :func:`payment_link`: the invoice's Checkout Session for its outstanding amount in CAD; its id is
  kept on the invoice (``gigafibre_checkout_session``) and the session is reused while open. The
  invoice's row is locked meanwhile, so two callers at once get one session.
- :func:`setup_card`: a SetupIntent to save a card for autopay.
- Autopay: :func:`on_invoice_submit` queues :func:`autopay_invoice` for a customer with a saved card,
  which charges off-session under ``autopay-<invoice>-<attempt>`` (the attempt is recorded and
  committed before Stripe is called, so a crash leaves an ``unknown`` attempt that is repeated with
  the same key). A decline leaves the invoice open and fires ``on_payment_failed``.
- Overdue invoices: :func:`fire_overdue` fires ``on_payment_overdue``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import frappe
from frappe import _
from frappe.utils import flt, get_url, getdate, now_datetime

from gigafibre_fsm.connectors import stripe_payments as sp
from gigafibre_fsm.connectors.errors import ConnectorError
from gigafibre_fsm.core.billing import autopay
from gigafibre_fsm.customers.stripe_ledger import INVOICE, record_payment, savepoint_insert, stripe_settings
from gigafibre_fsm.exceptions import GigafibreValidationError, raise_core_error

ATTEMPT = "Autopay Attempt"
LOG = "gigafibre_fsm.stripe"
OVERDUE_WINDOW = (5, 10)  # invoices due 5 to 10 days ago are fired on_payment_overdue (catch-up)


# -- the pay link ----------------------------------------------------------------------------


def amount_text(value) -> str:
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
			amount=amount_text(row.outstanding_amount),
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


def payment_failed(invoice: str, occurrence: str) -> list[str]:
	"""Fire ``on_payment_failed`` on the invoice, once per PaymentIntent (``occurrence``)."""
	from gigafibre_fsm import flows

	return flows.fire("on_payment_failed", frappe.get_doc(INVOICE, invoice), occurrence=occurrence)


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
	queue_autopay(doc.name)


def queue_autopay(invoice: str) -> None:
	"""One deduplicated autopay job for the invoice, after the commit."""
	frappe.enqueue(
		"gigafibre_fsm.customers.payments.autopay_invoice",
		queue="short",
		job_id=f"gigafibre_fsm:autopay:{invoice}",
		deduplicate=True,
		enqueue_after_commit=True,
		invoice=invoice,
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
		if not savepoint_insert(attempt, "autopay_attempt"):
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
		queue_autopay(name)
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
