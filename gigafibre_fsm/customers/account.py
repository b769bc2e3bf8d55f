"""The customer's account page ``/compte/<token>`` and its links (core/tokens.py tokens).

- Account links: scope ``account``, subject the Customer, 24 hours (FACTS), version = the
  customer's ``gigafibre_account_link_version`` (:func:`revoke` bumps it: every link issued before
  is refused). :func:`send_link` answers the same whatever was typed and whether or not a
  customer has it; at most 3 links per identifier per 15 minutes (counted for unknown ones too);
  the SMS or e-mail goes out from a background job, so its time does not show in the answer.
- Pay links: scope ``pay``, subject the Sales Invoice, 45 days (long enough for the +15 days
  reminder), no revocation counter (an invoice that is paid simply has nothing left to pay):
  ``/payer/<token>`` opens the invoice's Checkout Session. Reminders and print formats use
  :func:`pay_url`.
- :func:`summary`: what the page shows, for one customer only: balance, submitted invoices,
  payments, active services, the saved card (brand, last 4 digits, expiry). Every query filters on
  that customer.
"""

from __future__ import annotations

import time
from datetime import timedelta

import frappe
from frappe import _
from frappe.utils import flt, get_url

from gigafibre_fsm.core import tokens
from gigafibre_fsm.core.billing.payments import account_identifier
from gigafibre_fsm.customers.saved_cards import card_view
from gigafibre_fsm.exceptions import ForbiddenError
from gigafibre_fsm.settings import get_settings

SCOPE = "account"
TTL = timedelta(hours=24)
PAY_SCOPE = "pay"
PAY_TTL = timedelta(days=45)
REQUESTS_PER_IDENTIFIER = 3
REQUEST_WINDOW = 15 * 60
MAX_ROWS = 50
LOG = "gigafibre_fsm.account"
SMS_BODY = "Gigafibre : votre compte / your account : {url} (valide 24 h / valid 24 h)"


class AccountLinkError(ForbiddenError):
	"""The account or pay link was refused (one message for every reason)."""


def _secret() -> str:
	secret = get_settings().token_secret
	if not secret:
		raise tokens.TokenMalformed("no secret")
	return secret


def _refused():
	frappe.throw(
		_("This link has expired or is no longer valid. Ask for a new one."),
		AccountLinkError,
		title=_("Link expired"),
	)


# -- account links ---------------------------------------------------------------------------


def issue(customer: str) -> str:
	version = frappe.db.get_value("Customer", customer, "gigafibre_account_link_version") or 0
	return tokens.issue(_secret(), subject=customer, scope=SCOPE, now=time.time(), ttl=TTL, version=version)


def link_for(customer: str) -> str:
	return get_url(f"/compte/{issue(customer)}")


def customer_for(token: str) -> str:
	"""The customer an account token proves, or AccountLinkError (same message for every failure)."""
	try:
		secret = _secret()
		claims = tokens.verify(secret, str(token or ""), scope=SCOPE, now=time.time())
		version = frappe.db.get_value("Customer", claims.subject, "gigafibre_account_link_version")
		if version is None:
			raise tokens.TokenRevoked("no such customer")
		tokens.verify(secret, token, scope=SCOPE, now=time.time(), current_version=version or 0)
		return claims.subject
	except tokens.TokenRejected as e:
		frappe.logger(LOG).info(
			{
				"event": "account_token_refused",
				"reason": e.reason,
				"ip": getattr(frappe.local, "request_ip", None),
			}
		)
	_refused()


def revoke(customer: str) -> int:
	"""Refuse every account link issued to ``customer`` so far."""
	version = (frappe.db.get_value("Customer", customer, "gigafibre_account_link_version") or 0) + 1
	frappe.db.set_value("Customer", customer, "gigafibre_account_link_version", version)
	return version


def _count_request(key: str) -> int:
	cache_key = frappe.cache.make_key(f"gigafibre_fsm:account_link:{key}")
	frappe.cache.set(cache_key, 0, ex=REQUEST_WINDOW, nx=True)
	return int(frappe.cache.incr(cache_key))


def _find_customer(kind: str, value: str) -> tuple[str | None, str | None]:
	"""(customer, where to send) for an e-mail or 10 phone digits on file; the same two queries
	whatever is found."""
	from gigafibre_fsm.core.otp import phones_match

	if kind == "email":
		rows = frappe.get_all(
			"Customer",
			filters={"email_billing": value, "disabled": 0},
			fields=["name", "email_billing"],
			limit=2,
		)
		if len(rows) == 1:
			return rows[0].name, rows[0].email_billing
		return None, None
	pattern = f"%{value[-4:]}" if kind == "phone" else "%-none-"
	rows = frappe.get_all(
		"Customer",
		filters={"cell_phone": ["like", pattern], "disabled": 0},
		fields=["name", "cell_phone"],
		limit=200,
	)
	matches = [r for r in rows if kind == "phone" and phones_match(value, r.cell_phone)]
	if len(matches) == 1:  # a number shared by two accounts is not enough to tell which
		return matches[0].name, matches[0].cell_phone
	return None, None


def send_link(identifier: str) -> dict:
	"""Send an account link to the e-mail or cell phone on file; always the same answer."""
	ident = account_identifier(identifier)
	within_limit = _count_request(ident.key) <= REQUESTS_PER_IDENTIFIER
	customer, to = _find_customer(ident.kind, ident.value) if ident.kind else _find_customer("", "")
	send = bool(customer and to and within_limit)
	frappe.logger(LOG).info(
		{
			"event": "account_link_request",
			"sent": send,
			"limited": not within_limit,
			"ip": getattr(frappe.local, "request_ip", None),
		}
	)
	if send:
		frappe.enqueue(
			"gigafibre_fsm.customers.account.deliver_link",
			queue="short",
			now=bool(frappe.flags.in_test),
			enqueue_after_commit=not frappe.flags.in_test,
			customer=customer,
			channel=ident.kind,
			to=to,
		)
	return link_requested()


def link_requested() -> dict:
	return {
		"sent": True,
		"message": _(
			"If this e-mail or cell phone number is on file, a link to your account was sent. It is valid for 24 hours."
		),
	}


def deliver_link(customer: str, channel: str, to: str) -> None:
	"""Send the link (a background job). A failure is logged without the link."""
	url = link_for(customer)
	if channel == "phone":
		from gigafibre_fsm.connectors.errors import ConnectorError
		from gigafibre_fsm.connectors.twilio import send_sms
		from gigafibre_fsm.core.comms.phones import to_e164

		number = to_e164(to)
		if not number:
			return
		try:
			send_sms(get_settings().twilio, number, SMS_BODY.format(url=url))
		except ConnectorError as e:
			frappe.log_error(
				title="Account link SMS failed", message=f"{type(e).__name__}: {e}".replace(url, "…")
			)
		return
	frappe.sendmail(
		recipients=[to],
		subject="Gigafibre : votre compte / your account",
		message=(
			f"<p>Bonjour,</p><p>Voici le lien vers votre compte Gigafibre (valide 24 heures) :<br>"
			f'<a href="{url}">{url}</a></p><hr><p lang="en">Hello,</p><p lang="en">Here is the link to '
			f'your Gigafibre account (valid for 24 hours):<br><a href="{url}">{url}</a></p>'
		),
		delayed=True,
		reference_doctype="Customer",
		reference_name=customer,
	)


# -- pay links -------------------------------------------------------------------------------


def pay_url(invoice: str) -> str:
	"""A link that opens ``invoice``'s Checkout Session (valid 45 days), for reminders and prints."""
	token = tokens.issue(_secret(), subject=invoice, scope=PAY_SCOPE, now=time.time(), ttl=PAY_TTL)
	return get_url(f"/payer/{token}")


def invoice_for_pay_token(token: str) -> str:
	try:
		return tokens.verify(_secret(), str(token or ""), scope=PAY_SCOPE, now=time.time()).subject
	except tokens.TokenRejected as e:
		frappe.logger(LOG).info({"event": "pay_token_refused", "reason": e.reason})
	_refused()


# -- what the page shows -----------------------------------------------------------------------


def owned_invoice(customer: str, invoice: str) -> str:
	"""``invoice`` if it is a submitted invoice of ``customer``; the same refusal otherwise."""
	row = frappe.db.get_value(
		"Sales Invoice", str(invoice or "")[:140], ["customer", "docstatus"], as_dict=True
	)
	if not row or row.customer != customer or row.docstatus != 1:
		frappe.throw(_("Invoice not found"), frappe.DoesNotExistError)
	return invoice


def summary(customer: str) -> dict:
	"""The account of one customer: balance, invoices, payments, active services, card."""
	cust = frappe.db.get_value(
		"Customer",
		customer,
		[
			"name",
			"customer_name",
			"language",
			"gigafibre_autopay",
			"gigafibre_payment_method",
			"gigafibre_card_brand",
			"gigafibre_card_last4",
			"gigafibre_card_exp_month",
			"gigafibre_card_exp_year",
		],
		as_dict=True,
	)
	invoices = frappe.get_all(
		"Sales Invoice",
		filters={"customer": customer, "docstatus": 1},
		fields=[
			"name",
			"posting_date",
			"due_date",
			"grand_total",
			"outstanding_amount",
			"status",
			"is_return",
			"currency",
		],
		order_by="posting_date desc, name desc",
		limit=MAX_ROWS,
	)
	open_total = frappe.get_all(
		"Sales Invoice",
		filters={"customer": customer, "docstatus": 1, "outstanding_amount": ["!=", 0]},
		fields=["outstanding_amount"],
		limit=1000,
	)
	payments = frappe.get_all(
		"Payment Entry",
		filters={"party_type": "Customer", "party": customer, "docstatus": 1},
		fields=["name", "posting_date", "payment_type", "paid_amount", "reference_no", "mode_of_payment"],
		order_by="posting_date desc, name desc",
		limit=MAX_ROWS,
	)
	services = frappe.get_all(
		"Service Subscription",
		filters={"customer": customer, "status": "Actif"},
		fields=[
			"name",
			"plan",
			"plan_name",
			"monthly_price",
			"billing_cycle",
			"service_location",
			"start_date",
		],
		order_by="start_date asc",
		limit=MAX_ROWS,
	)
	return {
		"customer": cust.name,
		"customer_name": cust.customer_name,
		"language": (cust.language or "fr")[:2],
		"currency": "CAD",
		"balance": flt(sum(flt(r.outstanding_amount) for r in open_total), 2),
		"invoices": [
			{
				"name": r.name,
				"date": str(r.posting_date),
				"due_date": str(r.due_date) if r.due_date else None,
				"total": flt(r.grand_total, 2),
				"outstanding": flt(r.outstanding_amount, 2),
				"status": r.status,
				"credit_note": bool(r.is_return),
			}
			for r in invoices
		],
		"payments": [
			{
				"name": r.name,
				"date": str(r.posting_date),
				"amount": flt(r.paid_amount, 2) * (-1 if r.payment_type == "Pay" else 1),
				"method": "card"
				if (r.reference_no or "").startswith(("pi_", "ch_", "re_"))
				else (r.mode_of_payment or ""),
			}
			for r in payments
		],
		"services": [
			{
				"name": r.name,
				"plan": r.plan,
				"plan_name": r.plan_name or r.plan,
				"monthly_price": flt(r.monthly_price, 2),
				"billing_cycle": r.billing_cycle,
				"address": frappe.db.get_value("Service Location", r.service_location, "address_line")
				if r.service_location
				else None,
			}
			for r in services
		],
		"autopay": {
			"enabled": bool(cust.gigafibre_autopay),
			"card_saved": bool(cust.gigafibre_payment_method),
			"card": card_view(cust),
		},
	}
