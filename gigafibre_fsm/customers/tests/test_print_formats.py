"""The app's print formats rendered to PDF by Frappe (wkhtmltopdf), read back with pdftotext
(poppler-utils): every number on the page equals the document's. Also the signed contract's PDF
attached once, and the credit note a termination issues for days already invoiced.

Set GIGAFIBRE_PRINT_DIR to keep the PDFs and their pages as PNG (pdftoppm) for a look.
"""

from __future__ import annotations

import calendar
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import frappe
from frappe.utils import add_months, flt, getdate

from gigafibre_fsm.api import customers as api
from gigafibre_fsm.customers import billing, billing_book, contract_pdf, signing
from gigafibre_fsm.customers.doctype.service_subscription.test_service_subscription import make_plan
from gigafibre_fsm.exceptions import ConflictError
from gigafibre_fsm.test_utils import (
	make_contract,
	make_customer,
	make_item,
	make_location,
	make_quotation,
	settings_for_update,
	unique,
)
from gigafibre_fsm.testing import IntegrationTestCase

PRINT_FIELDS = ("isp_name", "isp_address", "isp_phone", "isp_logo", "tps_number", "tvq_number", "pay_url")
BILLING_FIELDS = ("billing_as_drafts", "billing_from")
PAY = "https://pay.example.test/compte?facture={invoice}"
FLOW = "--flow--"
# "1 234,56 $" (French: narrow no-break spaces, comma) or "$1,234.56" (English), maybe negative
AMOUNT = re.compile(r"(-?)\$?\s?(\d{1,3}(?:[ \u202f\u00a0,]\d{3})*(?:[.,]\d{2}))\s?\$?")


def money(value) -> Decimal:
	return Decimal(str(flt(value, 2))).quantize(Decimal("0.01"))


def tools_missing() -> str | None:
	for tool in ("wkhtmltopdf", "pdftotext", "pdftoppm"):
		if not shutil.which(tool):
			return tool
	return None


def amounts(line: str) -> list[Decimal]:
	out = []
	for sign, digits in AMOUNT.findall(line):
		text = digits.replace("\u202f", "").replace("\u00a0", "").replace(" ", "")
		if "," in text[-3:]:  # French decimal comma
			text = text.replace(".", "").replace(",", ".")
		else:
			text = text.replace(",", "")
		out.append(Decimal(sign + text))
	return out


def pdf_text(pdf: bytes, name: str) -> str:
	"""The PDF's text as laid out (pdftotext -layout), then its text flow joined without any
	whitespace (a long URL wrapped in its box reads whole there). With GIGAFIBRE_PRINT_DIR, the PDF
	and its pages as PNG are kept."""
	keep = os.environ.get("GIGAFIBRE_PRINT_DIR")
	folder = Path(keep) / frappe.local.site if keep else Path(tempfile.mkdtemp())
	folder.mkdir(parents=True, exist_ok=True)
	path = folder / f"{name}.pdf"
	path.write_bytes(pdf)

	def run(*args) -> str:
		return subprocess.run(args, check=True, capture_output=True, timeout=120).stdout.decode()

	layout = run("pdftotext", "-layout", str(path), "-")
	flow = re.sub(r"\s", "", run("pdftotext", str(path), "-"))
	if keep:
		run("pdftoppm", "-png", "-r", "70", str(path), str(folder / name))
	else:
		shutil.rmtree(folder, ignore_errors=True)
	# NFKC: pdftotext keeps the font's ligatures ("ﬁ" for "fi")
	return unicodedata.normalize("NFKC", layout + "\n" + FLOW + flow)


class StaticFiles:
	"""The bench's ``/assets/...`` over HTTP on loopback, as the web server serves them in
	production: wkhtmltopdf fetches the print stylesheet Frappe links from the page, at the site's
	URL (``host_name``), which a test site's name does not resolve to. Nothing else is served."""

	def __init__(self):
		import functools
		import threading
		from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

		class Quiet(SimpleHTTPRequestHandler):
			def log_message(self, *args):
				pass

			def send_head(self):
				if not self.path.startswith("/assets/") or ".." in self.path:
					self.send_error(404)
					return None
				return super().send_head()

		handler = functools.partial(Quiet, directory=os.path.abspath(frappe.local.sites_path))
		self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
		self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
		self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
		self.thread.start()

	def stop(self):
		self.server.shutdown()
		self.server.server_close()
		self.thread.join(10)


class PrintCase(IntegrationTestCase):
	def setUp(self):
		missing = tools_missing()
		if missing:
			self.skipTest(f"{missing} is not installed (scripts/test.sh installs it)")
		frappe.set_user("Administrator")
		static = StaticFiles()
		self.addCleanup(static.stop)
		host = frappe.local.conf.get("host_name")
		frappe.local.conf.host_name = static.url
		self.addCleanup(frappe.local.conf.__setitem__, "host_name", host)
		settings = settings_for_update()
		before = {f: settings.get(f) for f in PRINT_FIELDS + BILLING_FIELDS}
		self.addCleanup(self.restore, before)
		settings.update(
			{
				"isp_name": "Gigafibre Test Inc.",
				"isp_address": "100, rue de la Fibre\nSaint-Rémi QC J0L 2L0",
				"isp_phone": "450 555-0100",
				"tps_number": "123456789 RT0001",
				"tvq_number": "1234567890 TQ0001",
				"pay_url": PAY,
				"isp_logo": None,
				"billing_as_drafts": 0,
				"billing_from": None,
			}
		)
		settings.save(ignore_permissions=True)
		self.ctx = billing_book.Context()
		self.first = getdate().replace(day=1)

	def restore(self, before):
		settings = settings_for_update()
		settings.update(before)
		settings.save(ignore_permissions=True)

	def print_pdf(self, doctype: str, name: str, print_format: str) -> str:
		pdf = frappe.get_print(doctype, name, print_format=print_format, as_pdf=True)
		self.assertTrue(pdf.startswith(b"%PDF"))
		with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
			fh.write(pdf)
			fh.flush()
			listed = subprocess.run(
				["pdfimages", "-list", fh.name], check=True, capture_output=True, timeout=120
			).stdout.decode()
		self.images = len(listed.splitlines()) - 2  # two header lines
		return pdf_text(pdf, f"{print_format.replace(' ', '_')}-{name}")

	def pay(self, invoice: str, amount: float, on) -> str:
		"""A submitted Journal Entry receiving ``amount`` in cash against ``invoice``."""
		si = frappe.get_doc("Sales Invoice", invoice)
		cash = frappe.get_cached_value("Company", si.company, "default_cash_account") or frappe.db.get_value(
			"Account", {"company": si.company, "account_type": "Cash", "is_group": 0}, "name"
		)
		je = frappe.get_doc(
			{
				"doctype": "Journal Entry",
				"company": si.company,
				"posting_date": on,
				"voucher_type": "Cash Entry",
				"accounts": [
					{
						"account": cash,
						"debit_in_account_currency": amount,
						"cost_center": si.items[0].cost_center,
					},
					{
						"account": si.debit_to,
						"party_type": "Customer",
						"party": si.customer,
						"credit_in_account_currency": amount,
						"reference_type": "Sales Invoice",
						"reference_name": si.name,
					},
				],
			}
		).insert(ignore_permissions=True)
		je.submit()
		return je.name

	def logo(self) -> str:
		"""A small PNG uploaded as a public File; its URL."""
		import io

		import segno

		buf = io.BytesIO()
		segno.make_qr("Gigafibre").save(buf, kind="png", scale=3)
		doc = frappe.get_doc(
			{
				"doctype": "File",
				"file_name": f"{unique('logo')}.png",
				"is_private": 0,
				"content": buf.getvalue(),
			}
		).insert(ignore_permissions=True)
		return doc.file_url

	def amount_on(self, text: str, label: str, *, last: bool = False) -> Decimal:
		"""The amount right after ``label`` on the first line that has one there (``last``: the
		line's last amount, for a row with a quantity and a unit price between)."""
		for line in text.split(FLOW)[0].splitlines():
			if label not in line:
				continue
			rest = line[line.index(label) + len(label) :]
			found = amounts(rest)
			if found and (last or AMOUNT.match(rest.strip())):
				return found[-1] if last else found[0]
		self.fail(f"no amount after {label!r} on the page:\n{text}")

	def flow(self, text: str) -> str:
		return text.split(FLOW)[1]

	def subscription(self, customer: str, price, start, location=None, **kw):
		return frappe.get_doc(
			{
				"doctype": "Service Subscription",
				"customer": customer,
				"plan": kw.pop("plan", None) or make_plan(),
				"status": "Actif",
				"monthly_price": price,
				"start_date": start,
				"billing_cycle": "Monthly",
				"service_location": location,
				**kw,
			}
		).insert(ignore_permissions=True)


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
