"""Shared by the print format tests (test_print_formats, test_print_contracts): PDFs rendered by
Frappe (wkhtmltopdf) read back with pdftotext (poppler-utils), amounts parsed from the text, the
site's /assets served on loopback for wkhtmltopdf, and the base test case.

Set GIGAFIBRE_PRINT_DIR to keep the PDFs and their pages as PNG (pdftoppm) for a look.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from decimal import Decimal
from pathlib import Path

import frappe
from frappe.utils import flt, getdate

from gigafibre_fsm.customers import billing_book
from gigafibre_fsm.customers.doctype.service_subscription.test_service_subscription import make_plan
from gigafibre_fsm.test_utils import settings_for_update, unique
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
