"""Service contracts in a real bench: a submitted quotation becomes a contract sent for signature
(once), the contract view, and one contract per quotation and one termination under concurrency
over HTTP. Termination itself: test_contract_termination.py."""

import threading

import frappe
from frappe.utils import getdate

from gigafibre_fsm.api import customers as api
from gigafibre_fsm.core.contracts import add_months
from gigafibre_fsm.customers import contracts, signing
from gigafibre_fsm.customers.tests.contract_case import ContractCase
from gigafibre_fsm.exceptions import ForbiddenError
from gigafibre_fsm.fakepeers.docuseal import FakeDocuSeal
from gigafibre_fsm.test_utils import (
	make_customer,
	make_item,
	make_location,
	make_quotation,
	make_user,
	settings_for_update,
	unique,
)
from gigafibre_fsm.testing_http import GunicornTestCase


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
