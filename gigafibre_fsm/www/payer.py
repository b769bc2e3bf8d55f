"""The pay link ``/payer/<token>`` (hooks: website_route_rules) sent in reminders and printed on
invoices: it opens the invoice's Stripe Checkout Session (made or reused by
gigafibre_fsm.customers.payments.payment_link) with a redirect. A paid invoice or a refused link
renders a short bilingual page instead.
"""

from __future__ import annotations

import re

import frappe

no_cache = 1
sitemap = 0

_NOT_TOKEN = re.compile(r"[^A-Za-z0-9_.\-]")


def get_context(context):
	from gigafibre_fsm.customers import account, payments

	context.no_cache = 1
	context.no_header = 1
	context.no_breadcrumbs = 1
	context.title = "Gigafibre"
	token = _NOT_TOKEN.sub("", str(frappe.form_dict.get("token") or ""))[:1024]
	try:
		invoice = account.invoice_for_pay_token(token)
		link = payments.payment_link(invoice)
	except (account.AccountLinkError, frappe.ValidationError, frappe.DoesNotExistError):
		frappe.clear_messages()
		context.state = "invalid"
		return context
	if link.get("url"):
		frappe.local.flags.commit = True  # keep the session id stored on the invoice (a GET)
		frappe.local.flags.redirect_location = link["url"]
		raise frappe.Redirect(302)
	context.state = "paid"
	return context
