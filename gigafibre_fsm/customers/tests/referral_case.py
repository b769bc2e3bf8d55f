"""Shared by the referral tests (test_referrals, test_referral_credits): customers with codes,
service locations, taxed draft Sales Invoices, quotations, and the base test case."""

import frappe
from frappe.utils import add_days, today

from gigafibre_fsm.customers import referral_credits, referrals
from gigafibre_fsm.exceptions import GigafibreValidationError
from gigafibre_fsm.test_utils import make_contract, make_customer, make_plan_item, make_subscription
from gigafibre_fsm.testing import IntegrationTestCase

CODE = referrals.CODE_FIELD


def code_of(customer: str) -> str:
	return frappe.db.get_value("Customer", customer, CODE)


def make_location(customer: str, address_line: str, city: str = "Sainte-Clotilde"):
	return frappe.get_doc(
		{"doctype": "Service Location", "customer": customer, "address_line": address_line, "city": city}
	).insert(ignore_permissions=True)


def activate(sub) -> None:
	sub.reload()
	sub.status = "Actif"
	sub.start_date = sub.start_date or today()
	sub.save(ignore_permissions=True)


def company() -> str:
	return frappe.defaults.get_user_default("Company") or frappe.db.get_single_value(
		"Global Defaults", "default_company"
	)


def tax_account(label: str) -> str:
	"""A tax account of the test company (made once)."""
	co = company()
	abbr = frappe.get_cached_value("Company", co, "abbr")
	name = f"{label} - {abbr}"
	if not frappe.db.exists("Account", name):
		parent = frappe.db.get_value(
			"Account", {"company": co, "root_type": "Liability", "is_group": 1}, "name", order_by="lft desc"
		)
		frappe.get_doc(
			{
				"doctype": "Account",
				"account_name": label,
				"company": co,
				"parent_account": parent,
				"account_type": "Tax",
				"is_group": 0,
			}
		).insert(ignore_permissions=True)
	return name


def draft_invoice(customer: str, amount: float, *, taxes: bool = True, posting_date=None):
	"""An unsaved Sales Invoice of one plan line at ``amount``, with TPS 5 % and TVQ 9.975 %
	on the net total, as the billing run drafts it."""
	co = company()
	income = frappe.get_cached_value("Company", co, "default_income_account")
	si = frappe.new_doc("Sales Invoice")
	si.customer = customer
	si.company = co
	si.posting_date = posting_date or today()
	si.set_posting_time = 1
	si.due_date = si.posting_date
	si.append(
		"items",
		{
			"item_code": make_plan_item(),
			"qty": 1,
			"rate": amount,
			"income_account": income,
			"description": "Fibre",
		},
	)
	if taxes:
		for label, rate in (("TPS", 5), ("TVQ", 9.975)):
			si.append(
				"taxes",
				{
					"charge_type": "On Net Total",
					"account_head": tax_account(label),
					"rate": rate,
					"description": label,
				},
			)
	si.flags.ignore_permissions = True
	si.set_missing_values()
	for item in si.items:  # a price list must not override the billed amount
		item.rate = amount
		item.price_list_rate = amount
		item.discount_percentage = 0
		item.income_account = income
	return si


def make_quotation(party: str, code: str | None, quotation_to: str = "Customer"):
	return frappe.get_doc(
		{
			"doctype": "Quotation",
			"quotation_to": quotation_to,
			"party_name": party,
			"company": company(),
			"transaction_date": today(),
			"valid_till": add_days(today(), 30),
			"referral_code": code,
			"items": [{"item_code": make_plan_item(), "qty": 1, "rate": 50}],
		}
	).insert(ignore_permissions=True)


def credit_lines(si) -> list:
	return [d for d in si.items if d.get(referrals.LINE_FIELD)]


class ReferralCase(IntegrationTestCase):
	def setUp(self):
		frappe.set_user("Administrator")
		referral_credits.allow_credit_lines()

	def refer(self, referrer=None, referred=None, **kw):
		"""A referred customer's contract carrying the referrer's code: (referrer, referred, contract)."""
		referrer = referrer or make_customer()
		referred = referred or make_customer()
		contract = make_contract(referred.name, referral_code=code_of(referrer.name), **kw)
		return referrer, referred, contract

	def granted(self):
		"""A referrer whose referred customer is active: (referrer, referral)."""
		referrer, referred, _contract = self.refer()
		activate(make_subscription(referred.name))
		(credit,) = referral_credits.pending_credits(referrer.name)
		return referrer, credit["referral"]

	def assert_refused(self, message: str, fn, *args, **kw):
		with self.assertRaises(GigafibreValidationError) as ctx:
			fn(*args, **kw)
		self.assertEqual(ctx.exception.http_status_code, 417)
		self.assertIn(message, str(ctx.exception))
