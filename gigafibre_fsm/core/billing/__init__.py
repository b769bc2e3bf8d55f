"""Pure billing rules: periods, proration, invoice plans, Quebec taxes, autopay decisions.

Modules:
	periods     the three cycles billed in advance on the customer's billing day (29–31 clamp)
	proration   one proration rule (the installation chain's, core/dispatch/chains.py, uses it)
	invoices    due periods, lines with exactly-once keys, one plan per customer and due date
	values      the subscriptions, credits, lines and plans those rules take and give
	taxes       TPS 5 % and TVQ 9.975 % rounded as ERPNext's taxes_and_totals does
	autopay     charge or skip an invoice with a saved card, and the idempotency key

Nothing here reads the clock: ``as_of`` and ``now`` are arguments. Errors are core errors
(InvalidInput, Conflict) with English templates; line descriptions and skip reasons are English
templates with params for the Frappe layer to translate.
"""

from gigafibre_fsm.core.billing.autopay import (
	Attempt,
	AutopayDecision,
	AutopayInvoice,
	PaymentMethod,
	decide_autopay,
	idempotency_key,
	to_cents,
)
from gigafibre_fsm.core.billing.invoices import due_lines, due_periods, plan_invoices
from gigafibre_fsm.core.billing.periods import (
	CYCLE_MONTHS,
	Period,
	billing_date,
	next_billing_date,
	period_for,
)
from gigafibre_fsm.core.billing.proration import Proration, prorate
from gigafibre_fsm.core.billing.taxes import (
	QUEBEC_TAXES,
	TPS,
	TVQ,
	Tax,
	TaxSummary,
	compute_taxes,
	round_cents,
)
from gigafibre_fsm.core.billing.values import (
	BillableSubscription,
	Credit,
	CreditUse,
	DuePeriod,
	InvoiceLine,
	InvoicePlan,
	LocationGroup,
	PlanChange,
	line_key,
)

__all__ = [
	"CYCLE_MONTHS",
	"QUEBEC_TAXES",
	"TPS",
	"TVQ",
	"Attempt",
	"AutopayDecision",
	"AutopayInvoice",
	"BillableSubscription",
	"Credit",
	"CreditUse",
	"DuePeriod",
	"InvoiceLine",
	"InvoicePlan",
	"LocationGroup",
	"PaymentMethod",
	"Period",
	"PlanChange",
	"Proration",
	"Tax",
	"TaxSummary",
	"billing_date",
	"compute_taxes",
	"decide_autopay",
	"due_lines",
	"due_periods",
	"idempotency_key",
	"line_key",
	"next_billing_date",
	"period_for",
	"plan_invoices",
	"prorate",
	"round_cents",
	"to_cents",
]
