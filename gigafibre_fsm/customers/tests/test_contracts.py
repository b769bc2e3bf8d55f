"""Service contracts in a real bench: a submitted quotation becomes a contract sent for signature
(once), the contract view, and termination through the endpoints (Quebec's two examples, a real
submitted Sales Invoice, subscriptions cancelled, equipment listed, flows started once, refusals,
all or nothing)."""

import threading
from datetime import timedelta

import frappe
from frappe.utils import getdate

from gigafibre_fsm.api import customers as api
from gigafibre_fsm.core.contracts import add_months
from gigafibre_fsm.customers import contract_termination, contracts, signing
from gigafibre_fsm.customers.tests.test_signing import SigningCase
from gigafibre_fsm.exceptions import ConflictError, ForbiddenError, GigafibreValidationError
from gigafibre_fsm.fakepeers.docuseal import FakeDocuSeal
from gigafibre_fsm.flows import fire
from gigafibre_fsm.test_utils import (
	GunicornTestCase,
	default_company,
	make_contract,
	make_customer,
	make_item,
	make_location,
	make_quotation,
	make_template,
	make_user,
	settings_for_update,
	step,
	unique,
)

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


class TestQuotationToContract(ContractCase):
	def test_a_quotation_becomes_one_contract_sent_for_signature(self):
		extra = make_item(name="ACTIVATION")
		quote = make_quotation(
			self.customer.name,
			[(self.plan, 50, 30), (self.modem, 300, 0), (self.install, 99, 0), (extra, 10, 10)],
			gigafibre_term_months=36,
		)
		answer = api.create_contract_from_quotation(quote.name)
		self.assertTrue(answer["created"])
		self.assertTrue(answer["sent"])
		self.assertEqual(answer["status"], "Envoyé")
		doc = frappe.get_doc("Service Contract", answer["contract"])
		self.assertEqual(
			(doc.customer, doc.contract_type, doc.service_location, doc.quotation, doc.duration_months),
			(self.customer.name, "Residential", self.location.name, quote.name, 36),
		)
		self.assertEqual(
			sorted((b.kind, b.item, b.regular_price, b.granted_price) for b in doc.benefits),
			sorted(
				[
					("Service", self.plan, 50, 30),
					("Device", self.modem, 300, 0),
					("Fee", self.install, 99, 0),
				]
			),
		)
		self.assertEqual(doc.total_benefit, 20 + 300 + 99)
		(sub,) = [frappe.get_doc("Service Subscription", s) for s in answer["subscriptions"]]
		self.assertEqual(
			(sub.status, sub.plan, sub.monthly_price, sub.download_mbps, sub.upload_mbps),
			("En attente", self.plan, 30, 500, 100),
		)
		self.assertEqual((sub.customer, sub.service_location), (self.customer.name, self.location.name))
		(sms,) = self.twilio.sent
		self.assertEqual(sms["to"], self.phone)
		self.assertIn(doc.name, sms["body"])
		self.assertIn("/c/", sms["body"])

		again = api.create_contract_from_quotation(quote.name)
		self.assertEqual(again["contract"], doc.name)
		self.assertFalse(again["created"])
		self.assertFalse(again["sent"])
		self.assertEqual(len(self.twilio.sent), 1)
		self.assertEqual(frappe.db.count("Service Contract", {"quotation": quote.name}), 1)
		self.assertEqual(frappe.db.count("Service Subscription", {"service_contract": doc.name}), 1)
		signing.mark_signed(doc.name, signing.SOURCE_LINK)
		self.assertEqual(api.create_contract_from_quotation(quote.name)["status"], "Signé")
		self.assertEqual(len(self.twilio.sent), 1)

	def test_a_company_gets_a_commercial_contract_through_docuseal(self):
		peer = FakeDocuSeal().start()
		self.addCleanup(peer.stop)
		peer.add_template(template_id=4343)
		settings = settings_for_update()
		settings.update(
			{
				"docuseal_url": f"{peer.url}/api",
				"docuseal_api_key": peer.api_key,
				"docuseal_template_id": 4343,
				"docuseal_submitter_role": "Client",
			}
		)
		settings.save()
		business = make_customer(customer_type="Company", email_billing=f"{unique('b').lower()}@example.com")
		location = make_location(business.name)
		quote = make_quotation(business.name, [(self.plan, 80, 80)])
		answer = api.create_contract_from_quotation(quote.name)
		doc = frappe.get_doc("Service Contract", answer["contract"])
		self.assertEqual(
			(doc.contract_type, doc.status, doc.service_location), ("Commercial", "Envoyé", location.name)
		)
		self.assertIn(int(doc.docuseal_submission), peer.submissions)
		self.assertEqual(doc.duration_months, 24)  # the quotation's default term
		self.assertEqual(len(self.twilio.sent), 0)

	def test_the_location_is_chosen_or_the_call_is_refused(self):
		other = make_customer()
		quote = make_quotation(other.name, [(self.plan, 30, 30)])
		message = self.refused_with(quote.name)
		self.assertIn("has no active Service Location", message)
		first, second = make_location(other.name), make_location(other.name)
		message = self.refused_with(quote.name)
		self.assertIn("several Service Locations", message)
		self.assertIn(first.name, message)
		self.assertEqual(frappe.db.count("Service Contract", {"quotation": quote.name}), 0)
		address = frappe.get_doc(
			{
				"doctype": "Address",
				"address_title": unique("Adresse"),
				"address_line1": "2 rue du Test",
				"city": "Sainte-Clotilde",
				"country": frappe.db.get_value("Country", {}, "name"),
				"links": [{"link_doctype": "Customer", "link_name": other.name}],
			}
		).insert(ignore_permissions=True)
		frappe.db.set_value("Service Location", second.name, "address", address.name)
		at_address = make_quotation(other.name, [(self.plan, 30, 30)], shipping_address_name=address.name)
		self.assertEqual(api.create_contract_from_quotation(at_address.name)["service_location"], second.name)
		chosen = make_quotation(other.name, [(self.plan, 30, 30)], gigafibre_service_location=first.name)
		self.assertEqual(api.create_contract_from_quotation(chosen.name)["service_location"], first.name)
		foreign = make_quotation(
			other.name, [(self.plan, 30, 30)], gigafibre_service_location=self.location.name
		)
		self.assertIn("is not a location of customer", self.refused_with(foreign.name))

	def test_a_draft_quotation_or_one_without_a_plan_is_refused(self):
		draft = make_quotation(self.customer.name, [(self.plan, 30, 30)], submit=False)
		self.assertIn("is not submitted", self.refused_with(draft.name))
		no_plan = make_quotation(self.customer.name, [(self.modem, 300, 0)])
		self.assertIn("has no internet plan", self.refused_with(no_plan.name))
		self.assertEqual(len(self.twilio.sent), 0)
		with self.assertRaises(frappe.DoesNotExistError):
			api.create_contract_from_quotation("SAL-QTN-NOPE")
		frappe.clear_messages()

	def test_roles_without_rights_are_refused(self):
		quote = make_quotation(self.customer.name, [(self.plan, 30, 30)])
		for roles in (["Technician"], ["Dispatcher"]):
			user = make_user(roles)
			frappe.set_user(user.name)
			try:
				with self.assertRaises(ForbiddenError):
					api.create_contract_from_quotation(quote.name)
				for call, args in (
					(api.get_contract_status, (self.contract.name,)),
					(api.preview_termination, (self.contract.name, str(getdate()))),
					(api.terminate_contract, (self.contract.name, str(getdate()), "Test")),
				):
					with self.assertRaises(ForbiddenError):
						call(*args)
			finally:
				frappe.set_user("Administrator")
				frappe.clear_messages()
		self.assertEqual(frappe.db.count("Service Contract", {"quotation": quote.name}), 0)
		self.assertEqual(frappe.db.get_value("Service Contract", self.contract.name, "status"), "Brouillon")

	def refused_with(self, quotation: str) -> str:
		with self.assertRaises(frappe.ValidationError) as caught:
			api.create_contract_from_quotation(quotation)
		frappe.clear_messages()
		return str(caught.exception)


class TestContractStatus(ContractCase):
	def test_months_and_benefits_to_date(self):
		quote = make_quotation(
			self.customer.name, [(self.plan, 50, 30), (self.modem, 300, 0), (self.install, 99, 0)]
		)
		name = self.signed_from(quote.name, months_ago=21)  # month 22 of 24 in progress
		status = api.get_contract_status(name)
		self.assertEqual(
			(status["term_months"], status["months_elapsed"], status["months_left"]), (24, 22, 2)
		)
		self.assertEqual(status["status"], "Signé")
		benefits = {b["kind"]: b for b in status["benefits"]}
		self.assertEqual(
			(benefits["Device"]["value"], benefits["Device"]["recognised"], benefits["Device"]["residual"]),
			("300.00", "275.00", "25.00"),
		)
		self.assertEqual(
			(benefits["Service"]["per_month"], benefits["Service"]["value"], benefits["Service"]["residual"]),
			("20.00", "480.00", "40.00"),
		)
		self.assertEqual((benefits["Fee"]["value"], benefits["Fee"]["residual"]), ("99.00", "8.25"))
		self.assertEqual(status["residual"], "73.25")
		self.assertEqual(status["monthly_price"], "30.00")
		(sub,) = status["subscriptions"]
		self.assertEqual((sub["status"], sub["plan"], sub["monthly_price"]), ("Actif", self.plan, 30))

	def test_a_contract_not_started_has_nothing_elapsed(self):
		quote = make_quotation(self.customer.name, [(self.plan, 30, 30), (self.modem, 300, 0)])
		name = api.create_contract_from_quotation(quote.name)["contract"]
		status = contracts.contract_status(name)
		self.assertEqual((status["start"], status["months_elapsed"], status["months_left"]), (None, 0, 24))
		self.assertEqual(status["residual"], "300.00")
		self.assertEqual(status["subscriptions"][0]["status"], "En attente")


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


class TestContractsOverHttp(GunicornTestCase):
	"""Concurrent calls as the Ops app makes them (gunicorn, 4 workers); what the server must see
	is committed first, under unique names."""

	def race(self, client, method: str, calls: int, **args) -> list[tuple[int, dict]]:
		for _ in range(2):  # the connection is open before the race starts
			self.assertEqual(client.session.get(f"{self.base}/api/method/ping", timeout=300).status_code, 200)
		barrier = threading.Barrier(calls)
		answers: list[tuple[int, dict]] = []

		def call():
			barrier.wait(120)
			answers.append(client.call(f"gigafibre_fsm.api.customers.{method}", **args))

		threads = [threading.Thread(target=call) for _ in range(calls)]
		for t in threads:
			t.start()
		for t in threads:
			t.join(600)
		frappe.db.rollback()  # a fresh snapshot of what the server committed
		self.assertEqual(len(answers), calls)
		self.assertEqual([s for s, _ in answers if s >= 500], [], answers)
		return answers

	def test_one_contract_per_quotation_and_one_termination_under_concurrency(self):
		customer = make_customer()  # no phone nor e-mail: nothing leaves the machine
		location = make_location(customer.name)
		quote = make_quotation(
			customer.name, [(make_item(down=300), 45, 45), (make_item(stock=True), 200, 0)]
		)
		client = self.client(make_user(["Customer Service"]).name)
		frappe.db.commit()

		answers = self.race(client, "create_contract_from_quotation", 4, quotation=quote.name)
		self.assertEqual([s for s, _ in answers], [200] * 4, answers)
		(contract,) = {body["message"]["contract"] for _, body in answers}
		self.assertEqual(sum(body["message"]["created"] for _, body in answers), 1)
		self.assertEqual(frappe.db.count("Service Contract", {"quotation": quote.name}), 1)
		self.assertEqual(frappe.db.count("Service Subscription", {"service_contract": contract}), 1)
		self.assertEqual(frappe.db.get_value("Service Contract", contract, "service_location"), location.name)

		signing.mark_signed(contract, signing.SOURCE_LINK)
		start = add_months(getdate(), -21)
		frappe.db.set_value("Service Contract", contract, "start_date", start)
		frappe.db.set_value(
			"Service Subscription", {"service_contract": contract}, {"status": "Actif", "start_date": start}
		)
		frappe.db.commit()
		answers = self.race(
			client, "terminate_contract", 4, contract=contract, date=str(getdate()), reason="Déménagement"
		)
		statuses = sorted(s for s, _ in answers)
		self.assertEqual(statuses, [200, 409, 409, 409], answers)
		(done,) = [body["message"] for s, body in answers if s == 200]
		self.assertEqual(done["fee"], "16.66")  # 200 $ - 200 $ × 22 ÷ 24 = 16.666… rounded down
		self.assertEqual(frappe.db.count("Sales Invoice", {"customer": customer.name}), 1)
		self.assertEqual(
			frappe.get_all("Service Subscription", {"service_contract": contract}, pluck="status"), ["Annulé"]
		)
		self.assertEqual(frappe.db.get_value("Service Contract", contract, "status"), "Résilié")
