"""The app's print formats rendered to PDF by Frappe (wkhtmltopdf), read back with pdftotext
(poppler-utils): every number on the invoice and quotation pages equals the document's. The
signed contract's PDF and the termination credit note: test_print_contracts.py.
"""

from __future__ import annotations

import calendar
from datetime import timedelta
from decimal import Decimal

import frappe
from frappe.utils import add_months

from gigafibre_fsm.customers import billing, billing_book
from gigafibre_fsm.customers.tests.print_case import PAY, PrintCase, money
from gigafibre_fsm.test_utils import (
	make_customer,
	make_item,
	make_location,
	make_quotation,
	settings_for_update,
)


class TestInvoicePrint(PrintCase):
	def test_an_invoice_prints_its_numbers_in_english(self):
		customer = make_customer(language="en")
		home, cottage = make_location(customer.name), make_location(customer.name)
		last_month = add_months(self.first, -1)
		# installed on the 9th of last month: the activation day is free, billing starts the 10th
		started = last_month + timedelta(days=9)
		self.subscription(
			customer.name, 100, started, home.name, plan=make_item(down=1000, name="Fibre 1000")
		)
		self.subscription(
			customer.name, 39.95, started, cottage.name, plan=make_item(down=100, name="Fibre 100")
		)
		(previous,) = billing.bill_customer(customer.name, started, self.ctx)
		# a partial payment of the previous invoice (a Journal Entry: ERPNext 15's Payment Entry
		# outstanding query fails on PostgreSQL)
		self.pay(previous["invoice"], 50, last_month + timedelta(days=20))

		(issued,) = billing.bill_customer(customer.name, self.first, self.ctx)
		si = frappe.get_doc("Sales Invoice", issued["invoice"])
		self.assertEqual(si.docstatus, 1)
		settings = settings_for_update()
		settings.isp_logo = self.logo()
		settings.save(ignore_permissions=True)
		text = self.print_pdf("Sales Invoice", si.name, "Gigafibre Invoice")
		self.assertEqual(self.images, 2)  # the logo and the pay link's QR code

		self.assertIn("Invoice", text)
		self.assertIn(si.name, text)
		self.assertIn("Gigafibre Test Inc.", text)
		self.assertIn("123456789 RT0001", text)
		self.assertIn("1234567890 TQ0001", text)
		self.assertEqual(len(si.items), 2)
		for item in si.items:
			self.assertEqual(self.amount_on(text, item.item_name), money(item.amount))
		self.assertIn(f"Service address: {home.address_line}", text)
		self.assertIn(f"Service address: {cottage.address_line}", text)
		self.assertEqual(self.amount_on(text, "Total before taxes"), money(si.net_total))
		tps, tvq = si.taxes
		self.assertEqual(self.amount_on(text, "TPS (5%)"), money(tps.tax_amount))
		self.assertEqual(self.amount_on(text, "TVQ (9.975%)"), money(tvq.tax_amount))
		total = money(si.grand_total)
		self.assertEqual(self.amount_on(text, "Total of this invoice"), total)
		before = money(frappe.db.get_value("Sales Invoice", previous["invoice"], "grand_total"))
		self.assertEqual(self.amount_on(text, "Previous balance"), before)
		self.assertEqual(self.amount_on(text, "Payments received since the last invoice"), Decimal("-50.00"))
		self.assertEqual(self.amount_on(text, "This invoice"), total)
		self.assertEqual(self.amount_on(text, "Amount due"), before - 50 + total)
		last_day = calendar.monthrange(self.first.year, self.first.month)[1]
		month = f"{self.first:%B}"
		self.assertIn(f"{month} 1, {self.first.year} to {month} {last_day}, {self.first.year}", text)
		self.assertIn(f"Please pay by {month} 1, {self.first.year}.", text)
		self.assertIn(PAY.format(invoice=si.name), self.flow(text))

		# the previous invoice explains its prorated lines in words; nothing came before it
		text = self.print_pdf("Sales Invoice", previous["invoice"], "Gigafibre Invoice")
		days = calendar.monthrange(last_month.year, last_month.month)[1]
		self.assertIn(f"Prorated: {days - 9} of {days} days", text)
		self.assertIn("The activation day is free", text)
		self.assertEqual(self.amount_on(text, "Previous balance"), Decimal("0.00"))
		self.assertEqual(self.amount_on(text, "Amount due"), before)

	def test_an_invoice_prints_in_french_and_without_pay_block_when_not_configured(self):
		customer = make_customer(language="fr")
		location = make_location(customer.name)
		self.subscription(customer.name, 59.99, self.first, location.name)
		settings = settings_for_update()
		settings.pay_url = ""
		settings.save(ignore_permissions=True)
		(issued,) = billing.bill_customer(customer.name, self.first, self.ctx)
		si = frappe.get_doc("Sales Invoice", issued["invoice"])
		text = self.print_pdf("Sales Invoice", si.name, "Gigafibre Invoice")
		self.assertIn("Facture", text)
		self.assertIn("Adresse de service", text)
		self.assertEqual(self.amount_on(text, "Total avant taxes"), Decimal("59.99"))
		self.assertEqual(self.amount_on(text, "TPS (5 %)"), Decimal("3.00"))
		self.assertEqual(self.amount_on(text, "TVQ (9,975 %)"), Decimal("5.98"))
		self.assertEqual(self.amount_on(text, "Total de cette facture"), Decimal("68.97"))
		self.assertEqual(self.amount_on(text, "Montant dû"), Decimal("68.97"))
		self.assertIn("68,97 $", text.replace("\u202f", " ").replace("\u00a0", " "))
		self.assertNotIn("Comment payer", text)
		self.assertNotIn("pay.example.test", text)
		self.assertEqual(self.images, 0)  # no logo, no QR code


class TestQuotationPrint(PrintCase):
	def test_a_quotation_prints_monthly_and_one_time_lines_with_taxes(self):
		customer = make_customer(language="fr")
		location = make_location(customer.name)
		plan = make_item(down=500, up=100, name="FIBRE")
		modem = make_item(stock=True, name="MODEM")
		install = make_item(name="INSTALL")
		from erpnext.controllers.accounts_controller import get_taxes_and_charges

		template = billing_book.ensure_tax_template()
		quote = make_quotation(
			customer.name,
			[(plan, 64.95, 59.95), (modem, 300, 0), (install, 99, 99)],
			taxes_and_charges=template,
			taxes=get_taxes_and_charges("Sales Taxes and Charges Template", template),
			gigafibre_service_location=location.name,
		)
		self.assertEqual(len(quote.taxes), 2)
		text = self.print_pdf("Quotation", quote.name, "Gigafibre Quotation")
		self.assertIn("Soumission", text)
		self.assertIn("Services mensuels", text)
		self.assertIn("Frais uniques", text)
		self.assertIn(location.address_line, text)
		for row in quote.items:
			self.assertEqual(self.amount_on(text, row.item_name, last=True), money(row.amount))
		self.assertIn("Prix courant 300,00", text.replace("\u202f", " ").replace("\u00a0", " "))
		self.assertEqual(self.amount_on(text, "Total avant taxes"), money(quote.net_total))
		for tax, label in zip(quote.taxes, ("TPS (5 %)", "TVQ (9,975 %)"), strict=True):
			self.assertEqual(self.amount_on(text, label), money(tax.tax_amount))
		asked = quote.grand_total if quote.disable_rounded_total else quote.rounded_total or quote.grand_total
		self.assertEqual(self.amount_on(text, "Total"), money(asked))
