"""The ``payment_link`` flow step kind (registered through gigafibre_flow_step_kinds).

On a Sales Invoice run: a pay link (gigafibre_fsm.customers.account.pay_url, valid 45 days) in the
step's output as ``url``, with the amount still due as ``outstanding``, for the messages of the
steps after it (``{{steps.s1.url}}``). It calls nothing outside: the Checkout Session is made when
the customer opens the link.
"""

from __future__ import annotations

import frappe
from frappe import _
from frappe.utils import flt

from gigafibre_fsm.core.flows.catalog import PAYMENT_LINK
from gigafibre_fsm.core.flows.engine import Outcome


def kinds() -> dict:
	return {"payment_link": (PAYMENT_LINK, payment_link)}


def payment_link(ctx) -> Outcome:
	from gigafibre_fsm.customers.account import pay_url

	if ctx.run.reference_doctype != "Sales Invoice":
		return Outcome.fail(_("A payment link step only runs on a Sales Invoice"))
	invoice = ctx.run.reference_name
	outstanding = frappe.db.get_value("Sales Invoice", invoice, "outstanding_amount")
	return Outcome.done({"url": pay_url(invoice), "outstanding": f"{flt(outstanding, 2):.2f}"})
