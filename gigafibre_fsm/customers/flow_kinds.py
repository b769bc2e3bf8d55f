"""The ``payment_link`` and ``account_link`` flow step kinds (registered through
gigafibre_flow_step_kinds).

On a Sales Invoice run: a pay link (gigafibre_fsm.customers.account.pay_url, valid 45 days) in the
step's output as ``url``, with the amount still due as ``outstanding``, for the messages of the
steps after it (``{{steps.s1.url}}``). It calls nothing outside: the Checkout Session is made when
the customer opens the link.

On a Customer run, ``account_link``: a link to their account page ``/compte/<token>`` (valid 24
hours, gigafibre_fsm.customers.account.link_for) as ``url``, e.g. to save a new card.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import flt

from gigafibre_fsm.core.flows.catalog import ACCOUNT_LINK, PAYMENT_LINK
from gigafibre_fsm.core.flows.engine import Outcome


def kinds() -> dict:
	return {"payment_link": (PAYMENT_LINK, payment_link), "account_link": (ACCOUNT_LINK, account_link)}


def payment_link(ctx) -> Outcome:
	from gigafibre_fsm.customers.account import pay_url

	if ctx.run.reference_doctype != "Sales Invoice":
		return Outcome.fail(_("A payment link step only runs on a Sales Invoice"))
	invoice = ctx.run.reference_name
	outstanding = frappe.db.get_value("Sales Invoice", invoice, "outstanding_amount")
	return Outcome.done({"url": pay_url(invoice), "outstanding": f"{flt(outstanding, 2):.2f}"})


def account_link(ctx) -> Outcome:
	from gigafibre_fsm.customers.account import link_for

	if ctx.run.reference_doctype != "Customer":
		return Outcome.fail(_("An account link step only runs on a Customer"))
	return Outcome.done({"url": link_for(ctx.run.reference_name)})
