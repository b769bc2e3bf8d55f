"""Contracts on paper in a real bench (PDFs read back as in test_print_formats.py): the signed
contract's PDF attached once, and the credit note a termination issues for days already
invoiced (once, also when the invoice was paid).
"""

from __future__ import annotations

import calendar
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import frappe
from frappe.utils import add_months, flt, getdate

from gigafibre_fsm.api import customers as api
from gigafibre_fsm.customers import billing, billing_book, contract_pdf, signing
from gigafibre_fsm.customers.tests.print_case import PrintCase, money, pdf_text
from gigafibre_fsm.exceptions import ConflictError
from gigafibre_fsm.test_utils import make_contract, make_customer, make_location, unique


class TestSignedContractPdf(PrintCase):
	def test_the_signed_contract_is_attached_once_as_a_pdf(self):
		customer = make_customer(customer_name=unique("Marie Tremblay"), language="fr")
		location = make_location(customer.name)
		contract = make_contract(customer.name, duration_months=24, service_location=location.name)
		self.subscription(
			customer.name, 49.95, None, location.name, status="En attente", service_contract=contract.name
		)
		shown = signing.contract_text(contract.name, "fr")
		done = signing.mark_signed(
			contract.name,
			signing.SOURCE_LINK,
			evidence={
				"signed_by_name": "Marie Tremblay",
				"signed_ip": "203.0.113.7",
				"signed_user_agent": "Mozilla/5.0 (Test)",
				"signed_text_sha256": shown["sha256"],
			},
		)
		self.assertFalse(done["already_signed"])
		files = frappe.get_all(
			"File",
			filters={"attached_to_doctype": "Service Contract", "attached_to_name": contract.name},
			fields=["name", "file_name", "is_private", "file_url"],
		)
		self.assertEqual(len(files), 1)
		self.assertEqual((files[0].file_name, files[0].is_private), (f"{contract.name}-signed.pdf", 1))
		self.assertTrue(files[0].file_url.startswith("/private/files/"))
		pdf = frappe.get_doc("File", files[0].name).get_content()
		text = pdf_text(pdf, f"contract-{contract.name}")
		self.assertIn("Contrat de service", text)
		self.assertIn("Marie Tremblay", text)
		self.assertIn("203.0.113.7", text)
		self.assertIn(shown["sha256"], text.replace("\n", "").replace(" ", ""))
		self.assertIn("exactement le texte", text)
		self.assertEqual(self.amount_on(text, "Prix mensuel avant taxes :"), Decimal("49.95"))

		again = signing.mark_signed(contract.name, signing.SOURCE_LINK)
		self.assertTrue(again["already_signed"])
		self.assertEqual(contract_pdf.attach_signed_contract(contract.name), files[0].name)
		self.assertEqual(
			frappe.db.count(
				"File", {"attached_to_doctype": "Service Contract", "attached_to_name": contract.name}
			),
			1,
		)
		unsigned = make_contract(customer.name, duration_months=0)
		self.assertIsNone(contract_pdf.attach_signed_contract(unsigned.name))


class TestTerminationCredit(PrintCase):
	def test_days_invoiced_after_the_termination_are_credited_once(self):
		customer = make_customer(language="en")
		location = make_location(customer.name)
		contract = make_contract(customer.name, duration_months=0, service_location=location.name)
		start = add_months(self.first, -2)
		sub = self.subscription(customer.name, 60, start, location.name, service_contract=contract.name)
		other = self.subscription(customer.name, 20, start, location.name)  # not in the contract
		signing.mark_signed(contract.name, signing.SOURCE_LINK)
		frappe.db.set_value("Service Contract", contract.name, "start_date", start)
		issued = billing.bill_customer(customer.name, self.first, self.ctx)
		invoice = frappe.get_doc("Sales Invoice", issued[-1]["invoice"])
		self.assertEqual(getdate(invoice.posting_date), self.first)
		on = self.first + timedelta(days=9)  # service until the 10th
		days = calendar.monthrange(self.first.year, self.first.month)[1]

		done = api.terminate_contract(contract.name, str(on), "Moving away")
		self.assertIsNone(done["invoice"])  # month to month: no fee
		(made,) = done["credit_notes"]
		self.assertTrue(made["submitted"])
		note = frappe.get_doc("Sales Invoice", made["credit_note"])
		self.assertEqual((note.is_return, note.return_against, note.docstatus), (1, invoice.name, 1))
		credit = (Decimal(60) * (days - 10) / days).quantize(Decimal("0.01"), ROUND_HALF_UP)
		(row,) = note.items
		self.assertEqual((row.qty, money(row.rate)), (-1, credit))
		charged = next(i for i in invoice.items if i.gigafibre_line_key.startswith(f"{sub.name}:"))
		self.assertEqual(row.sales_invoice_item, charged.name)
		self.assertEqual(
			row.gigafibre_line_key,
			f"{sub.name}:{on + timedelta(days=1):%Y%m%d}:{self.first.replace(day=days):%Y%m%d}:cancel",
		)
		tps, tvq = (-money(t.tax_amount) for t in note.taxes)
		self.assertAlmostEqual(float(tps), float(credit) * 0.05, delta=0.006)
		self.assertAlmostEqual(float(tvq), float(credit) * 0.09975, delta=0.006)
		self.assertEqual(money(note.net_total), -credit)
		self.assertEqual(money(note.grand_total), -(credit + tps + tvq))
		self.assertEqual(made["grand_total"], str(-(credit + tps + tvq)))
		# unpaid: the credit reduces what is owed on the invoice it credits
		self.assertEqual(
			money(frappe.db.get_value("Sales Invoice", invoice.name, "outstanding_amount")),
			money(invoice.grand_total) - (credit + tps + tvq),
		)
		self.assertEqual(getdate(frappe.db.get_value("Service Subscription", sub.name, "billed_until")), on)
		self.assertTrue(frappe.db.exists("Billing Line Key", row.gigafibre_line_key))
		self.assertEqual(
			frappe.db.get_value("Billing Line Key", row.gigafibre_line_key, "sales_invoice"), note.name
		)
		# the next billing run credits nothing more (the other subscription is billed as usual)
		plans, failures = billing_book.plan_book(add_months(self.first, 1), [customer.name], self.ctx)
		self.assertEqual(failures, [])
		lines = [line for plan in plans.get(customer.name, ()) for line in plan.lines]
		self.assertEqual({line.subscription for line in lines}, {other.name})

		# the credit note prints as one
		text = self.print_pdf("Sales Invoice", note.name, "Gigafibre Invoice")
		self.assertIn("Credit note", text)
		self.assertIn(f"This credit note credits invoice {invoice.name}", text)
		self.assertIn(f"Credit for {days - 10} of {days} days not served", text)
		self.assertEqual(self.amount_on(text, "Total before taxes"), credit)
		self.assertEqual(self.amount_on(text, "Total credited"), credit + tps + tvq)
		balance = money(
			sum(
				flt(i.grand_total)
				for i in frappe.get_all(
					"Sales Invoice", {"customer": customer.name, "docstatus": 1}, ["grand_total"]
				)
			)
		)
		self.assertEqual(self.amount_on(text, "This credit note"), -(credit + tps + tvq))
		self.assertEqual(self.amount_on(text, "Balance after this credit note"), balance)
		self.assertNotIn("Nothing to pay", text)
		self.assertNotIn("pay.example.test", text)

	def test_a_paid_invoice_leaves_the_credit_on_the_account_once(self):
		customer = make_customer(language="fr")
		location = make_location(customer.name)
		contract = make_contract(customer.name, duration_months=0, service_location=location.name)
		self.subscription(customer.name, 45, self.first, location.name, service_contract=contract.name)
		signing.mark_signed(contract.name, signing.SOURCE_LINK)
		frappe.db.set_value("Service Contract", contract.name, "start_date", self.first)
		(issued,) = billing.bill_customer(customer.name, self.first, self.ctx)
		invoice = frappe.get_doc("Sales Invoice", issued["invoice"])
		self.pay(invoice.name, flt(invoice.grand_total), self.first)
		self.assertEqual(flt(frappe.db.get_value("Sales Invoice", invoice.name, "outstanding_amount")), 0)

		done = api.terminate_contract(contract.name, str(self.first + timedelta(days=14)), "Déménagement")
		(made,) = done["credit_notes"]
		note = frappe.get_doc("Sales Invoice", made["credit_note"])
		self.assertEqual((note.return_against, note.update_outstanding_for_self), (invoice.name, 1))
		self.assertEqual(money(note.outstanding_amount), money(note.grand_total))  # owed to the customer
		self.assertLess(note.grand_total, 0)
		self.assertEqual(flt(frappe.db.get_value("Sales Invoice", invoice.name, "outstanding_amount")), 0)
		with self.assertRaises(ConflictError):
			api.terminate_contract(contract.name, str(self.first + timedelta(days=14)), "Encore")
		frappe.clear_messages()
		self.assertEqual(frappe.db.count("Sales Invoice", {"customer": customer.name, "is_return": 1}), 1)
		text = self.print_pdf("Sales Invoice", note.name, "Gigafibre Invoice")
		self.assertIn("Note de crédit", text)
		self.assertEqual(self.amount_on(text, "Solde après cette note de crédit"), Decimal("0.00"))
		self.assertEqual(self.amount_on(text, "Solde créditeur en votre faveur"), -money(note.grand_total))
