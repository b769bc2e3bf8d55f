"""Billing endpoints (/api/method/gigafibre_fsm.api.billing.<name>): the billing run and card
payments for staff; the account link and the account page's methods for customers (guest, each
proved by its signed link)."""

from __future__ import annotations

import frappe
from frappe import _
from frappe.rate_limiter import rate_limit
from frappe.utils import getdate

from gigafibre_fsm.exceptions import GigafibreValidationError
from gigafibre_fsm.permissions import ACCOUNTS_MANAGER, CUSTOMER_SERVICE, FSM_MANAGER, fsm_api, text_arguments

# A billing run issues submitted Sales Invoices for the whole book: FSM Managers, and ERPNext's
# Accounts Manager (who owns the books); not Accounts User, who only keys in single documents.
BILLERS = (FSM_MANAGER, ACCOUNTS_MANAGER)


def _as_of(value) -> object:
	if value in (None, ""):
		return getdate()
	try:
		return getdate(value) if isinstance(value, str) else None
	except (ValueError, OverflowError, TypeError):
		pass
	frappe.throw(_("as_of must be a date, such as 2026-12-01"), GigafibreValidationError)


def _flag(value) -> bool:
	if isinstance(value, bool):
		return value
	if value in (0, 1, "0", "1", "true", "false", "True", "False", None, ""):
		return str(value).lower() in ("1", "true")
	frappe.throw(_("dry_run must be true or false"), GigafibreValidationError)


@fsm_api(roles=BILLERS, write=True)
def run_billing(as_of: str | None = None, dry_run: bool | int | str = False) -> dict:
	"""Bill every subscription due on ``as_of`` (default today): one submitted Sales Invoice per
	customer and billing date, each charge once. Returns the queued Billing Run
	(``{"run", "status"}``; progress as realtime ``gigafibre_fsm:billing_run`` events, the summary
	on the Billing Run). With ``dry_run``, returns what would be invoiced, per customer and in
	total, and writes nothing."""
	day = _as_of(as_of)
	if day is None:
		frappe.throw(_("as_of must be a date, such as 2026-12-01"), GigafibreValidationError)
	from gigafibre_fsm.customers import billing_book, billing_run

	if _flag(dry_run):
		return billing_book.dry_run(day)
	name = billing_run.enqueue_run(day, frappe.session.user)
	return {"run": name, "status": "Queued", "as_of": day.isoformat()}


@fsm_api(roles=BILLERS, write=True)
def resume_billing_run(run: str) -> dict:
	"""Start again what a Queued or Running Billing Run left undone when a worker died or a job
	was lost: its planning job when it has no chunks yet, else the chunks not Completed (each
	bills only what is still due; a job still queued or running is not doubled). Returns
	``{"run", "planning", "chunks"}``; a Completed or Failed run is refused (start a new one)."""
	from gigafibre_fsm.customers import billing_run

	return billing_run.resume_run(run)


# -- card payments and the customer's account (gigafibre_fsm.customers.payments / .account) -----

# Who may open a card payment or read a customer's account for them: the CSRs and the books.
PAYMENT_ROLES = (CUSTOMER_SERVICE, FSM_MANAGER, ACCOUNTS_MANAGER)


@fsm_api(roles=PAYMENT_ROLES, write=True)
def get_payment_link(invoice: str) -> dict:
	"""A Stripe Checkout Session for the invoice's outstanding amount in CAD (``{"url", "session",
	"amount", "reused", "paid"}``), reused while it is open; ``paid`` and no URL when nothing is due."""
	from gigafibre_fsm.customers import payments

	return payments.payment_link(invoice)


@fsm_api(roles=PAYMENT_ROLES)
def get_account_summary(customer: str) -> dict:
	"""What the customer's account page shows: balance, invoices, payments, active services, card."""
	from gigafibre_fsm.customers import account

	if not frappe.db.exists("Customer", customer):
		frappe.throw(_("Customer {0} not found").format(customer), frappe.DoesNotExistError)
	return account.summary(customer)


@frappe.whitelist(allow_guest=True, methods=["POST"])
@text_arguments("identifier", max_length=320)
@rate_limit(limit=10, seconds=15 * 60)
def send_account_link(identifier: str) -> dict:
	"""Send a 24-hour link to the account page to the e-mail or cell phone on file.

	Always answers ``{"sent": true, "message": ...}``, whether or not a customer has it, and sends
	at most 3 links per identifier per 15 minutes."""
	from gigafibre_fsm.customers import account

	return account.send_link(identifier)


# The account page's own methods: the link token (scope "account") proves the customer.


@frappe.whitelist(allow_guest=True, methods=["GET", "POST"])
@text_arguments("token", max_length=512)
@rate_limit(limit=120, seconds=60)
def account_summary(token: str) -> dict:
	from gigafibre_fsm.customers import account

	return account.summary(account.customer_for(token))


@frappe.whitelist(allow_guest=True, methods=["POST"])
@text_arguments("token", "invoice", max_length=512)
@rate_limit(limit=30, seconds=60)
def account_pay(token: str, invoice: str) -> dict:
	"""The Checkout Session of one of the link's customer's invoices."""
	from gigafibre_fsm.customers import account, payments

	customer = account.customer_for(token)
	link = payments.payment_link(account.owned_invoice(customer, invoice))
	return {"url": link.get("url"), "paid": link.get("paid"), "amount": link.get("amount")}


@frappe.whitelist(allow_guest=True, methods=["POST"])
@text_arguments("token", max_length=512)
@rate_limit(limit=10, seconds=60)
def account_save_card(token: str) -> dict:
	"""A SetupIntent to save a card for autopay (``client_secret`` for Stripe.js)."""
	from gigafibre_fsm.customers import account, payments

	return payments.setup_card(account.customer_for(token))


@frappe.whitelist(allow_guest=True, methods=["GET"])
@text_arguments("token", "invoice", max_length=512)
@rate_limit(limit=30, seconds=60)
def account_invoice_pdf(token: str, invoice: str) -> None:
	"""The PDF of one of the link's customer's invoices (print format "Gigafibre Invoice" when it
	exists)."""
	from gigafibre_fsm.customers import account

	name = account.owned_invoice(account.customer_for(token), invoice)
	fmt = "Gigafibre Invoice" if frappe.db.exists("Print Format", "Gigafibre Invoice") else None
	user = frappe.session.user
	frappe.set_user("Administrator")  # the link proved the customer owns it; printing checks desk rights
	try:
		pdf = frappe.get_print("Sales Invoice", name, print_format=fmt, as_pdf=True)
	finally:
		frappe.set_user(user)
	frappe.local.response.filename = f"{name}.pdf"
	frappe.local.response.filecontent = pdf
	frappe.local.response.type = "pdf"
