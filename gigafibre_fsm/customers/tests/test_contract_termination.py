"""Contract termination in a real bench, through the endpoints: Quebec's two examples, a real
submitted Sales Invoice, subscriptions cancelled, equipment listed, flows started once, refusals,
all or nothing."""

from datetime import timedelta

import frappe
from frappe.utils import getdate

from gigafibre_fsm.api import customers as api
from gigafibre_fsm.customers import contract_termination, signing
from gigafibre_fsm.customers.tests.contract_case import TEMPLATE, ContractCase, quebec_taxes, terminated_runs
from gigafibre_fsm.exceptions import ConflictError, GigafibreValidationError
from gigafibre_fsm.flows import fire
from gigafibre_fsm.test_utils import (
	default_company,
	make_contract,
	make_quotation,
	make_template,
	step,
	unique,
)


class TestTermination(ContractCase):
	def setUp(self):
		super().setUp()
		self.flow = make_template(
			[step("s1", "create_todo", {"description": "Reprendre l'équipement de {{doc.name}}"})],
			applies_to="Service Contract",
			trigger_event="on_contract_terminated",
		)
		self.taxes = quebec_taxes()
		self.income, self.cost_center = frappe.get_cached_value(
			"Company", default_company(), ["default_income_account", "cost_center"]
		)

	def equipment(self, status: str, location: str | None = None) -> str:
		return (
			frappe.get_doc(
				{
					"doctype": "Service Equipment",
					"equipment_type": "Modem",
					"serial_no": unique("GF"),
					"status": status,
					"customer": self.customer.name,
					"service_location": location or self.location.name,
				}
			)
			.insert(ignore_permissions=True)
			.name
		)

	def test_free_modem_cancelled_in_month_22_pays_25(self):
		quote = make_quotation(
			self.customer.name,
			[(self.plan, 30, 30), (self.modem, 300, 0)],
			taxes_and_charges=self.taxes,
		)
		name = self.signed_from(quote.name, months_ago=21)
		modem = self.equipment("Active")
		self.equipment("Returned")
		today = str(getdate())

		preview = api.preview_termination(name, today)
		self.assertEqual((preview["fee"], preview["rule"]), ("25.00", "device_rebate"))
		self.assertEqual((preview["months_elapsed"], preview["months_left"]), (22, 2))
		self.assertIn("300.00 $ - 300.00 $ × 22 ÷ 24 = 25.00 $", preview["text"])
		self.assertEqual(frappe.db.get_value("Service Contract", name, "status"), "Signé")  # nothing written

		done = api.terminate_contract(name, today, "Déménagement hors territoire")
		self.assertEqual((done["fee"], done["status"]), ("25.00", "Résilié"))
		self.assertEqual([e["name"] for e in done["equipment_to_return"]], [modem])
		invoice = self.fee_invoice(done)
		self.assertEqual((invoice.customer, invoice.company), (self.customer.name, default_company()))
		self.assertEqual(invoice.taxes_and_charges, self.taxes)
		self.assertAlmostEqual(invoice.net_total, 25.00, places=2)
		self.assertEqual([round(t.tax_amount, 2) for t in invoice.taxes], [1.25, 2.49])
		self.assertAlmostEqual(invoice.grand_total, 28.74, places=2)
		if invoice.docstatus == 1:
			self.assertAlmostEqual(invoice.outstanding_amount, 28.74, places=2)
		(line,) = invoice.items
		self.assertEqual((line.item_code, line.qty, line.rate), (contract_termination.FEE_ITEM, 1, 25))
		self.assertEqual((line.income_account, line.cost_center), (self.income, self.cost_center))
		self.assert_terminated(name, today, "Déménagement hors territoire", 25, invoice.name)

		with self.assertRaises(ConflictError):
			api.terminate_contract(name, today, "Encore")
		frappe.clear_messages()
		with self.assertRaises(ConflictError):
			api.preview_termination(name, today)
		frappe.clear_messages()
		self.assertEqual(frappe.db.count("Sales Invoice", {"customer": self.customer.name}), 1)
		self.assertEqual(terminated_runs(name, self.flow.name), 1)
		fire("on_contract_terminated", frappe.get_doc("Service Contract", name))  # an event happens once
		self.assertEqual(terminated_runs(name, self.flow.name), 1)
		status = api.get_contract_status(name)
		self.assertEqual((status["status"], status["termination_fee"]), ("Résilié", "25.00"))
		self.assertEqual(status["terminated_on"], today)

	def test_12_months_at_30_without_rebate_cancelled_in_month_7_pays_15(self):
		contract = make_contract(self.customer.name, duration_months=12, service_location=self.location.name)
		frappe.get_doc(
			{
				"doctype": "Service Subscription",
				"customer": self.customer.name,
				"service_location": self.location.name,
				"service_contract": contract.name,
				"plan": self.plan,
				"monthly_price": 30,
			}
		).insert(ignore_permissions=True)
		signing.mark_signed(contract.name, signing.SOURCE_LINK)
		start = self.start(contract.name, months_ago=6)
		# no quotation: the company's default template (made the Quebec one for this test)
		before = frappe.get_all(TEMPLATE, {"company": default_company()}, ["name", "is_default"])
		self.addCleanup(
			lambda: [frappe.db.set_value(TEMPLATE, t.name, "is_default", t.is_default) for t in before]
		)
		for t in before:
			frappe.db.set_value(TEMPLATE, t.name, "is_default", int(t.name == self.taxes))
		today = str(getdate())

		with self.assertRaises(GigafibreValidationError) as caught:
			api.preview_termination(contract.name, str(start - timedelta(days=1)))
		self.assertIn("cannot be before the contract start", str(caught.exception))
		with self.assertRaises(GigafibreValidationError):
			api.terminate_contract(contract.name, str(start - timedelta(days=1)), "Trop tôt")
		for bad in ("demain", "2026-13-01", "", "06/12/2026"):
			with self.assertRaises(GigafibreValidationError):
				api.preview_termination(contract.name, bad)
		frappe.clear_messages()
		self.assertEqual(frappe.db.get_value("Service Contract", contract.name, "status"), "Signé")

		preview = api.preview_termination(contract.name, today)
		self.assertEqual((preview["fee"], preview["rule"]), ("15.00", "services_not_supplied"))
		self.assertEqual((preview["months_elapsed"], preview["months_left"]), (7, 5))
		done = api.terminate_contract(contract.name, today, "Service insatisfaisant")
		invoice = self.fee_invoice(done)
		self.assertAlmostEqual(invoice.net_total, 15.00, places=2)
		self.assertEqual([round(t.tax_amount, 2) for t in invoice.taxes], [0.75, 1.50])
		self.assertAlmostEqual(invoice.grand_total, 17.25, places=2)
		self.assert_terminated(contract.name, today, "Service insatisfaisant", 15, invoice.name)

	def test_a_failure_leaves_nothing_written(self):
		quote = make_quotation(self.customer.name, [(self.plan, 30, 30), (self.modem, 300, 0)])
		name = self.signed_from(quote.name, months_ago=3)
		co = default_company()
		frappe.db.set_value("Company", co, "default_income_account", None)
		frappe.clear_document_cache("Company", co)
		self.addCleanup(frappe.clear_document_cache, "Company", co)
		self.addCleanup(frappe.db.set_value, "Company", co, "default_income_account", self.income)
		with self.assertRaises(GigafibreValidationError) as caught:
			contract_termination.terminate_contract(name, getdate(), "Test")
		frappe.clear_messages()
		self.assertIn("has no default income account", str(caught.exception))
		self.assertEqual(frappe.db.get_value("Service Contract", name, "status"), "Signé")
		self.assertEqual(
			frappe.get_all("Service Subscription", {"service_contract": name}, pluck="status"), ["Actif"]
		)
		self.assertEqual(frappe.db.count("Sales Invoice", {"customer": self.customer.name}), 0)
		self.assertEqual(terminated_runs(name), 0)

	def test_an_unsigned_contract_ends_without_a_fee(self):
		quote = make_quotation(self.customer.name, [(self.plan, 30, 30), (self.modem, 300, 0)])
		name = api.create_contract_from_quotation(quote.name)["contract"]
		done = api.terminate_contract(name, str(getdate()), "A changé d'idée")
		self.assertEqual((done["fee"], done["rule"], done["invoice"]), ("0.00", "not_signed", None))
		self.assert_terminated(name, str(getdate()), "A changé d'idée", 0, None)

	def contract_with(self, monthly: float, months_ago: int, **kw) -> str:
		"""A signed contract of the customer with one subscription, started ``months_ago`` ago."""
		contract = make_contract(self.customer.name, service_location=self.location.name, **kw)
		frappe.get_doc(
			{
				"doctype": "Service Subscription",
				"customer": self.customer.name,
				"service_location": self.location.name,
				"service_contract": contract.name,
				"plan": self.plan,
				"monthly_price": monthly,
			}
		).insert(ignore_permissions=True)
		signing.mark_signed(contract.name, signing.SOURCE_LINK)
		self.start(contract.name, months_ago)
		return contract.name

	def test_a_commercial_contract_follows_its_clause(self):
		name = self.contract_with(
			80,
			months_ago=9,  # month 10 of 36: 26 left
			contract_type="Commercial",
			duration_months=36,
			termination_fixed_fee=100,
			termination_percent=50,
			termination_repay_devices=1,
			benefits=[{"description": "Routeur", "kind": "Device", "regular_price": 240, "granted_price": 0}],
		)
		preview = api.preview_termination(name, str(getdate()))
		# 100 $ + 50 % × 80 $ × 26 + 240 $ × 26 ÷ 36 (173.33 $)
		self.assertEqual((preview["fee"], preview["rule"]), ("1313.33", "contract_clause"))
		self.assertEqual((preview["months_elapsed"], preview["months_left"]), (10, 26))
		with self.assertRaises(GigafibreValidationError):
			frappe.get_doc("Service Contract", name).update({"termination_percent": 150}).save()
		frappe.clear_messages()

	def test_a_month_to_month_contract_has_no_fee(self):
		name = self.contract_with(50, months_ago=5, duration_months=0)
		status = api.get_contract_status(name)
		self.assertEqual(
			(status["term_months"], status["months_elapsed"], status["months_left"]), (None, 6, None)
		)
		preview = api.preview_termination(name, str(getdate()))
		self.assertEqual((preview["fee"], preview["rule"]), ("0.00", "no_fixed_term"))
		with self.assertRaises(GigafibreValidationError):
			api.terminate_contract(name, str(getdate()), "   ")
		frappe.clear_messages()
		done = api.terminate_contract(name, str(getdate()), "Fin du service")
		self.assertIsNone(done["invoice"])
		self.assert_terminated(name, str(getdate()), "Fin du service", 0, None)

	def fee_invoice(self, done: dict):
		"""The fee's Sales Invoice, submitted (on both databases)."""
		invoice = frappe.get_doc("Sales Invoice", done["invoice"])
		self.assertTrue(done["invoice_submitted"])
		self.assertEqual(invoice.docstatus, 1)
		return invoice

	def assert_terminated(self, name: str, on: str, reason: str, fee: float, invoice: str | None):
		doc = frappe.get_doc("Service Contract", name)
		self.assertEqual(
			(doc.status, str(doc.terminated_on), doc.termination_reason, doc.termination_fee),
			("Résilié", on, reason, fee),
		)
		self.assertEqual(doc.termination_invoice, invoice)
		subs = frappe.get_all(
			"Service Subscription",
			{"service_contract": name},
			["status", "cancellation_date", "cancellation_reason"],
		)
		self.assertTrue(subs)
		for sub in subs:
			self.assertEqual(
				(sub.status, str(sub.cancellation_date), sub.cancellation_reason), ("Annulé", on, reason)
			)
		self.assertEqual(terminated_runs(name, self.flow.name), 1)
