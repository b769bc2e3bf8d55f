"""Shared by the contract tests (test_contracts, test_contract_termination): Quebec's taxes, the
flow runs a termination starts, and the base test case (signed contracts started months ago)."""

import frappe
from frappe.utils import getdate

from gigafibre_fsm.api import customers as api
from gigafibre_fsm.core.contracts import add_months
from gigafibre_fsm.customers import signing
from gigafibre_fsm.customers.tests.test_signing import SigningCase
from gigafibre_fsm.test_utils import default_company, make_item, make_location, unique

TEMPLATE = "Sales Taxes and Charges Template"


def quebec_taxes() -> str:
	"""A TPS 5 % + TVQ 9.975 % template of the company (not its default)."""
	co = default_company()
	parent = frappe.db.get_value("Account", {"company": co, "account_type": "Tax", "is_group": 1}, "name")
	accounts = []
	for label, rate in (("TPS", 5), ("TVQ", 9.975)):
		accounts.append(
			frappe.get_doc(
				{
					"doctype": "Account",
					"account_name": unique(label),
					"parent_account": parent,
					"company": co,
					"account_type": "Tax",
					"tax_rate": rate,
				}
			)
			.insert(ignore_permissions=True)
			.name
		)
	return (
		frappe.get_doc(
			{
				"doctype": TEMPLATE,
				"title": unique("Québec"),
				"company": co,
				"taxes": [
					{
						"charge_type": "On Net Total",
						"account_head": accounts[0],
						"description": "TPS",
						"rate": 5,
					},
					{
						"charge_type": "On Net Total",
						"account_head": accounts[1],
						"description": "TVQ",
						"rate": 9.975,
					},
				],
			}
		)
		.insert(ignore_permissions=True)
		.name
	)


def terminated_runs(contract: str, template: str | None = None) -> int:
	filters = {
		"trigger_event": "on_contract_terminated",
		"reference_doctype": "Service Contract",
		"reference_name": contract,
	}
	if template:  # each test of the class adds a template of its own
		filters["template"] = template
	return frappe.db.count("Flow Run", filters)


class ContractCase(SigningCase):
	def setUp(self):
		super().setUp()
		self.location = make_location(self.customer.name)
		self.plan = make_item(down=500, up=100, name="FIBRE")
		self.modem = make_item(stock=True, name="MODEM")
		self.install = make_item(name="INSTALL")

	def signed_from(self, quotation: str, months_ago: int) -> str:
		"""The contract of ``quotation``, signed, started ``months_ago`` months before today."""
		name = api.create_contract_from_quotation(quotation)["contract"]
		signing.mark_signed(name, signing.SOURCE_LINK)
		self.start(name, months_ago)
		return name

	def start(self, contract: str, months_ago: int):
		start = add_months(getdate(), -months_ago)
		frappe.db.set_value("Service Contract", contract, {"start_date": start, "end_date": None})
		frappe.get_doc("Service Contract", contract).save()  # the end date from the term
		for sub in frappe.get_all("Service Subscription", {"service_contract": contract}, pluck="name"):
			frappe.db.set_value("Service Subscription", sub, {"status": "Actif", "start_date": start})
		return start
